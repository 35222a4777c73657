"""Diarization benchmark: DER, speaker counts, silences inside turns, overlap marks, speed.

Prints, for each set: DER with a 0.25 s collar and overlapped speech excluded (the usual
figure), the full DER (no collar, overlap scored), their components (miss, false alarm,
confusion), whether the number of speakers was right, and the longest pause (by the plain
VAD where there is no reference) that a turn covers. Sets:

- real development recordings, which the settings WERE tuned on (they are few):
  ``meeting_sample`` (+ .rttm), ``ami_dev00/01`` (+ ami_dev.rttm, ami_dev.uem), the real
  3-speaker ``real/leopard_diarization_test.wav`` (truth: speaker-tagged words, timed here by
  aligning them to the transcript), and ``jfk`` (one voice);
- synthetic calls from LibriSpeech (tests/helpers/synth.py), each kind with TUNING seeds
  (used while choosing the settings; printed with ``--tuning``) and SCORING seeds (never
  used for tuning; the default): 2- and 3-speaker calls, calls where one more speaker says a
  single 1.5-3 s sentence (``add_cameo``), 4-speaker calls, and far-field meetings of 3-5
  voices with overlapping speech (``make_meeting``);
- ``stereo_call.wav``: one party per channel, diarized by channel (must be exact).

Then: overlap marks on the dev meetings (recall of true overlapped time; precision against
true overlap widened by 0.25 s), whether a second run gives identical output, and the time
diarization takes (VAD + embeddings + clustering, encoder warm) as a fraction of the time
transcription takes (faster-whisper base, word timestamps, VAD filter) on the same files.

Usage: ``python bench/diarization.py [--calls N] [--tuning] [--no-timing]``
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from difflib import SequenceMatcher
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from archive.speech import audio, transcribe  # noqa: E402
from archive.speakers import diarize  # noqa: E402
from tests.helpers import synth  # noqa: E402

SHARED = synth.SHARED_AUDIO
LEOPARD = SHARED / "real" / "leopard_diarization_test.wav"

#: kind -> (tuning seeds, scoring seeds). The old calls were tuned on 100-131.
SEEDS = {
    "calls": (range(100, 132), range(1000, 1024)),
    "cameo": (range(200, 220), range(2000, 2030)),
    "four": (range(300, 316), range(3000, 3030)),
    "meeting": (range(400, 412), range(4000, 4012)),
}


def call_for(seed: int) -> synth.Call:
    """The 2-/3-speaker call for a seed: every third one has 3 speakers, every fourth is
    same-sex (possible here for 2 male or up to 3 female speakers)."""
    return synth.make_call(seed, n_speakers=3 if seed % 3 == 2 else 2,
                           same_sex=True if seed % 4 == 1 else None)


MAKERS = {
    "calls": call_for,
    "cameo": lambda s: synth.add_cameo(synth.make_call(s, n_speakers=2 + s % 2), s),
    "four": lambda s: synth.make_call(s, n_speakers=4),
    "meeting": lambda s: synth.make_meeting(s, n_speakers=3 + s % 3),
}
TITLES = {
    "calls": "2- and 3-speaker calls",
    "cameo": "calls where one speaker says a single 1.5-3 s sentence",
    "four": "4-speaker calls",
    "meeting": "far-field meetings, 3-5 voices, overlapping speech",
}


def speech(x: np.ndarray) -> list[tuple[float, float]]:
    return transcribe.speech_regions(x, **diarize.SPEECH_OPTIONS)


def scores(ref, hyp, uem=None) -> tuple[dict, dict]:
    usual = synth.der(ref, hyp, collar=0.25, skip_overlap=True, uem=uem)
    full = synth.der(ref, hyp, collar=0.0, skip_overlap=False, uem=uem)
    return usual, full


def longest_pause(turns, x: np.ndarray | None = None, ref=None) -> float:
    """The longest stretch inside any turn with no speech, seconds: no reference speech when
    ``ref`` turns are given (exact on the synthetic sets), else none by the plain VAD."""
    regions = sorted((r[0], r[1]) for r in ref) if ref is not None \
        else transcribe.speech_regions(x)
    merged: list[list[float]] = []
    for a, b in regions:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return synth.pause_inside(turns, [tuple(r) for r in merged])


def fmt(r: dict) -> str:
    return (f"{100 * r['der']:5.1f}% (miss {100 * r['miss']:4.1f} fa {100 * r['false_alarm']:4.1f}"
            f" conf {100 * r['confusion']:4.1f})")


def row(name: str, n_true: int, n_found: int, usual: dict, full: dict, pause: float) -> None:
    ok = "ok" if n_true == n_found else "WRONG"
    print(f"  {name:<18} speakers {n_true}/{n_found} {ok:<5}  DER {fmt(usual)}   "
          f"full {fmt(full)}  pause {pause:3.1f}s", flush=True)


def dev_sets() -> list[tuple[str, np.ndarray, list, list | None]]:
    out = []
    if (SHARED / "meeting_sample.wav").exists():
        ref = synth.read_rttm(SHARED / "meeting_sample.rttm")["meeting_sample"]
        out.append(("meeting_sample", audio.decode(SHARED / "meeting_sample.wav"), ref, None))
    if (SHARED / "ami_dev.rttm").exists():
        refs, uems = synth.read_rttm(SHARED / "ami_dev.rttm"), synth.read_uem(SHARED / "ami_dev.uem")
        for name in ("ami_dev00", "ami_dev01"):
            out.append((name, audio.decode(SHARED / f"{name}.wav"), refs[name], uems.get(name)))
    return out


def leopard_truth(x: np.ndarray, model) -> list[tuple[float, float, str]]:
    """Reference turns of the leopard recording: its speaker-tagged words (no times in the
    source) aligned to the transcript's words, which give the times."""
    tags = json.loads(LEOPARD.with_suffix("").with_name(
        LEOPARD.stem + ".speaker_words.json").read_text())["words"]
    words = [w for s in transcribe.transcribe(x, model).segments for w in s.words]

    def norm(t: str) -> str:
        return re.sub(r"[^a-z']", "", t.lower())

    sm = SequenceMatcher(a=[norm(w.text) for w in words], b=[t["word"] for t in tags],
                         autojunk=False)
    turns: list[list] = []
    for blk in sm.get_matching_blocks():
        for i in range(blk.size):
            w, spk = words[blk.a + i], str(tags[blk.b + i]["speaker_tag"])
            if turns and turns[-1][2] == spk and w.start - turns[-1][1] < 1.0:
                turns[-1][1] = w.end
            else:
                turns.append([w.start, w.end, spk])
    return [tuple(t) for t in turns]


