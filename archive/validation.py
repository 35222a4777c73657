"""Checks of the raw JSON a transcript file or a catalog row holds, before values are built
from it (see :meth:`archive.models.Transcript.from_json`).

Transcript files and catalog rows can be edited by hand or damaged on disk. Every reader
checks the raw JSON first, so a bad file gives one named error (the store turns these
ValueErrors into TranscriptCorrupt / ArchiveCorrupt) instead of a NaN time, a string where a
number belongs, or a crash far from the file. Unknown keys are ignored, so files written by
a newer version with more fields still read.
"""

from __future__ import annotations

from typing import Any, Mapping

#: Version of the on-disk transcript format this code reads (the same as models').
TRANSCRIPT_FORMAT = 1

#: Largest time (seconds) a transcript may hold: about 115 days.
MAX_SECONDS = 1e7


class BadValue(ValueError):
    """A field of a transcript or catalog row has the wrong type or an impossible value."""


def _reject_constant(name: str) -> float:
    raise BadValue(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    v = float(text)
    if v != v or v in (float("inf"), float("-inf")):
        raise BadValue(f"{text[:20]} is too large")
    return v


def loads_strict(text: str | bytes) -> Any:
    """``json.loads`` that refuses NaN, Infinity and numbers too large for a float.

    Raises:
        ValueError: For any JSON error or such a number; RecursionError is turned into one.
    """
    import json
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise BadValue("nested too deeply") from None


def _present(d: Mapping[str, Any], key: str, where: str, optional: bool) -> bool:
    if key in d:
        return True
    if optional:
        return False
    raise BadValue(f"{where}: '{key}' is missing")


def _num(d: Mapping[str, Any], key: str, where: str, *, lo: float = -MAX_SECONDS * 1e3,
         hi: float = MAX_SECONDS * 1e3, integer: bool = False, optional: bool = True,
         null: bool = False) -> None:
    if not _present(d, key, where, optional):
        return
    v = d[key]
    if v is None and null:
        return
    if isinstance(v, bool) or not isinstance(v, int if integer else (int, float)):
        raise BadValue(f"{where}: '{key}' is not {'an integer' if integer else 'a number'} "
                       f"({type(v).__name__})")
    if v != v or not lo <= v <= hi:
        raise BadValue(f"{where}: '{key}' is out of range ({v!r:.30})")


def _str(d: Mapping[str, Any], key: str, where: str, *, optional: bool = True,
         null: bool = False) -> None:
    if not _present(d, key, where, optional):
        return
    v = d[key]
    if not (isinstance(v, str) or (v is None and null)):
        raise BadValue(f"{where}: '{key}' is not a string ({type(v).__name__})")


def _obj(v: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise BadValue(f"{where} is not an object ({type(v).__name__})")
    return v


def _list(d: Mapping[str, Any], key: str, where: str, *, optional: bool = True) -> list:
    if key not in d:
        if optional:
            return []
        raise BadValue(f"{where}: '{key}' is missing")
    v = d[key]
    if not isinstance(v, list):
        raise BadValue(f"{where}: '{key}' is not a list ({type(v).__name__})")
    return v


def _span(d: Mapping[str, Any], where: str) -> None:
    _num(d, "start", where, lo=0.0, hi=MAX_SECONDS, optional=False)
    _num(d, "end", where, lo=0.0, hi=MAX_SECONDS, optional=False)
    if d["end"] < d["start"]:
        raise BadValue(f"{where}: ends ({d['end']}) before it starts ({d['start']})")


def check_word_json(d: Any, where: str = "word") -> None:
    """Raise BadValue unless ``d`` is a valid word object."""
    d = _obj(d, where)
    _span(d, where)
    _str(d, "word", where, optional=False)
    _num(d, "p", where, lo=0.0, hi=1.0)
    _str(d, "speaker", where, null=True)
    _num(d, "speaker_p", where, lo=0.0, hi=1.0)          # issue 13
    if not isinstance(d.get("overlap", False), bool):
        raise BadValue(f"{where}: 'overlap' is not true or false")


def check_segment_json(d: Any, where: str = "segment") -> None:
    """Raise BadValue unless ``d`` is a valid segment object (words included)."""
    d = _obj(d, where)
    _num(d, "id", where, lo=0, hi=1e9, integer=True, optional=False)
    _span(d, where)
    _str(d, "text", where, optional=False)
    _str(d, "speaker", where, null=True)
    _num(d, "avg_logprob", where)
    _num(d, "no_speech_prob", where, lo=0.0, hi=1.0)
    _num(d, "compression_ratio", where, lo=0.0)
    _num(d, "channel", where, lo=0, hi=1024, integer=True, null=True)
    for f in _list(d, "flags", where):
        if not isinstance(f, str):
            raise BadValue(f"{where}: a flag is not a string")
    for i, w in enumerate(_list(d, "words", where)):
        check_word_json(w, f"{where}, word {i + 1}")


def check_speaker_json(d: Any, where: str = "speaker") -> None:
    """Raise BadValue unless ``d`` is a valid speaker object."""
    d = _obj(d, where)
    _str(d, "label", where, optional=False)
    if not d["label"]:
        raise BadValue(f"{where}: empty label")
    _str(d, "name", where, null=True)
    _num(d, "talk_time", where, lo=0.0, hi=MAX_SECONDS)
    _num(d, "turns", where, lo=0, hi=1e9, integer=True)
    _num(d, "channel", where, lo=0, hi=1024, integer=True, null=True)
    for x in _list(d, "voiceprint", where):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not -1e3 <= x <= 1e3:
            raise BadValue(f"{where}: voiceprint holds a value that is not a number")


def check_recording_json(d: Any, where: str = "recording") -> None:
    """Raise BadValue unless ``d`` is a valid recording (catalog row) object."""
    d = _obj(d, where)
    for key in ("id", "filename", "ext"):
        _str(d, key, where, optional=False)
    for key in ("codec", "title", "added", "added_by", "tool_version", "model"):
        _str(d, key, where)
    for key in ("source", "recorded", "recorded_basis", "note", "model_sha256", "language"):
        _str(d, key, where, null=True)
    _num(d, "size", where, lo=0, hi=2 ** 63, integer=True, optional=False)
    _num(d, "duration", where, lo=0.0, hi=MAX_SECONDS, optional=False)
    _num(d, "channels", where, lo=0, hi=1024, integer=True)
    _num(d, "sample_rate", where, lo=0, hi=1e8, integer=True)
    _num(d, "language_probability", where, lo=0.0, hi=1.0, null=True)
    if "recorded_inferred" in d and not isinstance(d["recorded_inferred"], bool):
        raise BadValue(f"{where}: 'recorded_inferred' is not true or false")
    for t in _list(d, "tags", where):
        if not isinstance(t, str):
            raise BadValue(f"{where}: a tag is not a string")
    tags = d.get("container_tags", {})
    if not isinstance(tags, Mapping) or any(isinstance(v, (Mapping, list))
                                            for v in tags.values()):
        raise BadValue(f"{where}: 'container_tags' is not an object of plain values")


def check_transcript_json(d: Any, where: str = "transcript") -> None:
    """Raise BadValue unless ``d`` is a valid transcript object (all its parts included)."""
    d = _obj(d, where)
    _num(d, "format", where, lo=0, hi=TRANSCRIPT_FORMAT, integer=True)
    check_recording_json(d.get("recording"), "recording")
    _num(d, "revision", where, lo=1, hi=1e6, integer=True, optional=False)
    for key in ("task", "created", "author", "model"):
        _str(d, key, where)
    for key in ("language", "model_sha256", "note"):
        _str(d, key, where, null=True)
    if "options" in d:
        _obj(d["options"], "options")
    for i, s in enumerate(_list(d, "speakers", where)):
        check_speaker_json(s, f"speaker {i + 1}")
    for i, s in enumerate(_list(d, "segments", where, optional=False)):
        check_segment_json(s, f"segment {i + 1}")
