"""Big graphs: ``tr.check()`` and the HTML page on deep MLPs, a picture of a flat one.

    python bench/scale.py           # ~1-2 minutes
    python bench/scale.py --quick   # a quarter of the sizes, no targets

Rows:
- ``tr.check()`` (every diagnosis, the per-op gradient check included) on a 4,000-node MLP
  (10 blocks of 100 Linear+Tanh layers of width 8: 2,000 ops and 2,000 parameters), median of
  3; target <= 1 s;
- the HTML page of a 20,000-op MLP (10 blocks of 1,000 layers), traced with arrays kept and
  written with its check, as ``gradviz render deep.py --format html`` does; target <= 60 s;
- the SVG picture of a flat ``nn.Sequential`` of 20,000 ops (10,000 Linear+Tanh pairs, no
  nesting to collapse): runs of identical children fold into one box; target <= 60 s.

Prints the machine (cores, layout program) with the figures. Exit status 1 when a row misses
its target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import deep_mlp, print_results

import gradviz
from gradviz import nn
from gradviz.viz.draw.layout import layout_program
from gradviz.viz.trace import write_page

CHECK_TARGET = 1.0
PAGE_TARGET = 60.0
FLAT_TARGET = 60.0


def traced_step(model, optimizer, x, arrays: bool = False) -> gradviz.Trace:
    with gradviz.trace(arrays=arrays) as tr:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    return tr


def check_row(layers: int, repeat: int) -> tuple[str, str, float]:
    tr = traced_step(*deep_mlp(10, layers))
    nodes = tr.graph.number_of_nodes()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        report = tr.check()
        times.append(time.perf_counter() - start)
    detail = f"{nodes:,} nodes, {len(report.gradchecks):,} op calls gradient-checked"
    return f"tr.check(), MLP 10 x {layers} Linear+Tanh", detail, statistics.median(times)


def page_row(layers: int, folder: Path) -> tuple[str, str, float]:
    start = time.perf_counter()
    tr = traced_step(*deep_mlp(10, layers), arrays=True)
    traced = time.perf_counter() - start
    start = time.perf_counter()
    page = write_page(tr, folder / "deep.html")
    seconds = time.perf_counter() - start
    ops = sum(1 for _, a in tr.graph.nodes(data=True) if a.get("kind") == "op")
    detail = (
        f"{ops:,} ops traced in {traced:.1f} s; {page.variants} pictures, {page.size / 1e6:.1f} MB"
    )
    return f"HTML page, MLP 10 x {layers} Linear+Tanh", detail, seconds


def flat_row(pairs: int, folder: Path) -> tuple[str, str, float]:
    gradviz.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(pairs) for m in (nn.Linear(8, 8), nn.Tanh())])
    x = gradviz.ones(4, 8)
    with gradviz.trace() as tr:
        model(x).sum().backward()
    start = time.perf_counter()
    result = tr.render("backward", folder / "flat.svg")
    seconds = time.perf_counter() - start
    detail = f"{2 * pairs:,} ops; {result.nodes:,} boxes drawn"
    return f"SVG, flat Sequential of {pairs:,} Linear+Tanh", detail, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the sizes")
    args = parser.parse_args(argv)
    scale = 4 if args.quick else 1
    name, _path, version = layout_program()
    print(
        f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; "
        f"layout program: {name} {version}\n"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for (label, detail, seconds), target in (
            (check_row(100 // scale, 3), CHECK_TARGET),
            (page_row(1000 // scale, folder), PAGE_TARGET),
            (flat_row(10_000 // scale, folder), FLAT_TARGET),
        ):
            ok = args.quick or seconds <= target
            rows.append((label, detail, f"{seconds:.2f} s", f"<= {target:.0f} s", ok))
    return print_results(("workload", "detail", "time", "target"), rows)


if __name__ == "__main__":
    sys.exit(main())