def overlap_marks(ref, d) -> tuple[float, float, float]:
    """(true overlapped seconds, recall of them, precision of the marks against the true
    overlap widened by 0.25 s each side)."""
    ov = [(max(a[0], b[0]), min(a[1], b[1])) for i, a in enumerate(ref) for b in ref[i + 1:]
          if a[2] != b[2] and min(a[1], b[1]) > max(a[0], b[0])]
    grid = np.arange(0, max([r[1] for r in ref] + [t.end for t in d.overlaps] + [0]), 0.01)
    truth = np.zeros(len(grid), bool)
    wide = np.zeros(len(grid), bool)
    for a, b in ov:
        truth |= (grid >= a) & (grid < b)
        wide |= (grid >= a - 0.25) & (grid < b + 0.25)
    mark = np.zeros(len(grid), bool)
    for t in d.overlaps:
        mark |= (grid >= t.start) & (grid < t.end)
    return (truth.sum() / 100, (mark & truth).sum() / max(truth.sum(), 1),
            (mark & wide).sum() / max(mark.sum(), 1))


def bench_dev(model) -> None:
    print("Real development recordings (the settings WERE tuned on these):")
    ami = []
    for name, x, ref, uem in dev_sets():
        d = diarize.diarize(x, speech(x))
        u, f = scores(ref, d.turns, uem)
        row(name, len({r[2] for r in ref}), len(d.speakers), u, f, longest_pause(d.turns, ref=ref))
        sec, rec, prec = overlap_marks(ref, d)
        print(f"  {'':<18} overlap marks: {sec:.1f} s overlapped, recall {100 * rec:.0f}%, "
              f"precision {100 * prec:.0f}%")
        if name.startswith("ami"):
            ami.append(u["der"])
    if ami:
        print(f"  {'AMI mean DER':<18} {100 * np.mean(ami):.1f}% (target <= 20%; "
              "meeting_sample target <= 15%)")
    if LEOPARD.exists():
        x = audio.decode(LEOPARD)
        ref = leopard_truth(x, model)
        d = diarize.diarize(x, speech(x))
        u, f = scores(ref, d.turns)
        row("leopard (real)", 3, len(d.speakers), u, f, longest_pause(d.turns, ref=ref))
    if (SHARED / "jfk.flac").exists():
        x = audio.decode(SHARED / "jfk.flac")
        d = diarize.diarize(x, speech(x))
        print(f"  {'jfk':<18} speakers 1/{len(d.speakers)} "
              f"{'ok' if len(d.speakers) == 1 else 'WRONG'}  pause "
              f"{longest_pause(d.turns, x):3.1f}s (plain VAD)")


