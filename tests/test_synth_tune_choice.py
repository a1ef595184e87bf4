"""How bench/synth_postfilter_tune.py chooses a voice's own rendering defaults: naturalness among
the settings that cost no words, and only for a clear gain."""

import importlib
import sys
from pathlib import Path

import pytest

M = (0.2, 1.0, 0.0, 30.0, 40.0)  # the module defaults
A, B, C = (0.2, 1.0, 1.0, 30.0, 40.0), (0.2, 0.5, 0.0, 30.0, 40.0), (0.3, 1.0, 0.0, 30.0, 40.0)


@pytest.fixture(scope="module")
def tune():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    try:
        yield importlib.import_module("synth_postfilter_tune")
    finally:
        sys.path.pop(0)


def agg(mos, ovrl, wer):
    return {"distillmos": mos, "dnsmos_ovrl": ovrl, "wer": wer}


def test_the_most_natural_setting_that_costs_no_words_wins(tune):
    per = {M: agg(2.9, 2.9, 0.05), A: agg(3.2, 3.1, 0.08), B: agg(3.0, 3.0, 0.05), C: agg(2.95, 2.9, 0.04)}
    assert tune.choose_per_voice(per, M) == B  # A is more natural but loses words


def test_a_gain_within_the_noise_keeps_the_module_defaults(tune):
    per = {M: agg(2.9, 2.9, 0.05), B: agg(2.92, 2.92, 0.05)}
    assert tune.choose_per_voice(per, M) == M


def test_voice_defaults_are_written_into_the_sidecar_atomically(tune, tmp_path):
    import json
    import shutil
    import types

    from msar.onnx_models import registry
    from msar.onnx_models import synth as S

    for f in registry.MODELS_DIR.glob("multispeaker-synth*"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / "multispeaker-synth.onnx"
    before = json.loads((tmp_path / "multispeaker-synth.onnx.json").read_text())
    spk = before["speakers"][0]["name"]
    tune.write_voice_defaults(types.SimpleNamespace(path=path), {spk: {"gv_f0": 1.0}}, 36)
    after = json.loads((tmp_path / "multispeaker-synth.onnx.json").read_text())
    assert after["voice_defaults"]["speakers"] == {spk: {"gv_f0": 1.0}} and after["voice_defaults"]["sentences"] == 36
    assert {k: v for k, v in after.items() if k != "voice_defaults"} == {k: v for k, v in before.items() if k != "voice_defaults"}
    assert not list(tmp_path.glob("*.tmp"))
    assert S.Voice(path).setting("gv_f0", spk) == 1.0
