"""What the interactive page costs: its size and how fast it opens in headless Chromium.

    python bench/html_page.py                  # medium MLP, and a ~1,000-op network
    python bench/html_page.py --quick          # the medium MLP only
    python bench/html_page.py --screenshots docs/   # also the README's pictures of moons.py

Rows:
- the medium MLP step (784-256-128-10, batch 64, cross-entropy, SGD), traced with arrays kept
  as ``gradviz render --format html`` does: the HTML's size (target < 2 MB), the time to write
  it, and its first paint in Debian's headless Chromium (``performance`` API
  ``first-contentful-paint``, from navigation start, page opened from a file:// URL; median of
  3 loads; target < 2 s);
- a ~1,000-op network (10 blocks of 50 Linear+Tanh layers) the same way, for scale (no target;
  shows which module depth the page opens at).

``--screenshots DIR`` writes DIR/moons.page.png (the backward view mid-replay, a node
selected), from examples/moons.py, in a 1400x860 window.

Needs /usr/bin/chromium and Python Playwright (``pip install -e '.[test]'``); never downloads a
browser. Exit status 1 when a row misses its target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import deep_mlp, medium_mlp, print_results

import gradviz
from gradviz.viz.draw.layout import layout_program
from gradviz.viz.page.html import write_html
from gradviz.viz.trace import write_page

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parent.parent


def medium_trace() -> gradviz.Trace:
    model, criterion, optimizer, x, y = medium_mlp()
    with gradviz.trace(arrays=True) as tr:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    return tr


def deep_trace(blocks: int = 10, layers: int = 50, width: int = 8) -> gradviz.Trace:
    model, optimizer, x = deep_mlp(blocks, layers, width)
    with gradviz.trace(arrays=True) as tr:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    return tr


def first_paint(context, path: Path, loads: int = 3) -> tuple[float, float]:
    """Median (first-contentful-paint, page script done) in seconds over ``loads`` loads."""
    paints, ready = [], []
    for _ in range(loads):
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_selector("body[data-ready]")
        page.wait_for_timeout(100)  # let the paint entry land
        fcp = page.evaluate(
            "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"
        )
        done = page.evaluate("() => performance.now()")
        page.close()
        if errors:
            raise RuntimeError(f"page errors: {errors}")
        paints.append((fcp or float("nan")) / 1000)
        ready.append(done / 1000)
    return statistics.median(paints), statistics.median(ready)


def screenshots(context, folder: Path) -> list[Path]:
    """README pictures of examples/moons.py's page."""
    from gradviz.viz.runner import run_script

    os.environ.setdefault("GRADVIZ_EXAMPLE_QUICK", "1")
    tr = run_script(ROOT / "examples" / "moons.py", arrays=True)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "moons.html"
        write_html(tr, path)  # findings from the graph alone: a stable picture
        page = context.new_page()
        page.set_viewport_size({"width": 1400, "height": 860})
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready]")
        weight = next(n for n, a in tr.graph.nodes(data=True) if a.get("name") == "2.weight")
        page.click("#btn-backward")
        page.click(f'svg.view-backward:visible g.node[data-node="{weight}"]')
        page.locator("#rp-slider").evaluate(
            "(el, k) => { el.value = String(k); el.dispatchEvent(new Event('input')); }",
            len(tr.steps) // 2,
        )
        out = folder / "moons.page.png"
        page.screenshot(path=str(out))
        page.close()
    return [out]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the medium MLP only")
    parser.add_argument("--screenshots", type=Path, metavar="DIR", help="write README pictures")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        print(f"bench: {CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    name, _path, version = layout_program()
    print(f"layout program: {name} {version}; browser: {CHROMIUM}\n")
    rows = []
    cases = [("medium MLP 784-256-128-10, batch 64", medium_trace, True)]
    if not args.quick:
        cases.append(("~1,000 ops (10 x 50 Linear+Tanh)", deep_trace, False))
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"),
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1280, "height": 800},
        )
        try:
            for label, make, targeted in cases:
                tr = make()
                path = Path(tmp) / "page.html"
                start = time.perf_counter()
                result = write_page(tr, path)
                write_seconds = time.perf_counter() - start
                fcp, ready = first_paint(context, path)
                size_mb = result.size / 1e6
                ops = sum(1 for _, a in tr.graph.nodes(data=True) if a.get("kind") == "op")
                detail = (
                    f"{ops:,} ops, {result.variants} pictures, written in {write_seconds:.2f} s"
                )
                ok = size_mb < 2 and fcp < 2 if targeted else True
                rows.append(
                    (
                        label,
                        detail,
                        f"{size_mb:.2f} MB",
                        f"{fcp:.2f} s",
                        f"{ready:.2f} s",
                        "< 2 MB, < 2 s" if targeted else "-",
                        ok,
                    )
                )
            if args.screenshots:
                for out in screenshots(context, args.screenshots):
                    print(f"wrote {out}")
        finally:
            context.close()

    header = ("page", "detail", "size", "first paint", "script done", "target")
    return print_results(header, rows)


if __name__ == "__main__":
    sys.exit(main())
