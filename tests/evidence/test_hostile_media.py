"""Hostile media and hostile input paths for ``archive add`` (issue 11), by class.

Every case runs the real CLI in-process with the real model on inputs built from real speech
(tests/helpers/hostile_media.py), and checks the one-line error or the defined behaviour, the
exit code, a clean ``verify``, and that the inputs and the originals already archived are
byte-for-byte unchanged.

==========================  ==========  ==========================================================
class / input               outcome     defined behaviour
==========================  ==========  ==========================================================
joined with ``cat``         accepted    every part decoded: chained Ogg (Opus mono+stereo, Vorbis
(Ogg Opus/Vorbis, MP3,                  44.1k+16k, three links, two Russian voice notes), MP3
rate or layout change)                  44.1k+22k and mono 32k+stereo 192k; no gap
damaged bytes (MP3 ×1/×3,   accepted    decoded past the damage; each loss reported as a gap near
Ogg page, lost page, FLAC,              the damaged time (in the transcript's recording, and on
M4A, WebM, cut MP3 tail)                ``add``'s line) and kept as silence: later times unshifted
damaged WAV bytes, RIFF     accepted    PCM has no frames to lose: decoded as is, no gap
size lie
lying containers            refused     "announces 31165.3 h … more than the maximum"
(Xing 2³²−1 frames, 24 h                (quick: the claim of a FLAC/Ogg/MP4/Xing header is
FLAC, ×2 Xing, 10 h FLAC                checked before decoding), "truncated or damaged: it
holding 10 s, 1 Hz and 2 GHz            announces …", "a sample rate of 1 Hz is not speech
WAV, 0-channel WAV)                     audio", "longer than the maximum" (checked while
                                        decoding, where no header tells: unknown-length FLAC, WAV)
``--max-duration``          refused     one line, exit 2, for 0, -1, nan, inf, 1e999h, 12x, abc
a batch with lying files    partly      each bad file one line, the good one added, exit 1
several audio streams       accepted    the stream with the most speech (VAD) is transcribed and
                                        recorded (``audio_stream``; speech per stream in options)
an archive given to add     refused     "is an archive folder" / "is inside the archive at …":
(itself, another, its                   quarantine/, clips/, originals/, links into them; while
quarantine/clips/originals,             walking a folder an archive is never entered (one line)
a link to it, nested)
a stray archive.json        accepted    a folder with only the marker name is not an archive
damaged copy at the         accepted    hashed, replaced by the verified copy (a link too);
destination (flipped,                   a good copy is kept; a folder there: refused
truncated, link, folder)
not enough memory           partly      "not enough memory …" for that file, the batch goes on
==========================  ==========  ==========================================================
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main
from tests.conftest import SHARED, shared
from tests.helpers.evidence import archive_state, clone, snapshot
from tests.helpers.hostile_media import JFK_CUT, Input, build

MODEL = "tiny.en"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Input]:
    shared("jfk.flac")
    shared("real/coqui_stt_ru.wav")
    return build(tmp_path_factory.mktemp("hostile_media") / "in", SHARED)


@pytest.fixture(autouse=True)
def _inputs_untouched(request: pytest.FixtureRequest):
    """The inputs and the reference audio are byte-for-byte the same after each test."""
    folders = [SHARED]
    if "media" in request.fixturenames:
        folders.append(next(iter(request.getfixturevalue("media").values())).path.parent)
    before = [snapshot(f) for f in folders]
    yield
    assert [snapshot(f) for f in folders] == before


def run(arch: Path, *args: str):
    return CliRunner().invoke(main, ["--archive", str(arch), *args])


def originals(arch: Path) -> dict[str, str]:
    return snapshot(arch / "originals")


def clean_afterwards(arch: Path, before: dict[str, str]) -> None:
    """verify finds nothing wrong, and every original there before is byte-identical."""
    from archive.library import Archive
    rep = Archive(arch).verify()
    assert rep.ok, rep.problems
    after = originals(arch)
    assert {k: after.get(k) for k in before} == before


def one_line_error(r, needle: str, code: int = 1) -> None:
    assert r.exit_code == code, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archive: error: "), r.stderr
    assert needle in lines[0], lines[0]


def added_line(r) -> str:
    assert r.exit_code == 0, r.output
    lines = [x for x in r.stdout.splitlines() if x.startswith("added ")]
    assert len(lines) == 1, r.stdout
    return lines[0]


def newest(arch: Path):
    from archive.library import Archive
    a = Archive(arch)
    rec = max(a.recordings(), key=lambda x: x.added)
    return rec, a.transcript(rec.id)


def words(t) -> list[tuple[str, float]]:
    return [(w.text.lower().strip(".,?!"), w.start) for w in t.words]


# ------------------------------------------------------------------ joined files
JOINED = ["cat_opus_mono_stereo", "cat_vorbis_44k_16k", "cat_opus_three", "cat_mp3_44k_22k",
          "cat_mp3_mono_stereo"]


@pytest.mark.parametrize("name", JOINED)
def test_every_part_of_a_joined_file_is_transcribed(media, arch, name):
    before = originals(arch)
    inp = media[name]
    r = run(arch, "add", "-q", "--model", MODEL, "--no-diarize", str(inp.path))
    line = added_line(r)
    assert "; damaged:" not in line, line
    rec, t = newest(arch)
    assert rec.duration == pytest.approx(11.0, abs=0.15) and rec.gaps == ()
    w = words(t)
    assert any(x == "americans" and s < JFK_CUT for x, s in w), w
    assert any(x == "country" and s > inp.junction for x, s in w), w  # the last part
    clean_afterwards(arch, before)


@pytest.mark.slow
def test_two_russian_voice_notes_joined_with_cat(media, arch):
    """Real Russian notes (48 kHz mono Opus, then 16 kHz stereo Opus), default model."""
    import jiwer
    before = originals(arch)
    r = run(arch, "add", "-q", "--no-diarize", str(media["cat_ru_voice_notes"].path))
    assert "ru)" in added_line(r)
    rec, t = newest(arch)
    assert rec.duration == pytest.approx(8.9, abs=0.15)
    first = " ".join(x for x, s in words(t) if s < 3.2)
    second = " ".join(x for x, s in words(t) if s >= 3.2)
    # The small model hears "не иронные" for "нейронные": words, not letters, are checked.
    assert jiwer.wer("нейронные сети это хорошо", first) <= 0.5, first
    assert jiwer.wer("бедняга ребят на его месте должен был быть я", second) <= 0.5, second
    clean_afterwards(arch, before)


# ------------------------------------------------------------------ damaged bytes
DAMAGED = [  # name, number of gaps, where (s, in the undamaged time line; None: anywhere)
    ("mp3_damaged_85", 1, [9.35]),
    ("mp3_damaged_3x", 3, [2.2, 5.5, 8.25]),
    ("ogg_page_damaged", 1, [None]),
    ("ogg_page_missing", 1, [None]),
    ("flac_damaged", 1, [6.6]),
    ("m4a_damaged", 1, [None]),
    ("webm_damaged", 1, [None]),
]


@pytest.mark.parametrize("name,count,where", DAMAGED, ids=[d[0] for d in DAMAGED])
def test_damage_is_decoded_past_and_reported(media, arch, name, count, where):
    before = originals(arch)
    inp = media[name]
    r = run(arch, "add", "-q", "--model", MODEL, "--no-diarize", str(inp.path))
    line = added_line(r)
    assert "; damaged: could not decode " in line, line
    rec, t = newest(arch)
    assert len(rec.gaps) == count, rec.gaps
    for (a, b), at in zip(rec.gaps, where):
        assert 0 <= a < b <= rec.duration + 1.0
        assert b - a < 4.0, rec.gaps  # the loss, not the rest of the file
        if at is not None:
            assert a - 0.5 < at < b + 0.5, (rec.gaps, at)
        assert f"{a:.1f}-{b:.1f} s" in line
    # The lost time is kept as silence: the file keeps its length and its later words their
    # times (the last "country" of jfk.flac ends near 10.5 s).
    assert rec.duration == pytest.approx(inp.length, abs=0.2)
    last = [s for x, s in words(t) if x == "country"]
    if not any(a <= 10.0 and b >= 9.4 for a, b in rec.gaps):  # unless the loss took it
        assert last and last[-1] == pytest.approx(10.0, abs=0.6), (words(t), rec.gaps)
    # The gaps travel with the transcript and the catalog.
    from archive.library import Archive
    assert Archive(arch).transcript(rec.id).recording.gaps == rec.gaps
    clean_afterwards(arch, before)


def test_a_cut_end_is_reported(media, arch):
    """An MP3 cut at 93 %: its Xing frame count tells the end is missing (a small loss is
    accepted, a large one refused as truncated: tests/evidence/test_hostile.py)."""
    before = originals(arch)
    r = run(arch, "add", "-q", "--model", MODEL, "--no-diarize",
            str(media["mp3_tail_cut"].path))
    line = added_line(r)
    rec, t = newest(arch)
    assert rec.duration == pytest.approx(10.27, abs=0.1)
    assert len(rec.gaps) == 1 and rec.gaps[0] == pytest.approx((rec.duration, 11.0), abs=0.06)
    assert f"; damaged: could not decode {rec.duration:.1f}-11.0 s" in line, line
    assert "americans" in [x for x, _ in words(t)]
    clean_afterwards(arch, before)


@pytest.mark.parametrize("name", ["wav_damaged", "wav_size_lie"])
def test_frameless_damage_and_ignored_claims_decode_as_is(media, arch, name):
    before = originals(arch)
    r = run(arch, "add", "-q", "--model", MODEL, "--no-diarize", str(media[name].path))
    assert "; damaged:" not in added_line(r)
    rec, t = newest(arch)
    assert rec.duration == pytest.approx(11.0, abs=0.1) and rec.gaps == ()
    assert "country" in [x for x, _ in words(t)]
    clean_afterwards(arch, before)


# ------------------------------------------------------------------ lying containers
LYING = [  # name, extra add arguments, the error's words
    ("xing_lie", [], "it announces 31165.3 h of audio, more than the maximum of 12.0 h"),
    ("flac_24h", [], "it announces 24.0 h of audio, more than the maximum of 12.0 h"),
    ("xing_double", [], "truncated or damaged: it announces 22.0 s of audio but only 11.0 s"),
    ("flac_announces_10h", [], "truncated or damaged: it announces 36000.0 s"),
    ("wav_1hz", [], "a sample rate of 1 Hz is not speech audio"),
    ("wav_rate_4ghz", [], "a sample rate of 2147483640 Hz is not speech audio"),
    ("wav_zero_channels", [], "wav_zero_channels.wav: "),
    ("flac_unknown_length", ["--max-duration", "10m"], "longer than the maximum of 10.0 min"),
    ("wav_size_lie", ["--max-duration", "5"], "longer than the maximum of 5.0 s"),
    ("silence90", ["--max-duration", "1:00"], "announces 90.0 s of audio, more than the "
                                              "maximum of 60.0 s"),
    ("speech_mp3", ["--max-duration", "0.1m"], "more than the maximum of 6.0 s"),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name,extra,needle", LYING, ids=[x[0] for x in LYING])
def test_lying_or_endless_input_is_refused_at_once(media, arch, name, extra, needle):
    before = archive_state(arch)
    r = run(arch, "add", "-q", "--model", MODEL, *extra, str(media[name].path))
    one_line_error(r, needle)
    assert archive_state(arch) == before
    clean_afterwards(arch, originals(arch))


BAD_LIMITS = ["0", "-1", "nan", "inf", "1e999h", "12x", "abc"]


@pytest.mark.parametrize("value", BAD_LIMITS)
def test_bad_max_duration_is_one_usage_line(media, arch, value):
    before = archive_state(arch)
    r = run(arch, "add", "-q", "--model", MODEL, "--max-duration", value,
            str(media["speech_mp3"].path))
    one_line_error(r, "--max-duration", code=2)
    assert archive_state(arch) == before


def test_a_batch_goes_on_past_lying_files(media, arch, tmp_path: Path):
    d = tmp_path / "leak"
    d.mkdir()
    for name in ("xing_lie", "flac_24h", "wav_1hz", "speech_mp3"):
        shutil.copyfile(media[name].path, d / media[name].path.name)
    before = originals(arch)
    r = run(arch, "add", "-q", "--model", MODEL, "--no-diarize", str(d))
    assert r.exit_code == 1, r.output
    assert "1 added, 0 already archived, 3 failed" in r.stdout
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 3 and all(e.startswith("archive: error: ") for e in errors)
    clean_afterwards(arch, before)


def test_out_of_memory_is_one_line_and_the_batch_goes_on(media, arch, tmp_path, monkeypatch):
    """Memory runs out while one file decodes (made to happen on purpose in the decoder's
    buffer; every other step is real): that file fails with one line, the next is added."""
    from archive.speech import decoding
    d = tmp_path / "leak"
    d.mkdir()
    shutil.copyfile(media["cat_opus_three"].path, d / "a_first.ogg")
    shutil.copyfile(media["speech_mp3"].path, d / "b_second.mp3")
    real = decoding.Sink.write

    def write(self, arr):
        if self.shown == "a_first.ogg":
            raise MemoryError("Unable to allocate 18.0 TiB")
        return real(self, arr)

    monkeypatch.setattr(decoding.Sink, "write", write)
    before = originals(arch)
    r = run(arch, "add", "-q", "--model", MODEL, "--no-diarize", str(d))
    assert r.exit_code == 1 and "1 added, 0 already archived, 1 failed" in r.stdout, r.output
    assert r.stderr.strip().splitlines() == [
        "archive: error: a_first.ogg: not enough memory to decode and transcribe it; nothing "
        "was added"]
    clean_afterwards(arch, before)


# ------------------------------------------------------------------ several audio streams
STREAMS = [("streams_silent_speech", 1), ("streams_noise_speech", 1),
           ("streams_speech_silent", 0), ("streams_three", 2), ("video_silent_speech", 1)]


@pytest.mark.parametrize("name,expected", STREAMS, ids=[s[0] for s in STREAMS])
def test_the_stream_with_speech_is_transcribed(media, arch, name, expected):
    before = originals(arch)
    r = run(arch, "add", "-q", "--model", MODEL, "--no-diarize", str(media[name].path))
    assert "en)" in added_line(r)
    rec, t = newest(arch)
    assert rec.audio_stream == expected
    speech = t.options["speech_seconds_by_stream"]
    assert max(range(len(speech)), key=lambda k: speech[k]) == expected and speech[expected] > 5
    assert {"ask", "country"} <= {x for x, _ in words(t)}
    clean_afterwards(arch, before)


# ------------------------------------------------------------------ archives as input
def _second_archive(tmp_path: Path, arch: Path) -> Path:
    return clone(arch, tmp_path / "other")  # another archive, holding a recording


def _walk_case(kind: str, arch: Path, tmp_path: Path, media) -> tuple[list[Path], str, int]:
    """(paths to add, the error's words, how many files must be added)."""
    rid = next(p for p in (arch / "originals").rglob("*.flac"))
    if kind == "itself":
        return [arch], "is an archive folder", 0
    if kind == "original":
        return [rid], "is inside the archive at", 0
    if kind == "quarantine":
        q = arch / "quarantine" / "removed.mp3"
        shutil.copyfile(media["speech_mp3"].path, q)  # as `rm` leaves it
        return [arch / "quarantine"], "is inside the archive at", 0
    if kind == "clip":
        c = arch / "clips" / "clip.ogg"
        shutil.copyfile(media["cat_opus_three"].path, c)
        return [c], "is inside the archive at", 0
    if kind == "other_archive":
        return [_second_archive(tmp_path, arch)], "is an archive folder", 0
    if kind == "link_to_archive":
        link = tmp_path / "shortcut"
        os.symlink(arch, link)
        return [link], "is an archive folder", 0
    leak = tmp_path / "leak"
    (leak / "sub").mkdir(parents=True)
    shutil.copyfile(media["cat_opus_three"].path, leak / "sub" / "good.ogg")
    if kind == "link_into_quarantine":
        q = arch / "quarantine" / "removed.mp3"
        shutil.copyfile(media["speech_mp3"].path, q)
        os.symlink(q, leak / "innocent.mp3")
        return [leak], "is inside the archive at", 1
    if kind == "parent":
        shutil.move(str(arch), str(leak / "sub" / "arch"))
        os.symlink(leak / "sub" / "arch", arch)
        return [leak], "is an archive folder", 1
    if kind == "nested_other":
        shutil.move(str(_second_archive(tmp_path, arch)), str(leak / "sub" / "deeper"))
        return [leak], "is an archive folder", 1
    assert kind == "stray_marker"
    (leak / "sub" / "archive.json").write_text("{}", encoding="utf-8")  # an unrelated file
    return [leak], "", 1


WALK = ["itself", "original", "quarantine", "clip", "other_archive", "link_to_archive",
        "link_into_quarantine", "parent", "nested_other", "stray_marker"]


@pytest.mark.parametrize("kind", WALK)
def test_an_archive_is_never_added_as_evidence(media, arch, tmp_path, kind):
    paths, needle, n_added = _walk_case(kind, arch, tmp_path, media)
    before, before_state = originals(arch), archive_state(arch)
    r = run(arch, "add", "-q", "--model", MODEL, "--no-diarize", *map(str, paths))
    if not needle:
        assert r.exit_code == 0 and r.stdout.count("added ") == n_added, r.output
    elif n_added == 0:
        one_line_error(r, needle)
        assert archive_state(arch) == before_state
    else:
        assert r.exit_code == 1 and r.stdout.count("added ") == n_added, r.output
        errors = r.stderr.strip().splitlines()
        assert len(errors) == 1 and needle in errors[0], errors
        assert "good" in r.stdout
    clean_afterwards(arch, before)
    from archive.library import Archive
    assert len(Archive(arch).recordings()) == 1 + n_added


# ------------------------------------------------------------------ a copy in the way
STORE = ["flipped_byte", "truncated", "good_copy", "link", "folder"]


@pytest.mark.parametrize("kind", STORE)
def test_a_damaged_copy_at_the_destination_is_never_kept(media, arch, kind):
    from archive.evidence.fsutil import sha256_path
    from archive.library import Archive
    src = media["speech_mp3"].path
    rid = sha256_path(src)
    dest = arch / "originals" / rid[:2] / f"{rid}.mp3"
    dest.parent.mkdir(exist_ok=True)
    data = src.read_bytes()
    if kind == "flipped_byte":
        dest.write_bytes(data[:5000] + bytes([data[5000] ^ 1]) + data[5001:])
    elif kind == "truncated":
        dest.write_bytes(data[:len(data) // 2])
    elif kind == "good_copy":
        dest.write_bytes(data)
    elif kind == "link":
        os.symlink(src, dest)
    else:
        dest.mkdir()
    before = originals(arch)
    state = archive_state(arch, index_files=False)
    ino = dest.stat().st_ino
    r = run(arch, "add", "-q", "--model", MODEL, "--no-diarize", str(src))
    if kind == "folder":
        one_line_error(r, "is a folder where the original belongs")
        assert archive_state(arch, index_files=False) == state
        return
    added_line(r)
    assert not dest.is_symlink() and dest.read_bytes() == data
    assert (dest.stat().st_ino == ino) == (kind == "good_copy")
    assert not dest.stat().st_mode & 0o222  # read-only
    rep = Archive(arch).verify()
    assert rep.ok, rep.problems
    again = run(arch, "add", "-q", "--model", MODEL, str(src))
    assert again.exit_code == 0 and "already archived" in again.stdout
    assert {k: v for k, v in originals(arch).items() if rid not in k} == \
        {k: v for k, v in before.items() if rid not in k}
