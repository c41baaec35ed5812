"""What summary detail costs per step, in a form a profiler can read: medium-MLP training steps
(``trace_overhead.py``'s ``medium_step``) run under one ``gradviz.trace(detail="summary")``.

    python bench/summary_profile.py --steps 200                 # summary detail, 200 steps
    python bench/summary_profile.py --steps 200 --untraced      # the same steps untraced
    python bench/summary_profile.py --compare                   # interleaved timing, the ratio
    python -m cProfile -s tottime bench/summary_profile.py --steps 200 | head -40
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \\
        python bench/summary_profile.py --steps 200

Instruction counts (callgrind) repeat from run to run on a shared machine, where timings do
not: the recorder's cost per step is ``(count at --steps N) - (count at --steps 0)``, over N,
against the same difference with ``--untraced``. ``--compare`` times untraced and summary
rounds in turn (CPU time of this thread, medians): a ratio, noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from common import pin_blas_threads

pin_blas_threads()  # before NumPy is imported, as trace_overhead.py does

from trace_overhead import medium_step, per_step  # noqa: E402

import gradviz  # noqa: E402


def run(steps: int, traced: bool) -> None:
    """``steps`` medium-MLP steps (after one untimed step), under one summary trace if
    ``traced``."""
    step = medium_step()
    step()
    if not traced:
        for _ in range(steps):
            step()
        return
    with gradviz.trace(detail="summary") as tr:
        for _ in range(steps):
            step()
    assert len(tr.steps_recorded) == steps


def compare(rounds: int, repeat: int) -> None:
    """Print the median per-step CPU time untraced and in summary detail, and their ratio."""
    times: dict[str, list[float]] = {"untraced": [], "summary": []}
    plain = medium_step()
    for _ in range(rounds):
        times["untraced"].append(per_step(plain, repeat))
        step = medium_step()
        with gradviz.trace(detail="summary"):
            times["summary"].append(per_step(step, repeat))
    untraced, summary = (statistics.median(times[k]) for k in ("untraced", "summary"))
    print(
        f"untraced {untraced * 1e3:.3f} ms, summary {summary * 1e3:.3f} ms: "
        f"{summary / untraced:.2f}x (median of {rounds} interleaved rounds of {repeat} steps)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="steps to run (default 200)")
    parser.add_argument("--untraced", action="store_true", help="run the steps untraced")
    parser.add_argument("--compare", action="store_true", help="time untraced against summary")
    parser.add_argument("--rounds", type=int, default=20, help="--compare: rounds (default 20)")
    args = parser.parse_args(argv)
    if args.compare:
        compare(args.rounds, args.steps // args.rounds or 1)
    else:
        run(args.steps, traced=not args.untraced)
    return 0


if __name__ == "__main__":
    sys.exit(main())
