"""Time codes and references."""

import pytest

from archive.errors import BadReference
from archive.timecode import hms, mss, parse_ref, parse_span, parse_time, srt_time


@pytest.mark.parametrize("text,secs", [("72.4", 72.4), ("1:12.4", 72.4), ("0:01:12.4", 72.4),
                                       ("1:00:00", 3600.0), ("5", 5.0)])
def test_parse_time(text, secs):
    assert parse_time(text) == pytest.approx(secs)


@pytest.mark.parametrize("bad", ["", "abc", "1:2:3:4", "-3", "1.2.3"])
def test_parse_time_rejects(bad):
    with pytest.raises(BadReference):
        parse_time(bad)


def test_span_and_ref():
    assert parse_span("1:12.4-1:16.1") == pytest.approx((72.4, 76.1))
    rid, s, e = parse_ref("3FA4c0de@72.4-76.1")
    assert (rid, s, e) == ("3fa4c0de", pytest.approx(72.4), pytest.approx(76.1))
    with pytest.raises(BadReference):
        parse_span("5-4")
    with pytest.raises(BadReference):
        parse_ref("zzzz@1-2")
    with pytest.raises(BadReference):
        parse_ref("3fa4c0de")


def test_formats():
    assert hms(3725.46) == "01:02:05.5"
    assert mss(65.04) == "01:05.0"
    assert srt_time(3.2504) == "00:00:03,250"
