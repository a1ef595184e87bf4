"""Block-wise helpers for long files: block sizes that keep analysis frames aligned, regrouping a
stream of blocks into chunks with context, and an F0 contour computed block by block.

Long files are processed in blocks of about ``DEFAULT_BLOCK_S`` seconds so memory stays bounded
whatever the length (see ``dsp.repair.longform`` and ``dsp.scoring``). A block is a whole number
of 5 ms WORLD frames and 10 ms loudness hops, so contours computed per block line up with the
whole-file ones frame for frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from .world import FRAME_PERIOD_MS, f0_contour

#: Files longer than this many seconds are processed block by block; also the block length.
#: Peak memory grows with it: `msar repair` on 48 kHz stereo peaks near 150 MB (libraries and
#: model) plus about 10 MB per second of block (measured; reports/bench-long.md).
DEFAULT_BLOCK_S = 20.0
#: Context read on each side of a chunk so filters and recurrent state settle before the part
#: that is kept, seconds.
DEFAULT_MARGIN_S = 2.0


def frame_unit(sr: int) -> int:
    """Fewest samples that are a whole number of 5 ms frames and 10 ms hops at ``sr`` Hz
    (480 at 48 kHz, 441 at 44.1 kHz, 160 at 16 kHz)."""
    return sr // math.gcd(int(sr), 100)


def block_frames(sr: int, seconds: float = DEFAULT_BLOCK_S) -> int:
    """About ``seconds`` of samples, rounded to a whole number of :func:`frame_unit` (at least one)."""
    unit = frame_unit(sr)
    return max(1, int(round(seconds * sr / unit))) * unit


@dataclass
class Chunk:
    """``data[lead:lead + n]`` is this chunk's own part; the rest is context from its neighbours
    (less at the start and end of the stream)."""

    data: np.ndarray
    lead: int
    n: int
    #: Index of the chunk's first own sample in the stream.
    start: int

    @property
    def own(self) -> np.ndarray:
        return self.data[self.lead:self.lead + self.n]


def chunks(blocks: Iterable[np.ndarray], size: int, margin: int) -> Iterator[Chunk]:
    """Regroup a stream of ``(n, ch)`` blocks into chunks of ``size`` own samples, each with up
    to ``margin`` samples of context before and after. Only about ``size + 2*margin`` samples
    (plus one incoming block) are held at a time."""
    if size < 1 or margin < 0:
        raise ValueError("size must be >= 1 and margin >= 0")
    source = iter(blocks)
    parts: list[np.ndarray] = []
    buf_start = 0       # stream index of the first buffered sample
    buffered = 0
    pos = 0             # stream index of the next chunk's first own sample
    ended = False
    while True:
        while not ended and buf_start + buffered < pos + size + margin:
            try:
                block = next(source)
            except StopIteration:
                ended = True
                break
            if len(block):
                parts.append(block)
                buffered += len(block)
        if buf_start + buffered <= pos:
            return
        buf = np.concatenate(parts) if len(parts) > 1 else parts[0]
        lo = max(pos - margin, buf_start)
        hi = min(pos + size + margin, buf_start + buffered)
        n = min(size, buf_start + buffered - pos)
        yield Chunk(buf[lo - buf_start:hi - buf_start], pos - lo, n, pos)
        pos += n
        keep_from = max(pos - margin, buf_start) - buf_start
        parts, buf_start, buffered = [buf[keep_from:]], buf_start + keep_from, buffered - keep_from


def rechunk(blocks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """The same samples in blocks of exactly ``size`` (the last one may be shorter)."""
    for c in chunks(blocks, size, 0):
        yield c.own


class F0Contour:
    """WORLD F0 contour (``dsp.world.f0_contour``) of a signal fed block by block.

    Every block but the last must be a whole number of 5 ms frames (:func:`block_frames`). The
    frame at a block's end time is the next block's first frame, so each block's last frame is
    held back and released only by :meth:`finish`: the total count is the whole-file count,
    ``floor(n / hop) + 1``. Values near block edges can differ slightly from a whole-file
    analysis (WORLD's F0 tracking looks a few frames around each one).
    """

    def __init__(self, sr: int, method: str = "dio"):
        self.sr, self.method = int(sr), method
        self._held: np.ndarray | None = None
        self._ragged = False

    def update(self, block: np.ndarray) -> np.ndarray:
        if self._ragged:
            raise ValueError("only the last block may be a partial number of frames")
        hop = self.sr * FRAME_PERIOD_MS / 1000.0
        self._ragged = abs(len(block) / hop - round(len(block) / hop)) > 1e-9
        if not len(block):
            return np.zeros(0)
        f0 = f0_contour(block, self.sr, self.method)
        # This block's first frame is the same instant as the frame held back from the previous
        # block; this block's own estimate of it (with the audio after it) is kept.
        self._held = f0[-1]
        return f0[:-1]

    def finish(self) -> np.ndarray:
        return np.zeros(0) if self._held is None else np.array([self._held])
