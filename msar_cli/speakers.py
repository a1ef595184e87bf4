"""``msar speakers``: the voices of a synthesis model (stdout: CSV)."""

from __future__ import annotations

import click

from msar.onnx_models import synth as S

from . import tables


@click.command()
@click.option("--model", default=S.DEFAULT_MODEL, show_default=True, help="Acoustic model name or .onnx path.")
def speakers(model):
    """List the voices of a synthesis model: name, sex, language, hours of training data, pace (the
    duration factor that matches the speaker's recordings; --rate is relative to it), and the
    rendering settings each uses unless told otherwise (its own where the model chose them)."""
    voice = S.load_voice(model)
    rows = [{"name": s.name, "sex": s.sex, "language": s.language, "hours": s.hours, "pace": f"{voice.pace(s.name):g}"}
            | {k: f"{voice.effective_setting(k, s.name):g}" for k in S.RENDER_SETTINGS} for s in voice.speakers]
    click.echo(tables.to_csv(rows, ["name", "sex", "language", "hours", "pace", *S.RENDER_SETTINGS]), nl=False)
