"""Time one full training step in gradviz against the same step hand-written in NumPy.

    python bench/train_step.py                      # all four workloads, ~1 minute
    python bench/train_step.py --quick              # a few seconds per workload
    python bench/train_step.py --workloads tiny,small

A step is ``zero_grad``, forward, loss, ``backward`` and an SGD update, in float32 with relu
MLPs. The NumPy step does exactly the same arithmetic with a hand-written backward: it is the
floor for any NumPy framework. Both run in this process, single-threaded BLAS, in interleaved
rounds; the table shows medians over rounds. See bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass

from common import describe_blas, per_step, pin_blas_threads, verdict

pin_blas_threads()  # before NumPy is imported, so the ratio measures framework overhead

import numpy as np  # noqa: E402

import gradviz  # noqa: E402
from gradviz import nn, optim  # noqa: E402

LR = 0.01


@dataclass(frozen=True)
class Workload:
    name: str
    sizes: tuple[int, ...]  # layer widths, input first
    batch: int
    loss: str  # "mse" or "ce"
    target: float  # gradviz time / NumPy time must not exceed this


WORKLOADS = {
    w.name: w
    for w in (
        Workload("tiny", (1, 16, 16, 1), 1, "mse", 2.5),
        Workload("small", (64, 128, 10), 32, "ce", 1.5),
        Workload("medium", (784, 256, 128, 10), 64, "ce", 1.2),
        Workload("large", (784, 1024, 1024, 10), 256, "ce", 1.05),
    )
}


# --------------------------------------------------------------------------------- the two steps


def make_data(w: Workload, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal((w.batch, w.sizes[0])).astype(np.float32)
    if w.loss == "mse":
        y = rng.standard_normal((w.batch, w.sizes[-1])).astype(np.float32)
    else:
        y = rng.integers(0, w.sizes[-1], size=w.batch)  # int64 class labels, as in PyTorch
    return x, y


def make_gradviz_step(w: Workload, x: np.ndarray, y: np.ndarray, act: str):
    """The model and a closure running one PyTorch-style training step; returns the loss."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(w.sizes, w.sizes[1:], strict=False)):
        if i:
            layers.append(nn.ReLU() if act == "relu" else nn.Tanh())
        layers.append(nn.Linear(n_in, n_out))
    model = nn.Sequential(*layers)
    criterion = nn.MSELoss() if w.loss == "mse" else nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=LR)
    inputs = gradviz.Variable(x)
    targets = gradviz.Variable(y) if w.loss == "mse" else y

    def step() -> gradviz.Variable:
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss

    return model, step


def make_numpy_step(
    params: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray, y: np.ndarray, loss: str, act: str
) -> Callable[[], float]:
    """The same step by hand: forward, stable loss, backward, SGD (updates ``params`` in place)."""
    n = x.shape[0]
    rows = np.arange(n)
    last = len(params) - 1

    def step() -> float:
        # forward: keep each layer's input for the weight gradients
        activations = [x]
        h = x
        for i, (weight, bias) in enumerate(params):
            h = h @ weight.T
            h += bias
            if i < last:
                h = np.maximum(h, 0) if act == "relu" else np.tanh(h)
                activations.append(h)
        # loss and its gradient with respect to the output
        if loss == "mse":
            diff = h - y
            value = (diff * diff).mean()
            g = diff * (2 / diff.size)
        else:
            shifted = h - h.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            total = exp.sum(axis=1, keepdims=True)
            value = (np.log(total[:, 0]) - shifted[rows, y]).mean()
            g = exp / total  # softmax
            g[rows, y] -= 1
            g /= n
        # backward and SGD update, last layer first (g @ weight uses the weight before its update)
        for i in range(last, -1, -1):
            weight, bias = params[i]
            a = activations[i]
            grad_w = g.T @ a
            grad_b = g.sum(axis=0)
            if i:
                g = g @ weight
                g *= (a > 0) if act == "relu" else (1 - a * a)
            weight -= LR * grad_w
            bias -= LR * grad_b
        return value

    return step


