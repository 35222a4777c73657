"""Words made comparable: normalisation across scripts, number words, the phonetic key."""

from __future__ import annotations

from archive.search.wording import normalize, phonetic_key


def test_normalize_case_punctuation_apostrophes_numbers():
    assert normalize("Ask NOT — what your country can do for you!") == [
        "ask", "not", "what", "your", "country", "can", "do", "for", "you"]
    assert normalize("“Let’s go,” he said; ‘don't’") == ["let's", "go", "he", "said", "don't"]
    assert normalize("1,000,000 people; 3,5 % and 2.75") == ["1000000", "people", "3.5", "and",
                                                             "2.75"]
    assert normalize("twenty-five men, one hundred and three women") == ["25", "men", "103",
                                                                         "women"]
    assert normalize("...") == []


def test_normalize_unicode_scripts():
    assert normalize("Die Straße GEHÖRT uns!") == ["die", "strasse", "gehört", "uns"]
    assert normalize("«Ёлка», — сказа́л он.") == ["елка", "сказал", "он"]
    # Ukrainian apostrophe in its three common spellings.
    assert normalize("п'ять") == normalize("п’ять") == normalize("пʼять") == ["п'ять"]
    assert normalize("Ｆｕｌｌｗｉｄｔｈ １２") == ["fullwidth", "12"]


def test_phonetic_key_folds_misheard_pairs():
    assert phonetic_key("traitors") == phonetic_key("traders")
    assert phonetic_key("strasse") == phonetic_key("straße".casefold())
    assert phonetic_key("пять") == phonetic_key("piat")
    assert phonetic_key("cowards") != phonetic_key("weaklings")
