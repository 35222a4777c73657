"""Synthetic "calls" from LibriSpeech utterances, RTTM/UEM files, and a DER scorer.

Shared by tests and benchmarks; the API below is stable (add, don't change):

- :data:`LIBRISPEECH`, :func:`available`, :func:`speakers`, :func:`utterance_ids`,
  :func:`load_utterance` (cached, trimmed), :func:`trim_silence`
- :func:`make_call` -> :class:`Call` (``audio``, ``truth`` of :class:`TruthUtterance`,
  ``turns()``, ``speakers``, ``seed``)
- :func:`add_cameo` (one more speaker with a single short utterance), :func:`make_meeting`
  (far-field, overlapping voices)
- :func:`speech_after_pause` (two utterances with a pause between them, faint noise)
- :func:`read_rttm`, :func:`write_rttm`, :func:`read_uem`
- :func:`der` (NIST-style diarization error rate, optimal one-to-one speaker mapping)

Everything is deterministic given a seed. Audio is 16 kHz float32 mono. Utterances are trimmed
of their leading and trailing silence by frame energy before use, so that the truth turns hold
speech only (LibriSpeech files carry 0.2-0.5 s of silence at each end). LibriSpeech transcripts
are not in the shared folder, so ``text`` is None.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

SAMPLE_RATE = 16000
#: Same location rule as tests/conftest.py: $ARCHIVE_SHARED_AUDIO, else ../shared/audio.
SHARED_AUDIO = Path(os.environ.get("ARCHIVE_SHARED_AUDIO",
                                   Path(__file__).resolve().parents[3] / "shared" / "audio"))
LIBRISPEECH = SHARED_AUDIO / "librispeech"

Triple = tuple[float, float, str]


# --- LibriSpeech --------------------------------------------------------------------------

def available() -> bool:
    """True when the LibriSpeech folder with its FLAC files is present."""
    return LIBRISPEECH.is_dir() and any(LIBRISPEECH.glob("*.flac"))


@lru_cache(maxsize=1)
def speakers() -> dict[str, str]:
    """Speaker id -> sex (``F`` or ``M``) for the speakers present in the folder."""
    present = {p.name.split("-")[0] for p in LIBRISPEECH.glob("*.flac")}
    sex: dict[str, str] = {}
    path = LIBRISPEECH / "SPEAKERS.TXT"
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(";") or "|" not in line:
                continue
            fields = [f.strip() for f in line.split("|")]
            if fields[0] in present:
                sex[fields[0]] = fields[1]
    return {s: sex.get(s, "?") for s in sorted(present)}


@lru_cache(maxsize=None)
def utterance_ids(speaker: str) -> tuple[str, ...]:
    """The utterance ids (file stems) of one speaker, sorted."""
    return tuple(sorted(p.stem for p in LIBRISPEECH.glob(f"{speaker}-*.flac")))


def trim_silence(x: np.ndarray, *, smooth: float = 0.15, min_run: float = 0.15,
                 high: float = 0.5, low: float = 0.25, max_walk: float = 0.08
                 ) -> tuple[int, int]:
    """Sample range (start, end) of an utterance without its leading and trailing silence.

    Frame energy (10 ms frames, 150-4000 Hz band, so that hum and hiss count less) is
    compared with thresholds set between the file's noise floor (10th percentile) and speech
    level (90th percentile). Speech starts at the first run of ``min_run`` seconds whose
    ``smooth``-second average exceeds the ``high`` threshold; the edge is then moved to where
    the 30 ms energy crosses the ``low`` threshold, at most ``max_walk`` seconds further out
    (clicks and breaths before the first word stay outside). The end is found the same way.

    Args:
        x: 16 kHz mono samples.
        smooth, min_run, max_walk: Durations in seconds.
        high, low: Thresholds as fractions of the way from noise floor to speech level.

    Returns:
        (start, end) sample indices; the whole signal if no speech is found.
    """
    hop = SAMPLE_RATE // 100
    n = len(x) // hop
    if n < 3:
        return 0, len(x)
    frames = x[:n * hop].reshape(n, hop).astype(np.float64)
    spec = np.abs(np.fft.rfft(frames * np.hanning(hop), axis=1)) ** 2
    freqs = np.fft.rfftfreq(hop, 1 / SAMPLE_RATE)
    power = spec[:, (freqs >= 150) & (freqs <= 4000)].sum(axis=1) + 1e-10
    db = 10 * np.log10(power)
    floor, peak = np.percentile(db, 10), np.percentile(db, 90)
    hi, lo = floor + high * (peak - floor), floor + low * (peak - floor)
    k = max(1, int(round(smooth * 100)))
    smoothed = 10 * np.log10(np.convolve(power, np.ones(k) / k, mode="same"))
    short = 10 * np.log10(np.convolve(power, np.ones(3) / 3, mode="same"))
    edges = np.diff(np.concatenate([[0], (smoothed > hi).astype(int), [0]]))
    runs = [(a, b) for a, b in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0])
            if b - a >= min_run * 100]
    if not runs:
        return 0, len(x)
    i0, i1 = int(runs[0][0]), int(runs[-1][1]) - 1
    walk = int(round(max_walk * 100))
    j = max(0, i0 - k // 2)
    limit = max(0, j - walk)
    while j > limit and short[j - 1] > lo:
        j -= 1
    while j < i0 and short[j] <= lo:
        j += 1
    e = min(n - 1, i1 + k // 2)
    limit = min(n - 1, e + walk)
    while e < limit and short[e + 1] > lo:
        e += 1
    while e > i1 and short[e] <= lo:
        e -= 1
    return j * hop, (e + 1) * hop


@dataclass(frozen=True)
class Utterance:
    """One LibriSpeech utterance, trimmed.

    Attributes:
        id: File stem, e.g. ``1688-142285-0000``.
        speaker: Speaker id (the file-name prefix).
        sex: ``F`` or ``M``.
        audio: Trimmed 16 kHz float32 samples.
        offset: Seconds cut from the start of the file.
        text: Transcript, or None (transcripts are not shipped with the shared folder).
    """

    id: str
    speaker: str
    sex: str
    audio: np.ndarray
    offset: float
    text: str | None = None

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE


@lru_cache(maxsize=None)
def load_utterance(utterance_id: str) -> Utterance:
    """Decode and trim one utterance (cached).

    Raises:
        FileNotFoundError: If the file is absent.
    """
    path = LIBRISPEECH / f"{utterance_id}.flac"
    if not path.is_file():
        raise FileNotFoundError(path)
    from archive.speech.audio import decode

    x = decode(path)
    a, b = trim_silence(x)
    spk = utterance_id.split("-")[0]
    return Utterance(utterance_id, spk, speakers().get(spk, "?"), x[a:b].copy(), a / SAMPLE_RATE)


# --- synthetic calls ----------------------------------------------------------------------

class TruthUtterance(NamedTuple):
    """Where one utterance sits in a synthetic call (exact, speech only)."""

    start: float
    end: float
    speaker: str
    utterance_id: str
    text: str | None = None


@dataclass(frozen=True)
class Call:
    """A synthetic conversation with exact truth.

    Attributes:
        audio: 16 kHz float32 mono samples.
        truth: The utterances, in time order.
        speakers: Speaker ids in order of first appearance.
        seed: The seed it was built from.
    """

    audio: np.ndarray
    truth: tuple[TruthUtterance, ...]
    speakers: tuple[str, ...]
    seed: int

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    def turns(self) -> list[Triple]:
        """Reference (start, end, speaker) turns, one per utterance."""
        return [(u.start, u.end, u.speaker) for u in self.truth]


def make_call(seed: int, *, n_speakers: int = 2, n_turns: int | None = None,
              same_sex: bool | None = None, quick: float = 0.4,
              quick_pause: tuple[float, float] = (0.1, 0.3),
              pause: tuple[float, float] = (0.3, 1.2), repeat: float = 0.15,
              edge: float = 0.5, noise_dbfs: float = -65.0) -> Call:
    """Build a call of ``n_speakers`` LibriSpeech speakers taking turns.

    Args:
        seed: Everything (speakers, utterances, order, pauses, noise) follows from it.
        n_speakers: 2 or 3 (at most the number of speakers in the folder).
        n_turns: Number of utterances; default 4 per speaker.
        same_sex: True to draw speakers of one sex only (only possible for 2 speakers here),
            False to require both sexes, None for any.
        quick: Probability that a change of speaker comes after a quick pause.
        quick_pause: Range of quick pauses (turn-taking), seconds.
        pause: Range of ordinary pauses, seconds.
        repeat: Probability that the same speaker goes on after a pause (a new utterance).
        edge: Silence before the first and after the last utterance, seconds.
        noise_dbfs: Level of the faint white noise laid over the whole call (pauses are not
            digital silence, as in a real recording).

    Returns:
        The call.

    Raises:
        FileNotFoundError: If LibriSpeech is absent.
        ValueError: If no speaker set satisfies the constraints.
    """
    if not available():
        raise FileNotFoundError(LIBRISPEECH)
    rng = np.random.default_rng(seed)
    pool = speakers()
    ids = sorted(pool)
    for _ in range(1000):
        chosen = [str(s) for s in rng.choice(ids, size=n_speakers, replace=False)]
        sexes = {pool[s] for s in chosen}
        if same_sex is None or (same_sex and len(sexes) == 1) or (same_sex is False
                                                                   and len(sexes) > 1):
            break
    else:
        raise ValueError(f"no {n_speakers} speakers with same_sex={same_sex}")
    n_turns = n_turns or 4 * n_speakers
    queues = {s: [str(u) for u in rng.permutation(utterance_ids(s))] for s in chosen}
    left = {s: len(queues[s]) for s in chosen}
    order: list[str] = []
    current = chosen[0]
    for i in range(n_turns):
        if i > 0 and not (rng.random() < repeat and left[current]):
            others = [s for s in chosen if s != current and left[s]]
            # Make sure every speaker gets a turn before the end.
            unseen = [s for s in others if s not in order]
            if unseen and n_turns - i <= len(unseen):
                others = unseen
            if not others:
                break
            current = str(rng.choice(others))
        if not left[current]:
            break
        order.append(current)
        left[current] -= 1
    pieces: list[np.ndarray] = []
    truth: list[TruthUtterance] = []
    t = edge
    pieces.append(np.zeros(int(edge * SAMPLE_RATE), dtype=np.float32))
    used = {s: 0 for s in chosen}
    prev: str | None = None
    for spk in order:
        if prev is not None:
            if spk != prev and rng.random() < quick:
                gap = rng.uniform(*quick_pause)
            else:
                gap = rng.uniform(*pause)
            n = int(round(gap * SAMPLE_RATE))
            pieces.append(np.zeros(n, dtype=np.float32))
            t += n / SAMPLE_RATE
        utt = load_utterance(queues[spk][used[spk]])
        used[spk] += 1
        pieces.append(utt.audio)
        truth.append(TruthUtterance(round(t, 4), round(t + utt.duration, 4), spk, utt.id,
                                    utt.text))
        t += utt.duration
        prev = spk
    pieces.append(np.zeros(int(edge * SAMPLE_RATE), dtype=np.float32))
    x = np.concatenate(pieces)
    x = x + rng.normal(0, 10 ** (noise_dbfs / 20), len(x)).astype(np.float32)
    first = tuple(dict.fromkeys(u.speaker for u in truth))
    return Call(x.astype(np.float32), tuple(truth), first, seed)


def add_cameo(call: Call, seed: int, *, span: tuple[float, float] = (1.5, 3.0),
              pause: tuple[float, float] = (0.4, 1.0), noise_dbfs: float = -65.0) -> Call:
    """The call with one more speaker who says a single short utterance.

    The new speaker is one not yet in the call who has an utterance lasting within ``span``
    seconds (LibriSpeech utterances, not cuts); it goes into a pause between two utterances
    of the call, with its own pauses on each side, and later truth is shifted.

    Args:
        call: A call from :func:`make_call` (or :func:`make_meeting`).
        seed: Chooses the speaker, the utterance, where it goes and its pauses.
        span: Range of the cameo's duration, seconds.
        pause: Range of the pauses added before and after it, seconds.
        noise_dbfs: Level of the faint noise laid over the inserted stretch.

    Raises:
        ValueError: If no speaker outside the call has an utterance of that length.
    """
    rng = np.random.default_rng(seed)
    options = [(s, u) for s in sorted(speakers()) if s not in call.speakers
               for u in utterance_ids(s) if span[0] <= load_utterance(u).duration <= span[1]]
    if not options or len(call.truth) < 2:
        raise ValueError(f"no cameo of {span} s possible for call {call.seed}")
    spk, uid = options[int(rng.integers(len(options)))]
    utt = load_utterance(uid)
    k = int(rng.integers(1, len(call.truth)))           # between utterances k-1 and k
    prev_end, next_start = call.truth[k - 1].end, call.truth[k].start
    cut_t = max(prev_end, (prev_end + next_start) / 2)
    cut = int(round(cut_t * SAMPLE_RATE))
    before, after = (int(round(rng.uniform(*pause) * SAMPLE_RATE)) for _ in range(2))
    piece = np.concatenate([np.zeros(before, np.float32), utt.audio,
                            np.zeros(after, np.float32)])
    piece = piece + rng.normal(0, 10 ** (noise_dbfs / 20), len(piece)).astype(np.float32)
    x = np.concatenate([call.audio[:cut], piece.astype(np.float32), call.audio[cut:]])
    shift = len(piece) / SAMPLE_RATE
    start = cut / SAMPLE_RATE + before / SAMPLE_RATE
    mine = TruthUtterance(round(start, 4), round(start + utt.duration, 4), spk, uid, utt.text)
    truth = list(call.truth[:k]) + [mine] + [
        u._replace(start=round(u.start + shift, 4), end=round(u.end + shift, 4))
        for u in call.truth[k:]]
    first = tuple(dict.fromkeys(u.speaker for u in truth))
    return Call(x, tuple(truth), first, call.seed)


def _room(rng: np.random.Generator, rt60: float, direct: float) -> np.ndarray:
    """A synthetic room impulse response: a direct path, then exponentially decaying noise
    (reverberation time ``rt60`` seconds), the direct path holding ``direct`` of the energy."""
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.normal(0, 1, n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.003 * SAMPLE_RATE)] = 0                  # first reflections come later
    tail *= np.sqrt((1 - direct) / direct / max(np.sum(tail ** 2), 1e-12))
    tail[0] = 1.0
    return tail.astype(np.float32)


def make_meeting(seed: int, *, n_speakers: int = 4, n_turns: int | None = None,
                 overlap: float = 0.3, overlap_span: tuple[float, float] = (0.3, 1.2),
                 pause: tuple[float, float] = (0.1, 0.8), rt60: tuple[float, float] = (0.3, 0.6),
                 direct: tuple[float, float] = (0.3, 0.6), gain_db: float = 6.0,
                 noise_dbfs: float = -55.0) -> Call:
    """A far-field meeting of ``n_speakers`` LibriSpeech voices, with overlapping speech.

    Each speaker sits somewhere in a room (its own synthetic impulse response and level);
    at a change of speaker the next one starts before the last has finished with
    probability ``overlap``. The truth holds the dry utterance spans (reverberant tails are
    not speech), so truth turns overlap where the voices do.

    Args:
        seed: Everything follows from it.
        n_speakers: 2 to 5.
        n_turns: Number of utterances; default 3 per speaker.
        overlap: Probability that a change of speaker overlaps the previous utterance.
        overlap_span: Range of such overlaps, seconds.
        pause: Range of the other pauses, seconds.
        rt60: Range of reverberation times, seconds.
        direct: Range of the direct path's share of the energy.
        gain_db: Speakers' levels vary within plus or minus this, dB.
        noise_dbfs: Level of the room noise.
    """
    base = make_call(seed, n_speakers=n_speakers, n_turns=n_turns or 3 * n_speakers,
                     quick=0.0, pause=(0.0, 0.0), edge=0.5)
    rng = np.random.default_rng(seed + 7919)
    rooms = {s: (_room(rng, rng.uniform(*rt60), rng.uniform(*direct)),
                 10 ** (rng.uniform(-gain_db, gain_db) / 20)) for s in base.speakers}
    placed: list[tuple[int, np.ndarray]] = []
    truth: list[TruthUtterance] = []
    t = 0.5
    prev: TruthUtterance | None = None
    for u in base.truth:
        utt = load_utterance(u.utterance_id)
        if prev is not None:
            if u.speaker != prev.speaker and rng.random() < overlap:
                gap = -min(rng.uniform(*overlap_span), 0.6 * (prev.end - prev.start))
            else:
                gap = rng.uniform(*pause)
            t = prev.end + gap
        h, g = rooms[u.speaker]
        wet = np.convolve(utt.audio, h)[: len(utt.audio) + len(h)] * g
        placed.append((int(round(t * SAMPLE_RATE)), wet.astype(np.float32)))
        prev = TruthUtterance(round(t, 4), round(t + utt.duration, 4), u.speaker,
                              u.utterance_id, utt.text)
        truth.append(prev)
    total = max(a + len(w) for a, w in placed) + int(0.5 * SAMPLE_RATE)
    x = np.zeros(total, dtype=np.float32)
    for a, w in placed:
        x[a:a + len(w)] += w
    x = x + rng.normal(0, 10 ** (noise_dbfs / 20), len(x)).astype(np.float32)
    peak = float(np.max(np.abs(x)))
    if peak > 0.99:
        x *= 0.99 / peak
    truth.sort(key=lambda v: v.start)
    first = tuple(dict.fromkeys(v.speaker for v in truth))
    return Call(x.astype(np.float32), tuple(truth), first, seed)


def speech_after_pause(pause: float = 0.6) -> tuple[np.ndarray, float, float, float, float]:
    """Two real utterances with a pause between them, and faint noise throughout.

    Returns:
        (audio, start of the first, its end, start of the second, its end), seconds.
    """
    a = load_utterance("1688-142285-0002").audio
    b = load_utterance("1688-142285-0009").audio
    lead = np.zeros(int(0.5 * SAMPLE_RATE), np.float32)
    gap = np.zeros(int(pause * SAMPLE_RATE), np.float32)
    x = np.concatenate([lead, a, gap, b, lead])
    x += np.random.default_rng(1).normal(0, 10 ** (-60 / 20), len(x)).astype(np.float32)
    t_a = 0.5
    t_b = t_a + len(a) / SAMPLE_RATE + pause
    return x, t_a, t_a + len(a) / SAMPLE_RATE, t_b, t_b + len(b) / SAMPLE_RATE


# --- RTTM / UEM ---------------------------------------------------------------------------

def _text(source: str | os.PathLike[str]) -> str:
    """The text itself when ``source`` is a string holding a line break, else the file's."""
    if isinstance(source, str) and "\n" in source:
        return source
    return Path(source).read_text(encoding="utf-8")


