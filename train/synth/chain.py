"""The shipped synthesis model's whole recipe as one resumable chain of runs (``make train-synth``).

The shipped (eighth) model is not one training run but three, each starting from the export of the
one before (``train.py --init-onnx``), because each was what one session could add to the last
(reports/synth.md tells why each step was taken and what it measured):

1. ``NAME-base``, the seventh model: the corpus of ``make data`` plus 2466 ``fortunes`` sentences per
   flite voice read by flite, durations by HMM alignment (6 iterations); 5377 steps from random
   weights, lr 2e-3 with a cosine over 5500.
2. ``NAME-wordnet``: the corpus plus 3000 WordNet usage examples per flite voice, aligned on their
   own (5 iterations); 2193 steps from 1's export, lr 6e-4, cosine over 2600.
3. ``NAME``: the fortunes sentences aligned on their own (5 iterations), joined to 2's data with
   ``merge_prep``; 2247 steps from 2's export with a 5-layer post-net and ``--delta-loss 1``, each
   voice drawn as the square root of its utterance count (``--speaker-balance 0.5``), lr 5e-4,
   cosine over 3200.

Budgets are steps, not minutes (the original runs stopped by time at these steps), so the chain
does the same work on any machine. Each run's data is made just before the run. Every step is skipped when its output is complete (a text
folder's renderings, a prepared or aligned folder's ``index.json``, which each writes last, a run's
export), and a run continues from its last checkpoint (saved every few minutes), so the chain can
be stopped at any moment and started again with the same command: 5 to 6 hours on two cores.
``--max-minutes`` bounds one invocation; a run cut short by it is left to be continued, never
exported half-trained. The last run's checkpoint is ``CACHE/checkpoints/NAME/last.pt`` and its data
``CACHE/synth-prep/NAME-hmm``, which ``make export-synth`` exports to ``onnx_models/``; every run's
own export is kept in ``CACHE/synth-chain/RUN/``.

    python -m train.synth.chain --cache cache [--name multispeaker-synth] [--threads 2] [--max-minutes M]
    python -m train.synth.chain --dry-run    # what is done and what is left
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: the shipped model's size (train.py --size)
SIZE = "phone_dim=96,speaker_dim=32,enc_hidden=96,dec_hidden=160,dropout=0.1"


@dataclass(frozen=True)
class Texts:
    """Sentences read by flite into ``CACHE/<folder>`` (``flite_texts.py``)."""
    source: str
    per_voice: int
    folder: str


@dataclass(frozen=True)
class Prep:
    """Examples prepared from ``corpora`` (folders relative to the cache, or absolute) into
    ``CACHE/synth-prep/<name>``, then realigned with HMMs into ``<name>-hmm``."""
    name: str
    corpora: tuple[str, ...]
    iterations: int
    max_seconds: float = 6.0


@dataclass(frozen=True)
class Run:
    """A training run on the aligned ``preps`` (joined by ``merge_prep`` into
    ``synth-prep/<name>-hmm`` when there are several), continued from ``init``'s export."""
    name: str
    preps: tuple[str, ...]
    steps: int
    args: tuple[str, ...]
    init: str | None = None


@dataclass(frozen=True)
class Chain:
    texts: tuple[Texts, ...] = ()
    preps: tuple[Prep, ...] = ()
    runs: tuple[Run, ...] = ()


def shipped(name: str = "multispeaker-synth", corpus: str = "corpus") -> Chain:
    """The recipe of the shipped model (the module docstring)."""
    base, wordnet, fortunes = f"{name}-base", f"{name}-wordnet", f"{name}-fortunes"
    return Chain(
        texts=(Texts("fortunes", 2466, "synth-text"), Texts("wordnet", 3000, "synth-text-wordnet")),
        preps=(Prep(base, (corpus, "synth-text"), 6), Prep(wordnet, (corpus, "synth-text-wordnet"), 5),
               Prep(fortunes, ("synth-text",), 5)),
        runs=(Run(base, (base,), 5377, ("--size", SIZE, "--lr", "2e-3", "--cosine-steps", "5500")),
              Run(wordnet, (wordnet,), 2193, ("--lr", "6e-4", "--cosine-steps", "2600"), init=base),
              Run(name, (wordnet, fortunes), 2247, ("--lr", "5e-4", "--cosine-steps", "3200", "--postnet", "5",
                                                    "--delta-loss", "1", "--speaker-balance", "0.5"), init=wordnet)))


