"""The maths of diarization: clustering speaker embeddings and resegmenting speech by frame.

:func:`spectral` clusters window embeddings spectrally (pruned cosine-affinity graph; the
number of speakers is read from the largest normalised eigengap, NME-SC). :func:`resegment`
scores every frame of each speech region against the speaker centroids (:func:`frame_scores`:
mean similarity of the windows covering it) and decodes it with :func:`viterbi`, which charges
for each change of speaker. :func:`core_centroids` re-estimates centroids from each speaker's
most typical windows, :func:`units` pools windows of long recordings before clustering, and
:func:`bridge` joins turns of one speaker across short pauses.

Turns here are ``(start, end, index)`` tuples, the index being a row of the centroid matrix;
:mod:`archive.speakers.diarize` drives these steps and names the speakers. scipy is imported
here only, lazily.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: A turn while clustering: (start, end, centroid index).
RawTurn = tuple[float, float, int]


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows (or a vector) scaled to unit L2 norm; all-zero rows stay (nearly) zero."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


def spectral(emb: np.ndarray, k_min: int, k_max: int, k_fixed: int | None,
             seed: int = 0) -> np.ndarray:
    """Spectral clustering with automatic count by normalised maximum eigengap (NME-SC).

    Args:
        emb: L2-normalised embeddings, one per row.
        k_min: Fewest clusters to choose.
        k_max: Most clusters to choose.
        k_fixed: The number of clusters when known.
        seed: Seed of the k-means step.

    Returns:
        A cluster label per row.
    """
    from scipy.linalg import eigh

    n = len(emb)
    sim = emb @ emb.T
    np.fill_diagonal(sim, 1.0)
    k_max = min(k_max, n - 1)
    best: tuple[float, int, np.ndarray] | None = None
    p_values = sorted({max(2, int(round(n * f))) for f in np.arange(0.02, 0.41, 0.02)})
    for p in p_values:
        if p >= n:
            continue
        # Keep each row's p strongest links, binarised, then symmetrise.
        idx = np.argpartition(-sim, p, axis=1)[:, :p]
        aff = np.zeros_like(sim)
        np.put_along_axis(aff, idx, 1.0, axis=1)
        aff = (aff + aff.T) / 2
        lap = np.diag(aff.sum(axis=1)) - aff
        vals = eigh(lap, eigvals_only=True)
        gaps = np.diff(vals[:k_max + 1])
        k = k_fixed or int(np.clip(np.argmax(gaps) + 1, k_min, k_max))
        ratio = (p / n) / (gaps.max() / max(vals[-1], 1e-9) + 1e-10)
        if best is None or ratio < best[0]:
            best = (ratio, k, lap)
    if best is None or best[1] <= 1:
        return np.zeros(n, dtype=int)
    _, k, lap = best
    spec = eigh(lap, subset_by_index=[0, k - 1])[1]
    return kmeans(normalise(spec), k, seed=seed)


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 10,
           iterations: int = 100) -> np.ndarray:
    """Lloyd's k-means with k-means++ starts, the best of ``n_init`` runs (least inertia).

    Deterministic: every start is drawn from ``np.random.default_rng(seed)``, and ties go to
    the lower cluster index.

    Returns:
        A cluster label per row, numbered in order of first appearance.
    """
    rng = np.random.default_rng(seed)
    n = len(x)
    best: tuple[float, np.ndarray] | None = None
    for _ in range(n_init):
        cent = x[[int(rng.integers(n))]]
        while len(cent) < k:  # k-means++: far points are likelier starts
            d2 = np.min(((x[:, None, :] - cent[None]) ** 2).sum(-1), axis=1)
            p = d2 / d2.sum() if d2.sum() > 0 else np.full(n, 1.0 / n)
            cent = np.vstack([cent, x[int(rng.choice(n, p=p))]])
        labels = np.full(n, -1)
        for _ in range(iterations):
            d2 = ((x[:, None, :] - cent[None]) ** 2).sum(-1)
            new = np.argmin(d2, axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            cent = np.stack([x[labels == j].mean(axis=0) if np.any(labels == j) else cent[j]
                             for j in range(k)])
        inertia = float(d2[np.arange(n), labels].sum())
        if best is None or inertia < best[0] - 1e-12:
            best = (inertia, labels)
    labels = best[1]
    order = {v: i for i, v in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[v] for v in labels.tolist()])


def centroids(emb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Normalised mean embedding of each label, in label order."""
    return normalise(np.stack([emb[labels == k].mean(axis=0) for k in np.unique(labels)]))


