"""The resynthesis repair paths against the mask path and the peers, per damage type, plus the
damaged real game dialogue (``make bench-resynth``; issue 9's report; not part of ``make test``).

Material: exactly ``make bench-repair``'s (``bench/repair_peers.py``: ``build_clips`` and
``make_material``): ``--files`` clips of test-split speech (speakers never trained), each damaged
once per damage type of :data:`repair_peers.DAMAGES` with the same seed, written as 16 kHz PCM-16.

Systems: ``unprocessed``; msar through the CLI's own per-file code (``msar_cli/repair.py``
``_repair_task``: read, analysis, path choice, DSP stages, neural stage, guard, write) with
``--mode mask``, ``--mode resynth`` and ``--mode auto``; and the peers of ``make bench-repair``
(noisereduce, RNNoise, GTCRN, DeepFilterNet3, ffmpeg afftdn, ffmpeg adeclip on clipping), run
by that script's own code. Peers are deterministic: their rows are reused from the previous
run's CSV when the damaged input file is byte-identical (SHA-256) unless ``--no-reuse``; the
msar rows are always rerun.

Metrics against the clean clip: PESQ-wb, STOI, SI-SDR, Q (``msar.dsp.scoring``, the seed's
weights), log-spectral distance over the whole band and above 4 kHz (``msar.dsp.metrics.lsd``);
reference-free: DNSMOS P.835 (speechmos's ONNX, one thread) and DistillMOS (``distillmos``'s
model, one torch thread). x real time per core: audio seconds over CPU seconds of the
file-to-file call, every thread pool at 1, after one untimed warm-up file per system.

Also: one spectrogram PNG per damage type (input, mask, resynth, clean; ``--png-dir``), and the
damaged real game dialogue (the corpus' ``drascula`` voice tracks: 8-bit 11.025 kHz, in the
corpus as 16 kHz copies; test split, ``--game N`` files) repaired with each mode and scored
before and after by DNSMOS and DistillMOS (no clean reference exists), with auto's path and reason.

    python bench/resynth_bench.py [--files 6] [--game 12] [--no-reuse] [--out reports/resynth-bench.md]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import repair_peers as rp  # noqa: E402

from msar.dsp import audio, metrics  # noqa: E402
from msar.dsp.scoring import ScoreParams, make_pair, score_pair  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SR = rp.SR
MODES = ("mask", "resynth", "auto")
PEERS = ("noisereduce", "RNNoise", "GTCRN", "DeepFilterNet3", "ffmpeg afftdn", "ffmpeg adeclip")
#: Damage types of issue 9's first target: telephone/codec and low-pass damage.
BAND_TYPES = ("telephone", "codec", "lowpass-4k")
METRICS = ("pesq_wb", "stoi", "lsd", "lsd_4k", "q", "dnsmos_ovrl", "distillmos")
LABELS = {"pesq_wb": "PESQ-wb", "stoi": "STOI", "lsd": "LSD dB", "lsd_4k": "LSD > 4 kHz dB", "q": "Q",
          "dnsmos_ovrl": "DNSMOS OVRL", "distillmos": "DistillMOS", "si_sdr": "SI-SDR dB"}
LOWER_BETTER = {"lsd", "lsd_4k", "q"}
DIGITS = {"pesq_wb": 3, "stoi": 3, "lsd": 2, "lsd_4k": 2, "q": 4, "dnsmos_ovrl": 2, "distillmos": 2, "si_sdr": 1}
CSV_COLS = ["damage", "system", "clip", "speaker", "duration_s", "status", "input_sha256", "reused", "cpu_s", "x_rt",
            "path", "mode_reason", "stages_applied", "dropouts_fill", "pesq_wb", "stoi", "si_sdr", "lsd", "lsd_4k", "mse", "cos_pitch",
            "cos_loudness", "q", "dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "distillmos", "message"]
GAME_SOURCES = ("drascula", "drascula-spanish")

log = logging.getLogger("bench.resynth_bench")


# ----------------------------------------------------------------------------- msar systems


def msar_mode_setup(mode: str):
    """``run(src, dst)`` for ``msar repair --mode MODE`` with every default, through the CLI's
    per-file function; returns the path auto took and why (the ``--report`` columns)."""

    def setup():
        from dataclasses import replace

        from msar.cli.repair import _repair_task
        from msar.dsp.repair.loudness import LoudnessParams
        from msar.dsp.repair.pipeline import PipelineParams, select_stages
        from msar.onnx_models import registry

        params = PipelineParams(stages=select_stages("all", ""), force=False,
                                loudness=replace(LoudnessParams(), target_lufs=None))
        model = str(registry.resolve("multispeaker-repair", task="repair"))
        resynth_model = str(registry.resolve("multispeaker-resynth", task="resynth")) if mode != "mask" else None

        def run(src: str, dst: str) -> dict:
            done = _repair_task(src, dst, params, model, None, mode, None, resynth_model, None)
            return {"path": done.row.get("mode", "mask"), "mode_reason": done.row.get("mode_reason", "--mode mask"),
                    "stages_applied": done.row.get("stages_applied", ""),
                    "dropouts_fill": done.row.get("dropouts_fill", "")}

        return run

    return setup


def make_systems(wanted: set[str] | None) -> list[rp.System]:
    peers = {s.name: s for s in rp.make_systems()}
    systems = [peers["unprocessed"]]
    systems += [rp.System(m, f"msar repair --mode {m}", msar_mode_setup(m)) for m in MODES]
    systems += [peers[p] for p in PEERS]
    return [s for s in systems if wanted is None or s.name in wanted]


# ----------------------------------------------------------------------------- scoring

_SCORERS: dict = {}


def reference_free(y: np.ndarray) -> dict[str, float]:
    """DNSMOS P.835 (OVRL, SIG, BAK) and DistillMOS of 16 kHz mono ``y``."""
    out = {}
    try:
        out.update(rp.dnsmos(y))
    except Exception as exc:  # noqa: BLE001 - a missing value, not fatal
        out.update(dnsmos_ovrl=math.nan, dnsmos_error=str(exc))
    if "distillmos" not in _SCORERS:
        try:
            import distillmos_one_thread

            _SCORERS["distillmos"] = distillmos_one_thread.load()
        except Exception as exc:  # noqa: BLE001
            _SCORERS["distillmos"] = None
            _SCORERS["distillmos_error"] = f"{type(exc).__name__}: {exc}"
    fn = _SCORERS["distillmos"]
    out["distillmos"] = fn(y) if fn is not None else math.nan
    return out


def score_output(ref: np.ndarray, out_path: str, mos: bool = True) -> dict[str, float]:
    """Every metric of one output file against its clean 16 kHz reference (``mos``: with the
    reference-free DNSMOS and DistillMOS)."""
    y, info = audio.read(out_path)
    pair = make_pair(ref, SR, y, info.sr)
    row = score_pair(pair, ScoreParams(extra_metrics=("pesq_wb", "stoi", "si_sdr")))
    row["lsd"] = metrics.lsd(pair.ref, pair.out, SR)
    row["lsd_4k"] = metrics.lsd(pair.ref, pair.out, SR, min_hz=4000.0)
    if mos:
        row.update(reference_free(pair.out))
    return row


def sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_reusable(path: Path) -> dict[tuple[str, str, str], dict]:
    """Rows of a previous run's CSV that can stand for a rerun: ``(system, damage, clip)`` -> row,
    scored, of a system other than msar's."""
    if not path.exists():
        return {}
    out = {}
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["system"] in MODES or r["status"] != "ok" or not r.get("input_sha256"):
                continue
            row = dict(r)
            for k in ("duration_s", "cpu_s", "x_rt", *METRICS, "si_sdr", "mse", "cos_pitch", "cos_loudness",
                      "dnsmos_sig", "dnsmos_bak"):
                row[k] = float(r[k]) if r.get(k) not in (None, "") else math.nan
            out[(r["system"], r["damage"], r["clip"])] = row
    return out


