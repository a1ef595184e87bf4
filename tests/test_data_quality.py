"""The corpus quality gate and per-file preparation (train/data), on generated signals only."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from scipy import signal

from msar.dsp.audio import resample
from train.data import quality
from train.data.process import PrepParams, loudness_gain_db, prepare_item, trim_bounds
from train.data.sources import Item, fillets_speaker


def speechlike(sr: int, duration_s: float = 3.0, seed: int = 0, pause_s: float = 0.5) -> np.ndarray:
    """Broadband 'syllables' (white noise, 4 Hz envelope) between pauses, with a -80 dBFS floor."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sr)
    t = np.arange(n) / sr
    env = np.abs(np.sin(2 * np.pi * 2.0 * t)) ** 2
    env[(t < pause_s) | (t > duration_s - pause_s)] = 0.0
    x = 0.1 * env * rng.standard_normal(n) + 1e-4 * rng.standard_normal(n)
    return x


SR = 16000


def test_clean_signal_passes_the_gate():
    m = quality.measure(speechlike(SR), SR)
    assert m.clip_fraction == 0.0
    assert m.bandwidth_hz > 7000
    assert m.snr_db > 40
    assert quality.verdict(m) == []


def test_clipped_signal_is_rejected_as_clipped():
    x = np.clip(20 * speechlike(SR), -1.0, 1.0)
    m = quality.measure(x, SR)
    assert m.clip_fraction > 0.01
    assert [quality.reason_tag(r) for r in quality.verdict(m)] == ["clipped"]


def narrowband(x: np.ndarray, sr: int) -> np.ndarray:
    """The real-world band limit: a trip through an 8 kHz rate (brick-wall at 4 kHz)."""
    return resample(resample(x, sr, 8000), 8000, sr)


def test_lowpassed_signal_is_flagged_band_limited():
    m = quality.measure(narrowband(speechlike(SR), SR), SR)
    assert 3500 < m.bandwidth_hz < 4300
    assert [quality.reason_tag(r) for r in quality.verdict(m)] == ["band-limited"]


def test_bandwidth_ignores_the_sample_rate_of_a_lowpassed_44k_file():
    sr = 44100
    assert 3500 < quality.bandwidth_hz(narrowband(speechlike(sr), sr), sr) < 4300
    assert quality.bandwidth_hz(speechlike(sr), sr) > 20000


def test_a_gentle_lowpass_moves_the_measured_band_edge_down():
    # Butterworth order 10 at 3 kHz is 60 dB down near 6 kHz on a flat spectrum.
    sos = signal.butter(10, 3000, fs=SR, output="sos")
    assert quality.bandwidth_hz(signal.sosfilt(sos, speechlike(SR)), SR) < 6500


def test_noisy_signal_is_rejected_for_low_snr():
    rng = np.random.default_rng(5)
    x = speechlike(SR)
    x = x + 0.03 * rng.standard_normal(x.size)  # hiss about 10 dB below the syllables
    m = quality.measure(x, SR)
    assert m.snr_db < 20
    assert "low SNR" in [quality.reason_tag(r) for r in quality.verdict(m)]


def test_trim_cuts_leading_and_trailing_silence_keeping_the_pad():
    x = speechlike(SR, 3.0, pause_s=1.0)
    start, stop = trim_bounds(x, SR, below_peak_db=40.0, pad_s=0.1)
    # Syllables run from 1.0 s to 2.0 s, their envelope rising from zero, so the cut is a bit inside.
    assert 0.85 * SR <= start <= 1.1 * SR
    assert 1.9 * SR <= stop <= 2.15 * SR


def test_loudness_gain_reaches_the_target_or_stops_at_the_peak_ceiling():
    x = speechlike(SR)
    gain_db, lufs = loudness_gain_db(x, SR, -23.0, -1.0)
    y = x * 10 ** (gain_db / 20)
    assert pyloudnorm.Meter(SR).integrated_loudness(y) == pytest.approx(-23.0, abs=0.1)
    # A click train is loud at its peaks but quiet on average: the ceiling limits the gain.
    clicks = np.zeros(SR)
    clicks[::1600] = 0.05
    gain_db, _ = loudness_gain_db(clicks, SR, -23.0, -1.0)
    assert 20 * np.log10(0.05) + gain_db == pytest.approx(-1.0, abs=1e-6)


