"""Audio input/output: the only module that opens audio files.

Everything libsndfile reads (WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF, CAF, ...), at any sample
rate, bit depth and channel count. Samples are handed around as float32 arrays of shape
``(n_samples, n_channels)`` at full scale ±1. Writes are atomic: a temporary file in the target
folder is renamed over the final name only when complete, so an interrupted run never leaves a
half-written output. The path ``-`` means standard input / standard output.
"""

from __future__ import annotations

import errno
import glob
import io
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import soundfile as sf
import soxr

from .errors import MsarError

STDIO = "-"

#: File name extensions treated as audio when walking a folder (lower case, with the dot).
AUDIO_EXTENSIONS = frozenset(
    ".wav .wave .flac .ogg .oga .opus .mp3 .aif .aiff .aifc .au .snd .caf .w64 .rf64 "
    ".sd2 .voc .nist .sph .htk .ircam .sf .paf .pvf .mat .mat4 .mat5 .xi .avr .wve .mpc .sds".split()
)

#: Subtypes whose samples are integers: floats are clipped to ±1 before writing them, because
#: libsndfile wraps out-of-range values around instead of saturating.
_INTEGER_SUBTYPE_PREFIXES = ("PCM_", "ULAW", "ALAW", "DWVW", "DPCM", "IMA_ADPCM", "MS_ADPCM",
                             "G721", "G723", "GSM610", "VOX_ADPCM", "NMS_ADPCM")


@dataclass(frozen=True)
class AudioInfo:
    """What the header of an audio file says."""

    path: str
    sr: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sr if self.sr else 0.0