def viterbi(scores: np.ndarray, penalty: float) -> np.ndarray:
    """Best state path through per-frame ``scores`` (frames x states), each change of state
    costing ``penalty``."""
    n, k = scores.shape
    back = np.zeros((n, k), dtype=np.int32)
    acc = scores[0].copy()
    for t in range(1, n):
        stay = acc
        best_prev = int(np.argmax(acc))
        switch = acc[best_prev] - penalty
        back[t] = np.where(stay >= switch, np.arange(k), best_prev)
        acc = np.maximum(stay, switch) + scores[t]
    path = np.empty(n, dtype=np.int32)
    path[-1] = int(np.argmax(acc))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def frame_scores(windows: Sequence[tuple[float, float]], sims: np.ndarray,
                 grid: np.ndarray) -> np.ndarray:
    """Mean window-centroid similarity of the windows covering each frame centre."""
    n = len(grid)
    a = np.searchsorted(grid, [w[0] for w in windows])
    b = np.minimum(np.maximum(np.searchsorted(grid, [w[1] for w in windows]), a + 1), n)
    acc = np.zeros((n + 1, sims.shape[1] + 1))   # last column counts the windows
    vals = np.hstack([sims, np.ones((len(sims), 1))])
    np.add.at(acc, a, vals)
    np.add.at(acc, b, -vals)
    acc = np.cumsum(acc, axis=0)[:n]
    return acc[:, :-1] / np.maximum(acc[:, -1:], 1)


def resegment(regions: Sequence[tuple[float, float]], windows: Sequence[tuple[float, float]],
              emb: np.ndarray, cent: np.ndarray, *, frame: float, temperature: float,
              switch_penalty: float, frames: list | None = None) -> list[RawTurn]:
    """Turns of each speech region, decoded frame by frame against the centroids.

    Args:
        regions: Speech regions in time order, seconds.
        windows: Embedding windows in time order (made region by region).
        emb: One embedding per window.
        cent: Speaker centroids, one per row.
        frame: Frame length, seconds.
        temperature: Similarity -> log-likelihood scale.
        switch_penalty: Cost of a change of speaker, in similarity units.
        frames: When given, (frame edges, frame scores, path) of each region are appended.

    Returns:
        (start, end, centroid index) turns in time order.
    """
    sims = emb @ cent.T
    starts = np.array([w[0] for w in windows])  # in time order: made region by region
    turns: list[RawTurn] = []
    for start, end in regions:
        n = max(1, int(round((end - start) / frame)))
        edges = np.linspace(start, end, n + 1)
        mids = (edges[:-1] + edges[1:]) / 2
        lo, hi = np.searchsorted(starts, [start - 1e-9, end - 1e-9])
        if hi <= lo:
            continue
        sc = frame_scores(windows[lo:hi], sims[lo:hi], mids)
        path = viterbi(sc / temperature, switch_penalty / temperature)
        if frames is not None:
            frames.append((edges, sc, path))
        cut = np.nonzero(np.diff(path))[0] + 1
        for a, b in zip(np.r_[0, cut], np.r_[cut, n]):
            turns.append((float(edges[a]), float(edges[b]), int(path[a])))
    return turns


def core_centroids(emb: np.ndarray, owner: np.ndarray, cent: np.ndarray,
                   core: float) -> np.ndarray:
    """Centroids from each speaker's most typical windows: those whose margin (similarity to
    their own centroid minus the best other) is in the top ``core`` fraction.

    Args:
        emb: One embedding per window.
        owner: Centroid index owning each window, -1 for none.
        cent: Current centroids; a speaker owning no window keeps its own.
        core: Fraction of the owned windows kept.
    """
    sims = emb @ cent.T
    out = cent.copy()
    for k in range(len(cent)):
        idx = np.nonzero(owner == k)[0]
        if not len(idx):
            continue
        if len(cent) > 1 and core < 1:
            own = sims[idx, k]
            other = np.max(np.delete(sims[idx], k, axis=1), axis=1)
            margin = own - other
            n = max(1, int(np.ceil(core * len(idx))))
            idx = idx[np.argsort(-margin)[:n]]
        out[k] = emb[idx].mean(axis=0)
    return normalise(out)


def bridge(turns: list[RawTurn], max_gap: float) -> list[RawTurn]:
    """Consecutive turns of one speaker joined across pauses up to ``max_gap`` seconds."""
    out: list[RawTurn] = []
    for t in turns:
        if out and out[-1][2] == t[2] and t[0] - out[-1][1] <= max_gap:
            out[-1] = (out[-1][0], t[1], t[2])
        else:
            out.append(t)
    return out


