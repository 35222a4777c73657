"""Infer when a recording was made, from messenger file names and container tags."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Mapping

# WhatsApp: PTT-20220405-WA0001.opus, AUD-20220405-WA0003.m4a
_WHATSAPP = re.compile(r"(?:PTT|AUD|VID)-(\d{4})(\d{2})(\d{2})-WA\d+", re.I)
# Telegram desktop: audio_2022-04-01_12-30-45.ogg, voice_2022-04-01_12-30-45.ogg
_TELEGRAM = re.compile(
    r"(?:audio|voice|video|round)_(\d{4})-(\d{2})-(\d{2})_(\d{2})-(\d{2})-(\d{2})", re.I)
# Signal and Android recorders: signal-2022-04-01-123045.m4a, Recording_20220401_123045.m4a
_SIGNAL = re.compile(r"signal-(\d{4})-(\d{2})-(\d{2})-(\d{2})(\d{2})(\d{2})", re.I)
_GENERIC = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[_-](\d{2})(\d{2})(\d{2})(?!\d)")

_TAG_KEYS = ("creation_time", "date", "com.apple.quicktime.creationdate", "year")


def _valid(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> bool:
    try:
        dt = datetime(y, mo, d, h, mi, s)
    except ValueError:
        return False
    return 1990 <= dt.year <= 2100


def date_from_filename(name: str) -> str | None:
    """An ISO date or date-time read from a messenger's file-name pattern, or None.

    >>> date_from_filename("PTT-20220405-WA0001.opus")
    '2022-04-05'
    >>> date_from_filename("audio_2022-04-01_12-30-45.ogg")
    '2022-04-01T12:30:45'
    """
    m = _WHATSAPP.search(name)
    if m:
        y, mo, d = map(int, m.groups())
        return f"{y:04d}-{mo:02d}-{d:02d}" if _valid(y, mo, d) else None
    for rx in (_TELEGRAM, _SIGNAL, _GENERIC):
        m = rx.search(name)
        if m:
            y, mo, d, h, mi, s = map(int, m.groups())
            if _valid(y, mo, d, h, mi, s):
                return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"
    return None


def date_from_tags(tags: Mapping[str, str]) -> str | None:
    """An ISO date from container tags (creation_time, date, year), or None."""
    for key in _TAG_KEYS:
        v = tags.get(key)
        if not v:
            continue
        v = v.strip()
        m = re.match(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2}))?", v)
        if m:
            y, mo, d = int(m[1]), int(m[2]), int(m[3])
            if not _valid(y, mo, d):
                continue
            if m[4] is not None:
                # Encoders write 1970 or 1904 epochs when they know nothing.
                return f"{y:04d}-{mo:02d}-{d:02d}T{m[4]}:{m[5]}:{m[6]}"
            return f"{y:04d}-{mo:02d}-{d:02d}"
        if re.fullmatch(r"\d{4}", v) and 1990 <= int(v) <= 2100:
            return v
    return None


def parse_user_date(text: str) -> str:
    """Normalise a date given on the command line (YYYY, YYYY-MM, YYYY-MM-DD, or with time).

    Raises:
        ValueError: If the text is not such a date.
    """
    t = text.strip().replace(" ", "T")
    for fmt, out in (("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S"), ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M"),
                     ("%Y-%m-%d", "%Y-%m-%d"), ("%Y-%m", "%Y-%m"), ("%Y", "%Y")):
        try:
            return datetime.strptime(t, fmt).strftime(out)
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r} (use YYYY-MM-DD, optionally with hh:mm[:ss])")


def infer_date(filename: str, tags: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(date, basis) inferred from the file name first, then container tags."""
    d = date_from_filename(filename)
    if d:
        return d, "filename"
    d = date_from_tags(tags)
    if d:
        return d, "tag"
    return None, None
