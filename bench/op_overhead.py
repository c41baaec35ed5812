"""Per-op overhead: a chain of 1,000 elementwise ops on a (4, 4) float32 array, forward + backward.

    python bench/op_overhead.py            # about 10 seconds (more with PyTorch installed)
    python bench/op_overhead.py --quick

The chain cycles through ``y * c``, ``y + d`` and ``tanh(y)`` (c, d constant arrays), then
``sum().backward()``. The arrays are so small that nearly all the time is framework overhead:
building the graph node, running the engine. The NumPy column does the same forward and a
hand-written backward (the floor). When PyTorch is installed, a PyTorch column runs the same
chain in eager mode (one intra-op thread). A second column times the forward alone under
``no_grad`` (``torch.no_grad`` for PyTorch; plain NumPy). Every chain runs in this process,
single-threaded, interleaved; the figures are medians over rounds, and the ratios come from
this one run. Target: gradviz at most 8 µs per op (forward + backward; the exit status).
Printed, not in the exit status: under ``no_grad`` an op at most 2x its NumPy call plus 1 µs,
and forward + backward at most 0.7x PyTorch eager's. See bench/README.md.

A third table times the update every tutorial writes by hand, ``w -= lr * g`` under
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

try:  # optional: the PyTorch column
    import torch
except ImportError:  # pragma: no cover - torch is an optional extra
    torch = None

TARGET_US = 8.0
#: printed targets (not in the exit status): gradviz no_grad op <= NOGRAD_TIMES x numpy +
#: NOGRAD_PLUS_US; gradviz forward + backward <= TORCH_RATIO x PyTorch eager
NOGRAD_TIMES = 2.0
NOGRAD_PLUS_US = 1.0
TORCH_RATIO = 0.7


def make_inputs(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 4)).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, (4, 4)).astype(np.float32)
    shift = (0.1 * rng.standard_normal((4, 4))).astype(np.float32)
    return x, scale, shift


def forward(y, scale, shift, tanh, n: int, saved: list | None = None):
    """``n`` ops cycling through ``y * scale``, ``y + shift`` and ``tanh(y)`` (each tanh output
    appended to ``saved`` when given: what a hand-written backward needs). Every library's chain
    runs this same loop, so only the ops differ between them."""
    for i in range(n):
        kind = i % 3
        if kind == 0:
            y = y * scale
        elif kind == 1:
            y = y + shift
        else:
            y = tanh(y)
            if saved is not None:
                saved.append(y)
    return y


def gradviz_chain(x: np.ndarray, scale: np.ndarray, shift: np.ndarray, n: int) -> np.ndarray:
    """Forward through ``n`` ops and backward; returns d(sum)/dx."""
    leaf = gradviz.Variable(x, requires_grad=True)
    forward(leaf, scale, shift, gradviz.Variable.tanh, n).sum().backward()
    return leaf.grad.numpy()


def numpy_chain(x: np.ndarray, scale: np.ndarray, shift: np.ndarray, n: int) -> np.ndarray:
    """The same forward, keeping what backward needs, then the backward by hand."""
    saved: list[np.ndarray] = []
    g = np.ones_like(forward(x, scale, shift, np.tanh, n, saved))  # d(sum)/dy
    for i in range(n - 1, -1, -1):
        kind = i % 3
        if kind == 0:
            g = g * scale
        elif kind == 2:
            out = saved.pop()
            g = g * (1 - out * out)
    return g


def numpy_forward(x: np.ndarray, scale: np.ndarray, shift: np.ndarray, n: int) -> np.ndarray:
    """The forward alone, keeping nothing (what an op costs in NumPy)."""
    return forward(x, scale, shift, np.tanh, n)


def gradviz_forward(x: np.ndarray, scale: np.ndarray, shift: np.ndarray, n: int) -> np.ndarray:
    """The forward under ``no_grad`` from a leaf that requires grad: no graph is recorded."""
    leaf = gradviz.Variable(x, requires_grad=True)
    with gradviz.no_grad():
        return forward(leaf, scale, shift, gradviz.Variable.tanh, n).numpy()


def torch_chains(x: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> dict:
    """PyTorch eager's forward + backward and ``no_grad`` forward, on tensors made once."""
    xt, st, dt = (torch.from_numpy(a.copy()) for a in (x, scale, shift))

    def chain(_x, _scale, _shift, n: int) -> np.ndarray:
        leaf = xt.detach().requires_grad_()
        forward(leaf, st, dt, torch.tanh, n).sum().backward()
        return leaf.grad.numpy()

    def no_grad_forward(_x, _scale, _shift, n: int) -> np.ndarray:
        leaf = xt.detach().requires_grad_()
        with torch.no_grad():
            return forward(leaf, st, dt, torch.tanh, n).numpy()

    return {"chain": chain, "forward": no_grad_forward}


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


