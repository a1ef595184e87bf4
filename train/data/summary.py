"""The human-readable corpus summary: hours per language, speaker, source and split; noise; rejections."""

from __future__ import annotations

from collections import Counter, defaultdict

from .quality import reason_tag


def _hours_table(title: str, rows: list[dict], key, extra=None) -> list[str]:
    hours: dict[str, float] = defaultdict(float)
    files: Counter = Counter()
    for r in rows:
        k = key(r)
        hours[k] += r["duration_s"] / 3600.0
        files[k] += 1
    lines = [f"{title}:"]
    for k in sorted(hours, key=lambda k: (-hours[k], k)):
        more = f"  {extra(k)}" if extra else ""
        lines.append(f"  {k:<28} {hours[k]:7.3f} h  {files[k]:6d} files{more}")
    return lines


def speech_summary(title: str, rows: list[dict]) -> list[str]:
    total = sum(r["duration_s"] for r in rows) / 3600.0
    speakers = {r["speaker"] for r in rows}
    info = {r["speaker"]: (r["sex"] or "?", r["split"], r["language"]) for r in rows}
    langs: dict[str, set] = defaultdict(set)
    for r in rows:
        langs[r["speaker"]].add(r["language"])
    big = [s for s in speakers if sum(r["duration_s"] for r in rows if r["speaker"] == s) >= 300]
    lines = [f"== {title}: {total:.3f} h, {len(rows)} files, {len(speakers)} speakers "
             f"({len(big)} with >= 5 min)"]
    lines += _hours_table("hours per language", rows, lambda r: r["language"])
    lines += _hours_table("hours per speaker", rows, lambda r: r["speaker"],
                          lambda s: f"sex={info[s][0]} split={info[s][1]} lang={','.join(sorted(langs[s]))}")
    lines += _hours_table("hours per source", rows, lambda r: r["source"])
    lines += _hours_table("hours per split", rows, lambda r: r["split"])
    by_split = defaultdict(set)
    for r in rows:
        by_split[r["split"]].add(r["speaker"])
    lines.append("speakers per split: " + ", ".join(f"{k}={len(v)}" for k, v in sorted(by_split.items())))
    sexes = Counter(info[s][0] for s in speakers)
    lines.append("speakers per sex: " + ", ".join(f"{k}={v}" for k, v in sorted(sexes.items())))
    return lines


def noise_summary(rows: list[dict]) -> list[str]:
    total = sum(r["duration_s"] for r in rows) / 3600.0
    real = sum(r["duration_s"] for r in rows if r["category"] != "music") / 3600.0
    lines = [f"== noise: {total:.3f} h in {len(rows)} files; without music {real:.3f} h ({60 * real:.1f} min)"]
    lines += _hours_table("hours per category", rows, lambda r: r["category"])
    lines += _hours_table("hours per source", rows, lambda r: r["source"])
    lines += _hours_table("hours per split (without music)", [r for r in rows if r["category"] != "music"],
                          lambda r: r["split"])
    return lines


def rejection_summary(rows: list[dict]) -> list[str]:
    lines = [f"== rejected or failed: {len(rows)} files, "
             f"{sum(r['source_duration_s'] for r in rows) / 3600.0:.3f} h of source audio"]
    counts: Counter = Counter()
    for r in rows:
        if r["status"] == "failed":  # unreadable or empty source files
            counts[(r["source"], r["section"], "failed")] += 1
            continue
        for reason in r["reason"].split("; "):
            counts[(r["source"], r["section"], reason_tag(reason))] += 1
    for (source, section, tag), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {source:<32} {section:<8} {tag:<16} {n:6d}")
    lines.append("  (a file rejected for several reasons counts once per reason)")
    return lines
