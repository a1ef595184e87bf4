"""The repair corpus packed to travel to a lent GPU machine (train.repair.pack), the wall-clock
cosine schedule such a run uses, and a short training run end to end on the unpacked corpus."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

torch = pytest.importorskip("torch")

from train.repair import configs, pack  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "demo" / "speech"

SPEECH_COLUMNS = ["path", "speaker", "language", "duration_s", "source", "licence", "split", "sex", "transcript"]
NOISE_COLUMNS = ["path", "source", "licence", "duration_s", "category", "split"]


def _corpus(tmp_path: Path, rng) -> Path:
    """Demo speech as three speakers' train files and one valid speaker, plus noise (one of it music)."""
    root = tmp_path / "corpus"
    demo = sorted(DEMO.glob("*.flac"))[:3]
    speech_rows = []
    for i, src in enumerate(demo * 4):
        x, sr = sf.read(src, dtype="float32")
        x = x[: 3 * sr]
        rel = f"clean/16k/s{i}.flac"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / rel, x, sr)
        speaker = "valid-spk" if i >= 10 else f"spk{i % 3}"
        speech_rows.append({"path": rel, "speaker": speaker, "language": "en", "duration_s": f"{len(x) / sr:.3f}",
                            "source": "demo", "licence": "CC0", "split": "valid" if i >= 10 else "train",
                            "sex": "F", "transcript": "a, b"})
    noise_rows = []
    for i, cat in enumerate(["sfx", "ambience", "music"]):
        rel = f"noise/16k/n{i}.flac"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / rel, 0.1 * rng.standard_normal(16000).astype(np.float32), 16000)
        noise_rows.append({"path": rel, "source": "gen", "licence": "CC0", "duration_s": "1.000",
                           "category": cat, "split": "train"})
    for name, rows, cols in (("manifest.csv", speech_rows, SPEECH_COLUMNS), ("noise.csv", noise_rows, NOISE_COLUMNS)):
        with open(root / name, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)
    return root


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_pack_caps_speakers_leaves_music_out_and_unpacks_to_the_same_manifests(tmp_path, rng):
    corpus = _corpus(tmp_path, rng)
    info = pack.pack(corpus, tmp_path / "packed", speaker_hours=4.5 / 3600, level=0.9, jobs=1)
    packed = _rows(tmp_path / "packed" / "manifest.csv")
    per_speaker = {}
    for r in packed:
        per_speaker[r["speaker"]] = per_speaker.get(r["speaker"], 0) + 1
    # 3 s files under a 4.5 s cap: each train speaker keeps two of its files; valid files all stay
    assert per_speaker == {"spk0": 2, "spk1": 2, "spk2": 2, "valid-spk": 2}
    assert all(r["path"].endswith(".opus") for r in packed)
    assert [r["category"] for r in _rows(tmp_path / "packed" / "noise.csv")] == ["sfx", "ambience"]
    assert info["files"] == 10 and info["mib"] > 0

    n = pack.unpack(tmp_path / "packed", tmp_path / "unpacked", jobs=1)
    assert n == 10
    unpacked = _rows(tmp_path / "unpacked" / "manifest.csv")
    assert [{**r, "path": r["path"][:-4]} for r in unpacked] == [{**r, "path": r["path"][:-5]} for r in packed]
    for r in unpacked:
        y, sr = sf.read(tmp_path / "unpacked" / r["path"], dtype="float32")
        x, _ = sf.read(corpus / r["path"].replace(".wav", ".flac"), dtype="float32")
        assert sr == 16000 and len(y) == len(x)
        # Opus keeps the waveform (no delay after decoding): it correlates with the original
        assert np.corrcoef(x, y)[0, 1] > 0.9


def test_time_schedule_warms_up_by_steps_then_follows_the_time_spent():
    cfg = configs.RepairConfig("t", lr=1e-3, lr_schedule="cosine_time", warmup_steps=10)
    assert cfg.learning_rate(0, 0.5) == pytest.approx(1e-4)  # warm-up ignores the time
    assert cfg.learning_rate(10, 0.0) == pytest.approx(1e-3)
    assert cfg.learning_rate(500, 0.5) == pytest.approx(1e-3 * (0.05 + 0.95 * 0.5))
    assert cfg.learning_rate(900, 1.0) == pytest.approx(5e-5)
    assert cfg.learning_rate(900, 3.0) == pytest.approx(5e-5)  # held at the floor past the budget


def test_default_variant_trains_from_the_unpacked_corpus(tmp_path, rng):
    from train.repair import train

    corpus = _corpus(tmp_path, rng)
    pack.pack(corpus, tmp_path / "packed", speaker_hours=1.0, level=0.9, jobs=1)
    pack.unpack(tmp_path / "packed", tmp_path / "unpacked", jobs=1)
    rc = train.main(["--variant", "multispeaker-repair", "--corpus", str(tmp_path / "unpacked"),
                     "--out", str(tmp_path / "ck"), "--max-steps", "3", "--batch", "2", "--workers", "0",
                     "--valid-every", "3", "--log-every", "1", "--device", "cpu"])
    assert rc == 0
    out = tmp_path / "ck" / "multispeaker-repair"
    ck = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
    assert ck["step"] == 3 and ck["config"] == configs.get("multispeaker-repair").to_dict()
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [1, 2, 3]
    assert all(np.isfinite(r["loss"]) for r in log if "loss" in r)
    valid = [r for r in log if "valid_si_sdr" in r]
    assert valid and np.isfinite(valid[-1]["valid_si_sdr"])

    # A checkpoint returned by a GPU run has no optimizer state (gpu_run.sh): it still resumes.
    del ck["optimizer"]
    torch.save(ck, out / "last.pt")
    rc = train.main(["--variant", "multispeaker-repair", "--corpus", str(tmp_path / "unpacked"),
                     "--out", str(tmp_path / "ck"), "--resume", "--max-steps", "4", "--batch", "2",
                     "--workers", "0", "--valid-every", "10", "--log-every", "1"])
    assert rc == 0
    assert torch.load(out / "last.pt", map_location="cpu", weights_only=False)["step"] == 4