# ----------------------------------------------------------------------------- running


def run_all(systems, items, work: Path, reusable: dict, mos: bool = True) -> list[dict]:
    """Every system on every item; a peer's row comes from ``reusable`` when its input file is
    unchanged (same SHA-256), else the system runs (``repair_peers.run_systems``) and is scored
    (``mos``: DNSMOS and DistillMOS too)."""
    shas = {(it["damage"], it["clip"]): sha256(it["src"]) for it in items}
    results = []
    for s in systems:
        mine = [it for it in items if s.only is None or it["damage"] in s.only]
        if s.name not in MODES and mine and all(
                reusable.get((s.name, it["damage"], it["clip"]), {}).get("input_sha256") == shas[(it["damage"], it["clip"])]
                for it in mine):
            log.info("%-16s %d rows reused (inputs unchanged)", s.name, len(mine))
            results += [{**reusable[(s.name, it["damage"], it["clip"])], "reused": "yes"} for it in mine]
            continue
        rows = rp.run_systems([s], items, work)
        refs = {(it["damage"], it["clip"]): it["ref"] for it in items}
        t0 = time.perf_counter()
        for r in rows:
            r["input_sha256"] = shas[(r["damage"], r["clip"])]
            r["reused"] = "no"
            if r["status"] == "ok":
                try:
                    r.update(score_output(refs[(r["damage"], r["clip"])], r["out"], mos))
                except Exception as exc:  # noqa: BLE001
                    r.update(status="failed", message=f"scoring: {type(exc).__name__}: {exc}")
        log.info("%-16s scored in %.0f s", s.name, time.perf_counter() - t0)
        results += rows
    return results