def check_same_step(w: Workload, act: str, seed: int) -> None:
    """One step of each from the same start must give the same loss and the same parameters."""
    gradviz.manual_seed(seed)
    x, y = make_data(w, np.random.default_rng(seed))
    model, gv_step = make_gradviz_step(w, x, y, act)
    layers = [m for m in model if isinstance(m, nn.Linear)]
    params = [(m.weight.data.copy(), m.bias.data.copy()) for m in layers]
    np_step = make_numpy_step(params, x, y, w.loss, act)
    gv_loss, np_loss = float(gv_step().item()), float(np_step())
    np.testing.assert_allclose(gv_loss, np_loss, rtol=1e-5, err_msg=f"{w.name}: loss differs")
    for index, (m, (weight, bias)) in enumerate(zip(layers, params, strict=True)):
        for name, got, want in (("weight", m.weight.data, weight), ("bias", m.bias.data, bias)):
            if got.dtype != np.float32:
                raise AssertionError(f"{w.name}: layer {index} {name} became {got.dtype}")
            np.testing.assert_allclose(
                got, want, rtol=1e-5, atol=1e-6, err_msg=f"{w.name}: layer {index} {name}"
            )


# ------------------------------------------------------------------------------------- timing


def measure(w: Workload, act: str, seconds: float, seed: int) -> tuple[float, float]:
    """Median seconds per step (NumPy, gradviz) over interleaved rounds."""
    gradviz.manual_seed(seed)
    x, y = make_data(w, np.random.default_rng(seed))
    model, gv_step = make_gradviz_step(w, x, y, act)
    params = [(m.weight.data.copy(), m.bias.data.copy()) for m in model if isinstance(m, nn.Linear)]
    np_step = make_numpy_step(params, x, y, w.loss, act)

    # Warm up (caches, allocator), then size rounds to ~10 ms so timer noise does not matter.
    per_step(np_step, 3)
    per_step(gv_step, 3)
    warm = min(per_step(np_step, 3), per_step(gv_step, 3))
    repeat = max(1, int(0.010 / warm))
    rounds = max(15, int(seconds / (2 * (repeat + 1) * warm)))  # +1: per_step's untimed step
    gv_times, np_times = [], []
    for r in range(rounds):
        if r % 2:  # alternate who goes first
            gv_times.append(per_step(gv_step, repeat))
            np_times.append(per_step(np_step, repeat))
        else:
            np_times.append(per_step(np_step, repeat))
            gv_times.append(per_step(gv_step, repeat))
    return statistics.median(np_times), statistics.median(gv_times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (about 1 s per workload)")
    parser.add_argument(
        "--workloads", default=",".join(WORKLOADS), help="comma-separated: tiny,small,medium,large"
    )
    parser.add_argument("--activation", choices=("relu", "tanh"), default="relu")
    parser.add_argument(
        "--seconds", type=float, help="time budget per workload (default 8, quick 1)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)}, choose from {', '.join(WORKLOADS)}")
    seconds = args.seconds or (1.0 if args.quick else 8.0)

    print(f"numpy {np.__version__}, {describe_blas()}, python {sys.version.split()[0]}")
    for name in names:
        check_same_step(WORKLOADS[name], args.activation, args.seed)
    print("check: gradviz and NumPy steps give the same loss and updated parameters")
    print(f"float32 {args.activation} MLPs, SGD lr {LR}, medians over interleaved rounds\n")

    columns = ("numpy µs/step", "gradviz µs/step", "ratio", "target")
    header = f"{'workload':<34} {columns[0]:>14} {columns[1]:>16} {columns[2]:>7} {columns[3]:>7}"
    print(header)
    print("-" * (len(header) + 6))
    all_pass = True
    for name in names:
        w = WORKLOADS[name]
        np_time, gv_time = measure(w, args.activation, seconds, args.seed)
        ratio = gv_time / np_time
        all_pass &= ratio <= w.target
        label = f"{name} {'-'.join(map(str, w.sizes))} b{w.batch} {w.loss}"
        print(
            f"{label:<34} {np_time * 1e6:>14.1f} {gv_time * 1e6:>16.1f} "
            f"{ratio:>6.2f}x {w.target:>6.2f}x  {verdict(ratio <= w.target)}",
            flush=True,
        )
    return 0 if all_pass else 1


if __name__ == "__main__":
    sys.exit(main())
