"""The issue-6 target lines of `make bench-synth` (bench/synth_peers.py: targets, wer_gap):
intelligibility is judged on the English voices together against flite's voices together, pooled
over the fixed sentences and the WER-only set, with a bootstrap interval over sentences."""

import importlib
import os
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def peers():
    saved = dict(os.environ)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    try:
        yield importlib.import_module("synth_peers")
    finally:
        os.environ.clear()
        os.environ.update(saved)  # the module pins BLAS threads for its own process only
        sys.path.pop(0)


def _systems(peers, wers: dict[str, float]):
    systems = [peers.System(n, "msar" if n.startswith("msar") else "peer", "en", lambda t: None) for n in wers]
    return systems, {n: {"wer_fixed": w} for n, w in wers.items()}


def test_intelligibility_is_met_when_the_voices_together_match_flite(peers):
    systems, summary = _systems(peers, {"msar a": 0.06, "msar b": 0.12, "flite x": 0.08, "flite y": 0.10})
    line = peers.targets(systems, summary, None)[0]
    assert "English voices together: met." in line and "msar 0.090" in line and "flite 0.090" in line
    assert "at or below flite's mean: msar a;" in line


def test_one_good_voice_does_not_meet_it_for_the_rest(peers):
    systems, summary = _systems(peers, {"msar a": 0.05, "msar b": 0.20, "flite x": 0.08, "flite y": 0.10})
    line = peers.targets(systems, summary, None)[0]
    assert "English voices together: not met." in line and "msar 0.125" in line


def _utts(peers, edits: dict[str, list[int]], words: int = 10, set_="wer"):
    return [peers.Utt(name, set_, i, "", 1.0, 0.1, {"edits": e, "words": words})
            for name, es in edits.items() for i, e in enumerate(es)]


def test_wer_gap_is_the_difference_of_the_pooled_rates_with_an_interval(peers):
    utts = _utts(peers, {"msar a": [1, 0, 2, 1] * 10, "msar b": [1, 1, 0, 1] * 10, "flite x": [0, 0, 1, 0] * 10})
    g = peers.wer_gap(utts, ["msar a", "msar b"], ["flite x"])
    assert g["sentences"] == 40 and g["words"] == 400
    assert g["gap"] == pytest.approx((70 / 2 - 10) / 400)
    assert 0 < g["lo"] < g["gap"] < g["hi"]


def test_wer_gap_uses_only_sentences_every_system_read(peers):
    utts = _utts(peers, {"msar a": [3, 0], "flite x": [0, 0]}) + _utts(peers, {"msar a": [5]}, set_="fixed")
    assert peers.wer_gap(utts, ["msar a"], ["flite x"])["sentences"] == 2


def test_the_target_is_judged_on_the_pooled_sets_and_a_tie_is_called_one(peers):
    systems, summary = _systems(peers, {"msar a": 0.05, "flite x": 0.08})
    summary["msar a"]["wer"], summary["flite x"]["wer"] = 0.07, 0.06  # pooled with the WER-only set
    line = peers.targets(systems, summary, None)[0]
    assert "together: not met." in line and "pooled: msar 0.070" in line
    tie = {"gap": 0.01, "lo": -0.002, "hi": 0.02, "sentences": 80, "words": 900}
    line = peers.targets(systems, summary, None, gap=tie)[0]
    assert "together: a tie (not met on the means, within the noise)." in line and "[-0.002, +0.020]" in line
    clear = dict(tie, lo=0.004)
    assert "together: not met." in peers.targets(systems, summary, None, gap=clear)[0]