# ----------------------------------------------------------------------------- spectrograms


def spectrogram_png(path: Path, panels: list[tuple[str, np.ndarray]], title: str, sr: int = SR) -> None:
    """One row of log-power spectrograms (linear 0 .. sr/2, 32 ms Hann, 8 ms hop), one shared
    colour scale: 0 dB at the loudest bin of all panels, 80 dB of range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.signal import stft

    specs = []
    for _, x in panels:
        f, t, z = stft(np.asarray(x, np.float64), sr, nperseg=512, noverlap=384)
        specs.append(10 * np.log10(np.abs(z) ** 2 + 1e-12))
    top = max(float(s.max()) for s in specs)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.0), sharey=True, constrained_layout=True)
    for ax, (name, _), s in zip(axes, panels, specs):
        im = ax.pcolormesh(t, f / 1000, s - top, vmin=-80, vmax=0, cmap="magma", shading="auto", rasterized=True)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("s", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("kHz", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.9, label="dB re loudest bin")
    fig.suptitle(title, fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, dpi=72)
    plt.close(fig)
    # 64 colours: a quarter of the bytes of the full-colour PNG, no visible difference at this size
    Image.open(buf).convert("RGB").quantize(colors=64).save(path, optimize=True)


def write_pngs(items, results, png_dir: Path, clip_index: int) -> dict[str, str]:
    """The spectrogram PNG of clip ``clip_index`` per damage type; damage -> file name."""
    out = {}
    by = {(r["damage"], r["system"], r["clip"]): r for r in results if r["status"] == "ok" and r.get("out")}
    clips = sorted({it["clip"] for it in items})
    if not clips:
        return out
    clip = clips[min(clip_index, len(clips) - 1)]
    for it in items:
        if it["clip"] != clip:
            continue
        d = it["damage"]
        rows = [by.get((d, m, clip)) for m in ("mask", "resynth")]
        if any(r is None for r in rows):
            continue
        x = audio.to_mono(audio.read(it["src"])[0])
        ys = [audio.to_mono(audio.read(r["out"])[0]) for r in rows]
        auto = by.get((d, "auto", clip))
        note = f"; auto took {auto['path']}" if auto else ""
        name = f"{d}.png"
        spectrogram_png(png_dir / name, [("input", x), ("mask", ys[0]), (f"resynth ({rows[1]['path']})", ys[1]),
                                         ("clean", it["ref"])], f"{d}: {clip}{note}")
        out[d] = name
    return out


# ----------------------------------------------------------------------------- game dialogue


def pick_game(corpus: Path, n: int, split: str = "test") -> list[dict]:
    """``n`` damaged game voice lines (:data:`GAME_SOURCES`) of ``split``, 1.5-8 s, speakers
    taken in turn (path order within a speaker)."""
    rows = [r for r in rp.read_manifest(corpus / "damaged.csv")
            if r["source"] in GAME_SOURCES and r["split"] == split and 1.5 <= float(r["duration_s"]) <= 8.0]
    by: dict[str, list] = {}
    for r in sorted(rows, key=lambda r: r["path"]):
        by.setdefault(r["speaker"], []).append(r)
    out, i, speakers = [], 0, sorted(by)
    while len(out) < n and any(by.values()):
        s = speakers[i % len(speakers)]
        if by[s]:
            out.append(by[s].pop(0))
        i += 1
    return out


def run_game(corpus: Path, n: int, work: Path) -> list[dict]:
    """Each game line as it is (``input``) and through each mode: DNSMOS, DistillMOS, auto's path."""
    picked = pick_game(corpus, n)
    rows = []
    runs = {m: msar_mode_setup(m)() for m in MODES}
    if picked:  # untimed warm-up of every mode (model loads)
        for m, run in runs.items():
            run(str(corpus / picked[0]["path"]), str(work / "game" / f"warmup-{m}.wav"))
    for r in picked:
        src = corpus / r["path"]
        x, info = audio.read(src)
        dur = info.frames / info.sr
        base = {"clip": r["path"], "speaker": r["speaker"], "source_sr": r["source_sr"], "duration_s": round(dur, 3)}
        rows.append({**base, "system": "input", "path": "", "mode_reason": "",
                     **reference_free(audio.resample(audio.to_mono(x), info.sr, SR))})
        for m, run in runs.items():
            dst = work / "game" / m / (Path(r["path"]).stem + f"_{r['speaker']}.wav")
            dst.parent.mkdir(parents=True, exist_ok=True)
            c0 = rp.cpu_seconds()
            extra = run(str(src), str(dst))
            cpu = rp.cpu_seconds() - c0
            y, yinfo = audio.read(dst)
            rows.append({**base, "system": m, **extra, "cpu_s": round(cpu, 4), "x_rt": round(dur / cpu, 2),
                         "out_sr": yinfo.sr, **reference_free(audio.resample(audio.to_mono(y), yinfo.sr, SR))})
        log.info("game %s done", r["path"])
    return rows


