"""Damaged, joined, multi-stream and lying media for ``archive add``, from real speech.

:func:`build` writes every input into one folder and returns ``{name: Input}``. Each input
is made from real recordings (``jfk.flac``; the Russian ``pisets``/``coqui`` notes) with
ffmpeg, or by patching bytes of such files (see :mod:`tests.helpers.lying`). An
:class:`Input` also carries what is known about it: where a joined file's second part begins,
and where its bytes were damaged.
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.hostile import ffmpeg
from tests.helpers.lying import constant_flac, patch_xing_frames, wav_header

#: jfk.flac is cut here for the joined inputs: "…fellow Americans, ask not | what your…"
JFK_CUT = 4.5


@dataclass(frozen=True)
class Input:
    """One built input.

    Attributes:
        path: The file.
        junction: Seconds where a joined file's second part starts (None if not joined).
        damaged: Seconds (in the undamaged file) where bytes were overwritten.
        length: The true length of the audio, in seconds, where it is known.
    """

    path: Path
    junction: float | None = None
    damaged: tuple[float, ...] = ()
    length: float | None = None


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg(), "-loglevel", "error", "-y", *args], check=True)


def _part(src: Path, dest: Path, start: float | None, end: float | None, *codec: str) -> Path:
    cut = (["-ss", str(start)] if start is not None else []) + \
        (["-to", str(end)] if end is not None else [])
    _ff("-i", str(src), *cut, *codec, str(dest))
    return dest


def _join(dest: Path, *parts: Path) -> Path:
    dest.write_bytes(b"".join(p.read_bytes() for p in parts))
    for p in parts:
        p.unlink()
    return dest


def _damage(data: bytes, at: float, n: int, seed: int) -> bytes:
    """``n`` random bytes written over ``data`` at fraction ``at`` of its length."""
    b = bytearray(data)
    rnd = random.Random(seed)
    i = int(len(b) * at)
    b[i:i + n] = bytes(rnd.getrandbits(8) for _ in range(min(n, len(b) - i)))
    return bytes(b)


def _ogg_pages(data: bytes) -> list[tuple[int, int]]:
    out, pos = [], data.find(b"OggS")
    while 0 <= pos < len(data):
        nseg = data[pos + 26]
        end = pos + 27 + nseg + sum(data[pos + 27:pos + 27 + nseg])
        out.append((pos, end))
        pos = end
    return out


def _streams(dest: Path, first: list[str], second: list[str], third: list[str] | None = None,
             codec: str = "libopus") -> Path:
    """A container with two (or three) audio streams made from lavfi/file inputs."""
    args: list[str] = [*first, *second, *(third or [])]
    n = 3 if third else 2
    maps = [x for k in range(n) for x in ("-map", f"{k}:a")]
    _ff(*args, *maps, "-ac", "1", "-c:a", codec, "-t", "11", str(dest))
    return dest


def build(folder: Path, shared: Path) -> dict[str, Input]:
    """Write the inputs into ``folder`` (created); ``shared`` is ../shared/audio."""
    folder.mkdir(parents=True, exist_ok=True)
    jfk = shared / "jfk.flac"
    ru1, ru2 = shared / "real" / "pisets_test_sound_ru.wav", shared / "real" / "coqui_stt_ru.wav"
    d: dict[str, Input] = {}
    tmp = folder / ".parts"
    tmp.mkdir(exist_ok=True)
    p = lambda name: tmp / name  # noqa: E731

    # --- joined with cat: every part must be decoded ------------------------------------------
    opus = ["-c:a", "libopus", "-b:a", "24k"]
    d["cat_opus_mono_stereo"] = Input(_join(
        folder / "cat_opus_mono_stereo.ogg",
        _part(jfk, p("a.ogg"), None, JFK_CUT, "-ac", "1", *opus),
        _part(jfk, p("b.ogg"), JFK_CUT, None, "-ac", "2", *opus)), JFK_CUT)
    d["cat_vorbis_44k_16k"] = Input(_join(
        folder / "cat_vorbis_44k_16k.ogg",
        _part(jfk, p("a.ogg"), None, JFK_CUT, "-ar", "44100", "-ac", "2", "-c:a", "libvorbis"),
        _part(jfk, p("b.ogg"), JFK_CUT, None, "-ar", "16000", "-ac", "1", "-c:a", "libvorbis")),
        JFK_CUT)
    d["cat_opus_three"] = Input(_join(
        folder / "cat_opus_three.ogg",
        _part(jfk, p("a.ogg"), None, 3.0, "-ac", "1", *opus),
        _part(jfk, p("b.ogg"), 3.0, 6.5, "-ac", "2", *opus),
        _part(jfk, p("c.ogg"), 6.5, None, "-ac", "1", "-ar", "16000", *opus)), 6.5)
    d["cat_mp3_44k_22k"] = Input(_join(
        folder / "cat_mp3_44k_22k.mp3",
        _part(jfk, p("a.mp3"), None, JFK_CUT, "-ar", "44100", "-c:a", "libmp3lame"),
        _part(jfk, p("b.mp3"), JFK_CUT, None, "-ar", "22050", "-c:a", "libmp3lame")), JFK_CUT)
    d["cat_mp3_mono_stereo"] = Input(_join(
        folder / "cat_mp3_mono_stereo.mp3",
        _part(jfk, p("a.mp3"), None, JFK_CUT, "-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k"),
        _part(jfk, p("b.mp3"), JFK_CUT, None, "-ac", "2", "-c:a", "libmp3lame", "-b:a", "192k")),
        JFK_CUT)
    d["cat_ru_voice_notes"] = Input(_join(
        folder / "cat_ru_voice_notes.ogg",
        _part(ru1, p("a.ogg"), None, None, "-ac", "1", "-ar", "48000", *opus),
        _part(ru2, p("b.ogg"), None, None, "-ac", "2", "-ar", "16000", *opus)), 3.23)

    # --- damaged bytes: decoded past, the loss reported as a gap ------------------------------
    mp3 = _part(jfk, p("jfk.mp3"), None, None, "-c:a", "libmp3lame", "-b:a", "64k")
    data = mp3.read_bytes()
    (folder / "mp3_damaged_85.mp3").write_bytes(_damage(data, 0.85, 2000, 1))
    d["mp3_damaged_85"] = Input(folder / "mp3_damaged_85.mp3", damaged=(0.85 * 11.0,),
                                length=11.05)
    multi = _damage(_damage(_damage(data, 0.2, 900, 2), 0.5, 900, 3), 0.75, 900, 4)
    (folder / "mp3_damaged_3x.mp3").write_bytes(multi)
    d["mp3_damaged_3x"] = Input(folder / "mp3_damaged_3x.mp3", damaged=(2.2, 5.5, 8.25),
                                length=11.05)
    ogg = _part(jfk, p("jfk.ogg"), None, None, "-ac", "1", *opus).read_bytes()
    pages = _ogg_pages(ogg)
    mid = pages[len(pages) // 2]
    (folder / "ogg_page_damaged.ogg").write_bytes(
        ogg[:mid[0] + 40] + _damage(ogg[mid[0] + 40:mid[1]], 0.0, 400, 5) + ogg[mid[1]:])
    d["ogg_page_damaged"] = Input(folder / "ogg_page_damaged.ogg", length=11.0)
    (folder / "ogg_page_missing.ogg").write_bytes(ogg[:mid[0]] + ogg[mid[1]:])
    d["ogg_page_missing"] = Input(folder / "ogg_page_missing.ogg", length=11.0)
    flac = _part(jfk, p("jfk16.flac"), None, None, "-ar", "16000", "-ac", "1").read_bytes()
    (folder / "flac_damaged.flac").write_bytes(_damage(flac, 0.6, 3000, 6))
    d["flac_damaged"] = Input(folder / "flac_damaged.flac", damaged=(6.6,), length=11.0)
    m4a = _part(jfk, p("jfk.m4a"), None, None, "-c:a", "aac", "-b:a", "48k",
                "-movflags", "+faststart").read_bytes()
    (folder / "m4a_damaged.m4a").write_bytes(_damage(m4a, 0.7, 1500, 7))
    d["m4a_damaged"] = Input(folder / "m4a_damaged.m4a", length=11.0)
    webm = _part(jfk, p("jfk.webm"), None, None, "-ac", "1", *opus).read_bytes()
    (folder / "webm_damaged.webm").write_bytes(_damage(webm, 0.6, 1500, 8))
    d["webm_damaged"] = Input(folder / "webm_damaged.webm", length=11.0)
    wav = _part(jfk, p("jfk.wav"), None, None, "-ar", "16000", "-ac", "1").read_bytes()
    (folder / "wav_damaged.wav").write_bytes(_damage(wav, 0.5, 4000, 9))
    d["wav_damaged"] = Input(folder / "wav_damaged.wav", length=11.0)
    (folder / "mp3_tail_cut.mp3").write_bytes(data[:int(len(data) * 0.93)])
    d["mp3_tail_cut"] = Input(folder / "mp3_tail_cut.mp3", length=11.05)

    # --- containers that lie about their length -----------------------------------------------
    short = _part(jfk, p("short.mp3"), None, 1.5, "-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k")
    d["xing_lie"] = Input(patch_xing_frames(short, folder / "xing_lie.mp3", 2**32 - 1))
    d["xing_double"] = Input(patch_xing_frames(mp3, folder / "xing_double.mp3", factor=2))
    d["flac_24h"] = Input(constant_flac(folder / "flac_24h.flac", 24 * 3600))
    d["flac_unknown_length"] = Input(constant_flac(folder / "flac_unknown_length.flac", 1200,
                                                   announce=0))
    d["flac_announces_10h"] = Input(constant_flac(folder / "flac_announces_10h.flac", 10,
                                                  value=0, announce=10 * 3600 * 48000))
    pcm = wav[44:]
    (folder / "wav_1hz.wav").write_bytes(wav_header(1, data_size=20000) + pcm[:20000])
    d["wav_1hz"] = Input(folder / "wav_1hz.wav")
    (folder / "wav_rate_4ghz.wav").write_bytes(wav_header(0xFFFFFFF0 // 2, data_size=len(pcm))
                                               + pcm)
    d["wav_rate_4ghz"] = Input(folder / "wav_rate_4ghz.wav")
    (folder / "wav_size_lie.wav").write_bytes(wav_header(16000, data_size=0xFFFFFFF0) + pcm)
    d["wav_size_lie"] = Input(folder / "wav_size_lie.wav", length=11.0)
    (folder / "wav_zero_channels.wav").write_bytes(wav_header(16000, channels=0,
                                                              data_size=len(pcm)) + pcm)
    d["wav_zero_channels"] = Input(folder / "wav_zero_channels.wav")
    _ff("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "90", "-c:a", "libopus",
        "-b:a", "8k", str(folder / "silence90.ogg"))
    d["silence90"] = Input(folder / "silence90.ogg", length=90.0)

    # --- several audio streams: the one with speech is transcribed ----------------------------
    sil = ["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono"]
    noise = ["-f", "lavfi", "-i", "anoisesrc=c=pink:r=16000:a=0.05:seed=3"]
    speech = ["-i", str(jfk)]
    d["streams_silent_speech"] = Input(_streams(folder / "streams_silent_speech.mka",
                                                sil, speech))
    d["streams_noise_speech"] = Input(_streams(folder / "streams_noise_speech.mp4", noise,
                                               speech, codec="aac"))
    d["streams_speech_silent"] = Input(_streams(folder / "streams_speech_silent.mka",
                                                speech, sil))
    d["streams_three"] = Input(_streams(folder / "streams_three.mka", sil, noise, speech))
    _ff("-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", *sil, "-i", str(jfk), "-map", "0:v",
        "-map", "1:a", "-map", "2:a", "-t", "11", "-c:v", "mpeg4", "-ac", "1", "-c:a", "aac",
        str(folder / "video_silent_speech.mp4"))
    d["video_silent_speech"] = Input(folder / "video_silent_speech.mp4")

    # --- valid references ----------------------------------------------------------------------
    (folder / "speech.mp3").write_bytes(data)
    d["speech_mp3"] = Input(folder / "speech.mp3", length=11.05)
    for q in tmp.iterdir():
        q.unlink()
    tmp.rmdir()
    return d
