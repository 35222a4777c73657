"""Hostile and unusual inputs for ``archive add``, built from real speech with ffmpeg.

:func:`build` writes every input into one folder and returns ``{name: path}``. Names are the
keys used by ``tests/test_hostile.py``; each input is made from ``jfk.flac`` (real speech) or
synthesised (silence, noise), or is deliberately not audio at all.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import zipfile
from pathlib import Path


def ffmpeg() -> str:
    """An ffmpeg binary: the one on PATH, else imageio-ffmpeg's."""
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg(), "-loglevel", "error", "-y", *args], check=True)


def build(folder: Path, jfk: Path) -> dict[str, Path]:
    """Write the hostile inputs into ``folder`` (created); returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    j = str(jfk)
    f: dict[str, Path] = {}

    def out(name: str) -> Path:
        f[name.split(".")[0]] = folder / name
        return folder / name

    # --- unusual but valid: must be accepted -------------------------------------------------
    _ff("-i", j, "-ar", "8000", "-ac", "1", str(out("rate8k.wav")))
    _ff("-i", j, "-ar", "96000", "-c:a", "flac", str(out("rate96k.flac")))
    _ff("-i", j, "-af", "pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0", "-ar", "48000",
        str(out("six_channels.wav")))
    _ff("-i", j, "-ar", "22050", "-c:a", "libmp3lame", "-b:a", "32k", str(out("mp3_22k.mp3")))
    _ff("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "600", "-c:a", "libopus",
        "-b:a", "16k", str(out("silence10min.ogg")))
    _ff("-f", "lavfi", "-i", "anoisesrc=d=20:c=pink:r=16000:a=0.3:seed=7", str(out("noise.wav")))
    _ff("-i", j, "-c:a", "libopus", "-b:a", "24k", str(out("speech.ogg")))
    _ff("-i", j, "-c:a", "aac", "-b:a", "48k", str(out("speech_m4a.m4a")))

    # --- broken: must be refused -------------------------------------------------------------
    out("empty.ogg").write_bytes(b"")
    out("empty_mp3.mp3").write_bytes(b"")
    mp3 = (folder / "speech_mp3.mp3")
    _ff("-i", j, "-c:a", "libmp3lame", str(mp3))
    out("truncated.mp3").write_bytes(mp3.read_bytes()[:20000])
    mp3.unlink()
    ogg = f["speech"].read_bytes()
    out("truncated_ogg.ogg").write_bytes(ogg[:9000])
    out("ogg_header_only.ogg").write_bytes(ogg[:100])
    out("ogg_cut_midway.ogg").write_bytes(ogg[:len(ogg) * 2 // 3])
    tail = folder / "tail_moov.m4a"
    _ff("-i", j, "-c:a", "aac", str(tail))
    out("truncated_m4a.m4a").write_bytes(tail.read_bytes()[:len(tail.read_bytes()) // 2])
    # An MP4 whose sample-time table claims 2^31 - 1 entries: FFmpeg answers ENOMEM, which
    # PyAV raises as a MemoryError although the machine has memory to spare.
    m4a = bytearray(out("speech_m4a.m4a").read_bytes())
    at = m4a.index(b"stts") + 8  # size, "stts", version and flags, then the entry count
    m4a[at:at + 4] = (0x7FFFFFFF).to_bytes(4, "big")
    out("absurd_table_m4a.m4a").write_bytes(bytes(m4a))
    tail.unlink()
    wav = folder / "full.wav"
    _ff("-i", j, "-ac", "1", "-ar", "16000", str(wav))
    out("truncated_wav.wav").write_bytes(wav.read_bytes()[:44 + 32000])  # header says 11 s
    wav.unlink()
    out("text_as_ogg.ogg").write_text("This is not audio. " * 200, encoding="utf-8")
    out("text_as_mp3.mp3").write_text("ID3? no, just words.\n" * 100, encoding="utf-8")
    out("zeros.wav").write_bytes(bytes(65536))
    rnd = random.Random(1)
    out("random_bytes.wav").write_bytes(bytes(rnd.getrandbits(8) for _ in range(65536)))
    with zipfile.ZipFile(out("zip_as_m4a.m4a"), "w") as z:
        # a fixed time: the header bytes, and so how FFmpeg's MP4 reader fails, never change
        z.writestr(zipfile.ZipInfo("leak.txt", date_time=(2022, 3, 14, 12, 0, 0)),
                   "not audio" * 100)
    _ff("-i", j, "-t", "0.1", str(out("tenth_second.wav")))
    _ff("-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-t", "1", "-an", "-c:v", "mpeg4",
        str(out("video_no_audio.mp4")))
    out("notes.txt").write_text("meeting notes", encoding="utf-8")
    out("no_extension").write_bytes(f["speech"].read_bytes())

    loop_a, loop_b = folder / "loop_a.ogg", folder / "loop_b.ogg"
    os.symlink(loop_b.name, loop_a)
    os.symlink(loop_a.name, loop_b)
    f["symlink_loop"] = loop_a
    dangling = folder / "dangling.ogg"
    os.symlink("does-not-exist.ogg", dangling)
    f["dangling_symlink"] = dangling
    fifo = folder / "fifo.ogg"
    os.mkfifo(fifo)
    f["fifo"] = fifo
    f["missing"] = folder / "missing.ogg"
    return f
