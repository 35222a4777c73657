#!/usr/bin/env python3
"""Re-make the reference transcripts of the project's own samples.

Usage: python transcripts/regenerate.py [SAMPLE_FILE_NAME...]

With file names, only those samples are re-made (e.g. new ones).

Adds every file in audio_samples/ to a temporary archive with the embedded default model
(exactly as `archive add` does) and exports each transcript here as JSON (the stored format,
the source of truth) and TXT. tests/test_samples.py compares fresh transcripts against these.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "audio_samples"


def main() -> int:
    sys.path.insert(0, str(HERE.parent))
    from archive.citing.export import export
    from archive.library import Archive
    with tempfile.TemporaryDirectory() as tmp:
        a = Archive.init(Path(tmp) / "arch")
        only = set(sys.argv[1:])
        for r in a.add_many(sorted(p for p in SAMPLES.iterdir() if p.suffix != ".py"
                                   and (not only or p.name in only))):
            if r.error:
                print(f"error: {r.error}", file=sys.stderr)
                return 1
            t = a.transcript(r.recording.id)
            stem = Path(r.recording.filename).stem
            for fmt in ("json", "txt"):
                (HERE / f"{stem}.{fmt}").write_text(export(t, fmt), encoding="utf-8")
            print(f"{stem}: {t.text[:70]}…")
    return 0


if __name__ == "__main__":
    sys.exit(main())