def test_prepare_item_writes_trimmed_normalized_16k_and_48k_flac(tmp_path):
    sr = 44100
    src = tmp_path / "src.wav"
    sf.write(src, speechlike(sr, 3.0), sr, subtype="PCM_24")
    item = Item(str(src), "pkg", "CC0", "clean", "set/a", speaker="s1", sex="F", language="xx", transcript="a")
    rec = prepare_item(item, tmp_path / "corpus")
    assert rec["status"] == "ok", rec["reason"]
    assert rec["path"] == "clean/16k/set/a.flac" and rec["path_48k"] == "clean/48k/set/a.flac"
    y, y_sr = sf.read(tmp_path / "corpus" / rec["path"])
    assert y_sr == 16000 and y.ndim == 1
    assert 1.9 < y.size / y_sr < 2.3  # 3 s minus most of the two 0.5 s pauses, plus the pads
    assert pyloudnorm.Meter(y_sr).integrated_loudness(y) == pytest.approx(PrepParams().target_lufs, abs=0.3)
    w, w_sr = sf.read(tmp_path / "corpus" / rec["path_48k"])
    assert w_sr == 48000 and w.size == pytest.approx(3 * y.size, abs=3)


def test_prepare_item_rejects_a_clipped_clean_file_without_writing(tmp_path):
    src = tmp_path / "clip.wav"
    sf.write(src, np.clip(20 * speechlike(SR), -1, 1), SR, subtype="PCM_16")
    item = Item(str(src), "pkg", "CC0", "clean", "set/clip", speaker="s1")
    rec = prepare_item(item, tmp_path / "corpus")
    assert rec["status"] == "rejected" and rec["reason"].startswith("clipped")
    assert not (tmp_path / "corpus").exists()


def test_prepare_item_keeps_damaged_speech_and_reports_unreadable_files(tmp_path):
    src = tmp_path / "clip.wav"
    sf.write(src, np.clip(20 * speechlike(SR), -1, 1), SR, subtype="PCM_16")
    rec = prepare_item(Item(str(src), "pkg", "CC0", "damaged", "set/clip"), tmp_path / "corpus")
    assert rec["status"] == "ok" and rec["clip_fraction"] > 0.01
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    rec = prepare_item(Item(str(bad), "pkg", "CC0", "clean", "set/bad"), tmp_path / "corpus")
    assert rec["status"] == "failed" and "not readable audio" in rec["reason"]


def test_fillets_speaker_codes():
    assert fillets_speaker("lod-v-silenost0", "cs") == ("fillets-cs-v", "M")
    assert fillets_speaker("m-hej", "cs") == ("fillets-cs-m", "F")
    assert fillets_speaker("b1-voda1", "cs") == ("fillets-cs-npc", "")


def test_synthetic_texts_drop_tone_descriptions_and_duplicates(tmp_path):
    import gzip

    from train.data.synthetic import english_texts

    doc = tmp_path / "pkgs/asterisk-core-sounds-en/usr/share/doc/asterisk-core-sounds-en"
    doc.mkdir(parents=True)
    with gzip.open(doc / "core-sounds-en.txt.gz", "wt", encoding="utf-8") as f:
        f.write("; header\nbeep: [this is a simple beep tone]\nletters/at: at [@]\nthanks: Thank you.\n")
    stamps = tmp_path / "pkgs/tuxpaint-stamps-default/usr/share/tuxpaint/stamps/animals"
    stamps.mkdir(parents=True)
    (stamps / "frog.txt").write_text("A frog.\nfr.utf8=Une grenouille.\n", encoding="utf-8")
    (stamps / "thanks.txt").write_text("Thank you.\n", encoding="utf-8")
    texts = english_texts(tmp_path)
    assert [(name, text) for name, text, _ in texts] == [
        ("asterisk/letters/at", "at"), ("asterisk/thanks", "Thank you."), ("tuxpaint/animals/frog", "A frog.")]
