"""CSV output shared by subcommands: per-file rows, aggregate statistics, a readable table,
and atomic text writes (temp file + rename, like audio)."""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from typing import Iterable, Sequence

import numpy as np

from msar.dsp.audio import publish, temp_path_for
from msar.dsp.errors import MsarError

AGGREGATE_COLUMNS = ("metric", "n", "mean", "std", "median", "min", "max", "ci95_low", "ci95_high")


def format_value(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.6g}"
    return "" if value is None else str(value)


def to_csv(rows: Sequence[dict], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([format_value(row.get(c)) for c in columns])
    return buf.getvalue()


def union_columns(first: Sequence[str], rows: Iterable[dict], last: Sequence[str] = ()) -> list[str]:
    """``first``, then every other key in order of appearance, then ``last``."""
    columns = list(first)
    for row in rows:
        for key in row:
            if key not in columns and key not in last:
                columns.append(key)
    return columns + [c for c in last if c not in columns]


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, or to stdout when ``path`` is ``-``."""
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temp file in the same folder, then rename."""
    tmp = temp_path_for(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        publish(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # e.g. a full disk: one line, exit 1, not a traceback
            raise MsarError(f"{path}: cannot write ({exc.strerror or exc})") from None
        raise


def aggregate(rows: Sequence[dict], metrics: Sequence[str]) -> list[dict]:
    """Per metric: n, mean, std (sample), median, min, max and a 95 % confidence interval of the
    mean (Student's t). Non-finite values (e.g. PESQ of a silent file) are left out of n."""
    from scipy import stats

    table = []
    for name in metrics:
        values = np.array([r[name] for r in rows if isinstance(r.get(name), (int, float))], dtype=float)
        values = values[np.isfinite(values)]
        n = len(values)
        entry = {"metric": name, "n": n}
        if n:
            mean = float(values.mean())
            std = float(values.std(ddof=1)) if n > 1 else 0.0
            half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)) if n > 1 else 0.0
            entry.update(mean=mean, std=std, median=float(np.median(values)), min=float(values.min()),
                         max=float(values.max()), ci95_low=mean - half, ci95_high=mean + half)
        table.append(entry)
    return table


def readable(table: Sequence[dict], columns: Sequence[str]) -> str:
    """A fixed-width text table for humans (stderr)."""
    cells = [[str(c) for c in columns]] + [[format_value(row.get(c)) for c in columns] for row in table]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths)))
             for r in cells]
    return "\n".join(lines)
