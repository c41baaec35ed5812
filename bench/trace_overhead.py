"""What seeing steps costs: traced training steps against untraced ones, memory, and rendering.

    python bench/trace_overhead.py            # ~2 minutes
    python bench/trace_overhead.py --quick    # a few seconds per row

Rows:
- the medium MLP (784-256-128-10, batch 64, cross-entropy, SGD): one full step (zero_grad,
  forward, loss, backward, optimizer step) untraced against the same step
  - recorded in ``summary`` detail under one ``gradviz.trace(detail="summary")`` around many
    steps (the timeline's rows, full passes of the last 2 steps): target <= 1.25x;
  - in ``full`` detail inside its own ``gradviz.trace()`` (entering and leaving the trace
    included: what ``gradviz render`` pays): target <= 1.5x;
  - in ``full`` detail under one ``gradviz.trace()`` around many steps (every pass kept; shown,
    no target);
  - under ``gradviz watch``'s flight recorder (summary detail, the last 2 steps in full, each
    step checked for a trigger; shown: it should cost what summary detail costs);
  - with nothing but the exact statistics of every value and gradient computed (no records):
    the floor under summary detail's cost, shown (no target);
  - in ``summary`` detail with every 10th step recorded (``gradviz.trace(every=10)``, as
    ``gradviz timeline --every 10``): the cost per step averaged over the 10 (shown, no
    target: the steps in between record the graph but summarise no value).
  Medians over interleaved rounds of the stepping thread's CPU time (``time.thread_time``:
  other programs on a shared machine do not count), single-threaded BLAS.
- the gpt step of bench/train_step.py (examples/tiny_gpt.py's model, AdamW: about 60 ops of
  many kinds, attention included) in its own trace, against the MLP's own-trace ratio:
  target no more than the MLP's.
- memory: 1,000 summary steps of the medium MLP under one trace, measured with ``tracemalloc``
  (what the trace keeps at the end, and the peak above the untraced model): target <= 50 MB.
- rendering a traced step of about 1,000 ops (a 500-layer tanh MLP: every op drawn) and of about
  10,000 ops (100 blocks of 50 layers: over the 1,500-op budget, so modules collapse) to SVG,
  forward and backward views, with the layout program ``gradviz doctor`` names. Targets: 5 s and
  20 s for both views together.

Exit status 1 when a row misses its target.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from common import deep_mlp, medium_mlp, pin_blas_threads, print_results

pin_blas_threads()  # before NumPy is imported, so the ratio measures framework overhead

import models  # noqa: E402
import numpy as np  # noqa: E402

import gradviz  # noqa: E402
from gradviz.autograd import hooks  # noqa: E402
from gradviz.viz.capture.stats import array_stats  # noqa: E402
from gradviz.viz.draw import layout  # noqa: E402
from gradviz.viz.draw.output import write_views  # noqa: E402
from gradviz.viz.flight import FlightRecorder  # noqa: E402
from gradviz.viz.trace import Trace  # noqa: E402


def per_step(step: Callable[[], object], repeat: int) -> float:
    """CPU seconds of this thread per call of ``step`` over ``repeat`` calls, after one untimed
    call (steps timed in turn share the heap: the first call after another pays page faults)."""
    step()
    start = time.thread_time()
    for _ in range(repeat):
        step()
    return (time.thread_time() - start) / repeat


def medium_step() -> Callable[[], None]:
    """One training step of the medium MLP."""
    model, criterion, optimizer, x, y = medium_mlp()

    def step() -> None:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

    return step


class StatisticsOnly(hooks.Hook):
    """The least a summary recorder can do: the exact statistics of every value and gradient of
    the step, keeping nothing (no records, no update norms). Its cost is the floor under
    ``summary`` detail's."""

    def __init__(self) -> None:
        self.arrays: dict[int, np.ndarray] = {}

    def op(self, node, inputs, output) -> None:
        for arg in (*inputs, output):  # values: inputs and parameters, then the op's output
            if isinstance(arg, gradviz.Variable):
                self.arrays.setdefault(id(arg), arg.numpy())

    def backward_step(self, variable, grad, accumulated) -> None:
        self.arrays[-id(variable)] = grad

    def backward_end(self, root) -> None:
        for array in self.arrays.values():
            array_stats(array)
        self.arrays.clear()


def statistics_only(n: int, build: Callable[[], Callable[[], None]]) -> float:
    """Seconds per step of ``build()``'s step with :class:`StatisticsOnly` listening."""
    step, listener = build(), StatisticsOnly()
    hooks.install(listener)
    try:
        return per_step(step, n)
    finally:
        hooks.uninstall(listener)