# ----------------------------------------------------------------------------- report


def fmt(v, digits=3) -> str:
    return rp.fmt(v, digits)


def write_report(args, systems, results, clips, pngs, game, elapsed_s) -> str:
    damages = [d for d in rp.DAMAGES if any(r["damage"] == d for r in results)]
    damaged = [d for d in damages if d != "clean"]
    by: dict = {}
    for r in results:
        by.setdefault((r["damage"], r["system"]), []).append(r)
    ran = [s for s in systems if not s.not_run]

    def ok(d, s):
        return [r for r in by.get((d, s), []) if r["status"] == "ok"]

    def cell(d, s, m):
        return rp.mean(r.get(m) for r in ok(d, s))

    def xrt(rows):
        return rp.rate(rows)

    reused = sorted({r["system"] for r in results if r.get("reused") == "yes"})
    L = ["# Resynthesis repair (`--mode mask|resynth|auto`) against the peers, per damage type", "",
         f"Measured by `make bench-resynth` (`bench/resynth_bench.py --files {args.files}`) on {platform.machine()}, "
         f"{os.cpu_count()} cores shared with other engineers' jobs (run at nice 5, every thread pool at 1), "
         f"Python {platform.python_version()}; this run {elapsed_s / 60:.1f} min.",
         f"Material: `make bench-repair`'s: {len(clips)} clips of {rp.mean([len(c[2]) / SR for c in clips]):.1f} s mean "
         f"from {len({c[1] for c in clips})} test-split speakers (never trained), each damaged once per type "
         f"(seed {args.seed}), 16 kHz PCM-16. `mask`, `resynth`, `auto` are `msar repair --mode MODE` with every "
         "other option at its default, through the CLI's per-file code. Metrics against the clean clip; DNSMOS "
         "P.835 OVRL and DistillMOS are reference-free. × RT = audio seconds per CPU second of one thread, "
         "file read and write included, model loading not (one untimed warm-up file per system)."]
    if reused:
        L.append(f"Rows of {', '.join(reused)} were reused from the previous run's CSV: same damaged input files "
                 "(SHA-256), deterministic systems; their × RT is that run's.")
    nr = [f"{s.name}: {s.not_run}" for s in systems if s.not_run]
    if nr:
        L.append("Not run: " + "; ".join(nr) + ".")
    if _SCORERS.get("distillmos_error"):
        L.append(f"DistillMOS could not run: {_SCORERS['distillmos_error']}.")

    # Summary over the damage types.
    L += ["", "## Summary over the damage types", "",
          f"Mean over the {len(damaged)} damage types (clean excluded; each type's mean over its files); × RT over "
          "every file the system ran.", "",
          "| system | " + " | ".join(LABELS[m] for m in METRICS) + " | × RT per core |",
          "|---|" + "---:|" * (len(METRICS) + 1)]
    summary = {}
    for s in ran:
        ds = [d for d in damaged if ok(d, s.name)]
        summary[s.name] = {m: rp.mean(cell(d, s.name, m) for d in ds) for m in METRICS}
        summary[s.name]["types"] = ds
        summary[s.name]["x_rt"] = xrt([r for d in damages for r in ok(d, s.name)])
        label = s.name if len(ds) == len(damaged) else f"{s.name} ({', '.join(ds)} only)"
        L.append(f"| {label} | " + " | ".join(fmt(summary[s.name][m], DIGITS[m]) for m in METRICS)
                 + f" | {fmt(summary[s.name]['x_rt'], 0)} |")

    # Targets.
    met = lambda c: "**met**" if c else "**not met**"  # noqa: E731
    L += ["", "## Targets of issue 9", ""]
    if "auto" in summary:
        for d in [d for d in BAND_TYPES if d in damages]:
            others = [s.name for s in ran if s.name not in MODES and ok(d, s.name)]
            if not others:  # --systems without the input or any peer: nothing to beat here
                continue
            a_p, a_l = cell(d, "auto", "pesq_wb"), cell(d, "auto", "lsd_4k")
            best_p = max(others, key=lambda s: cell(d, s, "pesq_wb"))
            best_l = min(others, key=lambda s: cell(d, s, "lsd_4k"))
            p_ok = all(a_p > cell(d, s, "pesq_wb") for s in others)
            l_ok = all(a_l < cell(d, s, "lsd_4k") for s in others)
            L.append(f"- {d}: auto beats the unprocessed input and every peer on PESQ-wb: {met(p_ok)} — auto "
                     f"{a_p:.3f}, unprocessed {cell(d, 'unprocessed', 'pesq_wb'):.3f}, best of the others {best_p} "
                     f"{cell(d, best_p, 'pesq_wb'):.3f}; on LSD above 4 kHz (lower is better): {met(l_ok)} — auto "
                     f"{a_l:.2f} dB, unprocessed {cell(d, 'unprocessed', 'lsd_4k'):.2f}, best of the others {best_l} "
                     f"{cell(d, best_l, 'lsd_4k'):.2f}.")
        if "mask" in summary:
            worse = {m: [d for d in damages if (cell(d, "auto", m) < cell(d, "mask", m) - 1e-9) ^ (m in LOWER_BETTER)
                         and not math.isclose(cell(d, "auto", m), cell(d, "mask", m), abs_tol=1e-9)]
                     for m in ("pesq_wb", "q")}
            p_ok = summary["auto"]["pesq_wb"] >= summary["mask"]["pesq_wb"]
            q_ok = summary["auto"]["q"] <= summary["mask"]["q"]
            L.append(f"- Over all damage types auto is at least as good as mask: on mean PESQ-wb {met(p_ok)} — auto "
                     f"{summary['auto']['pesq_wb']:.3f}, mask {summary['mask']['pesq_wb']:.3f}; on mean Q "
                     f"{met(q_ok)} — auto {summary['auto']['q']:.4f}, mask {summary['mask']['q']:.4f}. Types where "
                     f"auto's mean is below mask's: PESQ-wb {', '.join(worse['pesq_wb']) or 'none'}; Q "
                     f"{', '.join(worse['q']) or 'none'}.")
            L += paired_lines(damaged, ok)
        auto_rows = [r for d in damages for r in ok(d, "auto")]
        hyb = [r for r in auto_rows if r.get("path") != "mask"]
        L.append(f"- ≥ 20× real time on one core: auto over all {len(auto_rows)} files {met(xrt(auto_rows) >= 20)} — "
                 f"{xrt(auto_rows):.1f}×; on the {len(hyb)} files where it took the resynthesis path "
                 f"{fmt(xrt(hyb), 1)}×; `--mode resynth` over all files {fmt(summary.get('resynth', {}).get('x_rt'), 1)}×.")

    L += glance(damages, [s.name for s in ran], ok, cell)

    # Per damage type.
    L += ["", "## Per damage type", "",
          "Mean over the files of each type; best value per column in bold (unprocessed included)."]
    for d in damages:
        L += ["", f"### {d}: {rp.DAMAGES[d][1]}", "", f"Recipe: `{rp.DAMAGES[d][0] or '(none)'}`."]
        paths = [r.get("path", "") for r in ok(d, "auto")]
        if paths:
            L.append("auto took: " + ", ".join(f"{p} {paths.count(p)}" for p in sorted(set(paths)))
                     + "; resynth took: " + ", ".join(f"{p} {[r.get('path') for r in ok(d, 'resynth')].count(p)}"
                                                       for p in sorted({r.get('path') for r in ok(d, 'resynth')})) + ".")
        if d in pngs:
            L += ["", f"![{d}: input, mask, resynth, clean]({args.png_dir.name}/{pngs[d]})"]
        L += ["", "| system | files | " + " | ".join(LABELS[m] for m in METRICS) + " | × RT per core |",
              "|---|---:|" + "---:|" * (len(METRICS) + 1)]
        present = [s.name for s in ran if ok(d, s.name)]
        best = {}
        for m in METRICS:
            vals = [(cell(d, s, m), s) for s in present if np.isfinite(cell(d, s, m))]
            if vals:
                best[m] = (min if m in LOWER_BETTER else max)(vals)[1]
        for s in present:
            cells = [fmt(cell(d, s, m), DIGITS[m]) for m in METRICS]
            cells = [f"**{c}**" if best.get(m) == s else c for c, m in zip(cells, METRICS)]
            L.append(f"| {s} | {len(ok(d, s))} | " + " | ".join(cells) + f" | {fmt(xrt(ok(d, s)), 0)} |")

    if game:
        L += game_section(args, game)
    L += ["", f"Per-file values: `{args.out.with_suffix('.csv').name}`"
              + (f", game dialogue `{args.game_csv.name}`" if game else "") + ".", ""]
    return "\n".join(L)


