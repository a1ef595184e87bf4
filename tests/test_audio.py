"""dsp.audio: reading any libsndfile format, block reading, resampling, atomic writes, bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from msar.dsp import audio
from msar.dsp.errors import MsarError

from conftest import SR, harmonic_tone, write


@pytest.mark.parametrize("fmt,subtype,ext,tol", [
    ("WAV", "PCM_16", "wav", 1e-4), ("WAV", "PCM_24", "wav", 1e-6), ("WAV", "FLOAT", "wav", 0),
    ("WAV", "PCM_U8", "wav", 1e-2), ("FLAC", "PCM_16", "flac", 1e-4), ("AIFF", "PCM_16", "aiff", 1e-4),
    ("OGG", "VORBIS", "ogg", None), ("OGG", "OPUS", "opus", None), ("MP3", "MPEG_LAYER_III", "mp3", None),
])
def test_round_trip_keeps_rate_channels_and_subtype(tmp_path, fmt, subtype, ext, tol):
    sr = 48000 if subtype == "OPUS" else 22050
    x = np.stack([harmonic_tone(200, 0.5, sr), harmonic_tone(300, 0.5, sr)], axis=1)
    path = tmp_path / f"x.{ext}"
    audio.write(path, x, sr, fmt, subtype)
    y, info = audio.read(path)
    assert (info.sr, info.channels, info.format, info.subtype) == (sr, 2, fmt, subtype)
    assert y.dtype == np.float32 and y.ndim == 2
    if tol is not None:
        assert y.shape == x.shape
        assert np.max(np.abs(y - x)) <= tol
    else:  # lossy codecs: similar length and level
        assert abs(len(y) - len(x)) < 0.1 * sr
        assert np.std(y) == pytest.approx(np.std(x), rel=0.2)


def test_read_blocks_concatenate_to_read(tmp_path, rng):
    x = rng.uniform(-0.5, 0.5, (10007, 3)).astype(np.float32)
    path = write(tmp_path / "x.wav", x, subtype="FLOAT")
    whole, _ = audio.read(path)
    for block in (1, 7, 4096, 20000):
        blocks = list(audio.read_blocks(path, block))
        assert all(len(b) <= block for b in blocks)
        np.testing.assert_array_equal(np.concatenate(blocks), whole)


def test_integer_output_saturates_instead_of_wrapping(tmp_path):
    path = tmp_path / "loud.wav"
    audio.write(path, np.array([0.5, 1.7, -3.0], dtype=np.float32), SR, "WAV", "PCM_16")
    y, _ = audio.read(path)
    assert y[1, 0] == pytest.approx(1.0, abs=1e-4) and y[2, 0] == -1.0


@pytest.mark.parametrize("make,reason", [
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.write_text("this is not audio\n" * 20), "not readable audio"),
    (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 10), "not readable audio"),
    (lambda p: None, "no such file"),
])
def test_bad_files_give_one_line_errors_naming_the_file(tmp_path, make, reason):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(MsarError) as err:
        audio.read(path)
    message = str(err.value)
    assert str(path) in message and reason in message and "\n" not in message


def test_nan_samples_are_reported_with_their_position(tmp_path):
    x = np.zeros(100, dtype=np.float32)
    x[42] = np.nan
    path = write(tmp_path / "nan.wav", x, subtype="FLOAT")
    with pytest.raises(MsarError, match="NaN or infinite samples \\(first at sample 42\\)"):
        audio.read(path)
    with pytest.raises(MsarError, match="first at sample 42"):
        list(audio.read_blocks(path, 16))


def test_header_only_wav_has_no_samples(tmp_path):
    path = write(tmp_path / "zero.wav", np.zeros((0, 1), dtype=np.float32))
    with pytest.raises(MsarError, match="zero-length"):
        audio.read(path)


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(MsarError, match="is a folder"):
        audio.read(tmp_path)


def test_failed_atomic_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "out.wav"
    target.write_bytes(b"previous")
    with pytest.raises(RuntimeError):
        with audio.AtomicWriter(target, SR, 1, "WAV", "PCM_16") as f:
            f.write(np.zeros(100, dtype=np.float32))
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["out.wav"]


def test_atomic_write_creates_folders_and_has_normal_permissions(tmp_path):
    target = tmp_path / "a" / "b" / "out.flac"
    audio.write(target, np.zeros(10, dtype=np.float32), SR)
    assert sf.info(str(target)).format == "FLAC"
    assert target.stat().st_mode & 0o044  # readable by group/others as a normal file, not mkstemp's 0600


def test_unwritable_target_is_a_clear_error(tmp_path):
    # A regular file where the output folder should be: fails even for root, unlike chmod.
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    with pytest.raises(MsarError, match="cannot write"):
        audio.write(blocker / "x.wav", np.zeros(10, dtype=np.float32), SR)


def test_full_disk_during_write_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    def disk_full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sf.SoundFile, "write", disk_full)
    with pytest.raises(MsarError, match="No space left on device"):
        audio.write(tmp_path / "x.wav", np.zeros(10, dtype=np.float32), SR)
    assert os.listdir(tmp_path) == []


def test_writable_format_falls_back_to_the_default_subtype():
    assert audio.writable_format("FLAC", "PCM_16") == ("FLAC", "PCM_16")
    assert audio.writable_format("FLAC", "FLOAT") == ("FLAC", "PCM_16")


def test_resample_changes_length_and_keeps_a_tone(rng):
    x = harmonic_tone(200, 1.0, 48000, n_harmonics=1)
    y = audio.resample(x, 48000, 16000)
    assert len(y) == 16000
    spectrum = np.abs(np.fft.rfft(y))
    assert np.argmax(spectrum) == 200  # 1 Hz bins over one second


def test_stream_resampler_equals_one_shot(rng):
    x = rng.uniform(-0.5, 0.5, (44100, 2)).astype(np.float32)
    stream = audio.StreamResampler(44100, 16000, 2)
    blocks = [stream.process(x[i:i + 1000]) for i in range(0, len(x), 1000)] + [stream.flush()]
    np.testing.assert_allclose(np.concatenate(blocks), audio.resample(x, 44100, 16000), atol=1e-6)


def test_to_mono_averages_channels():
    x = np.array([[1.0, 0.0], [0.5, 0.5]], dtype=np.float32)
    np.testing.assert_allclose(audio.to_mono(x), [0.5, 0.5])
