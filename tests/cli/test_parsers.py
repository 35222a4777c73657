"""Hostile input to the parsers, through the CLI (issue 11): one ``archive: error:`` line,
exit 2, nothing changed.

=====================================  ======================================================
input                                  outcome
=====================================  ======================================================
a query nested 40-500 levels deep      "query nested too deeply" / "query too long" (it used
(parentheses, NOT)                     to be RecursionError reported as "index damaged")
``cite ²``, ``cite ٣``, 400 digits     "not a hit number" / "not a time" / "hit … is not in
                                       the last search"
ARCHIVE_LOCK_TIMEOUT nan, inf, -1, x   "ARCHIVE_LOCK_TIMEOUT must be a number of seconds"
                                       (nan used to wait forever)
bad option values, unknown command,    click's error on one line (not its 4-line usage)
missing argument
=====================================  ======================================================
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.guard import assert_clean, evidence, one_line_error, run


@pytest.fixture(autouse=True)
def _unchanged(base: Path):
    before = evidence(base)
    yield
    assert evidence(base) == before


def rid(base: Path) -> str:
    return next((base / "transcripts").glob("*.json")).stem[:8]


QUERIES = {
    "parens_40": "(" * 40 + "country" + ")" * 40,
    "parens_500": "(" * 500 + "country" + ")" * 500,
    "not_300": "NOT " * 300 + "country",
    "not_in_parens": "country AND " + "(NOT " * 40 + "x" + ")" * 40,
    "tokens_5000": " ".join(["country"] * 5000),
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_deep_or_long_queries(base, name):
    line = one_line_error(run(base, "search", QUERIES[name]), "query", code=2)
    assert "damaged" not in line and "Recursion" not in line


def test_deep_but_allowed_query_works(base):
    r = run(base, "search", "(" * 30 + "country" + ")" * 30)
    assert r.exit_code == 0 and "country" in r.stdout


REFS = {
    "superscript_two": ("²", "not a hit number"),
    "arabic_digit_time": ("{rid}@1-٣", "not a time"),
    "fullwidth_digit": ("{rid}@１-3", "not a time"),
    "digits_400": ("{rid}@" + "9" * 400 + "-" + "9" * 401, "not a time"),
    "minutes_400_digits": ("{rid}@" + "9" * 400 + ":00-1", "not a time"),
    "too_large": ("{rid}@1-99999999", "time too large"),
    "hit_400_digits": ("9" * 400, "is not in the last search"),
    "nan_time": ("{rid}@nan-inf", "not a time"),
}


@pytest.mark.parametrize("name", sorted(REFS))
def test_bad_references(base, name):
    ref, needle = REFS[name]
    one_line_error(run(base, "cite", ref.format(rid=rid(base))), needle, code=2)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "soon", "1e400"])
def test_lock_timeout_must_be_finite(base, tmp_path, value):
    from tests.helpers.evidence import clone
    arch = clone(base, tmp_path / "a")
    one_line_error(run(arch, "reindex", env={"ARCHIVE_LOCK_TIMEOUT": value}),
                   "ARCHIVE_LOCK_TIMEOUT must be a number of seconds", code=2)


OPTIONS = {
    "format": (["export", "{rid}", "--format", "pdf"], "'--format'"),
    "revision": (["show", "{rid}", "--revision", "x"], "'--revision'"),
    "limit": (["search", "x", "--limit", "0"], "'--limit'"),
    "padding": (["cite", "{rid}@1-2", "--padding", "-1"], "'--padding'"),
    "speakers": (["add", "--speakers", "0", "x.ogg"], "'--speakers'"),
    "command": (["frobnicate"], "No such command"),
    "argument": (["show"], "Missing argument"),
    "option": (["list", "--nope"], "No such option"),
    "control_chars": (["export", "{rid}", "--format", "\x1b[31m\nx"], "'--format'"),
}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_bad_option_values_are_one_line(base, name):
    args, needle = OPTIONS[name]
    line = one_line_error(run(base, *[a.format(rid=rid(base)) for a in args]), needle, code=2)
    assert "\x1b" not in line and "--help" in line


def test_output_option_needs_clip(base):
    one_line_error(run(base, "cite", f"{rid(base)}@1-2", "-o", "x.ogg"), "--clip", code=2)


def test_archive_still_verifies(base):
    assert_clean(base)
