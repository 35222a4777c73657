#!/usr/bin/env python3
"""Make the project's own sample voice notes with espeak-ng and ffmpeg.

Usage: python audio_samples/make_samples.py [OUT_DIR]

Writes messenger-style files: a Telegram voice note (.ogg Opus), a WhatsApp voice note
(.opus), an intercepted phone call in stereo with one party per channel (.m4a AAC) and a
German briefing (.mp3). Needs espeak-ng and
ffmpeg on PATH. The output is deterministic for a given espeak-ng and ffmpeg version.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (voice, words-per-minute, pitch, text) pieces; a pause of `gap` seconds follows each.
COMMANDER = [
    ("en-us+m3", 165, 35, "Listen to me, all of you."),
    ("en-us+m3", 170, 35, "Let's call a spade a spade."),
    ("en-us+m3", 175, 40, "You are weaklings, cowards and traitors."),
    ("en-us+m3", 160, 35, "Three days ago I ordered the second battalion to hold the bridge "
                          "at Chernihiv, and you ran."),
    ("en-us+m3", 170, 40, "Anyone who retreats again will answer to me personally."),
    ("en-us+m3", 160, 30, "The trucks leave at five in the morning. Be on them."),
]
SOURCE = [
    ("en-gb+f3", 150, 55, "It's me again. The convoy moved last night, twelve trucks, "
                          "heading north."),
    ("en-gb+f3", 150, 55, "Don't call this number. I will send more on Friday."),
]
CALL = [
    ("en-us+m1", 160, 40, "Did you get the documents I sent you yesterday?"),
    ("en-gb+f4", 160, 60, "Yes, I have them. The figures don't add up."),
    ("en-us+m1", 160, 40, "They were never meant to add up. Delete them after you read them."),
    ("en-gb+f4", 155, 60, "I'm not deleting anything. Who else has seen these payments?"),
    ("en-us+m1", 160, 40, "Only the minister's office. Nobody else."),
]
BRIEFING = [
    ("de", 150, 45, "Die Lieferung kommt am Dienstag nach Hamburg."),
    ("de", 150, 45, "Niemand darf davon erfahren, auch nicht die Presse."),
]

SAMPLES = [
    # file name, pieces, gap seconds, ffmpeg codec arguments
    ("audio_2022-03-14_21-07-33.ogg", COMMANDER, 0.7, ["-c:a", "libopus", "-b:a", "24k"]),
    ("PTT-20220405-WA0001.opus", SOURCE, 0.8, ["-c:a", "libopus", "-b:a", "16k"]),
    ("leaked_call.m4a", CALL, 0.5, ["-c:a", "aac", "-b:a", "64k", "-ac", "2"]),
    ("briefing_de.mp3", BRIEFING, 0.8, ["-c:a", "libmp3lame", "-b:a", "48k"]),
]


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_call(name: str, pieces, gap: float, codec: list[str], out: Path, tmp: Path) -> Path:
    """A call recorded in stereo: the first voice on the left, the other on the right."""
    import array
    import wave
    voices: list[str] = []
    left, right = array.array("h"), array.array("h")
    rate = 22050
    for i, (voice, wpm, pitch, text) in enumerate(pieces):
        wav = tmp / f"{name}-{i}.wav"
        run(["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(pitch), "-w", str(wav), text])
        with wave.open(str(wav)) as w:
            rate = w.getframerate()
            samples = array.array("h", w.readframes(w.getnframes()))
        if voice not in voices:
            voices.append(voice)
        quiet = array.array("h", bytes(2 * len(samples)))
        pause = array.array("h", bytes(2 * int(gap * rate)))
        mine, other = (left, right) if voices.index(voice) == 0 else (right, left)
        mine.extend(samples); other.extend(quiet)
        left.extend(pause); right.extend(pause)
    stereo = array.array("h", bytes(4 * len(left)))
    stereo[0::2], stereo[1::2] = left, right
    wav = tmp / f"{name}-stereo.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(2); w.setsampwidth(2); w.setframerate(rate)
        w.writeframes(stereo.tobytes())
    dest = out / name
    run(["ffmpeg", "-y", "-i", str(wav), "-ar", "44100", *codec, "-map_metadata", "-1",
         "-fflags", "+bitexact", "-flags:a", "+bitexact", str(dest)])
    return dest


def make(name: str, pieces, gap: float, codec: list[str], out: Path, tmp: Path) -> Path:
    if "-ac" in codec:
        return make_call(name, pieces, gap, codec, out, tmp)
    parts = []
    for i, (voice, wpm, pitch, text) in enumerate(pieces):
        wav = tmp / f"{name}-{i}.wav"
        run(["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(pitch), "-w", str(wav), text])
        parts.append(wav)
    lst = tmp / f"{name}.txt"
    silence = tmp / f"{name}-gap.wav"
    run(["ffmpeg", "-y", "-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t", str(gap),
         "-c:a", "pcm_s16le", str(silence)])
    lines = []
    for p in parts:
        lines += [f"file '{p}'", f"file '{silence}'"]
    lst.write_text("\n".join(lines) + "\n")
    dest = out / name
    run(["ffmpeg", "-y", "-f", "concat", "-safe", "0", "-i", str(lst), "-ac", "1",
         "-ar", "48000" if "libopus" in codec else "44100", *codec,
         "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", str(dest)])
    return dest


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        for name, pieces, gap, codec in SAMPLES:
            p = make(name, pieces, gap, codec, out, Path(t))
            print(f"wrote {p} ({p.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