def paired(damages, ok, metric: str, a: str = "auto", b: str = "mask") -> dict:
    """Per-file differences ``a - b`` of ``metric`` on the same damaged files: their mean, the
    Student-t 95 % interval of that mean, and how many files are better, equal, worse for ``a``."""
    from scipy import stats

    lower = metric in LOWER_BETTER
    diffs = []
    for d in damages:
        rb = {r["clip"]: r.get(metric) for r in ok(d, b)}
        for r in ok(d, a):
            va, vb = r.get(metric), rb.get(r["clip"])
            if va is not None and vb is not None and np.isfinite(va) and np.isfinite(vb):
                diffs.append(va - vb)
    v = np.array(diffs, float)
    if v.size < 2:
        return {"n": int(v.size)}
    half = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    tol = 1e-9
    better = int(np.sum(v < -tol) if lower else np.sum(v > tol))
    worse = int(np.sum(v > tol) if lower else np.sum(v < -tol))
    return {"n": int(v.size), "mean": float(v.mean()), "low": float(v.mean() - half), "high": float(v.mean() + half),
            "better": better, "worse": worse, "equal": int(v.size) - better - worse}


def paired_lines(damaged, ok) -> list[str]:
    """auto against mask file by file: the difference of the means above is also a mean of
    paired differences, whose spread says whether it is larger than the measurement's noise
    (Q's pitch term moves by ~0.01 per file with small changes of the signal above 3 kHz)."""
    out = []
    for m, digits in (("pesq_wb", 3), ("q", 5)):
        r = paired(damaged, ok, m)
        if r["n"] < 2:
            continue
        sense = "lower" if m in LOWER_BETTER else "higher"
        out.append(f"  - Paired, file by file ({r['n']} damaged files; auto − mask; {sense} is better): {LABELS[m]} "
                   f"{r['mean']:+.{digits}f} (95 % CI {r['low']:+.{digits}f} … {r['high']:+.{digits}f}); auto better on "
                   f"{r['better']}, equal on {r['equal']}, worse on {r['worse']}.")
    return out


