"""Parse and format time codes: ``hh:mm:ss.s``, ``[mm:ss.s]`` and ``ID@START-END``."""

from __future__ import annotations

import re

from .errors import BadReference

# ASCII digits only: str.isdigit() and \d also take "²" or "٣", which int() refuses or
# reads as another number than the one the user sees.
_TIME = re.compile(r"^(?:([0-9]{1,9}):)?(?:([0-9]{1,9}):)?([0-9]{1,12}(?:\.[0-9]{0,9})?)$",
                   re.ASCII)

#: Longest time accepted in a reference, seconds (about 115 days).
MAX_SECONDS = 1e7


def parse_time(text: str) -> float:
    """Parse ``72.4``, ``1:12.4`` or ``0:01:12.4`` into seconds.

    Raises:
        BadReference: If the text is not a time.
    """
    m = _TIME.match(text.strip())
    if not m:
        raise BadReference(f"not a time: {text[:40]!r} (use seconds, mm:ss.s or hh:mm:ss.s)")
    a, b, s = m.groups()
    parts = [int(x) for x in (a, b) if x is not None]
    secs = float(s)
    if len(parts) == 2:
        secs += parts[0] * 3600 + parts[1] * 60
    elif len(parts) == 1:
        secs += parts[0] * 60
    if secs > MAX_SECONDS:
        raise BadReference(f"time too large: {text.strip()[:40]!r} (at most {MAX_SECONDS:g} s)")
    return secs


def parse_hit_number(text: str) -> int | None:
    """The hit number ``text`` stands for (``"3"`` → 3), or None if it is not one.

    Raises:
        BadReference: For digits that are not plain ASCII (``²``) or a number too long to be
            a hit number.
    """
    t = text.strip()
    if not t.isdigit():
        return None
    if not t.isascii():
        raise BadReference(f"not a hit number: {text!r} (use the digits 0-9)")
    if len(t) > 6:
        raise BadReference(f"hit {t[:12]}… is not in the last search")
    return int(t)


def parse_span(text: str) -> tuple[float, float]:
    """Parse ``START-END`` into (start, end) seconds.

    Raises:
        BadReference: If either side is not a time or END is not after START.
    """
    if "-" not in text:
        raise BadReference(f"not a span: {text[:80]!r} (use START-END, e.g. 1:12.4-1:16.1)")
    a, b = text.split("-", 1)
    start, end = parse_time(a), parse_time(b)
    if end <= start:
        raise BadReference(f"span ends before it starts: {text[:80]!r}")
    return start, end


def parse_ref(text: str) -> tuple[str, float, float]:
    """Parse ``ID@START-END`` into (id prefix, start, end).

    Raises:
        BadReference: If the reference is malformed.
    """
    if "@" not in text:
        raise BadReference(f"not a reference: {text[:80]!r} (use ID@START-END or a hit number)")
    rid, span = text.split("@", 1)
    if not re.fullmatch(r"[0-9a-fA-F]{4,64}", rid, re.ASCII):
        raise BadReference(f"not a recording id: {rid[:80]!r}")
    start, end = parse_span(span)
    return rid.lower(), start, end


def hms(seconds: float) -> str:
    """Format seconds as ``hh:mm:ss.s``."""
    tenths = int(round(max(0.0, seconds) * 10))
    h, rem = divmod(tenths, 36000)
    m, rem = divmod(rem, 600)
    s, t = divmod(rem, 10)
    return f"{h:02d}:{m:02d}:{s:02d}.{t}"


def mss(seconds: float) -> str:
    """Format seconds as ``mm:ss.s`` (minutes may exceed 59)."""
    tenths = int(round(max(0.0, seconds) * 10))
    m, rem = divmod(tenths, 600)
    s, t = divmod(rem, 10)
    return f"{m:02d}:{s:02d}.{t}"


def srt_time(seconds: float) -> str:
    """Format seconds as SRT ``hh:mm:ss,mmm``."""
    ms = int(round(max(0.0, seconds) * 1000))
    h, rem = divmod(ms, 3600000)
    m, rem = divmod(rem, 60000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def vtt_time(seconds: float) -> str:
    """Format seconds as WebVTT ``hh:mm:ss.mmm``."""
    return srt_time(seconds).replace(",", ".")


def ref(recording_id: str, start: float, end: float) -> str:
    """Format a reference ``ID@START-END`` with a 10-digit id and tenths of a second."""
    return f"{recording_id[:10]}@{start:.1f}-{end:.1f}"