def read_rttm(source: str | os.PathLike[str]) -> dict[str, list[Triple]]:
    """Parse RTTM (a path, or the text with its line breaks) into file id -> sorted
    (start, end, speaker) triples."""
    out: dict[str, list[Triple]] = {}
    for line in _text(source).splitlines():
        f = line.split()
        if len(f) < 8 or f[0] != "SPEAKER":
            continue
        start, dur = float(f[3]), float(f[4])
        out.setdefault(f[1], []).append((start, start + dur, f[7]))
    return {k: sorted(v) for k, v in out.items()}


def write_rttm(turns: Iterable[Any], file_id: str,
               path: str | os.PathLike[str] | None = None) -> str:
    """Write turns ((start, end, speaker) triples or objects with those attributes) as RTTM.

    Returns:
        The RTTM text (also written to ``path`` when given).
    """
    buf = io.StringIO()
    for start, end, spk in _triples(turns):
        buf.write(f"SPEAKER {file_id} 1 {start:.3f} {end - start:.3f} <NA> <NA> {spk} "
                  "<NA> <NA>\n")
    text = buf.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def read_uem(source: str | os.PathLike[str]) -> dict[str, list[tuple[float, float]]]:
    """Parse UEM (a path, or the text with its line breaks; ``<file> <channel> <start> <end>``
    lines) into file id -> scored regions."""
    out: dict[str, list[tuple[float, float]]] = {}
    for line in _text(source).splitlines():
        f = line.split()
        if len(f) >= 4 and re.match(r"^[\d.]+$", f[2]) and re.match(r"^[\d.]+$", f[3]):
            out.setdefault(f[0], []).append((float(f[2]), float(f[3])))
    return out