def glance(damages, names, ok, cell) -> list[str]:
    """One row per damage type: the msar paths against the unprocessed input and the best peer."""
    peers = [n for n in names if n not in MODES and n != "unprocessed"]

    def best(d, m):
        have = [p for p in peers if ok(d, p) and np.isfinite(cell(d, p, m))]
        if not have:
            return "—"
        p = (min if m in LOWER_BETTER else max)(have, key=lambda p: cell(d, p, m))
        return f"{fmt(cell(d, p, m), DIGITS[m])} ({p})"

    L = ["", "## At a glance", "",
         "Per damage type, means over its files: the input (`in`), `mask`, `resynth`, `auto` and the best peer on "
         "that column (peers: " + ", ".join(peers) + ").", "",
         "| damage | auto took | PESQ-wb in / mask / resynth / auto | best peer | LSD > 4 kHz in / mask / auto "
         "| best peer | Q mask / auto | DistillMOS in / mask / auto | best peer |",
         "|---|---|---|---|---|---|---|---|---|"]
    for d in damages:
        paths = [r.get("path", "") for r in ok(d, "auto")]
        took = ", ".join(f"{p} {paths.count(p)}" for p in sorted(set(paths)))
        v = lambda s, m: fmt(cell(d, s, m), DIGITS[m])  # noqa: E731
        L.append(f"| {d} | {took} | {' / '.join(v(s, 'pesq_wb') for s in ('unprocessed', *MODES))} | "
                 f"{best(d, 'pesq_wb')} | {' / '.join(v(s, 'lsd_4k') for s in ('unprocessed', 'mask', 'auto'))} | "
                 f"{best(d, 'lsd_4k')} | {v('mask', 'q')} / {v('auto', 'q')} | "
                 f"{' / '.join(v(s, 'distillmos') for s in ('unprocessed', 'mask', 'auto'))} | {best(d, 'distillmos')} |")
    return L


