"""``train.synth.merge_prep``: prepared folders joined into one that ``train.py`` reads."""

import json

import numpy as np

from train.synth import merge_prep as M


def prepared(folder, rows):
    (folder / "utts").mkdir(parents=True)
    for r in rows:
        np.savez(folder / "utts" / f"{r['id']}.npz", durations=np.array([len(r["id"])]))
    (folder / "index.json").write_text(json.dumps(rows))
    return folder


def row(uid, speaker="s", split="train"):
    return {"id": uid, "speaker": speaker, "sex": "F", "language": "en", "split": split, "duration_s": 1.5}


def test_union_keeps_every_row_its_split_and_its_file(tmp_path):
    a = prepared(tmp_path / "a", [row("a1"), row("a2", split="valid")])
    b = prepared(tmp_path / "b", [row("b1", "t")])
    assert M.main(["--data", str(a), "--data", str(b), "--out", str(tmp_path / "ab")]) == 0
    index = json.loads((tmp_path / "ab" / "index.json").read_text())
    assert [(r["id"], r["split"]) for r in index] == [("a1", "train"), ("a2", "valid"), ("b1", "train")]
    for r in index:
        assert int(np.load(tmp_path / "ab" / "utts" / f"{r['id']}.npz")["durations"][0]) == len(r["id"])
    # the sources are untouched
    assert json.loads((a / "index.json").read_text()) == [row("a1"), row("a2", split="valid")]


def test_a_duplicate_id_is_an_error_and_writes_no_index(tmp_path, capsys):
    a = prepared(tmp_path / "a", [row("x")])
    b = prepared(tmp_path / "b", [row("x")])
    assert M.main(["--data", str(a), "--data", str(b), "--out", str(tmp_path / "ab")]) == 1
    assert "x is in both" in capsys.readouterr().err
    assert not (tmp_path / "ab" / "index.json").exists()


def test_an_unfinished_folder_is_refused(tmp_path, capsys):
    a = prepared(tmp_path / "a", [row("a1")])
    (tmp_path / "b").mkdir()
    assert M.main(["--data", str(a), "--data", str(tmp_path / "b"), "--out", str(tmp_path / "ab")]) == 1
    assert "no index.json" in capsys.readouterr().err
