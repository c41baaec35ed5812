"""What the timeline page costs: the size and first paint of a 1,000-step timeline of the medium
MLP in headless Chromium.

    python bench/timeline_page.py                   # 1,000 steps, filled from one traced step
    python bench/timeline_page.py --traced          # 1,000 steps really traced (slower)
    python bench/timeline_page.py --screenshot docs/images/timeline.png   # + the README picture

The medium MLP (784-256-128-10, batch 64, cross-entropy, SGD; bench/common.py) is traced for
one step (``--traced``: every one of ``--steps`` steps, as ``gradviz timeline`` records them);
without ``--traced`` the other steps' rows are that step's scaled by a random walk, so the page
holds exactly as many numbers as a traced run's. The page is written by
``gradviz.viz.trace.write_timeline_page`` and opened from a file:// URL in Debian's
headless Chromium; "painted" is ``performance.now()`` at the first animation frame after the
timeline script finished (navigation start = 0; median of 3 loads); "first paint" is the browser's
``first-contentful-paint``. Targets: <= 5 MB and painted in < 2 s. Exit status 1 on a miss.

``--screenshot PATH`` also writes the README picture: examples/moons.py's timeline (every step
of its full run), the backward view scrubbed to an early step, a weight selected.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import medium_mlp

import gradviz
from gradviz.viz.records.timeline import FIELDS, Timeline
from gradviz.viz.trace import write_timeline_page

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent
MB, SECONDS = 5.0, 2.0


def traced(steps: int) -> gradviz.Trace:
    """The medium MLP trained for ``steps`` steps under ``gradviz.trace()``."""
    model, criterion, optimizer, x, y = medium_mlp()
    with gradviz.trace() as tr:
        for _ in range(steps):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
    return tr


def filled(tr: gradviz.Trace, steps: int) -> Timeline:
    """A ``steps``-step timeline: the traced step, then its rows scaled by a random walk."""
    first = tr.timeline
    rows = first.rows_array()
    rng = np.random.default_rng(0)
    walk = np.exp(np.cumsum(rng.normal(0, 0.05, (steps, len(rows))), axis=0))
    loss = first.loss[0]
    for step in range(2, steps + 1):
        copy = rows.copy()
        for name in FIELDS:
            if not name.endswith(("nan", "inf")):
                copy[name] = rows[name] * walk[step - 1]
        loss *= 0.999
        first.add_rows(step, loss, copy)
    return first


def painted(context, path: Path, loads: int = 3) -> tuple[float, float]:
    """Median (first-contentful-paint, painted) in seconds over ``loads`` loads."""
    paints, done = [], []
    for _ in range(loads):
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_selector("body[data-timeline]")
        frame = page.evaluate(
            "() => new Promise((r) => requestAnimationFrame(() => r(performance.now())))"
        )
        page.wait_for_timeout(100)  # let the paint entry land
        fcp = page.evaluate(
            "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"
        )
        page.close()
        if errors:
            raise RuntimeError(f"page errors: {errors}")
        paints.append((fcp or float("nan")) / 1000)
        done.append(frame / 1000)
    return statistics.median(paints), statistics.median(done)


def screenshot(context, out: Path) -> None:
    """The README picture of examples/moons.py's timeline."""
    from gradviz.viz.capture.policy import EveryKth
    from gradviz.viz.runner import run_script

    tr = run_script(ROOT / "examples" / "moons.py", policy=EveryKth(1))
    weight = next(n for n, a in tr.graph.nodes(data=True) if a.get("name") == "2.weight")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "moons.timeline.html"
        write_timeline_page(tr, path)
        page = context.new_page()
        page.set_viewport_size({"width": 1400, "height": 900})
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-timeline]")
        page.click("#btn-backward")
        page.click(f'svg.view-backward:visible g.node[data-node="{weight}"]')
        page.locator("#tl-slider").evaluate(
            "(el) => { el.value = '40'; el.dispatchEvent(new Event('input')); }"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
        page.close()
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--traced", action="store_true", help="trace every step")
    parser.add_argument("--screenshot", type=Path, metavar="PATH", help="write the picture")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        print(f"bench: {CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    start = time.perf_counter()
    if args.traced:
        tr = traced(args.steps)
        timeline = tr.timeline
    else:
        tr = traced(1)
        timeline = filled(tr, args.steps)
    record_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        path = Path(tmp) / "medium.timeline.html"
        start = time.perf_counter()
        page = write_timeline_page(tr, path, timeline=timeline)
        write_seconds = time.perf_counter() - start
        context = p.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"),
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1280, "height": 800},
        )
        try:
            fcp, done = painted(context, path)
            if args.screenshot:
                screenshot(context, args.screenshot)
        finally:
            context.close()
    size = page.size / 1e6
    how = "traced" if args.traced else "filled from 1 traced step"
    print(
        f"medium MLP 784-256-128-10, {len(timeline.steps):,} steps ({how}), "
        f"{len(timeline.keys)} nodes per step"
    )
    print(f"  recorded in {record_seconds:.1f} s, page written in {write_seconds:.2f} s")
    print(f"  size         {size:.2f} MB   (target <= {MB:g} MB)")
    print(f"  first paint  {fcp:.2f} s")
    print(f"  painted      {done:.2f} s    (target < {SECONDS:g} s; strip drawn, next frame)")
    ok = size <= MB and done < SECONDS
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