class ChainError(Exception):
    """A step failed or the chain is inconsistent; the message says which."""


class Runner:
    def __init__(self, chain: Chain, cache: Path, jobs: int = 2, threads: int = 2, max_minutes: float | None = None,
                 dry_run: bool = False, log=print):
        names = [r.name for r in chain.runs]
        preps = {p.name for p in chain.preps}
        for i, r in enumerate(chain.runs):
            if r.init is not None and r.init not in names[:i]:
                raise ChainError(f"run {r.name} starts from {r.init}, which is not an earlier run")
            if missing := [p for p in r.preps if p not in preps]:
                raise ChainError(f"run {r.name} trains on {', '.join(missing)}, which the chain does not prepare")
        self.chain, self.cache, self.jobs, self.threads, self.dry_run, self.log = chain, cache, jobs, threads, dry_run, log
        self.deadline = None if max_minutes is None else time.monotonic() + 60 * max_minutes

    def path(self, folder: str) -> Path:
        p = Path(folder)
        return p if p.is_absolute() else self.cache / p

    def prep_dir(self, name: str) -> Path:
        return self.cache / "synth-prep" / name

    def data_dir(self, run: Run) -> Path:
        """What ``run`` trains on: its one aligned folder, or the join of several."""
        return self.prep_dir(f"{run.preps[0]}-hmm") if len(run.preps) == 1 else self.prep_dir(f"{run.name}-hmm")

    def checkpoint(self, run: Run) -> Path:
        return self.cache / "checkpoints" / run.name / "last.pt"

    def export_path(self, run: Run) -> Path:
        return self.cache / "synth-chain" / run.name / f"{run.name}.onnx"

    def _step(self, done: bool, what: str, fn) -> None:
        if done:
            self.log(f"{'done':<8} {what}")
            return
        self.log(f"{'to do' if self.dry_run else 'running':<8} {what}")
        if not self.dry_run and fn() != 0:
            raise ChainError(f"{what} failed (its error is above)")

    def texts(self, t: Texts) -> None:
        from train.synth import flite_texts

        out, prefix = self.path(t.folder), flite_texts.PREFIX[t.source]
        # flite_texts writes every voice's texts before it renders the missing ones, so the folder is
        # complete when each text has its rendering (it is then a no-op, but rewrites the texts)
        texts = list(out.glob(f"flite-*/{prefix}_*.txt"))
        done = bool(texts) and all(p.with_suffix(".wav").exists() for p in texts)
        self._step(done, f"read {t.per_voice} {t.source} sentences per flite voice into {out}",
                   lambda: flite_texts.main(["--cache", str(self.cache), "--source", t.source, "--out", str(out),
                                             "--per-voice", str(t.per_voice), "-j", str(self.jobs)]))

    def prep(self, p: Prep) -> None:
        from train.synth import hmm_align, prepare

        out, hmm = self.prep_dir(p.name), self.prep_dir(f"{p.name}-hmm")
        corpora = [a for c in p.corpora for a in ("--corpus", str(self.path(c)))]
        self._step((out / "index.json").exists() or (hmm / "index.json").exists(), f"prepare {out}",
                   lambda: prepare.main(corpora + ["--out", str(out), "--max-seconds", str(p.max_seconds),
                                                   "-j", str(self.jobs)]))
        self._step((hmm / "index.json").exists(), f"align {hmm} (HMM, {p.iterations} iterations)",
                   lambda: hmm_align.main(["--data", str(out), *corpora, "--out", str(hmm),
                                           "--iterations", str(p.iterations)]))

    def run(self, r: Run) -> bool:
        """Train and export ``r``; False when ``--max-minutes`` stopped it first."""
        from train.synth import export, merge_prep, train

        data, onnx = self.data_dir(r), self.export_path(r)
        if onnx.exists():
            self.log(f"{'done':<8} run {r.name} ({onnx})")
            return True
        if len(r.preps) > 1:
            parts = [a for p in r.preps for a in ("--data", str(self.prep_dir(f"{p}-hmm")))]
            self._step((data / "index.json").exists(), f"join {', '.join(r.preps)} into {data}",
                       lambda: merge_prep.main(parts + ["--out", str(data)]))
        reached = self.steps_done(r)
        what = f"train {r.name} to step {r.steps} (now {reached})" + (f" from {r.init}" if r.init else "")
        if reached < r.steps:
            minutes = self.minutes_left()
            if minutes <= 0 and not self.dry_run:
                self.log(f"{'stopped':<8} {what}: --max-minutes is spent; run the chain again to continue")
                return False
            init = ["--init-onnx", str(self.export_path(self.by_name(r.init)))] if r.init else []
            self._step(False, what, lambda: train.main(
                ["--data", str(data), "--out", str(self.cache / "checkpoints"), "--name", r.name,
                 "--max-steps", str(r.steps), "--max-minutes", f"{minutes:.3f}", "--eval-steps", "250",
                 "--threads", str(self.threads), *r.args, *init, "--resume"]))
            reached = r.steps if self.dry_run else self.steps_done(r)
            if reached < r.steps:
                self.log(f"{'stopped':<8} {r.name} at step {reached} of {r.steps} (--max-minutes); run the chain again to continue")
                return False
        self._step(False, f"export {r.name} to {onnx}", lambda: export.main(
            ["--checkpoint", str(self.checkpoint(r)), "--name", r.name, "--out", str(onnx.parent), "--data", str(data),
             "--note", f"train.synth.chain run {r.name}: {r.steps} steps on {', '.join(r.preps)}"
             + (f", from {r.init}'s export" if r.init else "")]))
        return True

    def minutes_left(self) -> float:
        return 10.0 ** 6 if self.deadline is None else (self.deadline - time.monotonic()) / 60

    def by_name(self, name: str) -> Run:
        return next(r for r in self.chain.runs if r.name == name)

    def steps_done(self, r: Run) -> int:
        last = self.checkpoint(r)
        if not last.exists():
            return 0
        import torch

        return int(torch.load(last, map_location="cpu", weights_only=False)["step"])

    def __call__(self) -> bool:
        """Everything not yet done, in order: each run's data (texts, then prepare and align)
        just before the run, so that training starts as early as it can; True when the last run
        is exported."""
        texts, preps = list(self.chain.texts), {p.name: p for p in self.chain.preps}
        for r in self.chain.runs:
            for p in (preps.pop(n) for n in r.preps if n in preps):
                for t in [t for t in texts if t.folder in p.corpora]:
                    texts.remove(t)
                    self.texts(t)
                self.prep(p)
            if not self.run(r):
                return False
        return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.chain", description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("cache"))
    ap.add_argument("--name", default="multispeaker-synth", help="the last run's name (its checkpoint folder)")
    ap.add_argument("--corpus", default="corpus", help="make data's corpus (relative to --cache, or absolute)")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="processes for rendering and preparing")
    ap.add_argument("--threads", type=int, default=2, help="torch threads of the training runs")
    ap.add_argument("--max-minutes", type=float, default=None, help="stop starting or continuing training after "
                    "this long (a run is continued by the next invocation)")
    ap.add_argument("--dry-run", action="store_true", help="list what is done and what is left; change nothing")
    args = ap.parse_args(argv)
    try:
        runner = Runner(shipped(args.name, args.corpus), args.cache, args.jobs, args.threads, args.max_minutes,
                        args.dry_run, log=lambda s: print(s, flush=True))
        finished = runner()
    except ChainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if finished and not args.dry_run:
        print(f"the chain is complete: `make export-synth SYNTH_NAME={args.name}` exports its last run", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