def _describe(exc: Exception) -> str:
    """One line from a libsndfile / OS error."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # soundfile prefixes messages with "Error opening '<path>': "; the caller names the file.
    if text.startswith("Error opening") and ": " in text:
        text = text.split(": ", 1)[1]
    return text


def _open_source(path: str | os.PathLike) -> str | BinaryIO:
    """A path, or an in-memory copy of standard input for ``-`` (libsndfile needs to seek)."""
    if str(path) == STDIO:
        return io.BytesIO(sys.stdin.buffer.read())
    return str(path)


def _display(path: str | os.PathLike) -> str:
    return "<stdin>" if str(path) == STDIO else str(path)


def _sf_open(path: str | os.PathLike, source=None) -> sf.SoundFile:
    name = _display(path)
    if str(path) != STDIO:
        p = Path(path)
        try:
            st = os.stat(p)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise MsarError(f"{name}: cannot open (symlink loop)") from None
            if exc.errno == errno.ENOENT:
                raise MsarError(f"{name}: no such file" + (" (broken symlink)" if p.is_symlink() else "")) from None
            raise MsarError(f"{name}: cannot open ({exc.strerror or _describe(exc)})") from None
        if stat.S_ISDIR(st.st_mode):
            raise MsarError(f"{name}: is a folder, not an audio file")
        if not stat.S_ISREG(st.st_mode):
            # A FIFO or device would block or never end; stdin ('-') is the way to stream.
            raise MsarError(f"{name}: not a regular file (FIFO, socket or device)")
        if not os.access(p, os.R_OK):
            raise MsarError(f"{name}: not readable (permission denied)")
        if st.st_size == 0:
            raise MsarError(f"{name}: empty file (0 bytes)")
    try:
        return sf.SoundFile(source if source is not None else _open_source(path))
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError, ValueError) as exc:
        raise MsarError(f"{name}: not readable audio ({_describe(exc)})") from None


def info(path: str | os.PathLike) -> AudioInfo:
    """The header of an audio file (no samples are decoded). Raises MsarError if unreadable."""
    with _sf_open(path) as f:
        return AudioInfo(_display(path), int(f.samplerate), int(f.channels), max(int(f.frames), 0),
                         f.format, f.subtype)


def _check_block(x: np.ndarray, name: str, offset: int) -> None:
    if not np.all(np.isfinite(x)):
        bad = int(np.argwhere(~np.isfinite(x))[0][0]) + offset
        raise MsarError(f"{name}: contains NaN or infinite samples (first at sample {bad})")


def read(path: str | os.PathLike) -> tuple[np.ndarray, AudioInfo]:
    """Decode a whole file.

    Returns ``(x, info)``: ``x`` float32 of shape ``(n_samples, n_channels)`` at full scale ±1.
    Raises MsarError for unreadable, empty or non-finite audio.
    """
    name = _display(path)
    with _sf_open(path) as f:
        meta = AudioInfo(name, int(f.samplerate), int(f.channels), max(int(f.frames), 0),
                         f.format, f.subtype)
        # A corrupt header can claim billions of frames (found by fuzzing): allocate for at
        # most 32 samples per byte of file (well above any real codec's ratio) ...
        cap = max(1 << 20, 32 * os.path.getsize(path) // meta.channels) if str(path) != STDIO else meta.frames
        try:
            x = f.read(min(meta.frames, cap), dtype="float32", always_2d=True)
            # ... and read on to the end: a header can also count fewer frames than libsndfile
            # decodes, and read() must equal read_blocks() concatenated.
            more = [x]
            while (block := f.read(1 << 16, dtype="float32", always_2d=True)).shape[0]:
                more.append(block)
            x = np.concatenate(more) if len(more) > 1 else x
        except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
            raise MsarError(f"{name}: decoding failed ({_describe(exc)})") from None
    if x.shape[0] == 0:
        raise MsarError(f"{name}: no audio samples (zero-length file)")
    _check_block(x, name, 0)
    if meta.frames != x.shape[0]:  # headers of truncated or streamed files can lie
        meta = AudioInfo(meta.path, meta.sr, meta.channels, int(x.shape[0]), meta.format, meta.subtype)
    return x, meta


def read_blocks(path: str | os.PathLike, block_frames: int) -> Iterator[np.ndarray]:
    """Decode a file block by block, for long files with bounded memory.

    Yields float32 arrays of shape ``(<= block_frames, n_channels)``; concatenated they equal
    :func:`read`. Raises MsarError as :func:`read` does, at the block where the problem is.
    """
    if block_frames < 1:
        raise ValueError("block_frames must be >= 1")
    name = _display(path)
    offset = 0
    with _sf_open(path) as f:
        while True:
            try:
                block = f.read(block_frames, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
                raise MsarError(f"{name}: decoding failed at sample {offset} ({_describe(exc)})") from None
            if block.shape[0] == 0:
                break
            _check_block(block, name, offset)
            offset += block.shape[0]
            yield block
    if offset == 0:
        raise MsarError(f"{name}: no audio samples (zero-length file)")


def to_mono(x: np.ndarray) -> np.ndarray:
    """Mix ``(n_samples, n_channels)`` (or 1-D) audio to a 1-D mono signal by averaging channels."""
    return x if x.ndim == 1 else x.mean(axis=1, dtype=np.float64).astype(x.dtype, copy=False)


def resample(x: np.ndarray, sr_in: int, sr_out: int, quality: str = "VHQ") -> np.ndarray:
    """Resample ``x`` (1-D or ``(n, ch)``) from ``sr_in`` to ``sr_out`` Hz with soxr.

    ``quality`` is a soxr quality name (default ``"VHQ"``, very high quality). Returns a new array
    of the same dtype; the input unchanged when the rates are equal.
    """
    if sr_in == sr_out:
        return x
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
    return soxr.resample(np.ascontiguousarray(x, dtype=dtype), sr_in, sr_out, quality=quality)


class StreamResampler:
    """Block-wise soxr resampling of ``(n, channels)`` float32 blocks with carried state.

    Concatenated outputs of :meth:`process` followed by :meth:`flush` equal one-shot
    :func:`resample` to within soxr's rounding.
    """

    def __init__(self, sr_in: int, sr_out: int, channels: int, quality: str = "VHQ"):
        self.channels = channels
        self._stream = None if sr_in == sr_out else soxr.ResampleStream(
            sr_in, sr_out, channels, dtype="float32", quality=quality)

    def process(self, block: np.ndarray) -> np.ndarray:
        if self._stream is None:
            return block
        return self._stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32))

    def flush(self) -> np.ndarray:
        """The samples still inside the resampler's filter, after the last block."""
        empty = np.zeros((0, self.channels), dtype=np.float32)
        if self._stream is None:
            return empty
        return self._stream.resample_chunk(empty, last=True)


def is_integer_subtype(subtype: str) -> bool:
    return subtype.upper().startswith(_INTEGER_SUBTYPE_PREFIXES) or subtype.upper() in {"PCM_S8", "PCM_U8"}