def time_chains(
    chains: dict[str, object],
    x: np.ndarray,
    scale: np.ndarray,
    shift: np.ndarray,
    n: int,
    rounds: int,
) -> dict[str, float]:
    """Median µs per op of each chain, the chains interleaved round by round (the order
    rotating, so none always runs first)."""
    names = list(chains)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift_by = r % len(names)
        for name in names[shift_by:] + names[:shift_by]:
            start = time.perf_counter()
            chains[name](x, scale, shift, n)
            times[name].append((time.perf_counter() - start) / n * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


def report_chains(us: dict[str, float], n: int) -> bool:
    """Print the per-op table and the targets; True when the exit-status target is met."""
    have_torch = "torch" in us
    print(f"chain of {n} elementwise ops (mul, add, tanh) on (4, 4) float32, µs per op")
    print(f"{'':<16} {'fwd + bwd':>10} {'no_grad fwd':>12}")
    rows = [("numpy", "numpy"), ("gradviz", "gradviz")]
    if have_torch:
        rows.append((f"torch {torch.__version__.split('+')[0]}", "torch"))
    for label, key in rows:
        print(f"{label:<16} {us[key]:>10.2f} {us[key + ' no_grad']:>12.2f}")
    ratios = [("gradviz / numpy", "numpy")] + ([("gradviz / torch", "torch")] if have_torch else [])
    for label, key in ratios:
        both = us["gradviz"] / us[key], us["gradviz no_grad"] / us[key + " no_grad"]
        print(f"{label:<16} {both[0]:>9.2f}x {both[1]:>11.2f}x")
    ok = us["gradviz"] <= TARGET_US
    print(f"target: gradviz fwd + bwd <= {TARGET_US:g} µs per op  {verdict(ok)}")
    budget = NOGRAD_TIMES * us["numpy no_grad"] + NOGRAD_PLUS_US
    print(
        f"target: gradviz no_grad op <= {NOGRAD_TIMES:g} x numpy + {NOGRAD_PLUS_US:g} µs = "
        f"{budget:.2f} µs  {verdict(us['gradviz no_grad'] <= budget)} (informative)"
    )
    if have_torch:
        budget = TORCH_RATIO * us["torch"]
        print(
            f"target: gradviz fwd + bwd <= {TORCH_RATIO:g} x torch eager = {budget:.2f} µs  "
            f"{verdict(us['gradviz'] <= budget)} (informative)"
        )
    else:
        why = "left out (--no-torch)" if torch is not None else "not installed (extra: torch)"
        print(f"no PyTorch column: torch {why}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run")
    parser.add_argument("--ops", type=int, default=1000, help="chain length (default 1000)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 200, quick 30)")
    parser.add_argument("--no-torch", action="store_true", help="leave out the PyTorch column")
    args = parser.parse_args(argv)
    n = args.ops
    rounds = args.rounds or (30 if args.quick else 200)
    x, scale, shift = make_inputs(0)

    chains = {
        "numpy": numpy_chain,
        "gradviz": gradviz_chain,
        "numpy no_grad": numpy_forward,
        "gradviz no_grad": gradviz_forward,
    }
    if torch is not None and not args.no_torch:
        torch.set_num_threads(1)
        made = torch_chains(x, scale, shift)
        chains["torch"], chains["torch no_grad"] = made["chain"], made["forward"]
    expected = numpy_chain(x, scale, shift, n)
    expected_forward = numpy_forward(x, scale, shift, n)
    for name, chain in chains.items():  # every chain computes the same thing
        want = expected_forward if name.endswith("no_grad") else expected
        np.testing.assert_allclose(chain(x, scale, shift, n), want, rtol=1e-5, atol=1e-6)
    for _ in range(3):  # warm up
        for chain in chains.values():
            chain(x, scale, shift, n)

    us = time_chains(chains, x, scale, shift, n, rounds)
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, {rounds} rounds")
    chains_ok = report_chains(us, n)
    updates_ok = report_updates(time_updates(x, scale, n, rounds))
    return 0 if chains_ok and updates_ok else 1


if __name__ == "__main__":
    sys.exit(main())
