"""The generalization comparison's data logic (train/synth/compare.py): the voice's utterance
budget is chosen deterministically, the held-out utterances reach no training set, and
train.py's --phones / --eval-steps give every model one phone table and step-based checkpoints."""

import json

import numpy as np
import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from msar.dsp import world  # noqa: E402
from msar.onnx_models.synth import PAD  # noqa: E402
from train.synth import compare as C  # noqa: E402
from train.synth import train as T  # noqa: E402

IDS = [f"utt{i:03d}" for i in range(60)]


def test_split_voice_is_deterministic_and_sized():
    a = C.split_voice(IDS, 10, 5, 20, seed=0)
    assert a == C.split_voice(list(reversed(IDS)), 10, 5, 20, seed=0)
    counts = {role: sum(v == role for v in a.values()) for role in ("train", "valid", "test", "unused")}
    assert counts == {"train": 10, "valid": 5, "test": 20, "unused": 25}


def test_test_set_does_not_move_with_the_budget():
    small, large = C.split_voice(IDS, 5, 5, 20), C.split_voice(IDS, 35, 5, 20)
    test = {i for i, r in small.items() if r == "test"}
    assert len(test) == 20 and test == {i for i, r in large.items() if r == "test"}
    assert {i for i, r in small.items() if r == "train"} < {i for i, r in large.items() if r == "train"}


def test_split_voice_refuses_a_budget_larger_than_the_voice():
    with pytest.raises(ValueError, match="60 utterances; 61 are needed"):
        C.split_voice(IDS, 36, 5, 20)


def index_rows():
    rows = [{"id": i, "speaker": "target", "sex": "F", "language": "en", "split": "train", "duration_s": 1.0} for i in IDS]
    return rows + [{"id": f"o{s}{k}", "speaker": f"other{s}", "sex": "M", "language": "en",
                    "split": "valid" if k == 0 else "train", "duration_s": 1.0} for s in range(2) for k in range(5)]


def test_held_out_utterances_are_in_no_training_set():
    rows = index_rows()
    roles = C.split_voice(IDS, 10, 5, 20)
    sets = C.build_indexes(rows, "target", roles)
    sets["multi-aug"] = sets["multi"] + C.augmented_rows(sets["multi"])
    test = {i for i, r in roles.items() if r == "test"}
    held_other = {r["id"] for r in rows if r["speaker"] != "target" and r["split"] == "valid"}
    for name in C.MODELS:
        rows_of = sets[C.TRAINING_SET.get(name, name)]
        ids = {r["id"].removesuffix(C.AUG_SUFFIX) for r in rows_of}
        assert test.isdisjoint(ids) and held_other.isdisjoint(ids), name
        assert sum(r["speaker"] == "target" and r["split"] == "train" for r in rows_of) == 10 * (2 if name == "multi-aug" else 1)
    assert {r["speaker"] for r in sets["single"]} == {"target"}
    assert {r["id"] for r in sets["eval"]} == test | held_other
    # the voice's validation rows are train.py's dev rows (its early-stopping set) in every model
    valid = {i for i, r in roles.items() if r == "valid"}
    for name in ("single", "multi"):
        assert {r["id"] for r in sets[name] if r["split"] == "dev"} == valid
        _, dev = T.split_rows(sets[name], 8)
        assert {r["id"] for r in dev} == valid
    # the augmented copies are of training rows only, never of validation rows
    assert {r["split"] for r in C.augmented_rows(sets["multi"])} == {"train"}
    assert len(C.augmented_rows(sets["multi"])) == 10 + 8


def fake_example(rng, n_phones: int, phones: list[str]) -> dict:
    dur = rng.integers(2, 6, size=n_phones)
    feats = rng.standard_normal((int(dur.sum()), world.feature_layout(T.SR)["ap"][1])).astype(np.float32)
    feats[:, 1] = rng.integers(0, 2, size=len(feats))  # voicing is 0/1
    return {"phones": np.array(rng.choice(phones, size=n_phones)), "stress": np.zeros(n_phones, np.int64),
            "durations": dur, "feats": feats}


