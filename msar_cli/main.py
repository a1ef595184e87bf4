"""The ``msar`` command group. Subcommands live in their own modules and are imported only when
used, so ``msar --help`` stays fast."""

from __future__ import annotations

import importlib
import os
import sys

# msar parallelises over files (one process per core); BLAS thread pools inside each process only
# fight over the cores. Measured: declip's many small solves ran 10-15x slower with OpenBLAS threads.
# Set before numpy is first imported (subcommands load lazily); workers inherit the environment.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
from importlib.metadata import PackageNotFoundError, version

import click

from msar.dsp.errors import MsarError

from . import runner

#: subcommand name -> "module:attribute"; a command is listed here only once it works.
COMMANDS = {
    "degrade": "msar.cli.degrade:degrade",
    "score": "msar.cli.score:score",
    "repair": "msar.cli.repair:repair",
    "models": "msar.cli.models:models",
    "synth": "msar.cli.synth:synth",
    "speakers": "msar.cli.speakers:speakers",
}


def _version() -> str:
    try:
        return version("msar")
    except PackageNotFoundError:
        return "unknown"


class LazyGroup(click.Group):
    """A group that imports each subcommand's module on first use (Click docs, "lazy loading")."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MsarError as exc:  # a user-caused problem: one line, exit 1, no traceback
            raise click.ClickException(str(exc)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "-V", "--version", prog_name="msar")
def cli() -> None:
    """msar: MultiSpeaker Audio Repair.

    Batch repair, synthesis and pitch/loudness-aware scoring of speech recordings.
    Every subcommand takes files or folders; `-` means stdin/stdout.
    """


def main() -> None:
    runner.handle_sigterm()
    try:
        cli.main(prog_name="msar")
    except KeyboardInterrupt:
        click.echo("msar: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
