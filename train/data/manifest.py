"""The corpus manifests: CSV files with one row per prepared (or rejected) file.

``<corpus>/manifest.csv``  clean speech (training targets), :data:`SPEECH_COLUMNS`
``<corpus>/damaged.csv``   real damaged speech (repair input only), :data:`SPEECH_COLUMNS` + ``pair``
``<corpus>/noise.csv``     real noise, :data:`NOISE_COLUMNS`
``<corpus>/synthetic.csv`` flite voices (not real speakers), :data:`SPEECH_COLUMNS`
``<corpus>/rejected.csv``  files the quality gate refused or that failed, :data:`REJECTED_COLUMNS`

Paths are relative to the corpus folder. Numbers are written with fixed precision, so the same
corpus always gives byte-identical files. Writes are atomic (temporary file, then rename).
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

SPEECH_COLUMNS = ("path", "path_48k", "speaker", "sex", "language", "duration_s", "transcript", "source",
                  "licence", "split", "section", "source_file", "source_sr", "clip_fraction", "bandwidth_hz",
                  "snr_db", "loudness_lufs", "gain_db")
DAMAGED_COLUMNS = SPEECH_COLUMNS + ("pair",)
NOISE_COLUMNS = ("path", "source", "licence", "duration_s", "category", "split", "source_file", "source_sr",
                 "bandwidth_hz", "loudness_lufs", "gain_db")
REJECTED_COLUMNS = ("source_file", "source", "section", "speaker", "language", "status", "reason",
                    "source_duration_s", "clip_fraction", "bandwidth_hz", "snr_db")

#: Decimal places per numeric column.
_PRECISION = {"duration_s": 3, "source_duration_s": 3, "clip_fraction": 6, "bandwidth_hz": 0, "snr_db": 1,
              "loudness_lufs": 2, "gain_db": 2}
#: Columns read back as numbers.
_FLOAT = set(_PRECISION)
_INT = {"source_sr"}


def _fmt(column: str, value) -> str:
    if column in _PRECISION:
        if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
            return ""
        return f"{float(value):.{_PRECISION[column]}f}"
    return "" if value is None else str(value)


def write(path: Path, rows: Iterable[dict], columns: Sequence[str]) -> int:
    """Write ``rows`` (dicts; extra keys ignored, missing ones empty) as CSV with ``columns``.
    Returns the number of rows. Atomic: readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    n = 0
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(columns)
            for row in rows:
                w.writerow([_fmt(c, row.get(c)) for c in columns])
                n += 1
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return n


def read(path: Path) -> list[dict]:
    """Read a manifest back: numeric columns as float/int (empty -> NaN / 0), the rest as str."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for k, v in row.items():
                if k in _FLOAT:
                    row[k] = float(v) if v != "" else float("nan")
                elif k in _INT:
                    row[k] = int(v) if v != "" else 0
            rows.append(row)
    return rows
