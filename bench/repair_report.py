"""The seed's four-model table, measured: ``make report`` writes ``reports/repair.md`` and ``.csv``.

Every shipped repair variant (``base``, ``improved``, ``multispeaker``, ``multispeaker-repair``)
runs through the whole ``msar repair`` command (analysis, DSP stages, that model as the neural
stage, the preservation guard; ``multispeaker-repair`` as the default, without ``--model``) on
the same damaged test material, and ``msar score`` compares each output folder with the clean
references: MSE, cos_pitch, cos_loudness, Q (the seed's weights α=0.5, β=0.3, γ=0.2) and
PESQ-wb, STOI, SI-SDR. The damaged input itself is scored too (the "unprocessed" row).

Test material (the same as ``make bench-repair``, ``bench/repair_peers.py``): clean utterances
of the corpus **test** split (speakers never seen in training), concatenated per speaker into
clips of about ``--seconds``, damaged once per damage type by ``msar.dsp.degrade`` (the code
behind ``msar degrade``), seeded per clip with ``file_rng(--seed, "<damage>/<clip>")``; noise
recordings from the noise manifest's test split, babble from test-split talkers. Inputs are
16-bit WAV (scaled into full scale as ``msar degrade`` writes them); references are float WAV
with the same gain.

    python bench/repair_report.py [--files 6] [--seconds 4] [--jobs 2] [--out reports/repair.md]

Writes the markdown report, a CSV with one row per (system, damage, clip), and two PNG charts
next to it: ``repair_models.png`` (the metrics per model) and ``repair_q_terms.png`` (the Q
terms α·MSE, β·(1−cos_pitch), γ·(1−cos_loudness) of the multi-speaker models).

Issue 9's rows (``--modes``, default on): the same files through ``msar repair --mode mask``,
``--mode resynth`` and ``--mode auto`` (default model), run and scored by ``make bench-resynth``'s
own code (``bench/resynth_bench.py``: the CLI's per-file function, PESQ-wb, STOI, LSD over the
whole band and above 4 kHz, Q, DNSMOS P.835 OVRL and DistillMOS unless ``--no-mos``), per damage type;
per-file rows in ``repair-modes.csv``. The material is ``make bench-resynth``'s too, so its msar
rows are the same measurement (run separately: nothing is copied from its CSV).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from repair_peers import DAMAGES, SR, build_clips, make_material  # noqa: E402

from msar.cli.tables import write_bytes, write_text  # noqa: E402
from msar.dsp import audio, metrics  # noqa: E402
from msar.onnx_models import registry  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: The seed's four models in its order; the last is msar's default (run without --model).
MODELS = ("base", "improved", "multispeaker", "multispeaker-repair")
DEFAULT_MODEL = "multispeaker-repair"
UNPROCESSED = "unprocessed"
#: The seed's table as its README states it (claimed, never measured there).
SEED_TABLE = {"base": (0.01, 0.9, 0.85, 0.065), "improved": (0.005, 0.95, 0.9, 0.0375),
              "multispeaker": (0.003, 0.97, 0.92, 0.0265), "multispeaker-repair": (0.002, 0.98, 0.95, 0.017)}
SEED_COLUMNS = ("mse", "cos_pitch", "cos_loudness", "q")
EXTRA = ("pesq_wb", "stoi", "si_sdr")
ALL_METRICS = SEED_COLUMNS + EXTRA
LABELS = {"mse": "MSE", "cos_pitch": "CosSim pitch", "cos_loudness": "CosSim loudness", "q": "Q",
          "pesq_wb": "PESQ-wb", "stoi": "STOI", "si_sdr": "SI-SDR dB"}
#: Higher is better for these; lower for mse and q.
HIGHER_BETTER = {"cos_pitch", "cos_loudness", "pesq_wb", "stoi", "si_sdr"}
#: The damage types the three noise-only variants were trained for.
NOISE_DAMAGES = ("noise-synthetic", "noise-real", "babble")
#: The seed's pie chart is of its multi-speaker model; the default (multispeaker-repair) beside it.
PIE_MODELS = ("multispeaker", "multispeaker-repair")

log = logging.getLogger("bench.repair_report")


# ----------------------------------------------------------------------------- running msar


def msar(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("msar")
    cmd = [str(exe) if exe.exists() else "msar", *args]
    log.info("$ %s", " ".join(cmd))
    return subprocess.run(cmd, capture_output=True, text=True)


def read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def as_float(text: str | None) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def run_system(name: str, work: Path, jobs: int, alone: bool = False) -> dict:
    """``msar repair`` of the damaged folder with model ``name`` (or nothing, for the unprocessed
    row), then ``msar score`` against the references. With ``alone``, the neural stage only,
    forced on every file (``--stages denoise --force``), on the noise damage types
    (``work/noise-in``). Returns rows keyed by relative path, the commands' exit codes, and seconds."""
    src, ref = (work / "noise-in", work / "noise-ref") if alone else (work / "in", work / "ref")
    info: dict = {"name": name}
    t0 = time.perf_counter()
    stages: dict[str, str] = {}
    if name == UNPROCESSED:
        out = src
    else:
        tag = f"{name}-alone" if alone else name
        out = work / "out" / tag
        report = work / f"repair-{tag}.csv"
        model_args = [] if name == DEFAULT_MODEL else ["--model", name]
        stage_args = ["--stages", "denoise", "--force", "--mode", "mask"] if alone else []
        proc = msar("repair", str(src), str(out), *model_args, *stage_args, "-j", str(jobs), "-q", "--overwrite",
                    "--report", str(report))
        info["repair_rc"] = proc.returncode
        info["repair_stderr"] = proc.stderr.strip().splitlines()[-3:]
        stages = {r["path"]: (r.get("stages_applied", ""), r.get("mode", "") or "mask") for r in read_csv(report)}
    info["repair_s"] = time.perf_counter() - t0
    per_file = work / f"score-{name}{'-alone' if alone else ''}.csv"
    proc = msar("score", str(ref), str(out), "--metrics", ",".join(EXTRA), "--per-file", str(per_file),
                "-j", str(jobs), "-q")
    info["score_rc"] = proc.returncode
    info["score_stderr"] = proc.stderr.strip().splitlines()[-3:]
    info["seconds"] = time.perf_counter() - t0
    rows = {}
    for r in read_csv(per_file):
        key = os.path.splitext(r["path"])[0]
        rows[key] = {"status": r["status"], "message": r.get("message", ""),
                     "stages_applied": stages.get(r["path"], ("", ""))[0], "mode": stages.get(r["path"], ("", ""))[1],
                     **{m: as_float(r.get(m)) for m in ALL_METRICS}}
    info["rows"] = rows
    return info


