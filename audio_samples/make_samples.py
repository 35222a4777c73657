#!/usr/bin/env python3
"""Make the project's own sample voice notes with espeak-ng and ffmpeg.

Usage: python audio_samples/make_samples.py [OUT_DIR [FILE_NAME...]]

Writes messenger-style files: a Telegram voice note (.ogg Opus), a WhatsApp voice note
(.opus), an intercepted phone call in stereo with one party per channel (.m4a AAC), a
German briefing (.mp3), and Telegram voice notes in Russian (the commander's note in its
original language, a source's note full of names) and Ukrainian (.ogg Opus). Needs espeak-ng,
ffmpeg and (for ru/uk) Festival with festvox-ru on PATH. The output is deterministic for a given espeak-ng and ffmpeg version.
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
# The commander's note in its original language, and notes full of names (issue 12: words in
# other grammatical forms, names in either alphabet). espeak-ng's ru and uk voices are not
# understood by the Whisper base model (measured: detected as ja/tr/el/cs, and gibberish even
# with the language forced), so these are spoken by Festival's Russian voice (Debian packages
# festival, festvox-ru); Ukrainian text is respelled for it (і -> и, и -> ы...), which Whisper
# hears as Ukrainian. Rate and pitch are Festival's own.
COMMANDER_RU = [
    ("festival:ru", 0, 0, "Слушайте меня, все."),
    ("festival:ru", 0, 0, "Давайте называть вещи своими именами: слабаки, трусы и предатели."),
    ("festival:ru", 0, 0, "Три дня назад я приказал второму батальону удерживать мост у Чернигова, "
                    "а вы побежали."),
    ("festival:ru", 0, 0, "Кто снова отступит, ответит лично мне."),
    ("festival:ru", 0, 0, "Грузовики уходят в пять утра."),
]
SOURCE_RU = [
    ("festival:ru", 0, 0, "Это снова я. Соратники Навального требуют выдать тело."),
    ("festival:ru", 0, 0, "Колонна прошла через Харьков на север, к Белгороду."),
    ("festival:ru", 0, 0, "Зеленский вчера был в Одессе, сегодня он в Киеве."),
    ("festival:ru", 0, 0, "В Хакасии и в Якутии горят леса, Шойгу молчит."),
]
NOTE_UK = [
    ("festival:uk", 0, 0, "Слухайте уважно. Учора колона вантажівок пройшла через Чернігів."),
    ("festival:uk", 0, 0, "Зеленський провів нараду в Харкові з командирами."),
    ("festival:uk", 0, 0, "Боягузи і зрадники втекли, а захисники Маріуполя тримаються."),
    ("festival:uk", 0, 0, "Передайте документи журналістам у Львові та в Одесі."),
]

SAMPLES = [
    # file name, pieces, gap seconds, ffmpeg codec arguments
    ("audio_2022-03-14_21-07-33.ogg", COMMANDER, 0.7, ["-c:a", "libopus", "-b:a", "24k"]),
    ("PTT-20220405-WA0001.opus", SOURCE, 0.8, ["-c:a", "libopus", "-b:a", "16k"]),
    ("leaked_call.m4a", CALL, 0.5, ["-c:a", "aac", "-b:a", "64k", "-ac", "2"]),
    ("briefing_de.mp3", BRIEFING, 0.8, ["-c:a", "libmp3lame", "-b:a", "48k"]),
    ("audio_2022-03-15_08-12-40.ogg", COMMANDER_RU, 0.7, ["-c:a", "libopus", "-b:a", "24k"]),
    ("audio_2022-03-16_19-41-05.ogg", SOURCE_RU, 0.8, ["-c:a", "libopus", "-b:a", "24k"]),
    ("audio_2022-03-17_07-03-58.ogg", NOTE_UK, 0.8, ["-c:a", "libopus", "-b:a", "24k"]),
]


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


#: Ukrainian letters respelled for Festival's Russian voice.
_UK_FOR_RU = str.maketrans({"и": "ы", "і": "и", "ї": "йи", "є": "йе", "ґ": "г", "И": "Ы",
                            "І": "И", "Ї": "Йи", "Є": "Йе", "'": "ь", "’": "ь"})


def speak(voice: str, wpm: int, pitch: int, text: str, wav: Path) -> None:
    """One piece of speech as a 22.05 kHz mono WAV (espeak-ng, or Festival for ru/uk)."""
    if not voice.startswith("festival:"):
        run(["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(pitch), "-w", str(wav), text])
        return
    src = wav.with_suffix(".txt")
    src.write_text(text.translate(_UK_FOR_RU) if voice.endswith(":uk") else text,
                   encoding="utf-8")
    raw = wav.with_suffix(".festival.wav")
    run(["text2wave", "-eval", "(voice_msu_ru_nsh_clunits)", str(src), "-o", str(raw)])
    run(["ffmpeg", "-y", "-i", str(raw), "-ar", "22050", "-ac", "1", "-c:a", "pcm_s16le",
         str(wav)])


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
        speak(voice, wpm, pitch, text, wav)
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
    only = set(sys.argv[2:])  # optionally, only these file names
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        for name, pieces, gap, codec in SAMPLES:
            if only and name not in only:
                continue
            p = make(name, pieces, gap, codec, out, Path(t))
            print(f"wrote {p} ({p.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