# --- DER ----------------------------------------------------------------------------------

def _triples(turns: Iterable[Any]) -> list[Triple]:
    out = []
    for t in turns:
        if hasattr(t, "start") and hasattr(t, "speaker"):
            out.append((float(t.start), float(t.end), str(t.speaker)))
        else:
            out.append((float(t[0]), float(t[1]), str(t[2])))
    return [t for t in out if t[1] > t[0]]


def _active(turns: list[Triple], labels: list[str], mids: np.ndarray) -> np.ndarray:
    """Boolean matrix (segments, speakers): speaker active at each elementary segment."""
    act = np.zeros((len(mids), len(labels)), dtype=bool)
    index = {s: i for i, s in enumerate(labels)}
    for start, end, spk in turns:
        act[(mids > start) & (mids < end), index[spk]] = True
    return act


def pause_inside(turns, regions) -> float:
    """The longest stretch inside any turn that no speech region covers, seconds.

    Args:
        turns: Turns with ``start`` and ``end``.
        regions: Speech (start, end) in seconds, in time order, not overlapping.
    """
    worst = 0.0
    for t in turns:
        inside = [(max(t.start, a), min(t.end, b)) for a, b in regions
                  if b > t.start and a < t.end]
        edges = [t.start] + [p for r in inside for p in r] + [t.end]
        worst = max([worst] + [edges[i + 1] - edges[i] for i in range(0, len(edges) - 1, 2)])
    return worst