def prepare_for_writing(y: np.ndarray, subtype: str) -> np.ndarray:
    """``y`` as float32 ``(n, ch)`` ready for a file of ``subtype``: saturated at ±1 for
    integer subtypes. Raises MsarError on non-finite samples."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[:, None]
    if not np.all(np.isfinite(y)):
        raise MsarError("refusing to write non-finite samples (internal error)")
    if is_integer_subtype(subtype):
        # libsndfile wraps out-of-range floats around for integer formats; saturate instead.
        y = np.clip(y, -1.0, 1.0)
    return y


def writable_format(fmt: str, subtype: str) -> tuple[str, str]:
    """The (format, subtype) to write for an input of (fmt, subtype).

    The input's own pair when libsndfile can write it; otherwise the format's default subtype.
    """
    try:
        if sf.check_format(fmt, subtype):
            return fmt, subtype
    except (ValueError, TypeError):
        pass
    default = sf.default_subtype(fmt)
    if default is None or not sf.check_format(fmt, default):
        raise MsarError(f"libsndfile cannot write the {fmt} format")
    return fmt, default


def format_for_path(path: str | os.PathLike) -> str:
    """The libsndfile major format for a file name's extension (``out.flac`` -> ``FLAC``)."""
    ext = Path(str(path)).suffix.lower().lstrip(".")
    aliases = {"wave": "WAV", "aif": "AIFF", "aifc": "AIFF", "oga": "OGG", "opus": "OGG",
               "snd": "AU", "sph": "NIST", "mat": "MAT5"}
    fmt = aliases.get(ext, ext.upper())
    if fmt not in sf.available_formats():
        raise MsarError(f"{path}: unknown audio file extension '.{ext}'")
    return fmt


def write(path: str | os.PathLike, y: np.ndarray, sr: int, fmt: str | None = None,
          subtype: str | None = None) -> None:
    """Write ``y`` (``(n, ch)`` or 1-D float, ±1 full scale) atomically to ``path`` (or stdout for ``-``).

    ``fmt`` defaults to the one the extension implies (WAV for stdout); ``subtype`` to the
    format's default. Integer subtypes are saturated at ±1.
    """
    if str(path) == STDIO:
        fmt = fmt or "WAV"
        fmt, subtype = writable_format(fmt, subtype or sf.default_subtype(fmt))
        buf = io.BytesIO()
        # WAV on a pipe: libsndfile needs a seekable target to fill in the header sizes.
        sf.write(buf, prepare_for_writing(y, subtype), sr, format=fmt, subtype=subtype)
        sys.stdout.buffer.write(buf.getvalue())
        sys.stdout.buffer.flush()
        return
    fmt = fmt or format_for_path(path)
    fmt, subtype = writable_format(fmt, subtype or sf.default_subtype(fmt))
    data = prepare_for_writing(y, subtype)
    with AtomicWriter(path, sr, data.shape[1], fmt, subtype) as f:
        f.write(data)


def _write_failure(exc: Exception) -> str:
    """One line for a failed libsndfile write, which reports a full disk only as "System error"."""
    text = _describe(exc)
    return f"{text.rstrip('.')}: disk full, over quota or over the file size limit?" \
        if text.startswith("System error") else text


def remove_partial(path: str | os.PathLike) -> None:
    """Delete the temporary files that :class:`AtomicWriter` makes for ``path``
    (``.NAME.XXXX.part`` beside it), e.g. those of a run that was killed mid-write."""
    target = Path(path)
    try:
        for stale in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
            stale.unlink(missing_ok=True)
    except OSError:
        pass


