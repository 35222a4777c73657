"""What a worker gets and sends back, and the checks its answer passes before a commit."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from archive.errors import (ArchiveError, AudioDecodeError, ModelHashMismatch,
                            RemoteResultInvalid)
from archive.ingest.pipeline import AddOptions
from archive.ingest.remote import Job, ModelRef, accept, analyse_bytes, check_model
from archive.speech.model import TINY_EN_SHA256
from tests.conftest import JFK_TEXT, shared
from tests.ingest.conftest import MODEL

TINY = ModelRef(MODEL, TINY_EN_SHA256)


@pytest.fixture(scope="module")
def jfk_job():
    data = shared("jfk.flac").read_bytes()
    job = Job(hashlib.sha256(data).hexdigest(), len(data), "jfk.flac", ".flac",
              AddOptions(model=MODEL, diarize=False), TINY, threads=2)
    return data, job


@pytest.fixture(scope="module")
def answer(jfk_job):
    """A real worker answer: jfk's bytes analysed as a cluster worker would."""
    data, job = jfk_job
    return analyse_bytes(data, job)


def test_a_worker_analyses_the_bytes_it_is_sent(answer, jfk_job):
    _, job = jfk_job
    assert answer["sha256"] == job.rid
    t = answer["transcript"]
    assert "ask not what your country can do for you" in t.text.lower()
    assert JFK_TEXT.split()[-1].strip(".") in t.text
    assert t.recording.id == job.rid and t.model_sha256 == TINY_EN_SHA256


def test_a_good_answer_is_accepted_and_stamped_here(answer, jfk_job):
    _, job = jfk_job
    t, tr = accept(answer, job, 11.0)
    assert tr is None and t.recording.added and t.created == t.recording.added
    assert t.segments == answer["transcript"].segments


def _with_transcript(answer, **changes):
    return {**answer, "transcript": replace(answer["transcript"], **changes)}


def test_answers_that_do_not_fit_are_refused(answer, jfk_job):
    _, job = jfk_job
    t = answer["transcript"]
    late = t.segments[-1]
    w = late.words[-1]
    beyond = replace(late, words=late.words[:-1] + (replace(w, end=t.recording.duration + 1),))
    bad = {
        "other bytes": {**answer, "sha256": "f" * 64},
        "another model": _with_transcript(answer, model_sha256="0" * 64),
        "another recording": _with_transcript(answer, recording=replace(t.recording, size=1)),
        "a word after the end": _with_transcript(answer, segments=t.segments[:-1] + (beyond,)),
        "a negative time": _with_transcript(
            answer, segments=(replace(t.segments[0], start=-0.5),) + t.segments[1:]),
        "no transcript": {**answer, "transcript": t.to_json()},
        "not a dict": [answer],
    }
    for why, res in bad.items():
        with pytest.raises(RemoteResultInvalid, match="nothing was added"):
            accept(res, job, 11.0)
            pytest.fail(why)
    with pytest.raises(RemoteResultInvalid, match="where the file holds"):
        accept(answer, job, 5.0)  # more audio than the staged file announces


def test_a_worker_error_comes_back_under_its_own_class(jfk_job):
    _, job = jfk_job
    with pytest.raises(AudioDecodeError, match="^x.ogg: truncated$"):
        accept({"error": "AudioDecodeError", "message": "x.ogg: truncated"}, job, 11.0)
    with pytest.raises(ArchiveError, match="^odd$") as e:
        accept({"error": "SystemExit", "message": "odd"}, job, 11.0)
    assert type(e.value) is ArchiveError


def test_the_model_hash_is_checked_before_use(jfk_job):
    check_model(TINY)
    with pytest.raises(ModelHashMismatch):
        check_model(ModelRef(MODEL, "0" * 64))
    data, job = jfk_job
    got = analyse_bytes(data, replace(job, model=ModelRef(MODEL, "1" * 64)))
    assert got["error"] == "ModelHashMismatch"
