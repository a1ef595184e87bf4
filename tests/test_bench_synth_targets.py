"""The issue-6 target lines of `make bench-synth` (bench/synth_peers.py: targets): intelligibility
is judged on the English voices together against flite's voices together."""

import importlib
import os
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def peers():
    saved = dict(os.environ)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    try:
        yield importlib.import_module("synth_peers")
    finally:
        os.environ.clear()
        os.environ.update(saved)  # the module pins BLAS threads for its own process only
        sys.path.pop(0)


def _systems(peers, wers: dict[str, float]):
    systems = [peers.System(n, "msar" if n.startswith("msar") else "peer", "en", lambda t: None) for n in wers]
    return systems, {n: {"wer_fixed": w} for n, w in wers.items()}


def test_intelligibility_is_met_when_the_voices_together_match_flite(peers):
    systems, summary = _systems(peers, {"msar a": 0.06, "msar b": 0.12, "flite x": 0.08, "flite y": 0.10})
    line = peers.targets(systems, summary, None)[0]
    assert "English voices together: met." in line and "msar 0.090" in line and "flite 0.090" in line
    assert "at or below flite's mean: msar a;" in line


def test_one_good_voice_does_not_meet_it_for_the_rest(peers):
    systems, summary = _systems(peers, {"msar a": 0.05, "msar b": 0.20, "flite x": 0.08, "flite y": 0.10})
    line = peers.targets(systems, summary, None)[0]
    assert "English voices together: not met." in line and "msar 0.125" in line
