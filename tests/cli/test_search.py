"""`archive search` on a real archive (jfk, tiny.en): no hits for a misheard phrase points
to a quote search, which finds it; queries with operators get no such hint."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from archive.cli import main


def run(root, *args: str):
    return CliRunner().invoke(main, ["--archive", str(root), *args])


@pytest.mark.parametrize("query", [['"ask not what your county can do"'],
                                   ["ask", "not", "what", "your", "county", "can", "do"]])
def test_no_hits_for_a_misheard_phrase_suggests_the_quote_search(arch, query):
    r = run(arch, "search", *query)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "no hits"
    line = "archive search --quote 'ask not what your county can do'"
    assert line in r.stderr and r.stderr.count("\n") <= 1
    q = run(arch, "search", "--json", "--quote", "ask not what your county can do")
    assert q.exit_code == 0, q.output
    best = json.loads(q.stdout)[0]
    assert best["text"].lower().startswith("ask not what your country can do")
    assert ["county", "country"] in best["differences"]


@pytest.mark.parametrize("query", ["zebra", "zebra OR giraffe", "=countries", "title:zebra",
                                   "zebr* giraffe", '"zebra giraffe" -country'])
def test_no_hint_for_one_word_or_operators(arch, query):
    r = run(arch, "search", query)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "no hits" and "--quote" not in r.stderr
