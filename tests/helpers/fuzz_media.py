"""Byte-level mutation fuzzing of :func:`archive.speech.audio.probe` and ``decode_full``.

Seeds are short cuts of real speech (``jfk.flac``) in every container ``add`` accepts; each
input is a seed with one to four mutations (bit flips, random or constant spans, cuts,
duplicated/deleted/inserted chunks, splices with another seed, "interesting" integers written
into the headers). Every outcome must be decoded audio or an ``ArchiveError``; anything else,
or an input that takes longer than ``--per-input`` seconds, is a failure and is kept.

Run as a program (what the test and ``bench/fuzz_media.py`` do), so that a hang in C code
can be caught from outside: the file ``current`` always names the input being tried::

    python -m tests.helpers.fuzz_media --seconds 60 --work DIR [--seed 1]

It prints one JSON line: inputs tried, outcomes by class, and the failures.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

SEED_FORMATS = [  # extension, ffmpeg output arguments
    (".ogg", ["-c:a", "libopus", "-b:a", "16k"]),
    (".oga", ["-c:a", "libvorbis", "-q:a", "0"]),
    (".mp3", ["-c:a", "libmp3lame", "-b:a", "32k"]),
    (".m4a", ["-c:a", "aac", "-b:a", "32k"]),
    (".flac", ["-ar", "16000"]),
    (".wav", ["-ar", "16000"]),
    (".webm", ["-c:a", "libopus", "-b:a", "16k"]),
    (".mka", ["-c:a", "libvorbis", "-q:a", "0"]),
    (".aac", ["-c:a", "aac", "-b:a", "32k"]),
]
_INTERESTING = [0, 1, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, 16000,
                48000]


def make_seeds(src: Path, folder: Path, seconds: float = 1.5) -> list[Path]:
    """Short cuts of ``src`` in every seed format (written once)."""
    from tests.helpers.hostile import ffmpeg
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for ext, args in SEED_FORMATS:
        p = folder / f"seed{ext}"
        if not p.exists():
            subprocess.run([ffmpeg(), "-loglevel", "error", "-y", "-i", str(src), "-t",
                            str(seconds), "-ac", "1", *args, str(p)], check=True)
        out.append(p)
    return out


def mutate(data: bytes, rnd: random.Random, others: list[bytes]) -> bytes:
    """One to four random mutations of ``data``."""
    b = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        n = len(b)
        if n < 8:
            b += bytes(rnd.getrandbits(8) for _ in range(8))
            continue
        op = rnd.randrange(9)
        i = rnd.randrange(n)
        if op == 0:  # bit flips
            for _ in range(rnd.randint(1, 20)):
                k = rnd.randrange(n)
                b[k] ^= 1 << rnd.randrange(8)
        elif op == 1:  # a random span
            m = rnd.randint(1, 2000)
            b[i:i + m] = bytes(rnd.getrandbits(8) for _ in range(min(m, n - i)))
        elif op == 2:  # a constant span
            m = rnd.randint(1, 4000)
            b[i:i + m] = bytes([rnd.choice((0, 0xFF))]) * min(m, n - i)
        elif op == 3:  # cut
            del b[max(1, i):]
        elif op == 4:  # duplicate a chunk
            m = rnd.randint(1, 8000)
            b[i:i] = b[i:i + m]
        elif op == 5:  # delete a chunk
            del b[i:i + rnd.randint(1, 4000)]
        elif op == 6:  # insert random bytes
            b[i:i] = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 500)))
        elif op == 7:  # splice with another seed
            other = rnd.choice(others)
            j = rnd.randrange(len(other))
            b[i:] = other[j:j + rnd.randint(1, 20000)]
        else:  # an interesting integer in the headers
            k = rnd.randrange(min(n, 4096) - 4)
            size = rnd.choice((1, 2, 4))
            v = rnd.choice(_INTERESTING) & ((1 << (8 * size)) - 1)
            b[k:k + size] = v.to_bytes(size, rnd.choice(("little", "big")))
    return bytes(b)


class _Slow(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001
    raise _Slow()


def fuzz(seeds: list[Path], work: Path, seconds: float, seed: int = 1,
         per_input: float = 20.0) -> dict:
    """Mutate and decode until ``seconds`` have passed; returns the summary."""
    from archive.errors import ArchiveError
    from archive.speech import audio
    rnd = random.Random(seed)
    datas = [p.read_bytes() for p in seeds]
    work.mkdir(parents=True, exist_ok=True)
    current = work / "current"
    outcomes: Counter[str] = Counter()
    failures: list[dict] = []
    decoded_seconds = 0.0
    tried = 0
    signal.signal(signal.SIGALRM, _alarm)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        k = rnd.randrange(len(seeds))
        path = work / f"input{seeds[k].suffix}"
        path.write_bytes(mutate(datas[k], rnd, datas))
        current.write_text(f"{tried} {seeds[k].suffix}\n", encoding="utf-8")
        tried += 1
        t0 = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, per_input)
        try:
            info = audio.probe(path)
            d = audio.decode_full(path, expected=info.duration, stream=0)
            decoded_seconds += d.duration
            outcomes["decoded, with gaps" if d.gaps else "decoded"] += 1
        except ArchiveError as e:
            outcomes[type(e).__name__] += 1
        except _Slow:
            outcomes["FAILED: slow"] += 1
            failures.append(_keep(path, work, len(failures), "slow", time.monotonic() - t0))
        except BaseException as e:  # noqa: BLE001 - the point: nothing else may escape
            if isinstance(e, KeyboardInterrupt):
                raise
            outcomes[f"FAILED: {type(e).__name__}"] += 1
            failures.append(_keep(path, work, len(failures), f"{type(e).__name__}: {e}"[:300],
                                  time.monotonic() - t0))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return {"tried": tried, "seconds": seconds, "outcomes": dict(outcomes),
            "decoded_seconds": round(decoded_seconds, 1), "failures": failures}


def _keep(path: Path, work: Path, n: int, why: str, took: float) -> dict:
    kept = work / f"failure{n}{path.suffix}"
    kept.write_bytes(path.read_bytes())
    return {"input": str(kept), "why": why, "seconds": round(took, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-input", type=float, default=20.0)
    ap.add_argument("--source", type=Path, default=None, help="speech to cut seeds from")
    args = ap.parse_args()
    from tests.conftest import SHARED
    seeds = make_seeds(args.source or SHARED / "jfk.flac", args.work / "seeds")
    print(json.dumps(fuzz(seeds, args.work, args.seconds, args.seed, args.per_input),
                     ensure_ascii=False), flush=True)


if __name__ == "__main__":
    sys.exit(main())
