"""Per-op overhead: a chain of 1,000 elementwise ops on a (4, 4) float32 array, forward + backward.

    python bench/op_overhead.py            # about 10 seconds
    python bench/op_overhead.py --quick

The chain cycles through ``y * c``, ``y + d`` and ``tanh(y)`` (c, d constant arrays), then
``sum().backward()``. The arrays are so small that nearly all the time is framework overhead:
building the graph node, running the engine. The NumPy column does the same forward and a
hand-written backward (the floor). Both run in this process, single-threaded, interleaved; the
figures are medians over rounds. Target: gradviz at most 8 µs per op. See bench/README.md.
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
    return 0 if gv_us <= TARGET_US else 1


if __name__ == "__main__":
    sys.exit(main())