# ----------------------------------------------------------------------------- aggregation


def mean(values) -> float:
    """Mean without NaNs; +inf (SI-SDR of an unchanged signal) stays inf."""
    v = np.array([x for x in values if x is not None and not np.isnan(x)], float)
    return float(v.mean()) if v.size else math.nan


def per_damage(rows: list[dict], system: str, damage: str, metric: str) -> float:
    return mean(r[metric] for r in rows if r["system"] == system and r["damage"] == damage and r["status"] == "ok")


def over_damages(rows: list[dict], system: str, damages, metric: str) -> float:
    """Mean over damage types of each type's mean over its files (every type weighs the same)."""
    return mean(per_damage(rows, system, d, metric) for d in damages)


def fmt(v: float, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if v == math.inf:
        return "∞"
    return f"{v:.{digits}f}"


DIGITS = {"mse": 5, "cos_pitch": 3, "cos_loudness": 3, "q": 4, "pesq_wb": 2, "stoi": 3, "si_sdr": 1}


def denoise_share(rows: list[dict], system: str, damages, path: str = "mask") -> str:
    """Files of ``damages`` on which the neural stage ran on ``path`` ("mask": the model under
    test; "resynth": the resynthesis model ``--mode auto`` picks for band-limited input), as "k/n"."""
    sel = [r for r in rows if r["system"] == system and r["damage"] in damages and r["status"] == "ok"]
    ran = [r for r in sel if "denoise" in r["stages_applied"].split()
           and (r["mode"] == "mask") == (path == "mask")]
    return f"{len(ran)}/{len(sel)}"


# ----------------------------------------------------------------------------- charts


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def bar_chart(table: dict[str, dict[str, float]], systems: list[str], title: str) -> bytes:
    """The seed's model comparison: one panel per metric (MSE, CosSim pitch, CosSim loudness, Q),
    one bar per system."""
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(15, 4.2))
    colors = ["#9e9e9e", "#8c564b", "#1f77b4", "#2ca02c", "#d62728", "#9467bd"]
    for ax, m in zip(axes, SEED_COLUMNS):
        vals = [table[s][m] for s in systems]
        bars = ax.bar(range(len(systems)), vals, color=colors[: len(systems)])
        ax.set_xticks(range(len(systems)), systems, rotation=35, ha="right", fontsize=8)
        ax.set_title(LABELS[m] + (" (higher better)" if m in HIGHER_BETTER else " (lower better)"), fontsize=10)
        finite = [v for v in vals if np.isfinite(v)]
        if m in ("cos_pitch", "cos_loudness") and finite:
            lo = min(finite)
            ax.set_ylim(max(0.0, lo - (1 - lo) * 0.5 - 0.01), 1.0)
        for b, v in zip(bars, vals):
            ax.annotate(fmt(v, DIGITS[m]), (b.get_x() + b.get_width() / 2, b.get_height()), ha="center",
                        va="bottom", fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def q_terms(table: dict[str, dict[str, float]], system: str) -> dict[str, float]:
    t = table[system]
    return {"α·MSE": metrics.ALPHA * t["mse"], "β·(1−CosSim pitch)": metrics.BETA * (1 - t["cos_pitch"]),
            "γ·(1−CosSim loudness)": metrics.GAMMA * (1 - t["cos_loudness"])}


def pie_chart(table: dict[str, dict[str, float]], systems: list[str], title: str) -> bytes:
    """The seed's pie chart: the share of each Q term, one pie per system."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(systems), figsize=(5.2 * len(systems), 4.6), squeeze=False)
    for ax, s in zip(axes[0], systems):
        terms = q_terms(table, s)
        vals = [max(v, 0.0) for v in terms.values()]
        if sum(vals) > 0:
            ax.pie(vals, labels=[f"{k}\n{v:.4f}" for k, v in terms.items()], autopct="%1.0f%%",
                   colors=["#1f77b4", "#ff7f0e", "#2ca02c"], startangle=90, textprops={"fontsize": 8})
        ax.set_title(f"{s}: Q = {sum(terms.values()):.4f}", fontsize=10)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


# ----------------------------------------------------------------------------- report


def model_card(name: str) -> dict:
    try:
        return registry.read_sidecar(registry.resolve(name, task="repair"))
    except Exception:  # noqa: BLE001 - a missing model is reported in the table
        return {}


def interpretation(table: dict, noise_table: dict, per_dmg: dict, systems: list[str], damages: list[str],
                   rows: list[dict]) -> list[str]:
    """Sentences computed from the measured numbers (so they stay true when the report is rerun)."""
    models = [s for s in systems if s != UNPROCESSED]
    out = []
    if not models:
        return ["No model ran; only the unprocessed input was scored."]
    best_q = min(systems, key=lambda s: table[s]["q"])
    out.append(f"Over the {len(damages)} damage types, the lowest (best) mean Q is **{best_q}** "
               f"({fmt(table[best_q]['q'], 4)}; unprocessed {fmt(table[UNPROCESSED]['q'], 4)}); mean PESQ-wb to three "
               "decimals: " + ", ".join(f"{s} {fmt(table[s]['pesq_wb'], 3)}" for s in systems) + ".")
    seq = [s for s in MODELS if s in models]
    qs = [table[s]["q"] for s in seq]
    monotone = all(a > b for a, b in zip(qs, qs[1:]))
    out.append("The seed's ordering (each model better in Q than the one before it: "
               + " > ".join(seq) + ") " + ("**holds** in our measurement" if monotone else "**does not hold** in our "
               "measurement") + ": Q = " + ", ".join(f"{s} {fmt(table[s]['q'], 4)}" for s in seq) + ".")
    steps_q = []
    for a, b in zip(seq, seq[1:]):
        qa = {(r["damage"], r["clip"]): r["q"] for r in rows if r["system"] == a and r["damage"] in damages}
        d = np.array([r["q"] - qa[(r["damage"], r["clip"])] for r in rows if r["system"] == b
                      and (r["damage"], r["clip"]) in qa])
        d = d[np.isfinite(d)]
        if d.size > 1:
            steps_q.append(f"{a} → {b} {d.mean():+.4f} ± {d.std(ddof=1) / np.sqrt(d.size):.4f}")
    if steps_q:
        out.append("Change of Q from each variant to the next, mean ± standard error over the paired files: "
                   + ", ".join(steps_q) + " (negative is an improvement; a change within about two standard "
                   "errors of zero is not resolved by this many files).")
    out.append("On noise alone (" + ", ".join(NOISE_DAMAGES) + ", what the first three were trained for), PESQ-wb: "
               + ", ".join(f"{s} {fmt(noise_table[s]['pesq_wb'], 2)}" for s in systems) + ".")
    ran = [denoise_share(rows, s, damages) for s in models]
    out.append(f"The variants differ only in the mask model, and it ran on {ran[0]} of the damaged files "
               + ("(the same files for every variant: the analysis before it does not depend on the model)"
                  if len(set(ran)) == 1 else "(" + ", ".join(f"{s} {r}" for s, r in zip(models, ran)) + ")")
               + "; elsewhere their outputs are identical, which is why the full-pipeline rows are close. "
               "The networks-alone table compares the networks themselves.")
    steps = {s: model_card(s).get("training", {}).get("steps") for s in models}
    out.append("Their training budgets differ (steps of the exported weights: "
               + ", ".join(f"{s} {steps[s]}" for s in models) + "), so each row measures a variant *and* "
               "its training budget (the notes above).")
    beaten = {s: [d for d in damages if per_dmg[(s, d)]["q"] < per_dmg[(UNPROCESSED, d)]["q"]] for s in models}
    for s in models:
        worse = [d for d in damages if per_dmg[(s, d)]["pesq_wb"] < per_dmg[(UNPROCESSED, d)]["pesq_wb"] - 0.05]
        out.append(f"`{s}` lowers Q below the unprocessed input on {len(beaten[s])} of {len(damages)} damage types"
                   + (f"; its PESQ-wb is more than 0.05 below the input's on: {', '.join(worse)}" if worse else "")
                   + ".")
    if DEFAULT_MODEL in models:
        d_p = {d: per_dmg[(DEFAULT_MODEL, d)]["pesq_wb"] - per_dmg[(UNPROCESSED, d)]["pesq_wb"] for d in damages}
        d_s = {d: per_dmg[(DEFAULT_MODEL, d)]["si_sdr"] - per_dmg[(UNPROCESSED, d)]["si_sdr"] for d in damages}
        gains = sorted((d for d in damages if np.isfinite(d_p[d])), key=lambda d: -d_p[d])[:3]
        drops = [d for d in damages if np.isfinite(d_s[d]) and d_s[d] < -1.0]
        out.append(f"The default pipeline's largest PESQ-wb gains over the input: "
                   + ", ".join(f"{d} {d_p[d]:+.2f}" for d in gains)
                   + (f"; SI-SDR falls by more than 1 dB on: " + ", ".join(f"{d} {d_s[d]:+.1f} dB" for d in drops)
                      if drops else "") + ".")
        shares = {d: denoise_share(rows, DEFAULT_MODEL, [d]) for d in NOISE_DAMAGES if d in damages}
        out.append("On the noise types the analysis called the mask model on "
                   + ", ".join(f"{d} {v}" for d, v in shares.items())
                   + " files (it runs where the SNR the analysis estimates is below its threshold, `dsp/analysis.py`; "
                   "the inputs' true SNR is 0-15 dB).")
    for s in [p for p in PIE_MODELS if p in models]:
        terms = q_terms(table, s)
        top = max(terms, key=terms.get)
        total = sum(terms.values())
        seed = dict(zip(SEED_COLUMNS, SEED_TABLE[s]))
        seed_terms = q_terms({s: seed}, s)
        seed_top = max(seed_terms, key=seed_terms.get)
        out.append(f"In `{s}`'s measured Q ({fmt(total, 4)}) the largest term is {top} "
                   f"({100 * terms[top] / total:.0f} % of Q); in the seed's claimed row (Q {SEED_TABLE[s][3]:g}) "
                   f"it is {seed_top} ({100 * seed_terms[seed_top] / sum(seed_terms.values()):.0f} %).")
    return out


def write_report(args, systems: list[str], runs: dict, rows: list[dict], alone_rows: list[dict],
                 damages: list[str], clips,
                 elapsed_s: float, out: Path, mode_rows: list[dict] | None = None) -> tuple[str, dict]:
    table = {s: {m: over_damages(rows, s, damages, m) for m in ALL_METRICS} for s in systems}
    noise = [d for d in NOISE_DAMAGES if d in damages]
    noise_table = {s: {m: over_damages(rows, s, noise, m) for m in ALL_METRICS} for s in systems}
    all_d = ["clean"] + damages if any(r["damage"] == "clean" for r in rows) else damages
    per_dmg = {(s, d): {m: per_damage(rows, s, d, m) for m in ALL_METRICS} for s in systems for d in all_d}
    n_files = len({(r["damage"], r["clip"]) for r in rows})
    secs = [len(x) / SR for _, _, x in clips]
    L = []
    L.append("# The seed's four repair models, measured")
    L.append("")
    L.append(f"Written by `make report` (`bench/repair_report.py`) on {platform.machine()}, {os.cpu_count()} cores "
             f"(shared with other jobs), Python {platform.python_version()}; whole run {elapsed_s / 60:.1f} min.")
    L.append(f"Test material: {len(clips)} clips of {np.mean(secs):.1f} s mean ({sum(secs):.0f} s) from "
             f"{len({s for _, s, _ in clips})} test-split speakers (never seen in training), 16 kHz, each damaged "
             f"once per type below by `msar.dsp.degrade` (seed {args.seed}; real noise from the noise manifest's test "
             f"split, babble from test-split talkers): {n_files} files. Each model ran through the whole `msar repair` "
             "command (analysis, DSP stages, the model as the neural stage at its sidecar's default strength, guard; "
             "`multispeaker-repair` as the default, without `--model`); `msar score` compared every output with "
             "the clean clip. Q = 0.5·MSE + 0.3·(1−CosSim pitch) + 0.2·(1−CosSim loudness), lower is better.")
    L.append("")
    L.append("The neural stage runs only where the analysis asks for it, and `msar repair`'s default `--mode auto` "
             "sends band-limited input to the resynthesis model (`multispeaker-resynth`) instead of the mask model; "
             "so wherever the mask model did not run, every variant gives the same output. `mask ran` counts the "
             "files on which the variant under test ran, `resynth ran` those that took the resynthesis path.")
    L.append("")
    L.append("## The seed's table, measured")
    L.append("")
    L.append(f"Means over the {len(damages)} damage types (each type's mean over its files; the clean type is "
             "not included).")
    L.append("")
    L.append("| model | MSE | CosSim pitch | CosSim loudness | Q | PESQ-wb | STOI | SI-SDR dB | mask ran | resynth ran "
             "| trained |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for s in systems:
        card = model_card(s) if s != UNPROCESSED else {}
        tr = card.get("training", {})
        trained = (f"weights of step {tr.get('steps', '?')} ({tr.get('minutes', '?')} min), "
                   f"{tr.get('data', {}).get('speakers', '?')} spk, {card.get('parameters', 0) / 1000:.0f} k params"
                   if card else "—")
        label = f"{s} (default)" if s == DEFAULT_MODEL else ("unprocessed input" if s == UNPROCESSED else s)
        L.append(f"| {label} | " + " | ".join(fmt(table[s][m], DIGITS[m]) for m in ALL_METRICS)
                 + f" | {denoise_share(rows, s, damages) if s != UNPROCESSED else '—'}"
                 + f" | {denoise_share(rows, s, damages, 'resynth') if s != UNPROCESSED else '—'} | {trained} |")
    L.append("")
    L.append("How each model was trained (its sidecar's `training.note`; the step is that of the exported, "
             "best-validation checkpoint):")
    L.append("")
    for s in systems:
        note = model_card(s).get("training", {}).get("note") if s != UNPROCESSED else None
        if note:
            L.append(f"- `{s}`: {note}")
    L.append("")
    L.append("The seed's README claims (no code, data or measurement behind them):")
    L.append("")
    L.append("| model | MSE | CosSim pitch | CosSim loudness | Q |")
    L.append("|---|---:|---:|---:|---:|")
    for s, vals in SEED_TABLE.items():
        L.append(f"| {s} | " + " | ".join(f"{v:g}" for v in vals) + " |")
    L.append("")
    L.append(f"Noise only ({', '.join(noise)}; what `base`, `improved` and `multispeaker` were trained for):")
    L.append("")
    L.append("| model | MSE | CosSim pitch | CosSim loudness | Q | PESQ-wb | STOI | SI-SDR dB | mask ran |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in systems:
        L.append(f"| {s} | " + " | ".join(fmt(noise_table[s][m], DIGITS[m]) for m in ALL_METRICS)
                 + f" | {denoise_share(rows, s, noise) if s != UNPROCESSED else '—'} |")
    L.append("")
    alone_systems = list(dict.fromkeys(r["system"] for r in alone_rows))
    if alone_systems:
        both = rows + alone_rows
        L.append("The networks alone (`msar repair --model NAME --stages denoise --force --mode mask`: no "
                 "analysis-driven "
                 f"stage choice, no DSP stages), on the same noise files ({', '.join(noise)}):")
        L.append("")
        L.append("| model | MSE | CosSim pitch | CosSim loudness | Q | PESQ-wb | STOI | SI-SDR dB |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for s in [UNPROCESSED] + alone_systems:
            L.append(f"| {s} | " + " | ".join(fmt(over_damages(both, s, noise, m), DIGITS[m]) for m in ALL_METRICS)
                     + " |")
        L.append("")
    L.append("![models](repair_models.png)")
    L.append("")
    L.append("![Q terms](repair_q_terms.png)")
    L.append("")
    L.append("## Per damage type")
    L.append("")
    for m in ("pesq_wb", "stoi", "si_sdr", "q"):
        L.append(f"### {LABELS[m]} ({'higher' if m in HIGHER_BETTER else 'lower'} is better)")
        L.append("")
        L.append("| damage | what | " + " | ".join(systems) + " |")
        L.append("|---|---|" + "---:|" * len(systems))
        for d in all_d:
            vals = [per_dmg[(s, d)][m] for s in systems]
            finite = [v for v in vals if np.isfinite(v)]
            best = (max(finite) if m in HIGHER_BETTER else min(finite)) if finite else None
            cells = [(f"**{fmt(v, DIGITS[m])}**" if best is not None and v == best and len(set(finite)) > 1
                      else fmt(v, DIGITS[m])) for v in vals]
            L.append(f"| {d} | {DAMAGES[d][1]} | " + " | ".join(cells) + " |")
        L.append("")
    L.append("SI-SDR of an unchanged clean file is +∞ (no error at all); the clean row shows it as ∞.")
    L.append("")
    if mode_rows:
        L.extend(modes_section(mode_rows, damages))
    L.append("## Interpretation")
    L.append("")
    L.append("Computed from the numbers above:")
    L.append("")
    sentences = interpretation(table, noise_table, per_dmg, systems, damages, rows)
    if alone_systems:
        both = rows + alone_rows
        a_tab = {s: {m: over_damages(both, s, noise, m) for m in ("q", "pesq_wb", "si_sdr")}
                 for s in [UNPROCESSED] + alone_systems}
        best = max(alone_systems, key=lambda s: a_tab[s]["si_sdr"] if np.isfinite(a_tab[s]["si_sdr"]) else -99)
        sentences.append("With the networks alone on the noise files, the highest SI-SDR is **"
                         + best.replace(" (network alone)", "") + "**; "
                         "PESQ-wb / SI-SDR dB / Q: " + ", ".join(
                             f"{s.replace(' (network alone)', '')} {fmt(a_tab[s]['pesq_wb'], 3)} / "
                             f"{fmt(a_tab[s]['si_sdr'], 1)} / {fmt(a_tab[s]['q'], 4)}"
                             for s in [UNPROCESSED] + alone_systems) + ".")
    for sentence in sentences:
        L.append(f"- {sentence}")
    L.append("")
    problems = [f"`{s}`: repair exit {runs[s].get('repair_rc')}, score exit {runs[s].get('score_rc')}: "
                + " ".join(runs[s].get("repair_stderr", []) + runs[s].get("score_stderr", []))
                for s in runs if runs[s].get("repair_rc", 0) != 0 or runs[s].get("score_rc", 0) != 0]
    failed = [f"{r['system']} {r['damage']}/{r['clip']}: {r['message']}" for r in rows + alone_rows
              if r["status"] != "ok"]
    if problems or failed:
        L.append("## Problems during the run")
        L.append("")
        L.extend(f"- {p}" for p in problems + failed)
        L.append("")
    L.append("## Reproduce")
    L.append("")
    L.append(f"`make report` (= `python bench/repair_report.py --files {args.files} --seconds {args.seconds:g} "
             f"--seed {args.seed}`); per-file values in `{out.with_suffix('.csv').name}`.")
    L.append("")
    return "\n".join(L), table


MODE_METRICS = ("pesq_wb", "stoi", "lsd", "lsd_4k", "q", "dnsmos_ovrl", "distillmos")
MODE_LABELS = {"pesq_wb": "PESQ-wb", "stoi": "STOI", "lsd": "LSD dB", "lsd_4k": "LSD > 4 kHz dB", "q": "Q",
               "dnsmos_ovrl": "DNSMOS OVRL", "distillmos": "DistillMOS"}
MODE_DIGITS = {"pesq_wb": 3, "stoi": 3, "lsd": 2, "lsd_4k": 2, "q": 4, "dnsmos_ovrl": 2, "distillmos": 2}
MODE_SYSTEMS = ("unprocessed", "mask", "resynth", "auto")
MODE_LOWER_BETTER = {"lsd", "lsd_4k", "q"}


def run_modes(items: list[dict], work: Path, mos: bool = True) -> list[dict]:
    """``unprocessed`` and ``msar repair --mode mask|resynth|auto`` on ``items``, run and scored by
    ``bench/resynth_bench.py``'s code (no rows reused; ``mos``: DNSMOS and DistillMOS too)."""
    import resynth_bench as rb

    return rb.run_all(rb.make_systems(set(MODE_SYSTEMS)), items, work / "modes", {}, mos)


def modes_section(rows: list[dict], damages: list[str]) -> list[str]:
    """Issue 9's table: per damage type, the input and each ``--mode``, every metric (measured)."""
    ok = lambda d, s: [r for r in rows if r["damage"] == d and r["system"] == s and r["status"] == "ok"]  # noqa: E731
    cell = lambda d, s, m: mean(r.get(m) for r in ok(d, s))  # noqa: E731
    systems = [s for s in MODE_SYSTEMS if any(r["system"] == s for r in rows)]
    all_d = [d for d in DAMAGES if any(r["damage"] == d for r in rows)]
    damaged = [d for d in damages if d in all_d]
    mos = any(np.isfinite(r.get("distillmos", math.nan)) for r in rows)
    metrics_ = [m for m in MODE_METRICS if mos or m not in ("dnsmos_ovrl", "distillmos")]
    head = "| " + " | ".join(MODE_LABELS[m] for m in metrics_) + " |"
    L = ["## Resynthesis repair (issue 9): `--mode mask`, `resynth`, `auto` per damage type", "",
         "The same test files through `msar repair --mode MODE` (default mask model, every other option at its "
         "default), run and scored by `make bench-resynth`'s code (`bench/resynth_bench.py`, the CLI's per-file "
         "function): PESQ-wb, STOI, log-spectral distance over the whole band and above 4 kHz (lower is better), "
         "Q" + (", and the reference-free DNSMOS P.835 OVRL and DistillMOS" if mos else
                " (DNSMOS and DistillMOS were left out: `--no-mos`, or not installed; `make bench-resynth` "
                "installs them)") + ". "
         "`make bench-resynth` uses these same files (same clips, recipes and seed), so its mask / resynth / auto "
         "rows are the same measurement, taken in its own run; nothing here is copied from its CSV. "
         "`unprocessed` is the damaged input. Per-file rows: `repair-modes.csv`.", "",
         f"Mean over the {len(damaged)} damage types (clean excluded):", "",
         "| system " + head, "|---|" + "---:|" * len(metrics_)]
    for s in systems:
        L.append(f"| {s} | " + " | ".join(fmt(mean(cell(d, s, m) for d in damaged), MODE_DIGITS[m]) for m in metrics_)
                 + " |")
    L += ["", "Per damage type (best of the four per column in bold; `auto took`: the path `--mode auto` chose, "
          "files per path, from `--report`'s `mode`):", "",
          "| damage | system " + head + " auto took |", "|---|---|" + "---:|" * len(metrics_) + "---|"]
    for d in all_d:
        best = {}
        for m in metrics_:
            vals = [(cell(d, s, m), s) for s in systems if np.isfinite(cell(d, s, m))]
            if vals and len({round(v, 9) for v, _ in vals}) > 1:
                best[m] = (min if m in MODE_LOWER_BETTER else max)(vals)[0]
        paths = [r.get("path", "") for r in ok(d, "auto")]
        took = ", ".join(f"{p} {paths.count(p)}" for p in sorted(set(paths)))
        for i, s in enumerate(systems):
            cells = []
            for m in metrics_:
                v = cell(d, s, m)
                c = fmt(v, MODE_DIGITS[m])
                cells.append(f"**{c}**" if m in best and np.isfinite(v) and abs(v - best[m]) < 1e-12 else c)
            L.append(f"| {d if i == 0 else ''} | {s} | " + " | ".join(cells) + f" | {took if s == 'auto' else ''} |")
    failed = [f"{r['system']} {r['damage']}/{r['clip']}: {r.get('message', '')}" for r in rows if r["status"] != "ok"]
    if failed:
        L += ["", "Failed: " + "; ".join(failed)]
    return L + [""]


def missing_row() -> dict:
    return {"status": "missing", "message": "no score row", "stages_applied": "", "mode": "",
            **{m: math.nan for m in ALL_METRICS}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=6, help="clips per damage type (default 6, as make bench-repair)")
    ap.add_argument("--seconds", type=float, default=4.0, help="target clip length in s (default 4)")
    ap.add_argument("--corpus", type=Path, default=Path(os.environ.get("MSAR_CACHE", ROOT / "cache")) / "corpus")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--models", default=",".join(MODELS), help="comma list of repair models (default: the four)")
    ap.add_argument("--jobs", type=int, default=2, help="msar -j for repair and score")
    ap.add_argument("--keep", type=Path, default=None, help="keep the audio in this folder")
    ap.add_argument("--out", type=Path, default=Path("reports/repair.md"))
    ap.add_argument("--no-modes", action="store_true",
                    help="leave out issue 9's --mode mask|resynth|auto rows (repair-modes.csv)")
    ap.add_argument("--no-mos", action="store_true",
                    help="score those rows without DNSMOS and DistillMOS (about 0.8 CPU s per file)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    start = time.perf_counter()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    missing = [m for m in models if not model_card(m)]
    if missing:
        raise SystemExit(f"not shipped: {', '.join(missing)} (make export-repair REPAIR_VARIANT=...)")
    systems = [UNPROCESSED, *models]

    with tempfile.TemporaryDirectory(prefix="repair-report-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        clips, speech = build_clips(args.corpus, args.files, args.seconds)
        items, skipped = make_material(work, args.corpus, clips, speech, args.seed)
        for it in items:
            path = work / "ref" / it["damage"] / f"{it['clip']}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            audio.write(path, np.asarray(it["ref"], np.float32)[:, None], SR, subtype="FLOAT")
        damages = [d for d in DAMAGES if d != "clean" and d not in skipped]
        log.info("%d clips x %d damage types = %d files; systems: %s", len(clips), len(DAMAGES) - len(skipped),
                 len(items), ", ".join(systems))
        runs = {s: run_system(s, work, args.jobs) for s in systems}
        # The networks alone: the variants differ only in the neural stage, which the full pipeline
        # runs where the analysis asks for it; here it runs on every noise file.
        for d in NOISE_DAMAGES:
            if (work / "in" / d).is_dir():
                shutil.copytree(work / "in" / d, work / "noise-in" / d)
                shutil.copytree(work / "ref" / d, work / "noise-ref" / d)
        alone = {s: run_system(s, work, args.jobs, alone=True) for s in models} if (work / "noise-in").is_dir() else {}
        mode_rows = [] if args.no_modes else run_modes(items, work, mos=not args.no_mos)

    rows = []
    for s in systems:
        for it in items:
            key = f"{it['damage']}/{it['clip']}"
            r = runs[s]["rows"].get(key) or missing_row()
            rows.append({"system": s, "damage": it["damage"], "clip": it["clip"], "speaker": it["speaker"],
                         "duration_s": round(it["duration_s"], 3), **r})
    alone_rows = []
    for s, run in alone.items():
        for it in items:
            key = f"{it['damage']}/{it['clip']}"
            if it["damage"] in NOISE_DAMAGES:
                r = run["rows"].get(key) or missing_row()
                alone_rows.append({"system": f"{s} (network alone)", "damage": it["damage"], "clip": it["clip"],
                                   "speaker": it["speaker"], "duration_s": round(it["duration_s"], 3), **r})
    runs.update({f"{s} (network alone)": run for s, run in alone.items()})
    text, table = write_report(args, systems, runs, rows, alone_rows, damages, clips, time.perf_counter() - start,
                               args.out, mode_rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(args.out.with_name("repair_models.png"),
                bar_chart(table, systems, f"msar repair models on {len(damages)} damage types of test-split speech "
                                          "(means over damage types)"))
    write_bytes(args.out.with_name("repair_q_terms.png"),
                pie_chart(table, [p for p in PIE_MODELS if p in systems], "Q terms (α=0.5, β=0.3, γ=0.2)"))
    cols = ["system", "damage", "clip", "speaker", "duration_s", "status", *ALL_METRICS, "stages_applied", "mode",
            "message"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows + alone_rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    write_text(args.out.with_suffix(".csv"), buf.getvalue())
    if mode_rows:
        import resynth_bench as rb

        rb.write_csv(args.out.with_name(args.out.stem + "-modes.csv"), mode_rows,
                     [c for c in rb.CSV_COLS if c not in ("input_sha256", "reused")])
    write_text(args.out, text)
    print(text)
    print(json.dumps({s: {k: v for k, v in runs[s].items() if k != "rows"} for s in systems}), file=sys.stderr)
    return 0 if all(r["status"] == "ok" for r in rows + alone_rows + mode_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