def bench_synthetic(kind: str, seeds: list[int], which: str) -> None:
    print(f"Synthetic {TITLES[kind]}, {which} seeds {seeds[0]}-{seeds[-1]}:")
    us, fs, oks, pauses = [], [], [], []
    for seed in seeds:
        call = MAKERS[kind](seed)
        d = diarize.diarize(call.audio, speech(call.audio))
        u, f = scores(call.turns(), d.turns)
        n = len(call.speakers)
        us.append(u)
        fs.append(f)
        oks.append(len(d.speakers) == n)
        pauses.append(longest_pause(d.turns, ref=call.turns()))
        sexes = "".join(synth.speakers()[s] for s in call.speakers)
        row(f"seed {seed} {sexes}", n, len(d.speakers), u, f, pauses[-1])
    print(f"  => {len(us)} {kind}: DER {fmt(synth.pool(us))}   full {fmt(synth.pool(fs))}   "
          f"count exact {sum(oks)}/{len(oks)} ({100 * sum(oks) / len(oks):.0f}%)   "
          f"longest pause in a turn {max(pauses):.1f} s")


def bench_stereo() -> None:
    path = SHARED / "stereo_call.wav"
    if not path.exists():
        return
    pcm = audio.decode(path, stereo=True)
    regions = [speech(pcm[ch]) for ch in (0, 1)]
    d = diarize.diarize_channels(pcm, regions)
    ref = []
    for ch in (0, 1):
        a, b = synth.trim_silence(pcm[ch])
        ref.append((a / synth.SAMPLE_RATE, b / synth.SAMPLE_RATE, f"ch{ch}"))
    # Both parties talk at once here, so overlap is scored (the output has it too).
    u = synth.der(ref, d.turns, collar=0.25, skip_overlap=False)
    f = synth.der(ref, d.turns, collar=0.0, skip_overlap=False)
    exact = (audio.is_distinct_stereo(pcm) and set(d.speakers) == {"S1", "S2"}
             and u["mapping"] == {"ch0": "S1", "ch1": "S2"} and u["confusion"] == 0)
    print("Stereo call (one party per channel; overlap scored):")
    row("stereo_call", 2, len(d.speakers), u, f, 0.0)
    print(f"  channel 0 -> S1, channel 1 -> S2: {'exact' if exact else 'NOT EXACT'}")


def bench_repeat() -> None:
    x = synth.make_call(SEEDS["cameo"][1][0]).audio if synth.available() else None
    if x is None:
        return
    a, b = (diarize.diarize(x, speech(x)) for _ in range(2))
    same = (a == b and a.frames is not None and b.frames is not None
            and np.array_equal(a.frames.posterior, b.frames.posterior))
    print(f"Same input twice: {'identical' if same else 'DIFFERENT'} turns, voiceprints, "
          "overlaps and frame posteriors")


def bench_timing(model) -> None:
    print("Time, diarization (VAD + embeddings + clustering, encoder warm) / transcription "
          "(faster-whisper base, word timestamps, VAD filter), warm models:")
    files = [(n, x) for n, x, _, _ in dev_sets()[:2]]
    if synth.available():
        call = call_for(SEEDS["calls"][1][0])
        files.append((f"call seed {call.seed}", call.audio))
    ratios = []
    for name, x in files:
        t = time.perf_counter()
        res = transcribe.transcribe(x, model)
        t_asr = time.perf_counter() - t
        t = time.perf_counter()
        d = diarize.diarize(x, speech(x))
        t_dia = time.perf_counter() - t
        ratios.append(t_dia / t_asr)
        segs = diarize.assign_speakers(res.segments, d)
        unsure = sum(w.speaker_uncertain for s in segs for w in s.words)
        print(f"  {name:<16} {len(x) / 16000:5.1f} s audio: transcription {t_asr:5.1f} s, "
              f"diarization {t_dia:4.1f} s, fraction {t_dia / t_asr:.3f}; "
              f"{unsure} of {sum(len(s.words) for s in segs)} words' speakers uncertain")
    print(f"  overall fraction {np.mean(ratios):.3f} (target <= 0.15)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=None, help="synthetic recordings per kind")
    ap.add_argument("--tuning", action="store_true",
                    help="run the tuning seeds instead of the scoring seeds")
    ap.add_argument("--kinds", default=",".join(SEEDS), help="synthetic kinds to run")
    ap.add_argument("--no-timing", action="store_true", help="skip the transcription timing")
    args = ap.parse_args()
    model = transcribe.resolve_model(None)
    transcribe.load_model(model)
    t = time.perf_counter()
    x = audio.decode(SHARED / "jfk.flac") if (SHARED / "jfk.flac").exists() else None
    if x is not None:
        diarize.diarize(x, speech(x))  # loads the encoder
        print(f"(first diarization in the process, incl. encoder load: "
              f"{time.perf_counter() - t:.1f} s)")
    bench_dev(model)
    if synth.available():
        for kind in args.kinds.split(","):
            seeds = list(SEEDS[kind][0 if args.tuning else 1])[:args.calls]
            bench_synthetic(kind, seeds, "TUNING" if args.tuning else "scoring (held-out)")
        bench_repeat()
    bench_stereo()
    if not args.no_timing:
        bench_timing(model)


if __name__ == "__main__":
    main()
