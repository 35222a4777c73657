"""Diarization benchmark: DER, speaker counts and speed.

Prints, for each set: DER with a 0.25 s collar and overlapped speech excluded (the usual
figure), the full DER (no collar, overlap scored), their components (miss, false alarm,
confusion), and whether the number of speakers was right. Sets:

- ``meeting_sample.wav`` (+ .rttm), ``ami_dev00/01.wav`` (+ ami_dev.rttm, scored region
  ami_dev.uem): development material, used for tuning;
- synthetic 2- and 3-speaker calls from LibriSpeech (tests/helpers/synth.py) built from
  :data:`EVAL_SEEDS`, which were NOT used for tuning (tuning used seeds 100-131);
- ``stereo_call.wav``: one party per channel, diarized by channel (must be exact).

Then the time diarization takes (VAD + embeddings + clustering) as a fraction of the time
transcription takes (faster-whisper base, word timestamps, VAD filter) on the same files, and
the share of transcribed words given the right speaker on one synthetic call.

Usage: ``python bench/diarization.py [--calls N] [--no-timing]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from archive.speech import audio, transcribe
from archive.speakers import diarize  # noqa: E402
from tests.helpers import synth  # noqa: E402

SHARED = synth.SHARED_AUDIO
#: Held-out seeds for the synthetic calls (tuning used 100-131).
EVAL_SEEDS = range(1000, 1024)


def call_for(seed: int) -> synth.Call:
    """The benchmark's call for a seed: every third one has 3 speakers, every fourth is
    same-sex (possible here for 2 male or up to 3 female speakers)."""
    return synth.make_call(seed, n_speakers=3 if seed % 3 == 2 else 2,
                           same_sex=True if seed % 4 == 1 else None)


def speech(x: np.ndarray) -> list[tuple[float, float]]:
    return transcribe.speech_regions(x, **diarize.SPEECH_OPTIONS)


def scores(ref, hyp, uem=None) -> tuple[dict, dict]:
    usual = synth.der(ref, hyp, collar=0.25, skip_overlap=True, uem=uem)
    full = synth.der(ref, hyp, collar=0.0, skip_overlap=False, uem=uem)
    return usual, full


def fmt(r: dict) -> str:
    return (f"{100 * r['der']:5.1f}% (miss {100 * r['miss']:4.1f} fa {100 * r['false_alarm']:4.1f}"
            f" conf {100 * r['confusion']:4.1f})")


def row(name: str, n_true: int, n_found: int, usual: dict, full: dict) -> None:
    ok = "ok" if n_true == n_found else "WRONG"
    print(f"  {name:<16} speakers {n_true}/{n_found} {ok:<5}  DER {fmt(usual)}   "
          f"full {fmt(full)}")


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


def bench_dev(first_call_time: list[float]) -> None:
    print("Development recordings (tuned on these):")
    pooled_u, pooled_f = [], []
    for i, (name, x, ref, uem) in enumerate(dev_sets()):
        t = time.perf_counter()
        d = diarize.diarize(x, speech(x))
        if i == 0:
            first_call_time.append(time.perf_counter() - t)
        u, f = scores(ref, d.turns, uem)
        row(name, len({r[2] for r in ref}), len(d.speakers), u, f)
        if name.startswith("ami"):
            pooled_u.append(u)
            pooled_f.append(f)
    if pooled_u:
        print(f"  {'AMI pooled':<16} {'':<21}  DER {fmt(synth.pool(pooled_u))}   "
              f"full {fmt(synth.pool(pooled_f))}")


def bench_calls(n_calls: int) -> None:
    seeds = list(EVAL_SEEDS)[:n_calls]
    print(f"Synthetic calls, held-out seeds {seeds[0]}-{seeds[-1]} (not used for tuning):")
    by_n: dict[int, tuple[list, list, list]] = {}
    for seed in seeds:
        call = call_for(seed)
        d = diarize.diarize(call.audio, speech(call.audio))
        u, f = scores(call.turns(), d.turns)
        n = len(call.speakers)
        acc = by_n.setdefault(n, ([], [], []))
        acc[0].append(u)
        acc[1].append(f)
        acc[2].append(len(d.speakers) == n)
        sexes = "".join(synth.speakers()[s] for s in call.speakers)
        row(f"seed {seed} {sexes}", n, len(d.speakers), u, f)
    all_u = [r for v in by_n.values() for r in v[0]]
    all_f = [r for v in by_n.values() for r in v[1]]
    all_ok = [ok for v in by_n.values() for ok in v[2]]
    for n, (us, fs, oks) in sorted(by_n.items()):
        print(f"  {n}-speaker calls ({len(us)}): DER {fmt(synth.pool(us))}   "
              f"full {fmt(synth.pool(fs))}   count exact {sum(oks)}/{len(oks)}")
    print(f"  all calls ({len(all_u)}):       DER {fmt(synth.pool(all_u))}   "
          f"full {fmt(synth.pool(all_f))}   count exact {sum(all_ok)}/{len(all_ok)} "
          f"({100 * sum(all_ok) / len(all_ok):.0f}%)")


def bench_stereo() -> None:
    path = SHARED / "stereo_call.wav"
    if not path.exists():
        return
    pcm = audio.decode(path, stereo=True)
    regions = [speech(pcm[ch]) for ch in (0, 1)]
    d = diarize.diarize_channels(pcm, regions)
    # Reference: each channel's speech, from first to last word (frame-energy edges).
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
    row("stereo_call", 2, len(d.speakers), u, f)
    print(f"  channel 0 -> S1, channel 1 -> S2: {'exact' if exact else 'NOT EXACT'}")


def bench_timing() -> None:
    print("Time, diarization (VAD + embeddings + clustering) / transcription "
          "(faster-whisper base, word timestamps, VAD filter), warm models:")
    model = transcribe.resolve_model(None)
    t = time.perf_counter()
    transcribe.load_model(model)
    print(f"  (whisper base load {time.perf_counter() - t:.1f} s)")
    files = [(n, x) for n, x, _, _ in dev_sets()[:2]]
    call = call_for(EVAL_SEEDS[0])
    files.append((f"call seed {call.seed}", call.audio))
    ratios = []
    result = None
    for name, x in files:
        t = time.perf_counter()
        res = transcribe.transcribe(x, model)
        t_asr = time.perf_counter() - t
        t = time.perf_counter()
        d = diarize.diarize(x, speech(x))
        t_dia = time.perf_counter() - t
        ratios.append(t_dia / t_asr)
        print(f"  {name:<16} {len(x) / 16000:5.1f} s audio: transcription {t_asr:5.1f} s, "
              f"diarization {t_dia:4.1f} s, fraction {t_dia / t_asr:.3f}")
        if name.startswith("call"):
            result = (res, d)
    print(f"  overall fraction {np.mean(ratios):.3f} (target <= 0.25)")
    if result is not None:
        res, d = result
        segs = diarize.assign_speakers(res.segments, d)
        mapping = synth.der(call.turns(), d.turns)["mapping"]
        right = total = 0
        for w in (w for s in segs for w in s.words):
            mid = (w.start + w.end) / 2
            truth = [u.speaker for u in call.truth if u.start - 0.1 <= mid <= u.end + 0.1]
            if len(truth) == 1:
                total += 1
                right += mapping.get(truth[0]) == w.speaker
        print(f"  words given the right speaker on call seed {call.seed}: {right}/{total} "
              f"({100 * right / max(total, 1):.1f}%), {len(segs)} segments after splitting")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=len(EVAL_SEEDS), help="synthetic calls")
    ap.add_argument("--no-timing", action="store_true", help="skip the transcription timing")
    args = ap.parse_args()
    first: list[float] = []
    bench_dev(first)
    if first:
        print(f"  (first diarization in the process, incl. torch import and encoder load: "
              f"{first[0]:.1f} s)")
    if synth.available():
        bench_calls(args.calls)
    bench_stereo()
    if not args.no_timing:
        bench_timing()


if __name__ == "__main__":
    main()
