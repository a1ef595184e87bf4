"""``msar models``: the shipped models and what their sidecars say."""

from __future__ import annotations

import json

import click

from msar.onnx_models import registry

from . import tables


def _summary(card: dict) -> dict:
    metrics = card.get("metrics", {}) or {}
    training = card.get("training", {}) or {}
    data = training.get("data", "")
    return {
        "name": card.get("name", ""),
        "task": card.get("task", ""),
        "version": card.get("model_version", ""),
        "sample_rate": card.get("sample_rate", ""),
        "n_fft/hop": f"{card.get('n_fft', '')}/{card.get('hop', '')}" if card.get("n_fft") else "",
        "size_kb": "",
        "training_data": data if isinstance(data, str) else json.dumps(data)[:60],
        "onnx_vs_torch": metrics.get("onnx_vs_torch_max_abs", ""),
    }


@click.command()
@click.option("--task", type=click.Choice(["repair", "duration", "acoustic", "resynth"]),
              help="Only models of this task.")
@click.option("--json", "as_json", is_flag=True, help="Print the full sidecars as a JSON list.")
@click.option("--folder", type=click.Path(exists=True, file_okay=False),
              help="List the models in this folder instead of the shipped ones.")
def models(task, as_json, folder):
    """List the available ONNX models with their sidecar metadata (stdout: CSV, or JSON)."""
    entries = registry.list_models(folder, task)
    if as_json:
        click.echo(json.dumps([{"path": str(e.path), **e.sidecar} for e in entries], indent=2))
        return
    rows = []
    for e in entries:
        row = _summary(e.sidecar)
        row["size_kb"] = round(e.path.stat().st_size / 1024, 1)
        rows.append(row)
    columns = ["name", "task", "version", "sample_rate", "n_fft/hop", "size_kb", "onnx_vs_torch", "training_data"]
    click.echo(tables.to_csv(rows, columns), nl=False)
    if not entries:
        click.echo("msar models: no models found", err=True)