def own_trace(step: Callable[[], None]) -> Callable[[], None]:
    """``step`` inside its own full-detail trace."""

    def traced_step() -> None:
        with gradviz.trace():
            step()

    return traced_step


def gpt_step() -> Callable[[], None]:
    """One training step of the gpt workload (bench/models.py)."""
    return models.build("gpt", gradviz).step


def step_times(
    seconds: float, build: Callable[[], Callable[[], None]] = medium_step, one_trace: bool = True
) -> dict[str, float]:
    """Median seconds per step of each way of running it, over interleaved rounds: untraced,
    full detail in its own trace, and (``one_trace``) summary and full detail under one trace
    per round."""
    plain = build()
    ways: dict[str, Callable[[int], float]] = {
        "untraced": lambda n: per_step(plain, n),
        "own trace": lambda n: per_step(own_trace(build()), n),
    }
    for detail in ("summary", "full") if one_trace else ():

        def in_one_trace(n: int, detail: str = detail) -> float:
            step = build()
            with gradviz.trace(detail=detail):
                return per_step(step, n)

        ways[detail] = in_one_trace

    def under_watch(n: int) -> float:
        step = build()
        with Trace(policy=FlightRecorder(), detail="summary", keep_full=2):
            return per_step(step, n)

    def every_tenth(n: int) -> float:
        step = build()
        with gradviz.trace(detail="summary", every=10, steps="all"):
            return per_step(step, 10 * max(1, n // 10))  # whole periods of 10 steps

    if one_trace:
        ways["watch"] = under_watch
        ways["statistics"] = lambda n: statistics_only(n, build)
        ways["every 10"] = every_tenth
    repeat = max(3, int(0.25 / max(per_step(plain, 3), 1e-6)))
    rounds: dict[str, list[float]] = {name: [] for name in ways}
    deadline = time.perf_counter() + seconds
    while len(rounds["untraced"]) < 5 or time.perf_counter() < deadline:
        for name, way in ways.items():
            rounds[name].append(way(repeat))
        if len(rounds["untraced"]) >= 200:
            break
    return {name: statistics.median(times) for name, times in rounds.items()}


def summary_memory(steps: int) -> tuple[float, float]:
    """MB the trace keeps after ``steps`` summary steps of the medium MLP (measured while the
    trace is alive), and the peak MB above the untraced model's own allocations."""
    step = medium_step()
    step()  # the model's gradients and the optimizer's state exist before measuring
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with gradviz.trace(detail="summary") as tr:
            for _ in range(steps):
                step()
        tr.timeline.rows_array()
        gc.collect()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(tr.steps_recorded) == steps
    return (kept - base) / 1e6, (peak - base) / 1e6


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
        # both views as ``gradviz render`` writes them (each laid out while the next is
        # drawn); fold=False: every op drawn (the deep MLP's identical blocks would fold to one)
        views = [(view, folder / f"{view}.svg") for view in ("forward", "backward")]
        result = write_views(graph, views, fold=False)[-1]
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
    times = step_times(seconds)
    plain = times["untraced"]
    for name, label, target in (
        ("summary", "medium MLP step, summary detail (one trace) / untraced", 1.25),
        ("own trace", "medium MLP step, full detail (own trace) / untraced", 1.5),
        ("full", "medium MLP step, full detail (one trace) / untraced", None),
        ("watch", "medium MLP step, under gradviz watch (summary, keep 2) / untraced", None),
        ("statistics", "medium MLP step, its values' and gradients' statistics alone", None),
        ("every 10", "medium MLP step, summary detail, every 10th step recorded", None),
    ):
        ratio = times[name] / plain
        rows.append(
            (
                label,
                f"{plain * 1e3:.2f} ms -> {times[name] * 1e3:.2f} ms",
                f"{ratio:.2f}x",
                "-" if target is None else f"<= {target:g}x",
                target is None or ratio <= target,
            )
        )
    gpt = step_times(seconds, gpt_step, one_trace=False)
    mlp_ratio, ratio = times["own trace"] / plain, gpt["own trace"] / gpt["untraced"]
    rows.append(
        (
            "gpt step, full detail (own trace) / untraced",
            f"{gpt['untraced'] * 1e3:.2f} ms -> {gpt['own trace'] * 1e3:.2f} ms",
            f"{ratio:.2f}x",
            f"<= MLP's {mlp_ratio:.2f}x",
            ratio <= mlp_ratio,
        )
    )
    steps = 100 if args.quick else 1000
    kept, peak = summary_memory(steps)
    rows.append(
        (
            f"memory of {steps:,} summary steps (tracemalloc)",
            f"kept {kept:.1f} MB",
            f"peak {peak:.1f} MB",
            "<= 50 MB",
            peak <= 50 and kept <= 50,
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
