"""``msar synth``: speak a text file in a chosen voice (multi-speaker ONNX models + WORLD)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import numpy as np

from msar.dsp import audio
from msar.dsp.errors import MsarError
from msar.onnx_models import synth as S

from . import tables
from .common import batch_options, exit_code, run_batch
from .runner import Done, Task

#: Silence between lines in a single output file.
PAUSE_S = 0.3


def read_lines(path: str) -> list[tuple[int, str]]:
    """(line number, text) of each non-empty line of ``path`` (``-``: stdin)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MsarError(f"{path}: cannot read text ({exc})") from None
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1) if line.strip()]


def _speak(model: str, speaker: str, text: str, line: int, out: str, opts: S.SynthOptions) -> Done:
    voice = S.load_voice(model)
    y, sr = voice.synthesize(text, speaker, opts, line=line)
    audio.write(out, y, sr)
    return Done(audio_s=len(y) / sr, row={"line": line, "text": text, "file": Path(out).name if out != "-" else "-"})


@click.command()
@click.option("--text", "text_path", required=True, help="Text file, one utterance per line ('-': stdin).")
@click.option("--speaker", required=True, help="Voice name (see `msar speakers`).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="One audio file for the whole text ('-': stdout).")
@click.option("--out-dir", type=click.Path(file_okay=False), help="One numbered file per line, plus synth.csv (text -> file).")
@click.option("--rate", type=click.FloatRange(0.25, 4.0), default=S.SynthOptions().rate, show_default=True,
              help="Speaking rate (2 = twice as fast as the speaker; `msar speakers` lists each voice's pace).")
@click.option("--pitch", type=click.FloatRange(0.25, 4.0), default=S.SynthOptions().pitch, show_default=True,
              help="F0 scale.")
@click.option("--sample-rate", type=click.IntRange(8000, 192000), default=None, help="Output rate (default: the model's).")
@click.option("--postfilter", type=click.FloatRange(0.0, 1.0), default=None,
              help="Formant emphasis of the synthesized envelope (0: off); counters the muffled sound "
                   f"of an over-smoothed envelope (default: the voice's, else {S.POSTFILTER_BETA:g}; "
                   "reports/synth-postfilter.md).")
@click.option("--gv", type=click.FloatRange(0.0, 1.0), default=None,
              help="Global-variance compensation: how far the envelope's movement over an utterance is "
                   "restored towards the speaker's recordings (0: off, 1: all the way; default: the "
                   f"voice's, else {S.GV_WEIGHT:g} where the model has the statistics; reports/synth-postfilter.md).")
@click.option("--gv-f0", type=click.FloatRange(0.0, 1.0), default=None,
              help="The same for the pitch contour: livelier intonation (default: the voice's, else "
                   f"{S.GV_F0_WEIGHT:g}).")
@click.option("--pause-gate", type=click.FloatRange(0.0, 120.0), default=None,
              help="Attenuation in dB of the pauses the model placed (0: off): quiets the vocoder's hiss "
                   f"between words, faded in over {S.PAUSE_FADE_MS:g} ms (default: the voice's, else "
                   f"{S.PAUSE_GATE_DB:g}; reports/synth-postfilter.md).")
@click.option("--language", default=None, help="Language of the text, one of the speaker's "
              "(`msar speakers`; default: its first).")
@click.option("--model", default=S.DEFAULT_MODEL, show_default=True, help="Acoustic model name or .onnx path.")
@batch_options
def synth(text_path, speaker, output, out_dir, rate, pitch, sample_rate, postfilter, gv, gv_f0, pause_gate, language, model, batch):
    """Synthesize TEXT with a speaker of a multi-speaker voice model."""
    if bool(output) == bool(out_dir):
        raise click.UsageError("give exactly one of -o/--output or --out-dir")
    voice = S.load_voice(model)
    opts = S.SynthOptions(rate=rate, pitch=pitch, sample_rate=sample_rate, postfilter=postfilter, language=language, gv=gv,
                          gv_f0=gv_f0, pause_gate=pause_gate)
    # unknown speaker, a language it does not speak, --gv without statistics: one clear error before any work
    voice.check(speaker, opts)
    lines = read_lines(text_path)
    if not lines:
        raise MsarError(f"{text_path}: no text to speak (empty or blank lines only)")
    if output:
        start = time.perf_counter()
        parts, sr = [], None
        for n, t in lines:
            y, sr = voice.synthesize(t, speaker, opts, line=n)
            parts.append(y)
            parts.append(np.zeros(int(PAUSE_S * sr), dtype=np.float32))
        y = np.concatenate(parts)
        audio.write(output, y, sr)
        if not batch.quiet:
            wall = time.perf_counter() - start
            click.echo(f"msar synth: {len(lines)} utterances, {len(y) / sr:.1f} s of audio in {wall:.1f} s "
                       f"({len(y) / sr / max(wall, 1e-9):.1f}x real time)", err=True)
        return
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    width = max(3, len(str(len(lines))))
    tasks = [Task(f"line {n}", _speak, (model, speaker, t, n, str(out / f"{i:0{width}d}.wav"), opts))
             for i, (n, t) in enumerate(lines, 1)]
    records, _ = run_batch("synth", tasks, batch)
    rows = sorted((r.row for r in records if r.row), key=lambda r: r["line"])
    (out / "synth.csv").write_text(tables.to_csv(rows, ["line", "file", "text"]), encoding="utf-8")
    raise SystemExit(exit_code(records))