def game_section(args, game: list[dict]) -> list[str]:
    systems = ["input", *MODES]
    n = len({g["clip"] for g in game})
    secs = sum(g["duration_s"] for g in game if g["system"] == "input")
    spk = sorted({g["speaker"] for g in game})
    L = ["", "## Damaged real game dialogue (no clean reference)", "",
         f"{n} test-split voice lines of the corpus' drascula tracks ({secs:.1f} s; 8-bit PCM at 11.025 kHz in the "
         f"game, in the corpus as 16 kHz copies; speakers {', '.join(spk)}), each repaired with `msar repair --mode "
         "MODE` and scored by DNSMOS P.835 and DistillMOS (higher is better) before and after; Δ = mean paired "
         "change against the input ± its standard error.", "",
         "| system | DNSMOS OVRL | Δ OVRL | DNSMOS SIG | DNSMOS BAK | DistillMOS | Δ DistillMOS | × RT per core |",
         "|---|---:|---:|---:|---:|---:|---:|---:|"]
    by = {(g["system"], g["clip"]): g for g in game}
    clips = sorted({g["clip"] for g in game})

    def delta(s, k):
        d = np.array([by[(s, c)][k] - by[("input", c)][k] for c in clips], float)
        d = d[np.isfinite(d)]
        return (f"{d.mean():+.2f} ± {d.std(ddof=1) / np.sqrt(len(d)):.2f}" if len(d) > 1 else "—")

    for s in systems:
        rows = [by[(s, c)] for c in clips]
        m = lambda k: rp.mean(r.get(k) for r in rows)  # noqa: E731
        rt = "" if s == "input" else fmt(sum(r["duration_s"] for r in rows) / sum(r["cpu_s"] for r in rows), 1)
        L.append(f"| {s} | {fmt(m('dnsmos_ovrl'), 2)} | {'' if s == 'input' else delta(s, 'dnsmos_ovrl')} | "
                 f"{fmt(m('dnsmos_sig'), 2)} | {fmt(m('dnsmos_bak'), 2)} | {fmt(m('distillmos'), 2)} | "
                 f"{'' if s == 'input' else delta(s, 'distillmos')} | {rt} |")
    reasons: dict = {}
    for c in clips:
        r = by[("auto", c)]
        reasons.setdefault((r["path"], r["mode_reason"].split(":")[0]), []).append(c)
    L += ["", "What auto took, and why (`--report`'s `mode`, `mode_reason`):", ""]
    for (p, why), cs in sorted(reasons.items()):
        L.append(f"- {p} ({len(cs)} files): {why}")
    L += ["", "| line | speaker | auto path | auto's reason | stages (auto) | DNSMOS in → auto | DistillMOS in → auto |",
          "|---|---|---|---|---|---:|---:|"]
    for c in clips:
        i, a = by[("input", c)], by[("auto", c)]
        L.append(f"| {Path(c).parent.name}/{Path(c).name} | {i['speaker']} | {a['path']} | {a['mode_reason']} | "
                 f"{a.get('stages_applied', '')} | {i['dnsmos_ovrl']:.2f} → {a['dnsmos_ovrl']:.2f} | "
                 f"{i['distillmos']:.2f} → {a['distillmos']:.2f} |")
    return L