def units(emb: np.ndarray, windows: Sequence[tuple[float, float]],
          regions: Sequence[tuple[float, float]], *, min_window: float,
          max_units: int) -> np.ndarray:
    """Embeddings to cluster: the windows long enough to be reliable; on long recordings,
    means of runs of consecutive windows inside one region, so that at most ``max_units``
    remain (the affinity matrix and its eigendecomposition grow as the square and cube).

    Args:
        emb: One embedding per window.
        windows: The windows, in time order.
        regions: The speech regions they were made from, in time order.
        min_window: Shorter windows are left out (unless fewer than two would remain), s.
        max_units: Most embeddings returned.
    """
    lengths = np.array([b - a for a, b in windows])
    keep = np.nonzero(lengths >= min_window)[0]
    if len(keep) < 2:
        keep = np.arange(len(windows))
    if len(keep) <= max_units:
        return emb[keep]
    group = int(np.ceil(len(keep) / max_units))
    region = np.searchsorted([a for a, _ in regions], [windows[i][0] for i in keep],
                             side="right")
    out, run = [], [keep[0]]
    for i, r_prev, r in zip(keep[1:], region, region[1:]):
        if r != r_prev or len(run) == group:
            out.append(emb[run].mean(axis=0))
            run = []
        run.append(i)
    out.append(emb[run].mean(axis=0))
    return normalise(np.stack(out))


def window_owner(windows: Sequence[tuple[float, float]], turns: Sequence[RawTurn],
                 whole: bool = False) -> np.ndarray:
    """Speaker of the turn holding each window's centre, or (``whole``) all of the window;
    -1 when there is none."""
    owner = np.full(len(windows), -1)
    if not turns:
        return owner
    starts = np.array([t[0] for t in turns])
    ends = np.array([t[1] for t in turns])
    spk = np.array([t[2] for t in turns])
    w = np.asarray(windows, dtype=float)
    mids = w.mean(axis=1)
    i = np.clip(np.searchsorted(starts, mids, side="right") - 1, 0, len(turns) - 1)
    ok = mids <= ends[i]
    if whole:
        ok &= (w[:, 0] >= starts[i] - 1e-6) & (w[:, 1] <= ends[i] + 1e-6)
    owner[ok] = spk[i][ok]
    return owner


# --- is this a voice of its own? ---------------------------------------------------------

def piece_null(emb: np.ndarray, runs: np.ndarray, m: int) -> tuple[float, float] | None:
    """How well a stretch of ``m`` consecutive windows of one speaker matches the rest of
    that speaker: mean and spread of cos(mean of the piece, mean of the windows outside the
    piece's turn), over pieces taken inside each turn (``runs`` numbers the turn of each
    row). None unless three pieces from two turns or more can be had.

    This is the speaker's own yardstick, measured in the recording at hand and across turns
    (a voice varies more from one sentence to the next than inside one): a far-field voice
    matches itself less well than a close-talking one, a short piece less well than a long
    one.
    """
    scores, used = [], set()
    for r in dict.fromkeys(runs.tolist()):
        idx = np.nonzero(runs == r)[0]
        rest = np.nonzero(runs != r)[0]
        if len(idx) < m or len(rest) < max(m, 3):
            continue
        other = normalise(emb[rest].mean(axis=0))
        for a in range(0, len(idx) - m + 1, max(1, m // 2)):
            scores.append(float(normalise(emb[idx[a:a + m]].mean(axis=0)) @ other))
            used.add(r)
    if len(scores) < 3 or len(used) < 2:
        return None
    return float(np.mean(scores)), float(np.std(scores))


def separation(piece: np.ndarray, other: np.ndarray, other_runs: np.ndarray, *, z: float,
               margin: float, floor: float) -> float:
    """How clearly the windows ``piece`` are another voice than the windows ``other``
    (L2-normalised rows; ``other_runs`` numbers the turn of each row of ``other``): positive
    means clearly another voice.

    The piece's similarity to ``other`` is compared with :func:`piece_null` of ``other`` for
    pieces of the same length: it must fall ``z`` spreads, and at least ``margin``, below
    what ``other``'s own pieces score. The evidence grows with the piece's length (its mean
    is steadier) and with how consistent ``other`` is across its turns. With too little of
    ``other`` for a yardstick, only a similarity under ``floor`` counts as another voice.
    """
    s = float(normalise(piece.mean(axis=0)) @ normalise(other.mean(axis=0)))
    null = piece_null(other, other_runs, len(piece))
    if null is None:
        return floor - s
    mu, sd = null
    return (mu - max(z * sd, margin)) - s


def window_turn(windows: Sequence[tuple[float, float]], turns: Sequence[RawTurn]) -> np.ndarray:
    """Index of the turn that holds all of each window, -1 for none."""
    out = np.full(len(windows), -1)
    if not turns:
        return out
    starts = np.array([t[0] for t in turns])
    ends = np.array([t[1] for t in turns])
    w = np.asarray(windows, dtype=float)
    i = np.clip(np.searchsorted(starts, w[:, 0] + 1e-6, side="right") - 1, 0, len(turns) - 1)
    ok = (w[:, 0] >= starts[i] - 1e-6) & (w[:, 1] <= ends[i] + 1e-6)
    out[ok] = i[ok]
    return out
