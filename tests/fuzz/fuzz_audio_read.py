"""Fuzz the audio-reading path (`msar.dsp.audio.read`, `info` and `read_blocks`) with atheris:
arbitrary bytes are written to a temporary file, and the only exception allowed out is MsarError
(a one-line message naming the file). Anything else (a crash, an IndexError, a non-finite sample
handed on) is a bug. Not part of `make test`; run it with `make fuzz`:

    python tests/fuzz/fuzz_audio_read.py -atheris_runs=20000 -max_total_time=120 [corpus_dir]

Seed inputs: small valid files of several formats (written on start into the corpus folder when
one is given), so the fuzzer mutates real headers instead of guessing them.
"""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    import numpy as np
    import soundfile as sf

    from msar.dsp import audio
    from msar.dsp.errors import MsarError

SUFFIXES = [".wav", ".flac", ".ogg", ".aiff", ".au", ".caf", ".mp3"]
_TMP = tempfile.mkdtemp(prefix="msar-fuzz-")


def _seed_corpus(folder: str) -> None:
    """A few tiny valid files to start from (only when the corpus folder is empty)."""
    os.makedirs(folder, exist_ok=True)
    if os.listdir(folder):
        return
    x = (0.3 * np.sin(np.arange(400) / 5.0)).astype(np.float32)
    for fmt, subtype, ext in [("WAV", "PCM_16", "wav"), ("WAV", "FLOAT", "wav"), ("WAV", "PCM_U8", "wav"),
                              ("FLAC", "PCM_16", "flac"), ("AIFF", "PCM_24", "aiff"), ("AU", "ULAW", "au"),
                              ("OGG", "VORBIS", "ogg"), ("CAF", "ALAW", "caf")]:
        try:
            sf.write(os.path.join(folder, f"seed_{fmt}_{subtype}.{ext}"), np.stack([x, -x], 1), 8000,
                     format=fmt, subtype=subtype)
        except (sf.LibsndfileError, ValueError, TypeError):
            pass


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    suffix = SUFFIXES[fdp.ConsumeIntInRange(0, len(SUFFIXES) - 1)]
    block = fdp.ConsumeIntInRange(1, 4096)
    payload = fdp.ConsumeBytes(fdp.remaining_bytes())
    path = os.path.join(_TMP, "input" + suffix)
    with open(path, "wb") as f:
        f.write(payload)
    try:
        x, meta = audio.read(path)
    except MsarError:
        return
    # What read returns must hold its promises: float32 (n, ch), finite, the header's shape.
    assert x.dtype == np.float32 and x.ndim == 2 and x.shape[0] >= 1, x.shape
    assert x.shape == (meta.frames, meta.channels), (x.shape, meta)
    assert np.all(np.isfinite(x))
    assert meta.sr > 0
    try:
        blocks = list(audio.read_blocks(path, block))
    except MsarError:
        return
    assert all(b.dtype == np.float32 and b.shape[1] == meta.channels for b in blocks)
    # libmpg123 resynchronises differently on a corrupt MP3 stream depending on the read size,
    # so only the other decoders promise that blocks add up to the whole file.
    if meta.format not in ("MP3", "MPEG"):
        assert sum(b.shape[0] for b in blocks) == x.shape[0], meta


def main() -> None:
    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus and not os.path.isfile(corpus[0]):  # a file argument replays one crash
        _seed_corpus(corpus[0])
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
