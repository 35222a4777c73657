"""The batch runner's own arithmetic and choices (the adds themselves: test_jobs, test_cluster)."""

from __future__ import annotations

import pytest

from archive.errors import UsageError
from archive.ingest.batch import Tally, backend_for
from archive.ingest.jobs import ProcessBackend


def test_the_eta_follows_the_rate_of_audio_analysed():
    now = [100.0]
    t = Tally([60.0, 30.0, 0.0, 90.0], clock=lambda: now[0])
    assert t.progress().eta is None and t.progress().files_total == 4
    now[0] = 130.0
    t.finish(60.0, analysed=True)  # 60 s of audio in 30 s of wall time
    t.finish(0.0, analysed=False)  # a bad file: nothing analysed
    p = t.progress()
    assert (p.files_done, p.seconds_done, p.seconds_total) == (2, 60.0, 180.0)
    assert p.eta == pytest.approx(60.0)  # 120 s of audio left at 2 s of audio a second
    t.finish(30.0, analysed=False)  # already archived: done, but says nothing of the rate
    assert t.progress().eta == pytest.approx(45.0)


def test_backends_are_chosen_by_the_options():
    with pytest.raises(UsageError):
        backend_for(0, None)
    with pytest.raises(UsageError, match="do not go together"):
        backend_for(2, "tcp://127.0.0.1:9")
    b = backend_for(3, None)
    assert isinstance(b, ProcessBackend) and b.slots == 3
    b.close()
