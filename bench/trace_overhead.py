"""What seeing a step costs: a traced training step against an untraced one, and rendering.

    python bench/trace_overhead.py            # ~1 minute
    python bench/trace_overhead.py --quick    # a few seconds per row

Rows:
- the medium MLP (784-256-128-10, batch 64, cross-entropy, SGD): one full step (zero_grad,
  forward, loss, backward, optimizer step) untraced, and the same step inside its own
  ``gradviz.trace()`` (entering and leaving the trace included: what ``gradviz render`` pays).
  Medians over interleaved rounds, single-threaded BLAS. Target: traced <= 2x untraced.
- the gpt step of bench/train_step.py (examples/tiny_gpt.py's model, AdamW: about 60 ops of
  many kinds, attention included), measured the same way, with the MLP's ratio beside it.
  Target: the same, traced <= 2x untraced.
- rendering a traced step of about 1,000 ops (a 500-layer tanh MLP: every op drawn) and of about
  10,000 ops (100 blocks of 50 layers: over the 1,500-op budget, so modules collapse) to SVG,
  forward and backward views, with the layout program ``gradviz doctor`` names. Targets: 5 s and
  20 s for both views together.

Exit status 1 when a row misses its target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import deep_mlp, medium_mlp, per_step, pin_blas_threads, print_results

pin_blas_threads()  # before NumPy is imported, so the ratio measures framework overhead

import models  # noqa: E402
import numpy as np  # noqa: E402

import gradviz  # noqa: E402
from gradviz.viz.draw import layout, render  # noqa: E402


def medium_step() -> Callable[[], None]:
    """One training step of the medium MLP."""
    model, criterion, optimizer, x, y = medium_mlp()

    def step() -> None:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

    return step


def gpt_step() -> Callable[[], None]:
    """One training step of the gpt workload (bench/models.py)."""
    return models.build("gpt", gradviz).step


def traced(step: Callable[[], None]) -> Callable[[], None]:
    """``step`` inside its own trace."""

    def traced_step() -> None:
        with gradviz.trace():
            step()

    return traced_step


def step_times(build: Callable[[], Callable[[], None]], seconds: float) -> tuple[float, float]:
    """Median seconds per step, untraced and traced (two models built alike), over
    interleaved rounds."""
    plain, with_trace = build(), traced(build())
    one = per_step(with_trace, 3)
    repeat = max(3, int(0.25 / max(one, 1e-6)))
    rounds_plain: list[float] = []
    rounds_traced: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(rounds_plain) < 5 or time.perf_counter() < deadline:
        rounds_plain.append(per_step(plain, repeat))
        rounds_traced.append(per_step(with_trace, repeat))
        if len(rounds_plain) >= 200:
            break
    return statistics.median(rounds_plain), statistics.median(rounds_traced)


def deep_trace(blocks: int, layers: int, width: int = 8) -> gradviz.Trace:
    """A traced step of ``blocks`` x ``layers`` (Linear, Tanh) pairs: 2 * blocks * layers ops."""
    model, optimizer, x = deep_mlp(blocks, layers, width)
    with gradviz.trace() as tr:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    return tr


def render_time(tr: gradviz.Trace, folder: Path, repeat: int) -> tuple[float, int, str]:
    """Median seconds to write both views as SVG; the op count; what was drawn."""
    graph = tr.graph  # built once, as gradviz render does
    ops = sum(1 for _, a in graph.nodes(data=True) if a.get("kind") == "op")
    times = []
    drawn = ""
    for _ in range(repeat):
        start = time.perf_counter()
        for view in ("forward", "backward"):
            result = render.write(graph, view, folder / f"{view}.svg")
        times.append(time.perf_counter() - start)
        depth = (
            "all modules expanded" if result.depth is None else f"collapsed to depth {result.depth}"
        )
        drawn = f"{result.nodes:,} nodes drawn, {depth}"
    return statistics.median(times), ops, drawn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (a few seconds)")
    args = parser.parse_args(argv)
    seconds = 2.0 if args.quick else 20.0
    repeat = 1 if args.quick else 3

    name, _path, version = layout.layout_program()
    print(f"layout program: {name} {version}")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, BLAS threads pinned to 1\n")

    rows = []
    ratios = {}
    for label, build in (("medium MLP", medium_step), ("gpt", gpt_step)):
        plain, with_trace = step_times(build, seconds)
        ratios[label] = ratio = with_trace / plain
        # the MLP's target for every step; the gpt row shows the MLP's ratio beside it
        target = "<= 2x" if label != "gpt" else f"<= 2x (MLP {ratios['medium MLP']:.2f}x)"
        rows.append(
            (
                f"{label} step, traced / untraced",
                f"{plain * 1e3:.2f} ms -> {with_trace * 1e3:.2f} ms",
                f"{ratio:.2f}x",
                target,
                ratio <= 2.0,
            )
        )
    with tempfile.TemporaryDirectory() as tmp:
        for label, blocks, layers, target in (
            ("render ~1,000 ops to SVG (2 views)", 10, 50, 5.0),
            ("render ~10,000 ops to SVG (2 views)", 100, 50, 20.0),
        ):
            start = time.perf_counter()
            tr = deep_trace(blocks, layers)
            trace_seconds = time.perf_counter() - start
            seconds_taken, ops, drawn = render_time(tr, Path(tmp), repeat)
            rows.append(
                (
                    label,
                    f"{ops:,} ops traced in {trace_seconds:.2f} s; {drawn}",
                    f"{seconds_taken:.2f} s",
                    f"<= {target:g} s",
                    seconds_taken <= target,
                )
            )

    return print_results(("what", "detail", "measured", "target"), rows)


if __name__ == "__main__":
    sys.exit(main())
