"""Transcription figures: speed per file, and word-onset accuracy before and after refinement.

Usage (from the repository root, venv active)::

    python bench/ingest_plain.py ../shared/audio/jfk.flac            # speed and text per file
    python bench/ingest_plain.py --onsets 12                         # onset errors, 12 calls
    python bench/ingest_plain.py --model tiny.en --compute-type float32 FILE

Onset accuracy uses synthetic calls (tests/helpers/synth.py): LibriSpeech utterances joined
with pauses, so the true start and end of every utterance are known. For each utterance the
first word whose middle lies in it (or in the pause half before it) is compared with the true
start, and the last word with the true end, for plain faster-whisper times and for
:func:`archive.speech.refine.refine_words`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive.speech import transcribe as tr  # noqa: E402
from archive.speech.audio import decode  # noqa: E402
from archive.speech.refine import refine_words  # noqa: E402


def _stats(errors: list[float]) -> str:
    e = np.abs(np.asarray(errors))
    return (f"n={len(e)} median={np.median(e):.3f} p95={np.percentile(e, 95):.3f} "
            f"max={e.max():.3f} within 0.1 s={np.mean(e <= 0.1):.0%} "
            f"within 0.2 s={np.mean(e <= 0.2):.0%}")


def _edges(segments, truth) -> list[tuple[float | None, float | None]]:
    words = [w for s in segments for w in s.words]
    out, prev_end = [], 0.0
    for i, u in enumerate(truth):
        nxt = truth[i + 1].start if i + 1 < len(truth) else u.end + 1.0
        lo, hi = u.start - (u.start - prev_end) / 2, u.end + (nxt - u.end) / 2
        inside = [w for w in words if lo <= (w.start + w.end) / 2 <= hi]
        out.append((inside[0].start - u.start if inside else None,
                    inside[-1].end - u.end if inside else None))
        prev_end = u.end
    return out


def files(paths: list[str], model: tr.ResolvedModel, settings: dict) -> None:
    t = time.perf_counter()
    e = tr.load_engine(model, device=settings["device"], compute_type=settings["compute_type"])
    print(f"load {time.perf_counter() - t:.2f} s (includes re-hashing model.bin); "
          f"{e.device} {e.compute_type}, {e.threads} threads")
    for p in paths:
        audio = decode(p)
        t = time.perf_counter()
        r = tr.transcribe(audio, model, **settings)
        dt = time.perf_counter() - t
        words = sum(len(s.words) for s in r.segments)
        flagged = sum(1 for s in r.segments if s.flags)
        print(f"{Path(p).name}: {r.duration:.1f} s audio in {dt:.1f} s (RTF {dt / r.duration:.2f}); "
              f"{len(r.segments)} segments, {words} words, {flagged} flagged, "
              f"gaps re-decoded {r.options['gaps_redecoded']}, "
              f"windows retried {r.options['windows_retried']}, batch {r.options['batch_size']}, "
              f"dropped {r.options['dropped_silent_segments']}; "
              f"language {r.language} ({r.language_probability:.2f})")
        print(f"    {r.text[:160]}")


def onsets(n: int, seed0: int, model: tr.ResolvedModel, settings: dict) -> None:
    from tests.helpers import synth

    if not synth.available():
        sys.exit(f"LibriSpeech folder {synth.LIBRISPEECH} is absent")
    found = {"plain": ([], []), "refined": ([], [])}
    missing = 0
    for seed in range(seed0, seed0 + n):
        call = synth.make_call(seed)
        t = time.perf_counter()
        raw = tr.transcribe(call.audio, model, refine=False, **settings).segments
        t1 = time.perf_counter()
        refined = refine_words(call.audio, raw)
        t2 = time.perf_counter()
        print(f"call {seed}: {call.duration:.1f} s, transcribe {t1 - t:.1f} s, "
              f"refine {1000 * (t2 - t1):.0f} ms", flush=True)
        for label, segs in (("plain", raw), ("refined", refined)):
            for s, e in _edges(segs, call.truth):
                if s is None:
                    missing += label == "plain"
                    continue
                found[label][0].append(s)
                found[label][1].append(e)
    print(f"\nmodel {model.name}; {missing} utterances without any word")
    for label, (starts, ends) in found.items():
        print(f"first-word start error, {label:7s}: {_stats(starts)}; "
              f"signed median {np.median(starts):+.3f}")
    for label, (starts, ends) in found.items():
        print(f"last-word end error,    {label:7s}: {_stats(ends)}; "
              f"signed median {np.median(ends):+.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="audio files to transcribe")
    ap.add_argument("--model", default=None, help="model name or directory (default: base)")
    ap.add_argument("--compute-type", default=None,
                    help="CTranslate2 compute type (default: int8 on the CPU, float16 on a GPU)")
    ap.add_argument("--device", default=None, help="auto, cpu or cuda")
    ap.add_argument("--batch-size", type=int, default=None, help="1: sequential")
    ap.add_argument("--onsets", type=int, default=0, metavar="N",
                    help="measure onset accuracy on N synthetic calls")
    ap.add_argument("--seed", type=int, default=100, help="first call seed (default 100)")
    args = ap.parse_args()
    settings = {"device": args.device, "compute_type": args.compute_type,
                "batch_size": args.batch_size}
    t = time.perf_counter()
    model = tr.resolve_model(args.model)
    print(f"resolve {model.name}: {time.perf_counter() - t:.2f} s (sha256 {model.sha256[:12]}…)")
    if not args.files and not args.onsets:
        args.files = [str(ROOT.parent / "shared" / "audio" / "jfk.flac")]
    if args.files:
        files(args.files, model, settings)
    if args.onsets:
        onsets(args.onsets, args.seed, model, settings)


if __name__ == "__main__":
    main()