def temp_path_for(path: str | os.PathLike, clear_stale: bool = True) -> str:
    """A new empty temporary file beside ``path`` (``.NAME.XXXX.part``), for an atomic write;
    the folder is created if needed and stale temp files of the same output are removed first
    (``clear_stale=False``: kept, for a second scratch file while the first is in use; the same
    name pattern means :func:`remove_partial` clears both after an interruption).
    Raises MsarError when the folder is not writable."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if clear_stale:
            remove_partial(target)  # left by a killed earlier run of this same output
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise MsarError(f"{target}: cannot write ({exc.strerror or exc})") from None
    return tmp


def publish(tmp: str, path: str | os.PathLike) -> None:
    """Rename a finished temporary file onto ``path`` (atomic on POSIX)."""
    # mkstemp creates 0600 files; give the output the permissions a normal file would get.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


class AtomicWriter:
    """Context manager giving a writable ``soundfile.SoundFile`` at a temporary name in the target
    folder; on a clean exit the file is renamed to ``path`` (atomic on POSIX), on an exception
    the temporary file is removed and ``path`` is left untouched.

    Use for block-wise writes of long files; call ``write`` on the returned object with float
    blocks already saturated for integer subtypes (see :func:`write`).
    """

    def __init__(self, path: str | os.PathLike, sr: int, channels: int, fmt: str, subtype: str):
        self.path = Path(path)
        self.sr, self.channels, self.fmt, self.subtype = sr, channels, fmt, subtype
        self._tmp: str | None = None
        self._file: sf.SoundFile | None = None

    def __enter__(self) -> sf.SoundFile:
        self._tmp = temp_path_for(self.path)
        try:
            self._file = sf.SoundFile(self._tmp, "w", samplerate=self.sr, channels=self.channels,
                                      format=self.fmt, subtype=self.subtype)
        except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
            self._cleanup()
            raise MsarError(f"{self.path}: cannot write {self.fmt}/{self.subtype} ({_describe(exc)})") from None
        except BaseException:  # e.g. Ctrl-C between creating the temp file and opening it
            self._cleanup()
            raise
        return self._file

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if self._file is not None:
                self._file.close()
        except (sf.LibsndfileError, RuntimeError, OSError) as close_exc:
            if exc_type is None:
                self._cleanup()
                raise MsarError(f"{self.path}: cannot write ({_write_failure(close_exc)})") from None
        if exc_type is not None:
            self._cleanup()
            if issubclass(exc_type, OSError):
                raise MsarError(f"{self.path}: cannot write ({exc.strerror or exc})") from None
            if issubclass(exc_type, sf.LibsndfileError):  # a failed write of a block
                raise MsarError(f"{self.path}: cannot write ({_write_failure(exc)})") from None
            return False
        try:
            publish(self._tmp, self.path)
        except OSError as exc:
            self._cleanup()
            raise MsarError(f"{self.path}: cannot write ({exc.strerror or exc})") from None
        return False

    def _cleanup(self) -> None:
        if self._tmp and os.path.exists(self._tmp):
            try:
                os.unlink(self._tmp)
            except OSError:
                pass


class ScratchFile:
    """A 32-bit float Wave64 file beside output ``beside``, for audio between two passes over a
    long file: named like ``beside``'s temporary files, so :func:`remove_partial` clears it after
    a killed run, and deleted when the ``with`` block ends, however it ends.

    Inside the block: :meth:`write` blocks, :meth:`finish_writing`, then read :attr:`path`.
    """

    def __init__(self, beside: str | os.PathLike, sr: int, channels: int):
        self.beside, self.sr, self.channels = Path(beside), sr, channels
        self.path: str | None = None
        self._file: sf.SoundFile | None = None

    def __enter__(self) -> "ScratchFile":
        # Not clearing stale files: the output's own temporary file already exists beside it.
        self.path = temp_path_for(self.beside, clear_stale=False)
        try:
            self._file = sf.SoundFile(self.path, "w", samplerate=self.sr, channels=self.channels,
                                      format="W64", subtype="FLOAT")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def write(self, block: np.ndarray) -> None:
        try:
            self._file.write(np.ascontiguousarray(block, dtype=np.float32))
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise MsarError(f"{self.beside}: cannot write scratch audio ({_write_failure(exc)})") from None

    def finish_writing(self) -> None:
        try:
            self._file.close()
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise MsarError(f"{self.beside}: cannot write scratch audio ({_write_failure(exc)})") from None

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if self._file is not None and not self._file.closed:
                self._file.close()
        except (sf.LibsndfileError, RuntimeError, OSError):
            pass
        if self.path:
            try:
                os.unlink(self.path)
            except OSError:
                pass
        return False


def format_like(path: str | os.PathLike, like: AudioInfo) -> tuple[str, str]:
    """``(format, subtype)`` for writing ``path`` (or stdout) like the input ``like``: the input's
    format and subtype when the output's extension allows it, else that format's default."""
    if str(path) == STDIO:
        fmt = like.format if like.format in ("WAV", "WAVEX", "AIFF", "AU", "CAF") else "WAV"
    else:
        fmt = format_for_path(path)
    subtype = like.subtype if fmt == like.format else sf.default_subtype(fmt)
    return writable_format(fmt, subtype)


def write_like(path: str | os.PathLike, y: np.ndarray, sr: int, like: AudioInfo) -> None:
    """Write ``y`` atomically in the format :func:`format_like` picks for ``path``."""
    write(path, y, sr, *format_like(path, like))
