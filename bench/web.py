"""Web viewer benchmark: a recording page with two hours of transcript (~17,000 words).

Builds (in a temporary folder) an archive holding jfk.flac, then replaces its transcript with
a synthetic one: the real jfk transcript repeated, shifted by the recording's length each time,
until about 17,000 words (a two-hour voice note). Serves it with ``archive serve``'s server
and opens the page in headless Chromium, then prints:

  start       seconds from importing archive.cli to a bound, serving server
  first paint first-contentful-paint of the page (its "Loading…" shell)
  transcript  ms from navigation start until the whole transcript is in the page and painted,
              with the fetch of the JSON twin and the DOM build broken out
  highlight   per-frame cost of the highlight (binary search + class toggles; following is
              left to an IntersectionObserver) over 600 animation frames of playback at 2x:
              mean, p99 and max ms, and the interval between frames (stutter)
  peer        the same frames with a naive linear scan of every word added, as a ratio
  sweep       600 frames jumping through the whole two hours (a new word, an unbuilt
              stretch and a follow-scroll nearly every frame): the worst case

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
const sweep = arguments[3], from = span * 0.6;
const costs = [], gaps = [];
let k = 0, last = performance.now();
const words = Array.from({length: P.count()}, (_, i) => P.word(i));
function linear(t) { let j = -1; for (let i = 0; i < words.length; i++) if (words[i][0] <= t) j = i; return j; }
function step() {
  const now = performance.now(); gaps.push(now - last); last = now;
  const t = sweep ? span * k / n : from + k * 2 / 60;  // sweep, or playback at 2x
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
    ap.add_argument("--frames", type=int, default=600)
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
                                        " && archivePlayer.timing.painted && "
                                        "archivePlayer.complete() && archivePlayer.timing")
                if tm:
                    break
                time.sleep(0.05)
            fcp = drv.execute_script("const e = performance.getEntriesByName("
                                     "'first-contentful-paint')[0]; return e ? e.startTime : null")
            results.append((fcp, tm))
        for fcp, tm in results:
            print(f"first paint {fcp:.0f} ms; transcript painted at {tm['painted']:.0f} ms "
                  f"(JSON fetch+parse {tm['fetch']:.0f} ms, first view built in "
                  f"{tm['render']:.0f} ms); all {tm['words']} words in the page at "
                  f"{tm.get('complete', float('nan')):.0f} ms")
        drv.set_script_timeout(300)
        for sweep, naive in ((False, False), (False, True), (True, False)):
            drv.execute_script("archivePlayer.audio.pause()")
            r = drv.execute_async_script(SWEEP, args.frames, span, naive, sweep)
            c, g = r["costs"], r["gaps"][1:]
            name = "sweep" if sweep else ("naive" if naive else "highlight")
            print(f"{name:<11} per frame mean {sum(c) / len(c):.3f} ms, p99 "
                  f"{_pct(c, 0.99):.3f} ms, max {max(c):.2f} ms; frame interval p50 "
                  f"{_pct(g, 0.5):.1f} ms, p99 {_pct(g, 0.99):.1f} ms, max {max(g):.1f} ms")
            if not naive and not sweep:
                ours = sum(c) / len(c)
            elif naive:
                print(f"peer        naive linear scan / binary search = "
                      f"{(sum(c) / len(c)) / max(ours, 1e-6):.1f}x per frame")
    finally:
        drv.quit()
        srv.stop()


if __name__ == "__main__":
    main()
