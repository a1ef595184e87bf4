"""Training examples for the synthesis models: phones (espeak-ng front end), frames per phone
(``align.py``) and WORLD features (``msar.dsp.world``) per utterance, one ``.npz`` each.

Corpora (``--corpus``, repeatable):

- an msar corpus folder (``make data``): ``manifest.csv`` + ``synthetic.csv`` rows with a
  transcript in a language the front end speaks (``--languages``); flite voices are read from
  their untrimmed renderings (``source_file``);
- any ``SPEAKER/UTT.wav`` folder with transcripts, including VCTK's layout
  (``wav48/p225/p225_001.wav`` + ``txt/p225/p225_001.txt``; also ``wav48_silence_trimmed`` and
  ``.flac``), or a transcript beside each audio file (``UTT.txt``). ``speaker-info.txt`` (VCTK)
  gives sexes; ``--language`` the language.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import zlib
from pathlib import Path

import numpy as np

from msar.dsp import audio, world
from msar.onnx_models import frontend as F
from train.data.synthetic import FLITE_VOICES

from . import align

SR = 16000
AUDIO_EXT = (".wav", ".flac")


def _split(key: str) -> str:
    """Within-speaker split for synthesis: every speaker must be trained (its embedding row), so
    about one utterance in 20 of each speaker is held out, chosen by a stable hash of its path
    (the manifests' own splits are speaker-disjoint, made for the repair model)."""
    return "valid" if zlib.crc32(key.encode("utf-8")) % 20 == 0 else "train"


def manifest_items(corpus: Path, languages: set[str], max_per_speaker: int, max_seconds: float) -> list[dict]:
    items = []
    for name in ("manifest.csv", "synthetic.csv"):
        path = corpus / name
        if not path.exists():
            continue
        per: dict[str, int] = {}
        for r in csv.DictReader(open(path, encoding="utf-8")):
            if not r["transcript"].strip() or r["language"] not in languages or r["speaker"].startswith(("klettres", "gcin", "tuxpaint")):
                continue
            if per.get(r["speaker"], 0) >= max_per_speaker or float(r["duration_s"]) > max_seconds:
                continue
            per[r["speaker"]] = per.get(r["speaker"], 0) + 1
            synthetic = r["section"] == "synthetic"
            wav = Path(r["source_file"]) if synthetic and Path(r["source_file"]).exists() else corpus / r["path"]
            items.append({"id": Path(r["path"]).with_suffix("").as_posix().replace("/", "_"), "audio": str(wav),
                          "text": r["transcript"], "speaker": r["speaker"], "sex": r["sex"] or "?",
                          "language": r["language"], "split": _split(r["path"]),
                          "flite_voice": r["speaker"].split("-", 1)[1] if synthetic and r["source"] == "flite" else ""})
    return items


def folder_items(root: Path, language: str, max_per_speaker: int) -> list[dict]:
    """``SPEAKER/UTT.{wav,flac}`` with ``txt/SPEAKER/UTT.txt`` (VCTK) or ``UTT.txt`` beside it."""
    sexes = {}
    info = root / "speaker-info.txt"
    if info.exists():
        for line in info.read_text(encoding="utf-8", errors="replace").splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 3:
                spk = parts[0] if parts[0].startswith("p") else "p" + parts[0]
                sexes[spk] = parts[2].upper()[:1]
    audio_root = next((root / d for d in ("wav48", "wav48_silence_trimmed", "wav") if (root / d).is_dir()), root)
    items = []
    for spk_dir in sorted(p for p in audio_root.iterdir() if p.is_dir() and p.name != "txt"):
        n = 0
        for wav in sorted(spk_dir.iterdir()):
            if wav.suffix.lower() not in AUDIO_EXT or n >= max_per_speaker:
                continue
            utt = wav.stem.replace("_mic1", "").replace("_mic2", "")
            txt = next((t for t in (root / "txt" / spk_dir.name / f"{utt}.txt", wav.with_suffix(".txt")) if t.exists()), None)
            if txt is None:
                continue
            n += 1
            # flite-VOICE folders (flite_texts.py) join the corpus' flite voices, with flite's exact timings
            voice = spk_dir.name.removeprefix("flite-")
            flite_voice = voice if spk_dir.name.startswith("flite-") and voice in FLITE_VOICES else ""
            items.append({"id": f"{spk_dir.name}_{utt}", "audio": str(wav), "text": txt.read_text(encoding="utf-8").strip(),
                          "speaker": spk_dir.name, "language": language, "flite_voice": flite_voice,
                          "sex": FLITE_VOICES[flite_voice] if flite_voice else sexes.get(spk_dir.name, "?"),
                          "split": "valid" if n % 20 == 0 else "train"})
    return items


def corpus_items(corpora: list[Path], languages: set[str], language: str, max_per_speaker: int,
                 max_seconds: float) -> list[dict]:
    """The utterances of every corpus: msar corpus folders (``manifest_items``) and
    ``SPEAKER/UTT`` folders (``folder_items``, in ``language``)."""
    items = []
    for c in corpora:
        if (c / "manifest.csv").exists() or (c / "synthetic.csv").exists():
            items += manifest_items(c, languages, max_per_speaker, max_seconds)
        else:
            items += folder_items(c, language, max_per_speaker)
    return items


def load_mono(path: str | Path) -> np.ndarray:
    """The recording at ``path`` as the models see it: mean of its channels, at ``SR`` Hz, 1-D."""
    x, info = audio.read(path)
    return audio.resample(x.mean(axis=1) if x.ndim == 2 else x, info.sr, SR)


def prepare_one(item: dict, out_dir: Path) -> dict | None:
    """Write ``<out_dir>/<id>.npz`` (phones, stress, durations, feats); returns its summary row,
    or None when the text cannot be pronounced."""
    out = out_dir / f"{item['id']}.npz"
    x = load_mono(item["audio"])
    if not out.exists():
        try:
            norm = F.normalize(item["text"], item["language"])
            phones, ref = F.Espeak.get().render(norm, item["language"])
        except F.FrontendError:
            return None
        feats = world.world_features(x, SR)
        dur = align.align(x, SR, ref, F.Espeak.get().sr, np.array([p.end_s for p in phones]), len(feats))
        tmp = out.with_suffix(".tmp.npz")  # atomic: an interrupted run leaves no truncated example
        np.savez(tmp, phones=np.array([p.symbol for p in phones]), stress=np.array([p.stress for p in phones]),
                 durations=dur, feats=feats)
        tmp.replace(out)
    if item.get("flite_voice"):
        d = dict(np.load(out))
        if "snapped" not in d:
            true_ends = [t for _, t in align.flite_phone_ends(item["text"], item["flite_voice"])[:-1]]
            d["durations"] = align.snap_durations(d["durations"], np.array(true_ends))
            d["snapped"] = np.array(1)
            tmp = out.with_suffix(".tmp.npz")
            np.savez(tmp, **d)
            tmp.replace(out)
    return {k: item[k] for k in ("id", "speaker", "sex", "language", "split")} | {"duration_s": len(x) / SR}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.prepare", description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", action="append", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--languages", default="en,es,fr,it,ru", help="manifest languages to use")
    ap.add_argument("--language", default="en", help="language of SPEAKER/UTT folders (VCTK: en)")
    ap.add_argument("--max-per-speaker", type=int, default=100000)
    ap.add_argument("--max-seconds", type=float, default=8.0, help="skip longer manifest utterances (DTW is quadratic)")
    ap.add_argument("-j", "--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    items = corpus_items(args.corpus, set(args.languages.split(",")), args.language, args.max_per_speaker,
                         args.max_seconds)
    if not items:
        print("error: no utterances with transcripts found", file=sys.stderr)
        return 1
    (args.out / "utts").mkdir(parents=True, exist_ok=True)
    from joblib import Parallel, delayed

    rows = Parallel(n_jobs=args.jobs, verbose=0)(delayed(prepare_one)(it, args.out / "utts") for it in items)
    rows = [r for r in rows if r]
    # written last and atomically: a folder with an index.json is complete (train.synth.chain skips it)
    tmp = args.out / "index.json.tmp"
    tmp.write_text(json.dumps(rows), encoding="utf-8")
    tmp.replace(args.out / "index.json")
    print(f"{len(rows)} utterances ({sum(r['duration_s'] for r in rows) / 3600:.2f} h, "
          f"{len({r['speaker'] for r in rows})} speakers) in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
