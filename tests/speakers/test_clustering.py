"""The clustering maths on small inputs whose answer is known by construction.

End-to-end diarization of real speech is tested in tests/test_diarize.py.
"""

from __future__ import annotations

import numpy as np

from archive.speakers import clustering as cl


def _blobs(sizes: list[int], dim: int = 32, spread: float = 0.15, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = cl.normalise(rng.normal(size=(len(sizes), dim)))
    emb = np.concatenate([c + spread * rng.normal(size=(n, dim)) / np.sqrt(dim)
                          for c, n in zip(centres, sizes)])
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return cl.normalise(emb), truth


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return all(len(set(b[a == k])) == 1 for k in np.unique(a)) and \
        len(np.unique(a)) == len(np.unique(b))


def test_spectral_finds_the_number_of_clusters_or_takes_it():
    emb, truth = _blobs([30, 20, 25])
    labels = cl.spectral(emb, 1, 6, None)
    assert _same_partition(labels, truth)
    assert len(np.unique(cl.spectral(emb, 1, 6, 2))) == 2
    one, _ = _blobs([40])
    assert not cl.spectral(one, 1, 6, None).any()  # one voice: one cluster
    cent = cl.centroids(emb, truth)
    assert cent.shape == (3, 32) and np.allclose(np.linalg.norm(cent, axis=1), 1)


def test_viterbi_ignores_a_blip_unless_switching_is_cheap():
    scores = np.zeros((20, 2))
    scores[:, 0] = 1.0
    scores[8:10] = [0.0, 1.5]          # two frames that favour state 1 a little
    scores[14:] = [0.0, 1.0]           # a real change
    path = cl.viterbi(scores, penalty=2.0)
    assert list(path) == [0] * 14 + [1] * 6
    assert list(cl.viterbi(scores, penalty=0.1)[8:10]) == [1, 1]


def test_frame_scores_average_the_covering_windows():
    grid = np.array([0.25, 0.75, 1.25, 1.75])
    windows = [(0.0, 1.0), (0.5, 1.5), (1.0, 2.0)]
    sims = np.array([[1.0], [0.0], [0.5]])
    out = cl.frame_scores(windows, sims, grid)[:, 0]
    assert np.allclose(out, [1.0, 0.5, 0.25, 0.5])


def test_bridge_joins_one_speaker_across_short_pauses_only():
    turns = [(0.0, 1.0, 0), (1.5, 2.0, 0), (3.0, 4.0, 0), (4.1, 5.0, 1)]
    assert cl.bridge(turns, 0.8) == [(0.0, 2.0, 0), (3.0, 4.0, 0), (4.1, 5.0, 1)]


def test_units_pool_long_recordings_within_regions():
    regions = [(0.0, 10.0), (20.0, 25.0)]
    windows = [(t, t + 1.0) for t in np.arange(0.0, 9.01, 0.25)] + \
              [(t, t + 1.0) for t in np.arange(20.0, 24.01, 0.25)]
    emb, _ = _blobs([len(windows)])
    assert len(cl.units(emb, windows, regions, min_window=0.6, max_units=600)) == len(windows)
    pooled = cl.units(emb, windows, regions, min_window=0.6, max_units=10)
    # Runs of at most ceil(54 / 10) = 6 windows, cut at the region boundary: 7 + 3 runs.
    assert len(pooled) == 10
    assert np.allclose(pooled[0], cl.normalise(emb[:6].mean(axis=0)))


def test_window_owner_by_centre_or_whole_window():
    windows = [(0.0, 1.0), (1.0, 2.0), (3.0, 4.0)]
    turns = [(0.0, 1.5, 0), (1.5, 2.5, 1)]
    assert list(cl.window_owner(windows, turns)) == [0, 1, -1]
    assert list(cl.window_owner(windows, turns, whole=True)) == [0, -1, -1]