def test_summary_pools_the_wer_only_set_and_leaves_it_out_of_mos_and_identity(peers):
    import numpy as np

    emb = lambda v: np.array(v, float) / np.linalg.norm(v)  # noqa: E731
    full = lambda e, n, d, v: {"edits": e, "words": n, "distillmos": d, "emb": emb(v)}  # noqa: E731
    utts = [peers.Utt("msar a", "fixed", 0, "", 2.0, 0.1, full(1, 10, 3.0, [1, 0])),
            peers.Utt("msar a", "fixed", 1, "", 2.0, 0.1, full(0, 10, 4.0, [1, 0.1])),
            peers.Utt("msar a", "wer", 0, "", 2.0, 0.1, {"edits": 3, "words": 20})]
    systems = [peers.System("msar a", "msar", "en", lambda t: None, speaker="a")]
    d = peers.summarize(systems, utts, {})["msar a"]
    assert d["wer_fixed"] == pytest.approx(0.05) and d["wer_wer"] == pytest.approx(0.15)
    assert d["wer"] == pytest.approx(4 / 40) and d["wer_words"] == 40
    assert d["distillmos"] == pytest.approx(3.5)  # the WER-only utterance has no MOS
    assert d["utts"] == 3 and d["xrt"] == pytest.approx(20.0)  # but counts for speed
    assert np.isfinite(d["self_cos"])  # identity from the two embedded utterances


def test_naturalness_splits_pipers_lead_into_the_vocoders_share_and_the_models(peers):
    names = {"msar a": 3.0, "msar b": 3.4, "flite x": 3.1, "festival": 2.8, "piper joe": 4.1, "piper joe via WORLD": 3.5}
    systems = [peers.System(n, "msar" if n.startswith("msar") else "peer", "en", lambda t: None) for n in names]
    summary = {n: {"distillmos": v} for n, v in names.items()}
    line = next(x for x in peers.targets(systems, summary, None) if "DistillMOS" in x)
    assert "met by msar b." in line and "msar voices 3.20 on average" in line
    assert "reads 3.50" in line and "(+0.90), +0.60 is the vocoder's" in line and "+0.30 is left to it" in line
    summary["piper joe via WORLD"]["distillmos"] = 2.9  # below msar's voices: nothing is left to the model
    line = next(x for x in peers.targets(systems, summary, None) if "DistillMOS" in x)
    assert "reads 2.90, below msar's voices: all of piper's lead over msar's mean (+0.90) is the vocoder's" in line


def test_a_peer_through_world_is_its_speech_resynthesized_at_16k(peers):
    import numpy as np

    t = np.arange(22050) / 22050
    tone = (0.3 * np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32)
    peer = peers.System("p", "peer", "en", lambda text: (tone, 22050))
    c = peers.through_world(peer, 0.2)
    y, sr = c.synth("any")
    assert c.kind == "ceiling" and sr == 16000 and abs(len(y) - 16000) < 200
    spec = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spec) * sr / len(y) - 150) < 10  # the pitch survives the round trip


def test_speed_is_the_median_of_timing_passes_of_enough_audio(peers, monkeypatch):
    import numpy as np

    costs = iter([1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 2.0, 2.0, 2.0])  # CPU s per call: three passes of three calls
    spoken = []
    sy = peers.System("s", "peer", "en", lambda t: None)
    monkeypatch.setattr(peers, "synth_timed", lambda s, t: (spoken.append(t), np.zeros(25 * 16000), 16000, next(costs))[1:])
    assert peers.speed_pass(sy, ["a", "b"], passes=3, min_audio_s=60) == 25.0  # 75 s / 3 s; the others 50x, 12.5x
    assert spoken[:4] == ["a", "b", "a", "a"]  # cycling the texts, each pass from the first


def test_the_summary_takes_speed_from_the_timing_passes(peers):
    utts = [peers.Utt("msar a", "fixed", 0, "", 2.0, 0.1, {"edits": 0, "words": 5})]
    systems = [peers.System("msar a", "msar", "en", lambda t: None, speaker="a")]
    assert peers.summarize(systems, utts, {})["msar a"]["xrt"] == 20.0
    assert peers.summarize(systems, utts, {}, {"msar a": 31.5})["msar a"]["xrt"] == 31.5


def test_the_flite_trained_voices_are_also_compared_with_their_own_flite_voices(peers):
    assert peers.flite_pairs(["msar asterisk-allison", "msar flite-slt", "msar flite-awb"], ["flite slt", "flite rms"]) \
        == [("msar flite-slt", "flite slt")]
    systems, summary = _systems(peers, {"msar asterisk-allison": 0.09, "msar flite-slt": 0.04, "flite slt": 0.05})
    pair = {"gap": -0.01, "lo": -0.03, "hi": 0.005, "sentences": 80, "words": 900}
    lines = peers.targets(systems, summary, None, pair_gap=pair)
    line = next(x for x in lines if "learned from" in x)
    assert "slt 0.040 vs 0.050" in line and "Those 1 together, msar − flite -0.010" in line and "[-0.030, +0.005]" in line
    # without the paired interval the line is as before
    assert "together, msar" not in next(x for x in peers.targets(systems, summary, None) if "learned from" in x)


