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