def write_csv(path: Path, rows: list[dict], cols: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=6, help="clips per damage type (default 6, as bench-repair)")
    ap.add_argument("--seconds", type=float, default=4.0, help="target clip length in s (default 4)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", type=Path, default=Path(os.environ.get("MSAR_CACHE", ROOT / "cache")) / "corpus")
    ap.add_argument("--systems", default="", help="comma list of systems (default: all)")
    ap.add_argument("--damages", default="", help="comma list of damage types (default: all 12)")
    ap.add_argument("--game", type=int, default=12, help="game dialogue lines to repair (0: none)")
    ap.add_argument("--no-reuse", action="store_true", help="rerun the peers even where the inputs are unchanged")
    ap.add_argument("--png-clip", type=int, default=0, help="which clip (index) gets the spectrogram per type")
    ap.add_argument("--work", type=Path, default=ROOT / "cache" / "resynth-bench")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "resynth-bench.md")
    args = ap.parse_args(argv)
    args.png_dir = args.out.parent / "resynth-spectrograms"
    args.game_csv = args.out.with_name(args.out.stem + "-game.csv")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    start = time.perf_counter()

    wanted = {s.strip() for s in args.systems.split(",") if s.strip()} or None
    systems = make_systems(wanted)
    clips, speech = rp.build_clips(args.corpus, args.files, args.seconds)
    damages = None
    if args.damages:
        damages = {d.strip(): rp.DAMAGES[d.strip()] for d in args.damages.split(",") if d.strip()}
    args.work.mkdir(parents=True, exist_ok=True)
    items, skipped = rp.make_material(args.work, args.corpus, clips, speech, args.seed, damages=damages)
    if skipped:
        log.warning("damage types not made: %s", skipped)
    reusable = {} if args.no_reuse else load_reusable(args.out.with_suffix(".csv"))
    results = run_all(systems, items, args.work, reusable)
    pngs = write_pngs(items, results, args.png_dir, args.png_clip)
    game = run_game(args.corpus, args.game, args.work) if args.game else []
    text = write_report(args, systems, results, clips, pngs, game, time.perf_counter() - start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    write_csv(args.out.with_suffix(".csv"), results, CSV_COLS)
    if game:
        write_csv(args.game_csv, game, ["clip", "speaker", "source_sr", "duration_s", "system", "path", "mode_reason",
                                        "stages_applied", "dropouts_fill", "out_sr", "cpu_s", "x_rt", "dnsmos_ovrl", "dnsmos_sig",
                                        "dnsmos_bak", "distillmos"])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
