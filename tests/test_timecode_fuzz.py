"""Fuzzing the time and reference parser (issue 11): any text gives a value or a
BadReference; every value is finite, non-negative and bounded; formatted times read back.

Bounded in time: a fixed number of examples, no deadline; each test prints how many inputs
it tried.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from archive.errors import BadReference
from archive.timecode import (MAX_SECONDS, hms, parse_hit_number, parse_ref, parse_span,
                              parse_time, vtt_time)

SETTINGS = settings(max_examples=1000, deadline=None, derandomize=True)
TIMEISH = st.text(alphabet="0123456789:.-@abcdef ²٣１eE+naif", max_size=60)


def test_any_text_is_a_time_or_bad_reference(capsys):
    tried = [0]

    @SETTINGS
    @given(st.one_of(st.text(max_size=40), TIMEISH))
    def prop(text: str) -> None:
        tried[0] += 1
        for fn in (parse_time, parse_span, parse_ref, parse_hit_number):
            try:
                v = fn(text)
            except BadReference as e:
                assert "\n" not in str(e)[:200]
                continue
            nums = [x for x in (v if isinstance(v, tuple) else (v,))
                    if isinstance(x, (int, float))]
            assert all(math.isfinite(x) and 0 <= x <= MAX_SECONDS for x in nums), (text, v)
            if fn is parse_hit_number and v is not None:
                assert text.strip().isascii()
    prop()
    with capsys.disabled():
        print(f"\ntime/reference parser: {tried[0]} inputs x 4 parsers")
    assert tried[0] >= 900


def test_formatted_times_read_back():
    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.floats(min_value=0, max_value=MAX_SECONDS - 1, allow_nan=False))
    def prop(t: float) -> None:
        assert abs(parse_time(hms(t)) - t) <= 0.051
        assert abs(parse_time(vtt_time(t).replace(",", ".")) - t) <= 0.0006
    prop()
