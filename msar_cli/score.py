"""``msar score REF OUT``: per-file and aggregate quality CSVs (MSE, pitch, loudness, Q)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from msar.dsp import metrics
from msar.dsp.audio import AUDIO_EXTENSIONS, STDIO
from msar.dsp.errors import MsarError
from msar.dsp.scoring import ScoreParams, score_files
from msar.dsp.world import F0_METHODS

from . import runner, tables
from .common import BatchOptions, batch_options, block_seconds_option, exit_code, run_batch
from .runner import FAILED, OK, Done, Record, Task

MISSING_OUTPUT = "missing_output"
MISSING_REFERENCE = "missing_reference"


def _score_task(ref_path: str, out_path: str, params: ScoreParams) -> Done:
    row, duration = score_files(ref_path, out_path, params)
    return Done(audio_s=duration, row=row)


def _stem_map(root: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Relative path without extension -> relative path; plus stems claimed by several files."""
    found: dict[str, list[str]] = {}
    for rel in runner.discover(root, AUDIO_EXTENSIONS):
        found.setdefault(os.path.splitext(rel)[0], []).append(rel)
    unique = {stem: rels[0] for stem, rels in found.items() if len(rels) == 1}
    return unique, {stem: rels for stem, rels in found.items() if len(rels) > 1}


def pair_folders(ref_root: Path, out_root: Path, params: ScoreParams) -> tuple[list[Task], list[Record]]:
    """Tasks for pairs matched by relative path ignoring the extension, and records for the
    files without a partner (or with an ambiguous one)."""
    refs, ref_dupes = _stem_map(ref_root)
    outs, out_dupes = _stem_map(out_root)
    tasks, unmatched = [], []
    for stem in sorted(set(refs) | set(outs) | set(ref_dupes) | set(out_dupes)):
        if stem in ref_dupes or stem in out_dupes:
            names = ", ".join(ref_dupes.get(stem, []) + out_dupes.get(stem, []))
            unmatched.append(Record(stem, FAILED, f"{stem}: ambiguous pairing, several files share the name ({names})"))
        elif stem not in outs:
            unmatched.append(Record(refs[stem], MISSING_OUTPUT, f"{out_root / stem}.*: no output for reference {refs[stem]}"))
        elif stem not in refs:
            unmatched.append(Record(outs[stem], MISSING_REFERENCE, f"{ref_root / stem}.*: no reference for output {outs[stem]}"))
        else:
            tasks.append(Task(refs[stem], _score_task, (str(ref_root / refs[stem]), str(out_root / outs[stem]), params)))
    return tasks, unmatched


def _parse_metrics(ctx, param, value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    names = list(metrics.OPTIONAL_METRICS) if value.strip() == "all" else [v.strip() for v in value.split(",") if v.strip()]
    try:
        metrics.check_available(names)
    except MsarError as exc:
        raise click.BadParameter(str(exc)) from None
    return tuple(dict.fromkeys(names))


@click.command()
@click.argument("ref", type=click.Path(allow_dash=True))
@click.argument("out", type=click.Path(allow_dash=True))
@click.option("--alpha", type=float, default=metrics.ALPHA, show_default=True, help="Weight of MSE in Q.")
@click.option("--beta", type=float, default=metrics.BETA, show_default=True, help="Weight of 1 - cos_pitch in Q.")
@click.option("--gamma", type=float, default=metrics.GAMMA, show_default=True, help="Weight of 1 - cos_loudness in Q.")
@click.option("--f0", "f0_method", type=click.Choice(F0_METHODS), default="dio", show_default=True,
              help="WORLD F0 estimator: dio (+stonemask, fast) or harvest (slower, more accurate).")
@click.option("--align", is_flag=True, help="Align OUT to REF by cross-correlation (lag within ±0.5 s), "
              "then trim to the overlap; otherwise trim to the shorter length.")
@click.option("--metrics", "extra", callback=_parse_metrics, metavar="LIST",
              help=f"Also compute standard metrics: comma list of {', '.join(metrics.OPTIONAL_METRICS)}, or 'all'.")
@click.option("--per-file", "per_file", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default=True, help="Per-file CSV (default: stdout).")
@click.option("--aggregate", "aggregate_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="Aggregate CSV: n, mean, std, median, min, max, 95% CI per metric.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="PNG: pitch and loudness contours of one pair, or a bar chart of the means for folders.")
@block_seconds_option
@batch_options
def score(ref, out, alpha, beta, gamma, f0_method, align, extra, per_file, aggregate_path, plot_path, block_s,
          batch: BatchOptions):
    """Compare OUT against the reference REF and write quality CSVs.

    REF and OUT are audio files or folders (paired by relative path, ignoring the extension);
    `-` reads one of them from stdin. Both are mixed to mono and OUT is resampled to REF's rate.
    Metrics: mse, cos_pitch, cos_loudness and q = alpha*mse + beta*(1-cos_pitch) +
    gamma*(1-cos_loudness), lower is better.

    \b
    Examples:
      msar score clean/ repaired/ --aggregate agg.csv > per_file.csv
      msar score ref.wav out.flac --align --metrics pesq_wb,stoi
      sox in.wav -t wav - gain -3 | msar score in.wav -
    """
    if ref == STDIO and out == STDIO:
        raise click.UsageError("only one of REF and OUT can be '-' (stdin)")
    if plot_path and STDIO in (ref, out):
        raise click.UsageError("--plot needs files or folders, not '-'")
    params = ScoreParams(alpha, beta, gamma, f0_method, align, extra, block_s)
    ref_dir = ref != STDIO and Path(ref).is_dir()
    out_dir = out != STDIO and Path(out).is_dir()
    for path in (ref, out):
        # A broken link or a symlink loop is a file that fails with its reason, as in repair/degrade.
        if path != STDIO and not Path(path).exists() and not Path(path).is_symlink():
            raise click.BadParameter(f"{path}: no such file or folder")
    if ref_dir != out_dir:
        raise click.UsageError("REF and OUT must both be files or both be folders")
    if ref_dir:
        tasks, unmatched = pair_folders(Path(ref), Path(out), params)
        if not tasks and not unmatched:
            raise click.UsageError(f"{ref}: no audio files found")
    else:
        name = Path(ref).name if ref != STDIO else Path(out).name
        tasks, unmatched = [Task(name, _score_task, (ref, out, params))], []
        if ref == STDIO or out == STDIO:
            batch.jobs = 1  # stdin is this process's
    records, summary = run_batch("score", tasks, batch, pre_records=unmatched)
    records.sort(key=lambda r: r.key)

    metric_columns = list(metrics.CORE_METRICS) + list(extra)
    rows = [{"path": r.key, "status": r.status, **r.row, "message": "" if r.status == OK else r.message}
            for r in records]
    columns = tables.union_columns(["path", "status", "duration_s", "sample_rate"], rows, ["message"])
    tables.write_text(per_file, tables.to_csv(rows, columns))
    table = tables.aggregate([r.row for r in records if r.status == OK], metric_columns)
    if aggregate_path:
        tables.write_text(aggregate_path, tables.to_csv(table, tables.AGGREGATE_COLUMNS))
    if not batch.quiet and summary.ok:
        click.echo(tables.readable(table, ("metric", "n", "mean", "std", "median", "ci95_low", "ci95_high")), err=True)
    if plot_path and summary.ok:
        from . import plots

        if ref_dir:
            plots.metric_bars(table, plot_path, title=f"msar score: {out} vs {ref}")
        else:
            plots.contours(ref, out, params, plot_path)
    raise SystemExit(exit_code(records))
