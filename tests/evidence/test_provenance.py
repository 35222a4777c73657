"""Recording dates inferred from messenger file names and container tags."""

import pytest

from archive.evidence.provenance import date_from_filename, date_from_tags, infer_date, parse_user_date


@pytest.mark.parametrize("name,date", [
    ("PTT-20220405-WA0001.opus", "2022-04-05"),
    ("AUD-20211231-WA0042.m4a", "2021-12-31"),
    ("audio_2022-04-01_12-30-45.ogg", "2022-04-01T12:30:45"),
    ("voice_2023-01-02_03-04-05.ogg", "2023-01-02T03:04:05"),
    ("signal-2022-04-01-123045.m4a", "2022-04-01T12:30:45"),
    ("Recording_20220401_123045.m4a", "2022-04-01T12:30:45"),
])
def test_messenger_names(name, date):
    assert date_from_filename(name) == date


@pytest.mark.parametrize("name", ["interview.ogg", "PTT-20221345-WA0001.opus", "1234.mp3",
                                  "audio_2022-13-01_12-30-45.ogg"])
def test_no_date(name):
    assert date_from_filename(name) is None


def test_tags_and_precedence():
    assert date_from_tags({"creation_time": "2021-06-01T10:11:12.000000Z"}) == \
        "2021-06-01T10:11:12"
    assert date_from_tags({"date": "2020"}) == "2020"
    assert date_from_tags({"encoder": "Lavf"}) is None
    assert infer_date("PTT-20220405-WA0001.opus", {"date": "2020"}) == ("2022-04-05", "filename")
    assert infer_date("x.ogg", {"date": "2020-02-03"}) == ("2020-02-03", "tag")


def test_user_dates():
    assert parse_user_date("2022-04-05 13:14") == "2022-04-05T13:14"
    assert parse_user_date("2022-04") == "2022-04"
    with pytest.raises(ValueError):
        parse_user_date("yesterday")
