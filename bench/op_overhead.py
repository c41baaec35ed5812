"""Per-op overhead: a chain of 1,000 elementwise ops on a (4, 4) float32 array, forward + backward.

    python bench/op_overhead.py            # about 10 seconds
    python bench/op_overhead.py --quick

The chain cycles through ``y * c``, ``y + d`` and ``tanh(y)`` (c, d constant arrays), then
``sum().backward()``. The arrays are so small that nearly all the time is framework overhead:
building the graph node, running the engine. The NumPy column does the same forward and a
hand-written backward (the floor). Both run in this process, single-threaded, interleaved; the
figures are medians over rounds. Target: gradviz at most 8 µs per op. See bench/README.md.

A second table times the update every tutorial writes by hand, ``w -= lr * g`` under
``no_grad`` on a (4, 4) parameter. Target: no more than NumPy's own in-place update plus what
one unrecorded gradviz op costs over NumPy's (``w - lr * g`` under ``no_grad`` minus the same
in NumPy).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from common import pin_blas_threads, verdict

pin_blas_threads()  # before NumPy is imported (not that (4, 4) arrays would use more threads)

import numpy as np  # noqa: E402

import gradviz  # noqa: E402

TARGET_US = 8.0


def make_inputs(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 4)).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, (4, 4)).astype(np.float32)
    shift = (0.1 * rng.standard_normal((4, 4))).astype(np.float32)
    return x, scale, shift


def gradviz_chain(x: np.ndarray, scale: np.ndarray, shift: np.ndarray, n: int) -> np.ndarray:
    """Forward through ``n`` ops and backward; returns d(sum)/dx."""
    leaf = gradviz.Variable(x, requires_grad=True)
    y = leaf
    for i in range(n):
        kind = i % 3
        if kind == 0:
            y = y * scale
        elif kind == 1:
            y = y + shift
        else:
            y = y.tanh()
    y.sum().backward()
    return leaf.grad


def numpy_chain(x: np.ndarray, scale: np.ndarray, shift: np.ndarray, n: int) -> np.ndarray:
    """The same forward, keeping what backward needs, then the backward by hand."""
    saved = []
    y = x
    for i in range(n):
        kind = i % 3
        if kind == 0:
            y = y * scale
        elif kind == 1:
            y = y + shift
        else:
            y = np.tanh(y)
            saved.append(y)
    g = np.ones_like(y)  # d(sum)/dy
    for i in range(n - 1, -1, -1):
        kind = i % 3
        if kind == 0:
            g = g * scale
        elif kind == 2:
            out = saved.pop()
            g = g * (1 - out * out)
    return g


def update_loops(x: np.ndarray, scale: np.ndarray, n: int) -> dict:
    """The four update loops of the second table, each ``n`` updates of a (4, 4) array."""
    lr = 1e-3
    w = gradviz.Variable(x.copy(), requires_grad=True)

    def numpy_inplace():
        data = x.copy()
        for _ in range(n):
            data -= lr * scale

    def numpy_op():
        for _ in range(n):
            x - lr * scale

    def gradviz_op():
        with gradviz.no_grad():
            for _ in range(n):
                w - lr * scale

    def gradviz_inplace():
        nonlocal w
        with gradviz.no_grad():
            for _ in range(n):
                w -= lr * scale

    return {
        "numpy w -= lr * g": numpy_inplace,
        "numpy w - lr * g": numpy_op,
        "gradviz w - lr * g": gradviz_op,
        "gradviz w -= lr * g": gradviz_inplace,
    }


def time_updates(x: np.ndarray, scale: np.ndarray, n: int, rounds: int) -> dict[str, float]:
    """Median µs per update of each loop, the loops interleaved round by round."""
    loops = update_loops(x, scale, n)
    times: dict[str, list[float]] = {name: [] for name in loops}
    for r in range(rounds):
        order = list(loops.items())
        for name, loop in order if r % 2 else reversed(order):
            start = time.perf_counter()
            loop()
            times[name].append((time.perf_counter() - start) / n * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


def report_updates(us: dict[str, float]) -> bool:
    """Print the update table; True when the in-place update meets its target."""
    budget = us["numpy w -= lr * g"] + us["gradviz w - lr * g"] - us["numpy w - lr * g"]
    ok = us["gradviz w -= lr * g"] <= budget
    print("\nparameter update under no_grad, (4, 4) float32")
    for name, value in us.items():
        print(f"{name:<22} {value:>8.2f} µs")
    print(
        f"{'':<22} target: gradviz w -= lr * g <= {budget:.2f} µs (numpy in-place + the "
        f"no_grad op overhead)  {verdict(ok)}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run")
    parser.add_argument("--ops", type=int, default=1000, help="chain length (default 1000)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 200, quick 30)")
    args = parser.parse_args(argv)
    n = args.ops
    rounds = args.rounds or (30 if args.quick else 200)
    x, scale, shift = make_inputs(0)

    np.testing.assert_allclose(
        gradviz_chain(x, scale, shift, n), numpy_chain(x, scale, shift, n), rtol=1e-5, atol=1e-6
    )
    for _ in range(3):  # warm up
        gradviz_chain(x, scale, shift, n)
        numpy_chain(x, scale, shift, n)

    def per_op(fn) -> float:
        start = time.perf_counter()
        fn(x, scale, shift, n)
        return (time.perf_counter() - start) / n * 1e6

    gv_times, np_times = [], []
    for r in range(rounds):
        if r % 2:  # alternate who goes first
            gv_times.append(per_op(gradviz_chain))
            np_times.append(per_op(numpy_chain))
        else:
            np_times.append(per_op(numpy_chain))
            gv_times.append(per_op(gradviz_chain))
    np_us, gv_us = statistics.median(np_times), statistics.median(gv_times)
    result = verdict(gv_us <= TARGET_US)
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, {rounds} rounds")
    print(f"chain of {n} elementwise ops (mul, add, tanh) on (4, 4) float32, forward + backward")
    print(f"{'':<10} {'µs/op':>8}")
    print(f"{'numpy':<10} {np_us:>8.2f}")
    ratio = gv_us / np_us
    target = f"target <= {TARGET_US:g} µs"
    print(f"{'gradviz':<10} {gv_us:>8.2f}   ({ratio:.1f}x numpy; {target})  {result}")
    updates_ok = report_updates(time_updates(x, scale, n, rounds))
    return 0 if gv_us <= TARGET_US and updates_ok else 1


if __name__ == "__main__":
    sys.exit(main())
