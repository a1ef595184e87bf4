"""``msar speakers``: the voices of a synthesis model (stdout: CSV)."""

from __future__ import annotations

import click

from msar.onnx_models import synth as S

from . import tables


@click.command()
@click.option("--model", default=S.DEFAULT_MODEL, show_default=True, help="Acoustic model name or .onnx path.")
def speakers(model):
    """List the voices of a synthesis model: name, sex, language, hours of training data."""
    voice = S.load_voice(model)
    rows = [{"name": s.name, "sex": s.sex, "language": s.language, "hours": s.hours} for s in voice.speakers]
    click.echo(tables.to_csv(rows, ["name", "sex", "language", "hours"]), nl=False)
