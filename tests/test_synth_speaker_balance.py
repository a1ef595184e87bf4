"""Speaker-balanced batches (``train.py --speaker-balance``): a voice's share of the draws goes as
its utterance count to the given power, so the real voices with little data are not drowned by
the flite voices' thousands of read sentences."""

import numpy as np
import pytest

pytest.importorskip("torch")

from train.synth import train as T  # noqa: E402


def rows(counts: dict) -> list[dict]:
    return [{"speaker": s} for s, n in counts.items() for _ in range(n)]


def voice_shares(exs: list[dict], p: np.ndarray) -> dict:
    out: dict = {}
    for e, w in zip(exs, p):
        out[e["speaker"]] = out.get(e["speaker"], 0.0) + w
    return out


def test_one_keeps_the_plain_uniform_draw():
    assert T.sampling_weights(rows({"a": 3, "b": 1}), 1.0) is None


@pytest.mark.parametrize("balance", [0.0, 0.5, 0.8])
def test_voice_shares_follow_the_count_to_the_power(balance):
    counts = {"flite": 400, "real": 25, "tiny": 4}
    exs = rows(counts)
    p = T.sampling_weights(exs, balance)
    assert p.shape == (len(exs),) and np.isclose(p.sum(), 1.0) and np.all(p > 0)
    want = {s: n ** balance for s, n in counts.items()}
    total = sum(want.values())
    got = voice_shares(exs, p)
    for s in counts:
        assert got[s] == pytest.approx(want[s] / total, rel=1e-9)
    # within a voice every utterance is equally likely
    assert len({round(float(w), 15) for e, w in zip(exs, p) if e["speaker"] == "real"}) == 1


def test_a_run_draws_the_small_voice_more_often():
    exs = rows({"big": 90, "small": 10})
    p = T.sampling_weights(exs, 0.0)
    picks = np.random.default_rng(0).choice(len(exs), size=4000, p=p)
    small = np.mean([exs[i]["speaker"] == "small" for i in picks])
    assert 0.45 < small < 0.55  # uniform over utterances would give 0.10


def test_out_of_range_balance_is_refused(tmp_path, capsys):
    (tmp_path / "utts").mkdir()
    (tmp_path / "index.json").write_text("[]")
    assert T.main(["--data", str(tmp_path), "--out", str(tmp_path / "ck"), "--speaker-balance", "1.5"]) == 1
    assert "--speaker-balance" in capsys.readouterr().err
