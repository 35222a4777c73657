"""Fuzzing the transcript reader (issue 11): any JSON in gives a valid Transcript or a
TranscriptCorrupt, never another exception; what it accepts has finite, ordered times.

Inputs are random JSON values, and a real transcript of this project's samples with one
value replaced by a random JSON value at a random place (the hand edits and disk damage
that matter: a number made text, NaN, a list made an object, a time made negative).
Bounded in time: a fixed number of examples, no deadline; prints how many inputs it tried.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.errors import TranscriptCorrupt
from archive.evidence.store import parse_transcript
from archive.models import Transcript

ROOT = Path(__file__).resolve().parents[2]
REAL = json.loads((ROOT / "transcripts" / "leaked_call.json").read_text("utf-8"))
SETTINGS = settings(max_examples=500, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                    st.sampled_from([1e308, -0.0, 2**63, "0.3", "", "NaN"]))
JSONISH = st.recursive(SCALARS, lambda c: st.one_of(st.lists(c, max_size=4),
                                                    st.dictionaries(st.text(max_size=6), c,
                                                                    max_size=4)),
                       max_leaves=12)


def _paths(d, prefix=()):
    yield prefix
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d[:3]):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(REAL) if p]


def _check(text: str, tried: list[int]) -> None:
    tried[0] += 1
    try:
        t = parse_transcript(text, "fuzz.json")
    except TranscriptCorrupt as e:
        assert "\n" not in str(e)
        return
    assert isinstance(t, Transcript)
    for s in t.segments:
        assert math.isfinite(s.start) and 0 <= s.start <= s.end
        for w in s.words:
            assert math.isfinite(w.start) and 0 <= w.start <= w.end
            assert 0 <= w.probability <= 1


def test_random_json(capsys):
    tried = [0]

    @SETTINGS
    @given(JSONISH)
    def prop(v) -> None:
        _check(json.dumps(v), tried)
    prop()
    with capsys.disabled():
        print(f"\ntranscript reader, random JSON: {tried[0]} inputs")
    assert tried[0] >= 450


def test_real_transcript_with_one_value_replaced(capsys):
    tried = [0]

    @SETTINGS
    @given(st.sampled_from(PATHS), JSONISH, st.booleans())
    def prop(path, value, delete) -> None:
        d = copy.deepcopy(REAL)
        node = d
        for k in path[:-1]:
            node = node[k]
        if delete and isinstance(node, dict):
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
        _check(json.dumps(d), tried)
    prop()
    with capsys.disabled():
        print(f"\ntranscript reader, real transcript mutated: {tried[0]} inputs")
    assert tried[0] >= 450


def test_bytes_and_text_damage():
    text = json.dumps(REAL)
    for cut in range(0, len(text), max(1, len(text) // 300)):
        for bad in (text[:cut], text[:cut] + "\xff" + text[cut + 1:],
                    text[:cut] + "[" * 5000 + text[cut:]):
            try:
                parse_transcript(bad.encode("utf-8", "surrogatepass"), "fuzz.json")
            except TranscriptCorrupt:
                pass
