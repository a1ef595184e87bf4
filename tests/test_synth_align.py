"""Phone alignment for synthesis training (train/synth/align.py)."""

import numpy as np
import pytest

from train.synth import align

SR = 16000


def test_dtw_of_a_sequence_with_itself_is_the_diagonal():
    a = np.random.default_rng(0).standard_normal((50, 13))
    path = align.dtw_path(a, a)
    assert path.tolist() == [[i, i] for i in range(50)]


def test_dtw_recovers_a_known_stretch():
    # reference: three "phones" of 20 frames each; the recording holds the middle one 40 frames
    rng = np.random.default_rng(1)
    protos = rng.standard_normal((3, 13)) * 3
    ref = np.repeat(protos, [20, 20, 20], axis=0) + 0.1 * rng.standard_normal((60, 13))
    rec = np.repeat(protos, [20, 40, 20], axis=0) + 0.1 * rng.standard_normal((80, 13))
    ends = align.map_boundaries(align.dtw_path(rec, ref), np.array([20, 40]) * align.FRAME_S, len(ref))
    np.testing.assert_allclose(ends / align.FRAME_S, [20, 60], atol=1.5)
    linear = np.array([20, 40]) * 80 / 60
    assert np.max(np.abs(linear - [20, 60])) > 5  # the stretch a linear mapping misses


def test_durations_sum_to_the_frame_count():
    d = align.durations_from_ends(np.array([0.05, 0.04, 0.30]), n_frames=50)
    assert d.sum() == 50 and (d >= 0).all()
    assert d.tolist() == [10, 0, 40, 0]


def test_snap_moves_only_near_boundaries():
    d = align.snap_durations(np.array([10, 10, 10, 10]), np.array([0.052, 0.09, 0.2]))
    assert d.tolist() == [10, 8, 12, 10]


def test_mfcc_frames_follow_the_world_grid():
    x = np.random.default_rng(0).standard_normal(SR)
    assert align.mfcc(x, SR).shape == (int(SR / (SR * align.FRAME_S)) + 1, 13)


@pytest.mark.skipif(__import__("shutil").which("flite") is None, reason="flite not installed")
def test_flite_phone_ends_are_increasing():
    ends = align.flite_phone_ends("Hello world.", "slt")
    assert [p for p, _ in ends][:3] == ["pau", "hh", "ax"]
    t = [t for _, t in ends]
    assert t == sorted(t)


def test_viterbi_visits_every_position_in_order():
    from train.synth import hmm_align

    rng = np.random.default_rng(3)
    ll = rng.standard_normal((12, 4))
    pos = hmm_align.viterbi(ll)
    assert pos[0] == 0 and pos[-1] == 3 and set(pos.tolist()) == {0, 1, 2, 3}
    assert np.all(np.diff(pos) >= 0) and np.all(np.diff(pos) <= 1)
    assert hmm_align.viterbi(ll[:3]) is None  # fewer frames than positions: no path


def test_viterbi_training_recovers_true_durations_from_a_poor_start():
    """Utterances of four phone symbols with distinct spectra (plus noise), durations drawn at random;
    the aligner starts from durations spread evenly over the phones and must find the true ones (a
phone's edge frames may go either way: mean error under half a frame)."""
    from train.synth import hmm_align

    rng = np.random.default_rng(4)
    protos = {p: rng.standard_normal(9) * 2 for p in ("sil", "a", "b", "c")}
    utts, truth = [], []
    for _ in range(40):
        mid = [str(rng.choice(["a", "b", "c"]))]
        while len(mid) < 4:  # no phone twice in a row: a boundary between equal spectra is unobservable
            mid.append(str(rng.choice([p for p in ("a", "b", "c") if p != mid[-1]])))
        phones = ["sil"] + mid + ["sil"]
        dur = rng.integers(4, 25, size=len(phones))
        obs = np.concatenate([protos[p] + 0.5 * rng.standard_normal((d, 9)) for p, d in zip(phones, dur)])
        even = np.diff(np.round(np.linspace(0, len(obs), len(phones) + 1)).astype(int))
        utts.append({"phones": [str(p) for p in phones], "durations": even, "obs": obs})
        truth.append(dur)
    model = hmm_align.train(utts, iterations=4)
    err = [np.abs(hmm_align.durations_of(u, hmm_align.align_one(model, u)) - t) for u, t in zip(utts, truth)]
    start = [np.abs(u["durations"] - t) for u, t in zip(utts, truth)]
    assert np.mean(np.concatenate(err)) < 0.5 < 3 < np.mean(np.concatenate(start))


def test_snap_never_empties_a_phone():
    # both inner boundaries (frames 5 and 11) lie within 30 ms of the one exact boundary at 40 ms:
    # the first moves onto it, the second keeps its place rather than leave the middle phone empty
    d = align.snap_durations(np.array([5, 6, 5]), np.array([0.04]))
    assert d.tolist() == [8, 3, 5]
