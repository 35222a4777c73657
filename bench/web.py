"""Web viewer benchmark: a recording page with two hours of transcript (~17,000 words).

Builds (in a temporary folder) an archive holding jfk.flac, then replaces its transcript with
a synthetic one: the real jfk transcript repeated, shifted by the recording's length each time,
until about 17,000 words (a two-hour voice note). Serves it with ``archive serve``'s server
and opens the page in headless Chromium, then prints:

  start       seconds from importing archive.cli to a bound, serving server
  first paint first-contentful-paint of the page (its "Loading…" shell)
  transcript  ms from navigation start until the whole transcript is in the page and painted,
              with the fetch of the JSON twin and the DOM build broken out
  highlight   per-frame cost of the highlight (binary search + class toggles + follow-scroll)
              over 3000 animation frames sweeping the whole two hours at 8x speed:
              mean, p99 and max ms, and the p99/max interval between frames (stutter)
  peer        the same highlight done the naive way (a linear scan of every word each
              frame), in the same page, as a ratio

The machine is shared: run it when it is quiet, and read the ratios before the milliseconds.

    python bench/web.py [--words 17000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SWEEP = """
const done = arguments[arguments.length - 1];
const P = archivePlayer, n = arguments[0], span = arguments[1], naive = arguments[2];
const costs = [], gaps = [];
let k = 0, last = performance.now();
const words = Array.from({length: P.count()}, (_, i) => P.word(i));
function linear(t) { let j = -1; for (let i = 0; i < words.length; i++) if (words[i][0] <= t) j = i; return j; }
function step() {
  const now = performance.now(); gaps.push(now - last); last = now;
  const t = span * k / n;
  const t0 = performance.now();
  if (naive) linear(t);
  P.update(t);
  costs.push(performance.now() - t0);
  if (++k < n) requestAnimationFrame(step); else done({costs, gaps});
}
requestAnimationFrame(step);
"""


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=17000)
    ap.add_argument("--frames", type=int, default=3000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    os.environ.setdefault("ARCHIVE_CACHE_DIR", str(tmp / "cache"))
    os.environ["SE_OFFLINE"] = "true"
    from archive.library import Archive
    jfk = ROOT.parent / "shared" / "audio" / "jfk.flac"
    a = Archive.init(tmp / "arch")
    rec = a.add(jfk)
    path = tmp / "arch" / "transcripts" / f"{rec.id}.json"
    d = json.loads(path.read_text())
    base = d["segments"]
    n_words = sum(len(s["words"]) for s in base)
    reps = max(1, round(args.words / n_words))
    segs = []
    for r in range(reps):
        off = r * rec.duration
        for s in base:
            s2 = dict(s, id=len(segs), start=s["start"] + off, end=s["end"] + off,
                      speaker="S1" if r % 3 else "S2")
            s2["words"] = [dict(w, start=w["start"] + off, end=w["end"] + off,
                                speaker=s2["speaker"]) for w in s["words"]]
            segs.append(s2)
    d["segments"] = segs
    d["speakers"] = d["speakers"] + [dict(d["speakers"][0], label="S2")]
    path.chmod(0o644)
    path.write_text(json.dumps(d))
    total = sum(len(s["words"]) for s in segs)
    span = reps * rec.duration
    print(f"synthetic transcript: {total} words, {len(segs)} segments, {span / 3600:.2f} h")

    t0 = time.perf_counter()
    from archive.web.server import Server
    srv = Server(tmp / "arch")
    srv.start()
    print(f"start       {time.perf_counter() - t0:.3f} s to a serving server (imports included)")

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    for x in ("--headless=new", "--no-sandbox", "--mute-audio", "--window-size=1280,900",
              "--autoplay-policy=no-user-gesture-required"):
        opts.add_argument(x)
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        drv.get(srv.url)
        results = []
        for _ in range(3):
            drv.get(f"{srv.origin}/r/{rec.id}")
            for _ in range(400):
                tm = drv.execute_script("return window.archivePlayer && archivePlayer.timing"
                                        " && archivePlayer.timing.painted && archivePlayer.timing")
                if tm:
                    break
                time.sleep(0.05)
            fcp = drv.execute_script("const e = performance.getEntriesByName("
                                     "'first-contentful-paint')[0]; return e ? e.startTime : null")
            results.append((fcp, tm))
        for fcp, tm in results:
            print(f"first paint {fcp:.0f} ms; transcript painted at {tm['painted']:.0f} ms "
                  f"(JSON fetch+parse {tm['fetch']:.0f} ms, DOM build {tm['render']:.0f} ms, "
                  f"{tm['words']} words)")
        drv.set_script_timeout(300)
        for naive in (False, True):
            r = drv.execute_async_script(SWEEP, args.frames, span, naive)
            c, g = r["costs"], r["gaps"][1:]
            print(f"{'naive' if naive else 'highlight'}   per frame mean "
                  f"{sum(c) / len(c):.3f} ms, p99 {_pct(c, 0.99):.3f} ms, max {max(c):.2f} ms; "
                  f"frame interval p99 {_pct(g, 0.99):.1f} ms, max {max(g):.1f} ms")
            if not naive:
                ours = sum(c) / len(c)
            else:
                print(f"peer        naive linear scan / binary search = "
                      f"{(sum(c) / len(c)) / max(ours, 1e-6):.1f}x per frame")
    finally:
        drv.quit()
        srv.stop()


if __name__ == "__main__":
    main()
