"""Multi-speaker generalization, measured (issue 6): one voice is given only a small budget of
training utterances, and three synthesis models with the same architecture, step budget and
early-stopping rule are compared on held-out utterances of that voice:

- ``single``: that voice's budget alone;
- ``multi``: the budget plus the other voices' training utterances of the shipped recipe;
- ``multi-aug``: the same plus one damaged-then-repaired copy of every training utterance
  (``msar.dsp.degrade`` with mild noise, reverb and band limits, then ``msar repair`` with its
  defaults: the shipped mask model for noise, the resynthesis for a band limit), features taken
  from the repaired audio;
- ``multi-f0``: ``multi``'s data, with each voice's log F0 anchored by its own training
  statistics (``train.py --speaker-f0-norm``; ``model.py``), so the voice's pitch level and range
  need not be learnt into its embedding from its few utterances.

``--models`` picks some of them (``multi-aug``'s copies cost a repair run; the others do not).

    python -m train.synth.compare --prep cache/synth-prep/multispeaker --corpus cache/corpus \\
        --out cache/synth-compare --report reports/synth_generalization

The voice's prepared utterances are split by a stable hash: the held-out ``test`` set is taken
first, then ``valid`` (early stopping for all three models), then the training budget, so the test
set does not move when the budget changes. Metrics are ``evaluate.py``'s (the acoustic model
driven by the aligned durations): MCD, F0 RMSE, V/UV error, plus the WER of faster-whisper tiny.en
on the test prompts and on ``wer.SENTENCES`` synthesized end to end (English voices only).

Every step is skipped when its output exists, so a rerun resumes: augmented copies
(``<out>/aug``), trainings (``<out>/checkpoints/<model>``, continued from ``last.pt``), exports
(``<out>/models``). Results: ``<report>.csv`` and ``<report>.png``, the table on stdout, and
everything with the paired differences in ``<out>/results.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

from msar.dsp import audio, world

from . import prepare

SR = prepare.SR
MODELS = ("single", "multi", "multi-aug", "multi-f0")
DESCRIPTION = {"single": "single-speaker (the voice's budget only)",
               "multi": "multi-speaker (budget + 8 other voices)",
               "multi-aug": "multi-speaker + damaged/repaired copies",
               "multi-f0": "multi-speaker, log F0 anchored per voice"}
#: The training set each model uses (by default its own name) and the extra training flags.
TRAINING_SET = {"multi-f0": "multi"}
TRAIN_FLAGS = {"multi-f0": ["--speaker-f0-norm"]}
#: Per-utterance metrics averaged and paired (``evaluate.utterance_metrics``).
PAIRED_METRICS = ("mcd_db", "f0_rmse_hz", "f0_rmse_cents", "f0_level_cents", "vuv_error")
#: Paired differences reported (b - a), where both models ran.
PAIRS = (("single", "multi"), ("single", "multi-aug"), ("multi", "multi-aug"), ("single", "multi-f0"),
         ("multi", "multi-f0"))
#: Mild damage that ``msar repair`` is built to undo: noise at 15-30 dB SNR (below 20 dB the mask
#: model runs; above, the pipeline leaves the file alone, as it would in real use), a small room in
#: a third of the files, and a band limit in a third, below the 6 kHz at which ``--mode auto``
#: restores the missing band by resynthesis (a 6-7 kHz limit would stay unrepaired).
AUG_RECIPE = ("noise:kind=any,snr_db=15..30,reverb:rt60_s=0.2..0.4,drr_db=0..10,p=0.3,"
              "lowpass:cutoff_hz=3500..5500,p=0.3")
AUG_SUFFIX = "__aug"


def split_voice(ids: list[str], n_train: int, n_valid: int, n_test: int, seed: int = 0) -> dict[str, str]:
    """Role of each of one voice's utterance ``ids``: ``test``, ``valid``, ``train`` or ``unused``.

    The ids are ordered by a stable hash (CRC-32 of ``seed:id``); the first ``n_test`` are the
    test set, the next ``n_valid`` validation and the next ``n_train`` the training budget, so
    the test and validation sets are the same for every budget. Raises ValueError when the voice
    has fewer than ``n_train + n_valid + n_test`` utterances.
    """
    need = n_train + n_valid + n_test
    if len(set(ids)) < need:
        raise ValueError(f"the voice has {len(set(ids))} utterances; {need} are needed "
                         f"({n_train} train + {n_valid} valid + {n_test} test)")
    order = sorted(set(ids), key=lambda i: (zlib.crc32(f"{seed}:{i}".encode("utf-8")), i))
    bounds = (("test", n_test), ("valid", n_test + n_valid), ("train", need))
    return {i: next((role for role, end in bounds if k < end), "unused") for k, i in enumerate(order)}


def text_key(text: str) -> str:
    """A transcript as compared for text-disjointness: case, punctuation and spacing ignored."""
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


def build_indexes(index: list[dict], speaker: str, roles: dict[str, str],
                  texts: dict[str, str] | None = None) -> dict[str, list[dict]]:
    """Index rows (``prepare.py``'s ``index.json``) of each training set and of the evaluation set.

    ``single``: the voice's ``train`` rows and its validation rows (split ``dev``: ``train.py``'s
    early-stopping set, the same for every model); ``multi``: those plus the other voices'
    ``train`` rows (their held-out rows are in no training set); ``eval``: the voice's ``test``
    rows and the other voices' held-out rows (split ``valid``), used by no model here.
    ``multi-aug`` is ``multi`` plus augmented rows, added by :func:`augmented_rows`.

    With ``texts`` (id -> transcript), ``multi`` is text-disjoint too: the other voices' rows that
    say what one of the voice's test or validation utterances says are left out (the flite
    voices read the Asterisk prompts that asterisk-allison recorded), so the multi-speaker models
    never hear a held-out sentence in another voice.
    """
    own = [r | {"split": {"valid": "dev"}.get(roles[r["id"]], roles[r["id"]])} for r in index if r["speaker"] == speaker]
    single = [r for r in own if r["split"] in ("train", "dev")]
    others = [r for r in index if r["speaker"] != speaker]
    held = {text_key(texts[r["id"]]) for r in own if r["split"] in ("test", "dev")} if texts else set()
    heard = [r for r in others if r["split"] == "train" and (not held or text_key(texts[r["id"]]) not in held)]
    return {"single": single, "multi": single + heard,
            "eval": [r for r in own if r["split"] == "test"] + [r for r in others if r["split"] != "train"]}


def augmented_rows(rows: list[dict]) -> list[dict]:
    """One augmented training row (id + ``AUG_SUFFIX``) per training row of ``rows``."""
    return [r | {"id": r["id"] + AUG_SUFFIX} for r in rows if r["split"] == "train"]


def write_data(folder: Path, rows: list[dict], sources: dict[str, Path]) -> Path:
    """A ``prepare.py``-layout folder: ``index.json`` of ``rows`` and ``utts/<id>.npz`` links to
    ``sources[id]`` (no copies: the prepared examples are shared by every model)."""
    utts = folder / "utts"
    utts.mkdir(parents=True, exist_ok=True)
    for link in utts.iterdir():
        link.unlink()
    for r in rows:
        (utts / f"{r['id']}.npz").symlink_to(sources[r["id"]].resolve())
    tmp = folder / "index.json.tmp"
    tmp.write_text(json.dumps(rows), encoding="utf-8")
    tmp.replace(folder / "index.json")
    return folder


def damage(row: dict, audio_path: str, seed: int, sources) -> tuple[np.ndarray, list[str]]:
    """The recording damaged with :data:`AUG_RECIPE` (the file's own generator) and the names of
    the damages applied. Every damage keeps the signal sample-aligned, so the clean example's
    alignment still holds for the copy."""
    from msar.dsp.degrade import degrade, file_rng, parse_recipe

    y, applied = degrade(prepare.load_mono(audio_path), SR, parse_recipe(AUG_RECIPE, sources), file_rng(seed, row["id"]))
    return np.asarray(y, np.float32).reshape(-1), [a["damage"] for a in applied if a.get("applied", True)]


def augment(rows: list[dict], corpus: Path, clean: Path, out: Path, seed: int) -> dict:
    """Augmented copies of ``rows`` (training rows) in ``out`` as ``prepare.py`` examples, skipping
    those already there: each recording damaged (:func:`damage`), then repaired by ``msar repair``
    itself with its defaults (``--mode auto``: the mask model for noise, the resynthesis for a
    band limit), and the clean example's phones and durations with the repaired audio's WORLD
    features. Returns how often each damage, repair path and stage was applied, and how far the
    copies' features are from the clean ones."""
    from msar.dsp.degrade import Sources

    from .train import mcd_db

    out.mkdir(parents=True, exist_ok=True)
    todo = [r for r in rows if not (out / f"{r['id']}{AUG_SUFFIX}.npz").exists()]
    if todo:
        items = {it["id"]: it for it in prepare.manifest_items(corpus, {r["language"] for r in rows}, 10 ** 9, float("inf"))}
        noise = Sources(noise_files=tuple(str(p) for p in sorted((corpus / "noise").rglob("*"))
                                          if p.suffix.lower() in prepare.AUDIO_EXT))
        damaged, repaired = out / "damaged", out / "repaired"
        damaged.mkdir(exist_ok=True)
        applied = {}
        for r in todo:
            y, applied[r["id"]] = damage(r, items[r["id"]]["audio"], seed, noise)
            audio.write(damaged / f"{r['id']}.wav", y, SR, subtype="FLOAT")  # float: no quantization on top
        print(f"msar repair: {len(todo)} damaged copies", file=sys.stderr, flush=True)
        report = out / "repair-report.csv"
        subprocess.run([str(Path(sys.executable).parent / "msar"), "repair", str(damaged), str(repaired), "-j", "1", "-q",
                        "--report", str(report)], check=True)
        how = {Path(r["path"]).stem: r for r in csv.DictReader(open(report, encoding="utf-8"))}
        for r in todo:
            feats = world.world_features(prepare.load_mono(repaired / f"{r['id']}.wav"), SR)
            d = np.load(clean / f"{r['id']}.npz")
            assert len(feats) == len(d["feats"]), f"{r['id']}: {len(feats)} frames after repair, {len(d['feats'])} before"
            fixed = how[r["id"]]
            tmp = out / f"{r['id']}{AUG_SUFFIX}.tmp.npz"
            np.savez(tmp, phones=d["phones"], stress=d["stress"], durations=d["durations"], feats=feats.astype(np.float32),
                     damages=np.array(applied[r["id"]], dtype=str),
                     repairs=np.array([f"mode:{fixed['mode']}"] + fixed["stages_applied"].split(), dtype=str))
            tmp.replace(out / f"{r['id']}{AUG_SUFFIX}.npz")
        shutil.rmtree(damaged)
        shutil.rmtree(repaired)
    counts: dict[str, int] = {}
    sp = slice(*world.feature_layout(SR)["sp"])
    mcd, vuv = [], []
    for r in rows:
        d, c = np.load(out / f"{r['id']}{AUG_SUFFIX}.npz"), np.load(clean / f"{r['id']}.npz")
        for name in [f"damage:{x}" for x in d["damages"]] + [f"repair:{x}" for x in d["repairs"]]:
            counts[name] = counts.get(name, 0) + 1
        # how far the training targets moved: the copies' features against the clean ones
        mcd.append(mcd_db(d["feats"][:, sp], c["feats"][:, sp]))
        vuv.append(float(np.mean((d["feats"][:, 1] > 0.5) != (c["feats"][:, 1] > 0.5))))
    return {"utterances": len(rows), **dict(sorted(counts.items())),
            "copy_vs_clean_mcd_db": round(float(np.mean(mcd)), 3), "copy_vs_clean_vuv_error": round(float(np.mean(vuv)), 3)}


def train_model(name: str, data: Path, out: Path, phones_json: Path, args) -> dict:
    """Train (or continue) one model in a child process at one thread; returns its best step,
    validation loss and the CPU minutes (user + system) all its sessions took."""
    import torch

    ck_dir = out / "checkpoints" / name
    info_path = out / "checkpoints" / f"{name}.cpu.json"
    cpu_s = json.loads(info_path.read_text())["cpu_s"] if info_path.exists() else 0.0
    last = ck_dir / "last.pt"
    done = torch.load(last, map_location="cpu", weights_only=False)["step"] if last.exists() else 0
    if done < args.steps:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cmd = [sys.executable, "-m", "train.synth.train", "--data", str(data), "--out", str(out / "checkpoints"),
               "--name", name, "--max-steps", str(args.steps), "--max-minutes", "1e9", "--eval-steps",
               str(args.eval_steps), "--phones", str(phones_json), "--seed", str(args.seed), "--resume",
               *TRAIN_FLAGS.get(name, [])]
        print(f"training {name}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
        ck_dir.mkdir(parents=True, exist_ok=True)
        with open(out / "checkpoints" / f"train-{name}.log", "a", encoding="utf-8") as log:
            subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT, env=os.environ | {"OMP_NUM_THREADS": "1"})
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        info_path.write_text(json.dumps({"cpu_s": cpu_s}))
    best = torch.load(ck_dir / "best.pt", map_location="cpu", weights_only=False)
    return {"best_step": best["step"], "valid_total": round(best["valid"]["total"], 4), "cpu_minutes": round(cpu_s / 60, 1)}


def export_model(name: str, out: Path) -> Path:
    """``<out>/models/<name>.onnx`` from ``best.pt`` (with export.py's checks), unless newer."""
    import torch

    from .export import export

    best = out / "checkpoints" / name / "best.pt"
    onnx_path = out / "models" / f"{name}.onnx"
    if not onnx_path.exists() or onnx_path.stat().st_mtime < best.stat().st_mtime:
        torch.set_num_threads(1)
        export(torch.load(best, map_location="cpu", weights_only=False), name, out / "models",
               {"checkpoint": str(best), "note": f"train.synth.compare: {DESCRIPTION[name]}"})
    return onnx_path


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and its standard error (sample standard deviation / sqrt(n))."""
    v = np.asarray(values, float)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")


def paired(a: dict[str, dict], b: dict[str, dict], metric: str) -> dict:
    """``b - a`` of ``metric`` over the utterances both scored: mean, standard error, and in how
    many utterances ``b`` was lower (better)."""
    ids = [i for i in a if i in b and metric in a[i] and metric in b[i]]
    diff = [b[i][metric] - a[i][metric] for i in ids]
    m, se = mean_se(diff)
    return {"mean": round(m, 3), "se": round(se, 3), "b_lower": sum(d < 0 for d in diff), "n": len(ids)}


def wer_of(voice, speaker: str, texts: list[str], asr) -> float:
    """Pooled WER of ``texts`` synthesized in ``speaker``'s voice, read by ``asr`` (faster-whisper);
    its temperature fallback is seeded per utterance, as in bench/synth_peers.py, so reruns agree."""
    import ctranslate2

    from . import wer as W

    edits = words = 0
    for text in texts:
        y, sr = voice.synthesize(text, speaker)
        y = np.asarray(y, np.float32).reshape(-1)
        ctranslate2.set_random_seed(0)
        segs, _ = asr.transcribe(audio.resample(y, sr, 16000) if sr != 16000 else y, language="en", beam_size=1)
        e, n = W.wer(text, " ".join(s.text for s in segs))
        edits, words = edits + e, words + n
    return round(edits / words, 3)


def plot(path: Path, rows: list[dict], title: str) -> None:
    """Grouped bars (one panel per metric) of the models' means with standard-error whiskers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("mcd_db", "MCD (dB)", "{:.2f}"), ("f0_rmse_hz", "F0 RMSE (Hz)", "{:.1f}"), ("vuv_error", "V/UV error", "{:.3f}"))
    fig, axes = plt.subplots(1, len(panels), figsize=(11, 3.6))
    colors = ("#9e9e9e", "#1f77b4", "#2ca02c", "#d62728")
    for ax, (key, label, fmt) in zip(axes, panels):
        means = [r[key] for r in rows]
        ax.bar(range(len(rows)), means, yerr=[r[f"{key}_se"] for r in rows], color=colors[:len(rows)], capsize=4)
        for k, m in enumerate(means):
            ax.text(k, m / 2, fmt.format(m), ha="center", va="center", color="white", fontsize=9, fontweight="bold")
        ax.set_xticks(range(len(rows)), [r["model"] for r in rows])
        ax.set_title(label + ", lower is better", fontsize=10)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(rows: list[dict]) -> str:
    head = ("| model | training utterances (the voice / all, with copies) | best step | CPU min | MCD dB | F0 RMSE Hz | V/UV error "
            "| dur RMSE (log frames) | WER test prompts | WER sentences |\n|---|---|---|---|---|---|---|---|---|---|\n")

    def pm(r, k):
        return f"{r[k]:.3f} ± {r[k + '_se']:.3f}"

    return head + "".join(
        f"| {r['model']} | {r['voice_train_utts']} / {r['train_utts']} | {r['best_step']} / {r['steps']} | {r['cpu_minutes']} "
        f"| {pm(r, 'mcd_db')} | {pm(r, 'f0_rmse_hz')} | {pm(r, 'vuv_error')} | {r['dur_rmse_log']:.3f} "
        f"| {r.get('wer_test_prompts', '')} | {r.get('wer_sentences', '')} |\n" for r in rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.compare", description=__doc__.split("\n")[0])
    ap.add_argument("--prep", type=Path, default=Path("cache/synth-prep/multispeaker"), help="prepare.py output")
    ap.add_argument("--corpus", type=Path, default=Path("cache/corpus"), help="the corpus the prep was made from")
    ap.add_argument("--out", type=Path, default=Path("cache/synth-compare"))
    ap.add_argument("--report", type=Path, default=Path("reports/synth_generalization"),
                    help="writes REPORT.csv and REPORT.png")
    ap.add_argument("--speaker", default="asterisk-allison")
    ap.add_argument("--train-utts", type=int, default=32, help="the voice's training budget")
    ap.add_argument("--valid-utts", type=int, default=8)
    ap.add_argument("--test-utts", type=int, default=30)
    ap.add_argument("--steps", type=int, default=800, help="training steps of every model")
    ap.add_argument("--eval-steps", type=int, default=50, help="validate every N steps; the best is kept")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    ap.add_argument("--no-wer", action="store_true")
    ap.add_argument("--text-overlap", action="store_true",
                    help="let the other voices' training utterances say the voice's held-out sentences "
                         "(as before 2026-12-03); default: text-disjoint")
    args = ap.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown or not models:
        raise SystemExit(f"error: --models: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(MODELS)}")

    index = json.loads((args.prep / "index.json").read_text(encoding="utf-8"))
    clean = args.prep / "utts"
    roles = split_voice([r["id"] for r in index if r["speaker"] == args.speaker], args.train_utts, args.valid_utts,
                        args.test_utts, args.seed)
    texts = None
    if not args.text_overlap:
        texts = {it["id"]: it["text"] for it in prepare.manifest_items(args.corpus, {r["language"] for r in index},
                                                                        10 ** 9, float("inf"))}
        missing = [r["id"] for r in index if r["id"] not in texts]
        if missing:
            raise SystemExit(f"error: {len(missing)} prepared utterances have no transcript in {args.corpus} "
                             f"(e.g. {missing[0]}); --text-overlap skips the text-disjoint filter")
    sets = build_indexes(index, args.speaker, roles, texts)
    dropped = sum(r["speaker"] != args.speaker and r["split"] == "train" for r in index) - \
        sum(r["speaker"] != args.speaker for r in sets["multi"])
    print(f"multi: {dropped} other voices' training utterances left out (they say a held-out sentence)",
          file=sys.stderr, flush=True)
    aug_stats = {}
    sources = {r["id"]: clean / f"{r['id']}.npz" for r in index}
    if "multi-aug" in models:
        aug_stats = augment([r for r in sets["multi"] if r["split"] == "train"], args.corpus, clean, args.out / "aug",
                            args.seed)
        sets["multi-aug"] = sets["multi"] + augmented_rows(sets["multi"])
        sources |= {r["id"]: args.out / "aug" / f"{r['id']}.npz" for r in sets["multi-aug"] if r["id"].endswith(AUG_SUFFIX)}
    args.out.mkdir(parents=True, exist_ok=True)
    phones_json = args.out / "phones.json"
    phones_json.write_text(json.dumps(sorted({str(p) for r in index for p in np.load(clean / f"{r['id']}.npz")["phones"]})))
    data = {name: write_data(args.out / "data" / name, rows, sources) for name, rows in sets.items()}

    from msar.onnx_models import synth as S

    from .evaluate import per_utterance, summarize

    results, per_utt, rows = {"aug": aug_stats}, {}, []
    for name in models:
        trained = train_model(name, data[TRAINING_SET.get(name, name)], args.out, phones_json, args)
        voice = S.load_voice(export_model(name, args.out))
        per_utt[name] = per_utterance(voice, data["eval"], "test")
        train_rows = [r for r in sets[TRAINING_SET.get(name, name)] if r["split"] == "train"]
        row = {"model": name, "description": DESCRIPTION[name], "speaker": args.speaker,
               "voice_train_utts": sum(r["speaker"] == args.speaker for r in train_rows), "train_utts": len(train_rows),
               "train_hours": round(sum(r["duration_s"] for r in train_rows) / 3600, 3), "steps": args.steps, **trained,
               "test_utts": len(per_utt[name]), "dur_rmse_log": summarize(per_utt[name])["all"]["dur_rmse_log"]}
        for key in PAIRED_METRICS:
            m, se = mean_se([u[key] for u in per_utt[name].values() if key in u])
            row |= {key: round(m, 3), f"{key}_se": round(se, 3)}
        if name != "single":  # held-out utterances of the other voices (no model here trained on them)
            results[f"{name}_other_voices"] = summarize(per_utterance(voice, data["eval"], "valid"))
        rows.append(row)
    if len({u for m in per_utt.values() for u in m}) != min(len(m) for m in per_utt.values()):
        raise SystemExit("error: the models scored different test utterances")

    first = next(iter(per_utt.values()))
    if not args.no_wer and "en" in {r["language"] for r in sets["single"]}:
        from . import wer as W

        asr = W.recognizer()
        items = {it["id"]: it for it in prepare.manifest_items(args.corpus, {"en"}, 10 ** 9, float("inf"))}
        prompts = [items[i]["text"] for i in first]
        for row in rows:
            voice = S.load_voice(args.out / "models" / f"{row['model']}.onnx")
            row["wer_test_prompts"] = wer_of(voice, args.speaker, prompts, asr)
            row["wer_sentences"] = wer_of(voice, args.speaker, W.SENTENCES, asr)

    shipped = S.load_voice("multispeaker-synth")
    results["shipped_other_voices"] = summarize(per_utterance(shipped, data["eval"], "valid"))
    results["paired"] = {f"{b} - {a}": {k: paired(per_utt[a], per_utt[b], k) for k in PAIRED_METRICS}
                         for a, b in PAIRS if a in per_utt and b in per_utt}
    results["models"] = rows
    results["split"] = {"speaker": args.speaker, "seed": args.seed, "text_disjoint": texts is not None,
                        "other_voices_left_out": dropped,
                        **{k: sorted(i for i, v in roles.items() if v == k) for k in ("train", "valid", "test")}}
    args.report.parent.mkdir(parents=True, exist_ok=True)
    with open(args.report.with_suffix(".csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) + [k for k in rows[-1] if k not in rows[0]])
        w.writeheader()
        w.writerows(rows)
    plot(args.report.with_suffix(".png"), rows, f"{args.speaker}: {args.train_utts} training utterances, "
         f"{len(first)} held-out utterances, {args.steps} steps per model (mean ± standard error)")
    (args.out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(table(rows))
    print(json.dumps({k: results[k] for k in ("paired", "aug")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
