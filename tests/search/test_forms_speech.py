"""Word forms and names across alphabets on real speech and on the project's samples.

Real Russian and German recordings nobody here made (``../shared/audio/real``) and the new
Russian samples are transcribed once with the default model; each assertion looks the spoken
word up in the archive's own transcript (the model's spelling), then asks for it in another
form or another alphabet and checks the hit lands on that word, at its offset.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from archive.errors import IndexOutdated
from archive.text import normalize

from ..conftest import ROOT, shared

SAMPLES = ROOT / "audio_samples"
COMMANDER_RU = "audio_2022-03-15_08-12-40.ogg"
SOURCE_RU = "audio_2022-03-16_19-41-05.ogg"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def arch(tmp_path_factory):
    from archive.ingest.pipeline import AddOptions
    from archive.library import Archive
    a = Archive.init(tmp_path_factory.mktemp("forms") / "arch")
    for p in (shared("real/pisets_stereo_sound.wav"), shared("real/fleurs-de-003.ogg"),
              SAMPLES / COMMANDER_RU, SAMPLES / SOURCE_RU):
        a.add(p, AddOptions(diarize=False))
    return a


def _spoken(a, filename: str, lemma_test) -> tuple[str, str, float]:
    """(recording id, word as the model wrote it, its start) of the first word passing a test."""
    rec = next(r for r in a.recordings() if r.filename == filename)
    for w in a.transcript(rec.id).words:
        if lemma_test(normalize(w.text)):
            return rec.id, w.text, w.start
    pytest.fail(f"the model did not write the expected word in {filename}")


def _lands(hits, rid: str, start: float, how: str) -> None:
    assert any(h.recording_id == rid and abs(h.start - start) < 0.01 and h.match == how
               for h in hits), [(h.text, h.start, h.match) for h in hits]


@pytest.mark.parametrize("filename, spoken, query", [
    ("pisets_stereo_sound.wav", "предмету", "предметами"),    # real Russian
    ("pisets_stereo_sound.wav", "годы", "году"),
    ("fleurs-de-003.ogg", "männer", "Mann"),                  # real German
    ("fleurs-de-003.ogg", "frauen", "Frau"),
    (COMMANDER_RU, "предатели", "предателями"),                # the commander's note
    (COMMANDER_RU, "именами", "имя"),
])
def test_inflected_query_finds_the_spoken_form_at_its_offset(arch, filename, spoken, query):
    rid, word, start = _spoken(arch, filename, lambda n: n == spoken)
    hits = arch.search(query)
    _lands(hits, rid, start, "form")
    assert not arch.search("=" + query) or all(
        normalize(h.text) == normalize(query) for h in arch.search("=" + query))


def test_exact_form_search_finds_only_the_exact_form(arch):
    rid, _, start = _spoken(arch, COMMANDER_RU, lambda n: n == "предатели")
    exact = arch.search("=предатели")
    assert exact and all(normalize(h.text) == "предатели" and h.match == "exact" for h in exact)
    assert arch.search("=предателями") == []
    assert arch.search("=предатель") == []
    # a bare word ranks its exact form first
    assert arch.search("предатели")[0].match == "exact"


def test_phrase_in_other_forms_matches_word_by_word(arch):
    rid, _, start = _spoken(arch, COMMANDER_RU, lambda n: n == "называть")
    hits = arch.search('"называть вещь своим именем"')
    _lands(hits, rid, start, "form")
    assert "именами" in hits[0].text
    assert arch.search('="называть вещь своим именем"') == []


@pytest.mark.parametrize("query, lemma", [
    ("Navalny", "навального"), ("Navalnyi", "навального"), ("Naval'nyy", "навального"),
    ("Kharkiv", "харьков"), ("Kharkov", "харьков"), ("Zelensky", "зеленский"),
    ("Zelenskyy", "зеленский"), ("Zelenskiy", "зеленский"), ("Odesa", "одессе"),
])
def test_latin_name_finds_the_cyrillic_word(arch, query, lemma):
    rid, _, start = _spoken(arch, SOURCE_RU, lambda n: n == lemma)
    _lands(arch.search(query), rid, start, "transliteration")
    assert arch.search("=" + query) == []


def test_quote_in_other_forms_lists_the_spoken_words(arch):
    hits = arch.quote("Давайте называть вещь своим именем")
    assert hits, "quote not found"
    spoken = [w for _, w in hits[0].differences]
    assert "вещи" in spoken and "именами" in spoken


def test_cli_marks_how_a_hit_matched_and_documents_exact_forms(arch):
    from archive.cli import main
    r = CliRunner().invoke(main, ["--archive", str(arch.root), "search", "Navalny"])
    assert r.exit_code == 0, r.output
    assert "Навального" in r.output and "[transliteration]" in r.output
    r = CliRunner().invoke(main, ["--archive", str(arch.root), "search", "--help"])
    assert "=трусы" in r.output


def test_an_index_of_the_old_format_is_detected(arch, tmp_path):
    import shutil
    from archive.cli import main
    from archive.library import Archive
    from archive.search.index import Index
    root = tmp_path / "old"
    shutil.copytree(arch.root, root)
    (root / "index" / "ARCHIVE_INDEX").write_text("archive-index 2\n")
    with pytest.raises(IndexOutdated, match="reindex"):
        Index(root / "index")
    r = CliRunner().invoke(main, ["--archive", str(root), "search", "предателями"])
    assert r.exit_code != 0 and "archive reindex" in r.output
    Archive(root).reindex()
    assert Archive(root).search("предателями")