def der(reference: Iterable[Any], hypothesis: Iterable[Any], *, collar: float = 0.25,
        skip_overlap: bool = True,
        uem: Sequence[tuple[float, float]] | None = None) -> dict[str, Any]:
    """Diarization error rate, as NIST md-eval computes it.

    Reference and hypothesis turns are (start, end, speaker) triples or objects with those
    attributes. Speakers are mapped one-to-one to maximise their overlap (Hungarian
    assignment on the scored time).

    Args:
        reference: True turns.
        hypothesis: System turns.
        collar: Seconds not scored on each side of every reference boundary.
        skip_overlap: Leave out regions where the reference has two speakers or more.
        uem: Regions to score; by default the extent of reference and hypothesis together.

    Returns:
        ``der``, ``miss``, ``false_alarm``, ``confusion`` as fractions of the scored
        reference speech time, ``total`` (that time, seconds, for pooling several files),
        and ``mapping`` (reference speaker -> hypothesis speaker).
    """
    from scipy.optimize import linear_sum_assignment

    ref, hyp = _triples(reference), _triples(hypothesis)
    if uem is None:
        every = ref + hyp
        uem = [(min(t[0] for t in every), max(t[1] for t in every))] if every else []
    points = {p for r in uem for p in r}
    for start, end, _ in ref + hyp:
        points.update((start, end))
    if collar > 0:
        for start, end, _ in ref:
            points.update((start - collar, start + collar, end - collar, end + collar))
    bounds = np.array(sorted(points))
    empty = {"der": 0.0, "miss": 0.0, "false_alarm": 0.0, "confusion": 0.0, "total": 0.0,
             "mapping": {}}
    if len(bounds) < 2:
        return empty
    mids = (bounds[:-1] + bounds[1:]) / 2
    dur = np.diff(bounds)
    scored = np.zeros(len(mids), dtype=bool)
    for a, b in uem:
        scored |= (mids > a) & (mids < b)
    if collar > 0:
        for start, end, _ in ref:
            for edge in (start, end):
                scored &= ~((mids > edge - collar) & (mids < edge + collar))
    ref_labels = sorted({t[2] for t in ref})
    hyp_labels = sorted({t[2] for t in hyp})
    r = _active(ref, ref_labels, mids)
    h = _active(hyp, hyp_labels, mids)
    n_ref, n_hyp = r.sum(axis=1), h.sum(axis=1)
    if skip_overlap:
        scored &= n_ref <= 1
    w = dur * scored
    mapping: dict[str, str] = {}
    correct = np.zeros(len(mids))
    if ref_labels and hyp_labels:
        overlap = (r * w[:, None]).T.astype(float) @ h.astype(float)
        rows, cols = linear_sum_assignment(-overlap)
        for i, j in zip(rows, cols):
            if overlap[i, j] > 0:
                mapping[ref_labels[i]] = hyp_labels[j]
                correct += r[:, i] & h[:, j]
    total = float(np.sum(w * n_ref))
    miss = float(np.sum(w * np.maximum(0, n_ref - n_hyp)))
    fa = float(np.sum(w * np.maximum(0, n_hyp - n_ref)))
    conf = float(np.sum(w * (np.minimum(n_ref, n_hyp) - correct)))
    if total <= 0:
        return {**empty, "der": float("inf") if fa > 0 else 0.0, "mapping": mapping}
    return {"der": (miss + fa + conf) / total, "miss": miss / total,
            "false_alarm": fa / total, "confusion": conf / total, "total": total,
            "mapping": mapping}


def pool(results: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Pool several :func:`der` results, weighting each by its scored reference time."""
    total = sum(r["total"] for r in results)
    if total <= 0:
        return {"der": 0.0, "miss": 0.0, "false_alarm": 0.0, "confusion": 0.0, "total": 0.0}
    out = {k: sum(r[k] * r["total"] for r in results) / total
           for k in ("der", "miss", "false_alarm", "confusion")}
    out["total"] = total
    return out