def test_train_keeps_the_given_phone_table_and_checkpoints_by_step(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    (data / "utts").mkdir(parents=True)
    rows = []
    for k in range(6):
        np.savez(data / "utts" / f"u{k}.npz", **fake_example(rng, 5, ["a", "b"]))
        rows.append({"id": f"u{k}", "speaker": "s", "sex": "F", "language": "en",
                     "split": "valid" if k == 0 else "train", "duration_s": 0.1})
    (data / "index.json").write_text(json.dumps(rows))
    inventory = ["a", "b", "z"]  # "z" is in no training utterance
    (tmp_path / "phones.json").write_text(json.dumps(inventory))
    assert T.main(["--data", str(data), "--out", str(tmp_path / "ck"), "--name", "m", "--tiny", "--batch", "2",
                   "--max-steps", "4", "--eval-steps", "2", "--save-minutes", "1e9",
                   "--phones", str(tmp_path / "phones.json")]) == 0
    best = torch.load(tmp_path / "ck" / "m" / "best.pt", weights_only=False)
    last = torch.load(tmp_path / "ck" / "m" / "last.pt", weights_only=False)
    assert best["phones"] == [PAD] + inventory
    assert last["step"] == 4 and best["step"] in (2, 4)
    # the held-out row u0 is in neither set: one of the 5 training rows validates, 4 train
    assert len(last["valid_ids"]) == 1 and last["valid_ids"][0] in {f"u{k}" for k in range(1, 6)}
    log = capsys.readouterr().out
    assert "checkpoint step 2:" in log and "checkpoint step 4:" in log


def test_validation_split_has_every_voice_and_no_held_out_utterance():
    rng = np.random.default_rng(1)
    rows = [{"id": f"s{s}_{k:03d}", "speaker": f"s{s}", "split": "valid" if k % 7 == 0 else "train"}
            for s in range(5) for k in range((12, 40, 100, 100, 100)[s])]
    v = T.validation_ids(rows, 8)
    per = {s: sum(i.startswith(f"s{s}_") for i in v) for s in range(5)}
    assert per == {0: 2, 1: 8, 2: 8, 3: 8, 4: 8}  # at most a quarter of a small voice's training rows
    assert v.isdisjoint(r["id"] for r in rows if r["split"] != "train")
    shuffled = [rows[i] for i in rng.permutation(len(rows))]
    assert T.validation_ids(shuffled, 8) == v  # by hash, not by row order
    # growing a voice keeps the new choice among its own rows, and other voices unchanged
    more = rows + [{"id": f"s1_{k:03d}", "speaker": "s1", "split": "train"} for k in range(40, 80)]
    assert {i for i in T.validation_ids(more, 8) if not i.startswith("s1_")} == {i for i in v if not i.startswith("s1_")}
    train, valid = T.split_rows(rows, 8)
    assert {r["id"] for r in valid} == v
    assert {r["id"] for r in train} == {r["id"] for r in rows if r["split"] == "train"} - v


def test_with_texts_the_multi_speaker_set_is_text_disjoint_from_the_held_out_sentences():
    rows = index_rows()
    roles = C.split_voice(IDS, 10, 5, 20)
    test_id = next(i for i, r in roles.items() if r == "test")
    valid_id = next(i for i, r in roles.items() if r == "valid")
    train_id = next(i for i, r in roles.items() if r == "train")
    texts = {r["id"]: f"sentence {r['id']}" for r in rows}
    texts[test_id], texts[valid_id], texts[train_id] = "Please hold.", "Goodbye!", "Thank you."
    # other voices say the test sentence (differently punctuated), the validation one and a training one
    texts["o00"] = texts["o01"] = "please   HOLD"
    texts["o02"] = "Goodbye."
    texts["o13"] = "thank you"
    assert C.text_key("Don't, STOP!") == C.text_key("don t stop")
    loose, disjoint = C.build_indexes(rows, "target", roles), C.build_indexes(rows, "target", roles, texts)
    left_out = {r["id"] for r in loose["multi"]} - {r["id"] for r in disjoint["multi"]}
    assert left_out == {"o01", "o02"}  # o00 is held out anyway; a training sentence may be shared
    assert disjoint["single"] == loose["single"] and disjoint["eval"] == loose["eval"]
