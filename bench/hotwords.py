#!/usr/bin/env python3
"""Effect of hotwords (the names vocabulary) on recognising names, with the default model.

Synthesises sentences full of names the base model gets wrong (Khakassia, Navalny, Chernihiv,
Zaporizhzhia, Prigozhin...) with espeak-ng in three voices, into a temporary folder, then
transcribes each recording with archive's own transcriber twice: without hotwords and with
the names as hotwords (what `archive add --hotwords` / `archive vocab add` pass). Prints:

* name accuracy: name occurrences recognised exactly (case and punctuation aside);
* WER of the other words, to show the hotwords do not hurt the rest of the text;
* extra names: name occurrences beyond those spoken (the model can echo the hotword list
  into the transcript, a known failure of prompting);
* false names: hotword names that appear in a control recording that contains none;
* recited lists removed: echoes of the hotword list that archive took out of the text
  (:mod:`archive.speech.echo`); "extra names" counts what is left.

Usage: python bench/hotwords.py [--model base] [--voices en-us+m3,en-gb+f3,en-us+f2]
Needs espeak-ng and ffmpeg on PATH.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAMES = ["Khakassia", "Navalny", "Chernihiv", "Zaporizhzhia", "Prigozhin", "Shoigu",
         "Gerasimov", "Kadyrov", "Surovikin", "Mykolaiv", "Bakhmut", "Medvedchuk"]
SENTENCES = [
    "Navalny was moved to a prison colony in Khakassia last winter.",
    "The convoy left Chernihiv at dawn and drove towards Zaporizhzhia.",
    "Prigozhin called Shoigu a coward in front of his men.",
    "Gerasimov and Surovikin did not attend the meeting.",
    "Kadyrov promised to send two more battalions to Bakhmut.",
    "The money went through an account in Mykolaiv that Medvedchuk controlled.",
]
#: Control: ordinary speech with none of the names, to catch names the hotwords invent.
CONTROL = [
    "Listen to me, all of you. The trucks leave at five in the morning.",
    "Did you get the documents I sent you yesterday? The figures don't add up.",
    "I'm not deleting anything. Who else has seen these payments?",
]


def norm(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.casefold().replace("-", "")).split()


def synth(sentences: list[str], voice: str, dest: Path, tmp: Path) -> Path:
    parts = []
    for i, s in enumerate(sentences):
        wav = tmp / f"{dest.stem}-{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "155", "-w", str(wav), s], check=True)
        parts.append(wav)
    gap = tmp / "gap.wav"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "anullsrc=r=22050:cl=mono", "-t", "0.7", str(gap)], check=True)
    lst = tmp / f"{dest.stem}.txt"
    lst.write_text("".join(f"file '{p}'\nfile '{gap}'\n" for p in parts))
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i",
                    str(lst), "-ac", "1", "-ar", "16000", str(dest)], check=True)
    return dest


def score(ref: str, hyp: str) -> tuple[int, int, int, str]:
    """Align hypothesis to reference word by word (jiwer) and count names.

    Returns:
        (names recognised in place, names spoken, name words inserted or put in place of
        other words, the hypothesis without name words, for the WER of the rest).
    """
    import jiwer
    names = {n.casefold() for n in NAMES}
    r, h = norm(ref), norm(hyp)
    out = jiwer.process_words(" ".join(r), " ".join(h) or "<empty>")
    found = extra = 0
    for c in out.alignments[0]:
        if c.type == "equal":
            found += sum(w in names for w in r[c.ref_start_idx:c.ref_end_idx])
        else:
            hyp_names = [w for w in h[c.hyp_start_idx:c.hyp_end_idx] if w in names]
            ref_names = [w for w in r[c.ref_start_idx:c.ref_end_idx] if w in names]
            found += len([w for w in hyp_names if w in ref_names])
            extra += len([w for w in hyp_names if w not in ref_names])
    spoken = sum(w in names for w in r)
    return found, spoken, extra, " ".join(w for w in h if w not in names)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="base")
    ap.add_argument("--voices", default="en-us+m3,en-gb+f3,en-us+f2")
    args = ap.parse_args()
    import jiwer

    from archive.speech import audio, transcribe
    model = transcribe.resolve_model(args.model)
    hot = ", ".join(NAMES)
    names = {n.casefold() for n in NAMES}
    ref_other = " ".join(w for w in norm(" ".join(SENTENCES)) if w not in names)
    totals = {False: [0, 0, [], [], 0], True: [0, 0, [], [], 0]}
    false_names = {False: 0, True: 0}
    echoes = {False: 0, True: 0}
    t0 = time.time()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        for voice in args.voices.split(","):
            rec = synth(SENTENCES, voice, tmp / f"names-{voice}.wav", tmp)
            ctl = synth(CONTROL, voice, tmp / f"control-{voice}.wav", tmp)
            pcm, pcm_ctl = audio.decode(rec), audio.decode(ctl)
            for use in (False, True):
                res = transcribe.transcribe(pcm, model, language="en",
                                            hotwords=hot if use else None)
                found, expected, extra, rest = score(" ".join(SENTENCES), res.text)
                tot = totals[use]
                tot[0] += found
                tot[1] += expected
                tot[4] += extra
                tot[2].append(ref_other)
                tot[3].append(rest)
                missed = [n for n in NAMES if n.casefold() not in norm(res.text)]
                print(f"{voice:10s} hotwords={'on ' if use else 'off'} names {found}/{expected}"
                      f"  missed: {', '.join(missed) or '-'}")
                print(f"{'':10s}   heard: {res.text}")
                for e in res.options.get("hotword_echoes_removed") or []:
                    echoes[use] += 1
                    print(f"{'':10s}   removed as a recited hotword list: {e['text']!r} "
                          f"at {e['start']:.1f} s")
                ctl_words = norm(transcribe.transcribe(pcm_ctl, model, language="en",
                                                       hotwords=hot if use else None).text)
                false_names[use] += sum(w in names for w in ctl_words)
    print()
    print(f"model {model.name}, {len(args.voices.split(','))} voices x {len(NAMES)} names "
          f"({time.time() - t0:.0f} s)")
    for use in (False, True):
        found, expected, refs, hyps, extra = totals[use]
        wer = jiwer.wer(refs, hyps)
        print(f"hotwords {'on ' if use else 'off'}: name accuracy {found}/{expected} = "
              f"{found / expected:.0%}; extra names {extra}; WER of the other words "
              f"{wer:.1%}; false names in control speech {false_names[use]}; "
              f"recited hotword lists removed {echoes[use]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