def test_naturalness_is_also_compared_paired_on_the_sentences_every_system_read(peers):
    """mos_gap: the mean over one side minus the mean over the other, sentence by sentence, on
    the sentences every compared system has a score for; the lines name each comparison."""
    U = peers.Utt
    scores = {  # system -> DistillMOS of sentences 0, 1, 2 (fixed) and 0 (held-out)
        "msar asterisk-allison": [3.0, 3.2, 3.4, 3.0], "msar flite-slt": [3.2, 3.0, 3.2, 3.4],
        "flite slt": [2.8, 2.8, 3.0, 3.0], "flite rms": [3.4, 3.2, 3.6, 3.3], "festival": [2.6, 2.8, 2.6, float("nan")]}
    utts = [U(n, st, i, "", 1.0, 0.1, {"distillmos": v[j]})
            for n, v in scores.items() for j, (st, i) in enumerate((("fixed", 0), ("fixed", 1), ("fixed", 2), ("heldout", 0)))]
    utts.append(U("msar flite-slt", "wer", 0, "", 1.0, 0.1, {"distillmos": 1.0}))  # other sets do not count
    en = ["msar asterisk-allison", "msar flite-slt"]
    g = peers.mos_gap(utts, en, ["flite slt", "flite rms"], "distillmos")
    # per sentence: msar means 3.1, 3.1, 3.3, 3.2; flite means 3.1, 3.0, 3.3, 3.15
    assert g["sentences"] == 4 and g["gap"] == pytest.approx(0.0375) and g["lo"] <= g["gap"] <= g["hi"]
    fest = peers.mos_gap(utts, en, ["festival"], "distillmos")  # festival has no score for the held-out one
    assert fest["sentences"] == 3 and fest["gap"] == pytest.approx((0.5 + 0.3 + 0.7) / 3)
    assert peers.mos_gap(utts, en, ["nobody"], "distillmos") is None

    lines = peers.mos_gap_lines(utts, en, ["flite slt", "flite rms", "festival"], "distillmos", "DistillMOS")
    assert lines[0].startswith("  Paired, on the 4 sentences every English system read")
    assert "− flite's voices (mean) +0.04" in lines[0] and "− festival +0.50" in lines[0]
    assert "− flite's best voice here (flite rms) -0.20 [" in lines[0]  # 3.175 - 3.375
    assert lines[1].startswith("  Each flite-trained voice against the flite voice it learned from") \
        and "flite-slt +0.30 [" in lines[1] and "allison" not in lines[1]  # 3.2 - 2.9
    systems, summary = _systems(peers, {"msar flite-slt": 0.04, "flite slt": 0.05})
    for n, v in scores.items():
        summary.setdefault(n, {})["distillmos"] = v[0]
    out = peers.targets(systems, summary, None, paired={"distillmos": lines})
    i = next(j for j, x in enumerate(out) if x.startswith("- **Naturalness, DistillMOS"))
    assert out[i + 1:i + 3] == lines


def test_the_second_recognizer_gets_its_own_line_where_it_ran(peers):
    systems, summary = _systems(peers, {"msar asterisk-allison": 0.09, "msar flite-slt": 0.04, "flite slt": 0.05,
                                        "flite rms": 0.03})
    assert not any("pocketsphinx" in x for x in peers.targets(systems, summary, None))
    for n, w in (("msar asterisk-allison", 0.20), ("msar flite-slt", 0.10), ("flite slt", 0.16), ("flite rms", 0.12)):
        summary[n]["wer_ps_fixed"] = w
    line = next(x for x in peers.targets(systems, summary, None) if "pocketsphinx" in x)
    assert "msar 0.150 (mean of its 2 English voices), flite 0.140 (mean of its 2 voices; best 0.120)" in line
    assert line.endswith("; flite-slt 0.100 vs 0.160.")
