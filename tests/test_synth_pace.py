"""Pace calibration of synthesis voices (``pace`` in the sidecar, ``train.synth.calibrate_pace``):
the factor stretches a speaker's predicted durations, a bad one is a clear error, and the
calibration measures a known stretch back from recordings made at it."""

import csv
import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from msar.dsp.errors import MsarError
from msar.onnx_models import registry
from msar.onnx_models import synth as S
from train.synth import calibrate_pace as C

NAME = "multispeaker-synth"
needs_voice = pytest.mark.skipif(not (registry.MODELS_DIR / f"{NAME}.onnx").exists() or shutil.which("espeak-ng") is None,
                                 reason="needs the shipped voice and espeak-ng")


def _copy_with_pace(tmp_path, pace: dict | None):
    for f in registry.MODELS_DIR.glob(f"{NAME}*"):
        shutil.copy(f, tmp_path / f.name)
    side_path = tmp_path / f"{NAME}.onnx.json"
    side = json.loads(side_path.read_text())
    side.pop("pace", None)
    if pace is not None:
        side["pace"] = {"speakers": pace}
    side_path.write_text(json.dumps(side))
    return S.Voice(tmp_path / f"{NAME}.onnx")


def test_active_span_ignores_leading_and_trailing_silence():
    sr = 16000
    t = np.arange(int(1.5 * sr)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 200 * t)
    y = np.concatenate([np.zeros(sr // 2), tone, 1e-4 * np.random.default_rng(0).standard_normal(sr)])
    assert C.active_span_s(y, sr) == pytest.approx(1.5, abs=0.011)
    assert C.active_span_s(np.stack([y, y], axis=1), sr) == pytest.approx(1.5, abs=0.011)
    assert C.active_span_s(np.zeros(sr), sr) == 0.0
    assert C.active_span_s(np.ones(10), sr) == 0.0


@needs_voice
def test_pace_stretches_that_speaker_s_durations_only(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = _copy_with_pace(tmp_path / "a", None)
    a, b = plain.speakers[0], plain.speakers[1]
    slow = _copy_with_pace(tmp_path / "b", {a.name: 1.5})
    text = "The garden behind the old house was full of yellow roses."
    ya, yb = plain.synthesize(text, a.name)[0], slow.synthesize(text, a.name)[0]
    assert len(yb) / len(ya) == pytest.approx(1.5, rel=0.03)
    assert np.array_equal(plain.synthesize(text, b.name)[0], slow.synthesize(text, b.name)[0])
    # --rate is relative to the calibrated pace: rate 1.5 undoes a pace of 1.5
    assert len(slow.synthesize(text, a.name, S.SynthOptions(rate=1.5))[0]) == pytest.approx(len(ya), rel=0.02)


@needs_voice
@pytest.mark.parametrize("bad", [3.0, 0.1, "slow"])
def test_a_bad_pace_is_a_clear_error(tmp_path, bad):
    spk = S.load_voice(NAME).speakers[0].name
    with pytest.raises(MsarError, match=f"pace of {spk}: "):
        _copy_with_pace(tmp_path, {spk: bad})


TEXTS = ["The garden behind the old house was full of yellow roses.", "Could you turn the music down a little?",
         "Seven students finished the test before the bell rang.", "A cold wind blew across the harbor.",
         "My brother fixed the bicycle with a piece of wire.", "Where did you leave the keys to the car?",
         "The baker opens his shop at six every morning.", "We walked along the river until sunset.",
         "Nobody expected the little team to win the match.", "Put the heavy boxes on the bottom shelf.",
         "The doctor told him to drink more water.", "Is there a quiet place where we can talk?"]


@needs_voice
def test_calibration_measures_a_known_stretch_and_writes_it(tmp_path):
    """Recordings made by the voice itself at 1.3 times its length, in VCTK's layout: the
    calibration finds 1.3 for that speaker, leaves the speakers without recordings alone, and a
    rerun keeps it."""
    (tmp_path / "m").mkdir()
    voice = _copy_with_pace(tmp_path / "m", None)
    spk = voice.speakers[-1].name
    corpus = tmp_path / "vctk"
    (corpus / "wav48" / spk).mkdir(parents=True)
    (corpus / "txt" / spk).mkdir(parents=True)
    for i, text in enumerate(TEXTS + ["Two words."]):  # the last: too short, skipped
        y, sr = voice.synthesize(text, spk, S.SynthOptions(rate=1 / 1.3))
        sf.write(corpus / "wav48" / spk / f"{spk}_{i:03d}.wav", np.concatenate([np.zeros(sr // 4), y, np.zeros(sr // 3)]), sr)
        (corpus / "txt" / spk / f"{spk}_{i:03d}.txt").write_text(text + "\n")
    (corpus / "wav48" / spk / f"{spk}_900.wav").write_bytes(b"not audio")  # unreadable: skipped, not fatal
    (corpus / "txt" / spk / f"{spk}_900.txt").write_text("A recording that cannot be read.\n")
    entry = C.calibrate(voice, corpus)
    assert entry["utterances"][spk] == len(TEXTS)
    assert list(entry["speakers"]) == [spk]
    assert entry["speakers"][spk] == pytest.approx(1.3, abs=0.03)
    registry.update_sidecar(voice.path, "pace", entry)
    again = S.Voice(voice.path)
    assert again.pace(spk) == entry["speakers"][spk] and again.pace(voice.speakers[0].name) == 1.0
    assert C.calibrate(again, corpus)["speakers"][spk] == pytest.approx(entry["speakers"][spk], abs=0.03)


def test_recordings_are_read_from_an_msar_corpus_too(tmp_path):
    """The corpus `make data` writes: manifest rows of the speaker, in its languages, with enough words."""
    (tmp_path / "a.wav").write_bytes(b"")
    fields = ["path", "speaker", "sex", "language", "duration_s", "transcript", "section", "source", "source_file"]
    with open(tmp_path / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        row = {"path": "a.wav", "speaker": "spk-a", "sex": "F", "language": "en", "duration_s": "2.0",
               "transcript": "One two three four.", "section": "clean", "source": "x", "source_file": "a.wav"}
        w.writerow(row)
        w.writerow(row | {"transcript": "Too short."})
        w.writerow(row | {"language": "fr"})
        w.writerow(row | {"speaker": "spk-b"})
    got = C.recordings(tmp_path, "spk-a", {"en"})
    assert [(it["text"], it["audio"]) for it in got] == [("One two three four.", str(tmp_path / "a.wav"))]


@needs_voice
def test_too_few_recordings_keep_an_earlier_calibration(tmp_path):
    (tmp_path / "m").mkdir()
    voice = _copy_with_pace(tmp_path / "m", {"flite-slt": 1.2})
    corpus = tmp_path / "vctk"
    for spk in ("flite-slt", "flite-rms"):
        (corpus / "wav48" / spk).mkdir(parents=True)
        (corpus / "txt" / spk).mkdir(parents=True)
        for i, text in enumerate(TEXTS[:3]):
            y, sr = voice.synthesize(text, spk)
            sf.write(corpus / "wav48" / spk / f"{i}.wav", y, sr)
            (corpus / "txt" / spk / f"{i}.txt").write_text(text)
    entry = C.calibrate(voice, corpus)
    assert entry["speakers"] == {"flite-slt": 1.2}  # kept; flite-rms was never calibrated
    assert entry["utterances"]["flite-slt"] == entry["utterances"]["flite-rms"] == 3
