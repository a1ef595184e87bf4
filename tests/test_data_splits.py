"""Corpus splits and manifests (train/data): speaker-disjoint, deterministic, round-tripping."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from train.data import manifest, splits


def _hours(n: int = 30) -> dict[str, float]:
    # Uneven speakers, like the real corpus: a few big voices and many small ones.
    return {f"spk{i:02d}": (1.5 if i < 3 else 0.4 if i < 10 else 0.05) for i in range(n)}


def test_every_speaker_gets_exactly_one_split_so_splits_are_speaker_disjoint():
    hours = _hours()
    assignment = splits.speaker_splits(hours)
    assert set(assignment) == set(hours)
    rows = [{"speaker": s, "split": assignment[s]} for s in hours for _ in range(3)]
    by_split: dict[str, set] = {}
    for r in rows:
        by_split.setdefault(r["split"], set()).add(r["speaker"])
    assert set(by_split) == {"train", "valid", "test"}
    assert not (by_split["train"] & by_split["valid"]) and not (by_split["train"] & by_split["test"])
    assert not (by_split["valid"] & by_split["test"])


def test_speaker_splits_approach_the_target_shares():
    hours = _hours()
    assignment = splits.speaker_splits(hours)
    total = sum(hours.values())
    share = Counter()
    for s, split in assignment.items():
        share[split] += hours[s] / total
    assert share["train"] == pytest.approx(0.8, abs=0.05)
    assert share["valid"] == pytest.approx(0.1, abs=0.05)
    assert share["test"] == pytest.approx(0.1, abs=0.05)


def test_speaker_splits_are_deterministic_and_independent_of_input_order():
    hours = _hours()
    reversed_hours = dict(reversed(list(hours.items())))
    assert splits.speaker_splits(hours) == splits.speaker_splits(reversed_hours)


def test_pinned_speakers_keep_their_split():
    hours = _hours()
    fixed = {"spk00": "test", "not-here": "valid"}
    assignment = splits.speaker_splits(hours, fixed=fixed)
    assert assignment["spk00"] == "test"
    assert "not-here" not in assignment


def test_file_split_is_stable_and_roughly_proportional():
    keys = [f"noise/16k/x/{i}.flac" for i in range(4000)]
    first = [splits.file_split(k) for k in keys]
    assert first == [splits.file_split(k) for k in keys]
    share = Counter(first)
    assert share["train"] / len(keys) == pytest.approx(0.8, abs=0.03)
    assert share["test"] / len(keys) == pytest.approx(0.1, abs=0.03)


def test_manifest_round_trip(tmp_path):
    rows = [
        {"path": "clean/16k/a.flac", "path_48k": "", "speaker": "s1", "sex": "F", "language": "ru",
         "duration_s": 1.23456, "transcript": 'Он сказал: "да, конечно", и ушёл.', "source": "festvox-ru",
         "licence": "BSD-like", "split": "train", "section": "clean", "source_file": "x/a.wav", "source_sr": 16000,
         "clip_fraction": 0.0, "bandwidth_hz": 6914.2, "snr_db": 74.06, "loudness_lufs": -30.123,
         "gain_db": 7.123, "ignored": "x"},
        {"path": "clean/16k/b.flac", "path_48k": "clean/48k/b.flac", "speaker": "s2", "sex": "",
         "language": "cs", "duration_s": 2.0, "transcript": "line one\nline two", "source": "p", "licence": "GPL-2",
         "split": "test", "section": "clean", "source_file": "y/b.ogg", "source_sr": 44100,
         "clip_fraction": float("nan"), "bandwidth_hz": 12000.0, "snr_db": 50.0, "loudness_lufs": -20.0,
         "gain_db": -3.0},
    ]
    path = tmp_path / "manifest.csv"
    assert manifest.write(path, rows, manifest.SPEECH_COLUMNS) == 2
    back = manifest.read(path)
    assert list(back[0]) == list(manifest.SPEECH_COLUMNS)
    assert back[0]["transcript"] == rows[0]["transcript"] and back[1]["transcript"] == "line one\nline two"
    assert back[0]["duration_s"] == pytest.approx(1.235) and back[0]["source_sr"] == 16000
    assert math.isnan(back[1]["clip_fraction"])
    # Writing what was read gives the same bytes: the manifest is stable.
    first = path.read_bytes()
    manifest.write(path, back, manifest.SPEECH_COLUMNS)
    assert path.read_bytes() == first


def _tone_file(path, seconds: float = 1.0, sr: int = 16000):
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(int(seconds * 100))
    pause = np.zeros(int(0.3 * sr))
    x = np.concatenate([pause, 0.2 * rng.standard_normal(int(seconds * sr)), pause])
    sf.write(path, x + 1e-5 * rng.standard_normal(x.size), sr)
    return str(path)


def test_second_run_prepares_nothing_and_damaged_twins_name_their_clean_pair(tmp_path):
    from train.data.prepare import build_manifests, run_items
    from train.data.process import PrepParams
    from train.data.quality import QualityParams
    from train.data.sources import Item

    items = [Item(_tone_file(tmp_path / f"c{i}.wav", 1 + i), "pkg", "CC0", "clean", f"set/{i}",
                  speaker=f"s{i % 3}", language="xx") for i in range(6)]
    items.append(Item(_tone_file(tmp_path / "d0.wav"), "pkg-nb", "CC0", "damaged", "set/0", speaker="s0"))
    corpus, records_path = tmp_path / "corpus", tmp_path / "corpus" / "records.jsonl"
    corpus.mkdir()
    records = run_items(items, corpus, records_path, PrepParams(), QualityParams(), jobs=1)
    assert all(r["status"] == "ok" for r in records.values()), [r["reason"] for r in records.values()]
    n_lines = len(records_path.read_text().splitlines())
    again = run_items(items, corpus, records_path, PrepParams(), QualityParams(), jobs=1)
    assert len(records_path.read_text().splitlines()) == n_lines == len(items)
    assert again == records

    build_manifests(list(records.values()), corpus, tmp_path)
    clean = manifest.read(corpus / "manifest.csv")
    damaged = manifest.read(corpus / "damaged.csv")
    split_of = {r["speaker"]: r["split"] for r in clean}
    assert len(clean) == 6 and len({(r["speaker"], r["split"]) for r in clean}) == 3
    assert damaged[0]["pair"] == "clean/16k/set/0.flac"
    assert damaged[0]["split"] == split_of["s0"]
