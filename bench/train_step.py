"""Time one full training step in gradviz against NumPy by hand (MLPs) and PyTorch eager.

    python bench/train_step.py                      # all six workloads, ~1.5 minutes
    python bench/train_step.py --quick              # a few seconds per workload
    python bench/train_step.py --workloads tiny,small,cnn

A step is ``zero_grad``, forward, loss, ``backward`` and the optimizer's update, in float32.
The relu MLPs (tiny, small, medium, large; SGD) run against the same arithmetic written by hand
in NumPy, the floor for any NumPy framework; ``cnn`` (two Conv2d-ReLU-MaxPool2d, Linear; SGD)
and ``gpt`` (examples/tiny_gpt.py's model; AdamW) against PyTorch eager from the same initial
weights (skipped without PyTorch). Everything runs in this process, one BLAS thread and one
PyTorch thread, in interleaved rounds; the table shows medians over rounds. The cnn step's peak
extra memory is measured too. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import statistics
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

from common import describe_blas, per_step, pin_blas_threads, verdict

pin_blas_threads()  # before NumPy is imported, so the ratio measures framework overhead

import models  # noqa: E402
import numpy as np  # noqa: E402

import gradviz  # noqa: E402
from gradviz import nn, optim  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - the MLP rows need no PyTorch
    torch = None

LR = 0.01
#: gradviz / PyTorch step time, per workload built in models.py.
TORCH_TARGETS = {"cnn": 1.5, "gpt": 1.2}
#: gradviz / PyTorch peak extra memory of the cnn step.
MEMORY_TARGET = 2.0


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
    params = [(m.weight.numpy().copy(), m.bias.numpy().copy()) for m in layers]
    np_step = make_numpy_step(params, x, y, w.loss, act)
    gv_loss, np_loss = float(gv_step().item()), float(np_step())
    np.testing.assert_allclose(gv_loss, np_loss, rtol=1e-5, err_msg=f"{w.name}: loss differs")
    for index, (m, (weight, bias)) in enumerate(zip(layers, params, strict=True)):
        for name, got, want in (
            ("weight", m.weight.numpy(), weight),
            ("bias", m.bias.numpy(), bias),
        ):
            if got.dtype != np.float32:
                raise AssertionError(f"{w.name}: layer {index} {name} became {got.dtype}")
            np.testing.assert_allclose(
                got, want, rtol=1e-5, atol=1e-6, err_msg=f"{w.name}: layer {index} {name}"
            )


# ------------------------------------------------------------------------------------- timing


def measure(baseline: Callable[[], object], ours: Callable[[], object], seconds: float):
    """Median seconds per step (baseline, gradviz) over interleaved rounds."""
    # Warm up (caches, allocator), then size rounds to ~10 ms so timer noise does not matter.
    per_step(baseline, 3)
    per_step(ours, 3)
    warm = min(per_step(baseline, 3), per_step(ours, 3))
    repeat = max(1, int(0.010 / warm))
    rounds = max(15, int(seconds / (2 * (repeat + 1) * warm)))  # +1: per_step's untimed step
    ours_times, base_times = [], []
    for r in range(rounds):
        if r % 2:  # alternate who goes first
            ours_times.append(per_step(ours, repeat))
            base_times.append(per_step(baseline, repeat))
        else:
            base_times.append(per_step(baseline, repeat))
            ours_times.append(per_step(ours, repeat))
    return statistics.median(base_times), statistics.median(ours_times)


def mlp_steps(w: Workload, act: str, seed: int):
    """The gradviz and NumPy steps of MLP workload ``w`` from the same start."""
    gradviz.manual_seed(seed)
    x, y = make_data(w, np.random.default_rng(seed))
    model, gv_step = make_gradviz_step(w, x, y, act)
    params = [
        (m.weight.numpy().copy(), m.bias.numpy().copy()) for m in model if isinstance(m, nn.Linear)
    ]
    return make_numpy_step(params, x, y, w.loss, act), gv_step


def torch_steps(name: str, seed: int):
    """The PyTorch and gradviz steps of workload ``name`` from the same weights; the first
    three steps are checked to give the same losses."""
    ours = models.build(name, gradviz, seed=seed)
    theirs = models.build(name, torch, ours.model, seed=seed)
    for step in range(3):
        np.testing.assert_allclose(
            ours.step(), theirs.step(), rtol=1e-4, err_msg=f"{name}: loss of step {step}"
        )
    return theirs.step, ours.step


# ------------------------------------------------------------------------------------- memory


@contextlib.contextmanager
def quiet_stderr():
    """File descriptor 2 to /dev/null: the profiler's C++ side logs its start and stop there."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def peak_memory(name: str, seed: int) -> tuple[float, float]:
    """Peak extra bytes of one (warm) step, gradviz and PyTorch, each by its own allocator's
    count: tracemalloc for gradviz (NumPy reports its buffers to it), the memory events of
    PyTorch's profiler for PyTorch (every allocation and free of its CPU allocator, summed in
    time order; it warns that blocks made before it started have no free event, so those
    frees count as nothing). Both count the live bytes the step adds above its start."""
    ours = models.build(name, gradviz, seed=seed)
    theirs = models.build(name, torch, ours.model, seed=seed)
    for _ in range(2):
        ours.step(), theirs.step()
    tracemalloc.start()
    ours.step()
    gv_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    cpu = [torch.profiler.ProfilerActivity.CPU]
    with quiet_stderr(), torch.profiler.profile(activities=cpu, profile_memory=True) as profile:
        theirs.step()
    events = profile.profiler.kineto_results.events()
    changes = sorted((e.start_ns(), e.nbytes()) for e in events if e.name() == "[memory]")
    torch_peak = max(itertools.accumulate(b for _, b in changes), default=0)
    return gv_peak, max(torch_peak, 1)


# ---------------------------------------------------------------------------------- the table


def print_row(label: str, base: str, base_us: float, gv_us: float, target: float) -> bool:
    ratio = gv_us / base_us
    print(
        f"{label:<34} {base:>8} {base_us:>12.1f} {gv_us:>16.1f} "
        f"{ratio:>6.2f}x {target:>6.2f}x  {verdict(ratio <= target)}",
        flush=True,
    )
    return ratio <= target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (about 1 s per workload)")
    every = [*WORKLOADS, *TORCH_TARGETS]
    parser.add_argument(
        "--workloads", default=",".join(every), help=f"comma-separated: {','.join(every)}"
    )
    parser.add_argument("--activation", choices=("relu", "tanh"), default="relu")
    parser.add_argument(
        "--seconds", type=float, help="time budget per workload (default 8, quick 1)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in every]
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)}, choose from {', '.join(every)}")
    seconds = args.seconds or (1.0 if args.quick else 8.0)

    versions = f"numpy {np.__version__}, {describe_blas()}, python {sys.version.split()[0]}"
    if torch is not None:
        torch.set_num_threads(1)
        versions += f", torch {torch.__version__} (1 thread)"
    print(versions)
    mlps = [name for name in names if name in WORKLOADS]
    for name in mlps:
        check_same_step(WORKLOADS[name], args.activation, args.seed)
    if mlps:
        print("check: gradviz and NumPy steps give the same loss and updated parameters")
        print(f"float32 {args.activation} MLPs, SGD lr {LR}")
    if torch is not None and set(names) & set(TORCH_TARGETS):
        print("cnn and gpt: gradviz and PyTorch from the same weights give the same losses")
    print("medians over interleaved rounds\n")

    header = (
        f"{'workload':<34} {'baseline':>8} {'µs/step':>12} {'gradviz µs/step':>16} "
        f"{'ratio':>7} {'target':>7}"
    )
    print(header)
    print("-" * (len(header) + 6))
    all_pass = True
    for name in names:
        if name in TORCH_TARGETS:
            if torch is None:
                print(f"{name:<34} skipped: PyTorch is not installed")
                continue
            base_us, gv_us = (t * 1e6 for t in measure(*torch_steps(name, args.seed), seconds))
            label = (
                "cnn (64, 1, 28, 28) SGD" if name == "cnn" else "gpt 2x4 heads w64 T32 b16 AdamW"
            )
            all_pass &= print_row(label, "torch", base_us, gv_us, TORCH_TARGETS[name])
            continue
        w = WORKLOADS[name]
        base_us, gv_us = (
            t * 1e6 for t in measure(*mlp_steps(w, args.activation, args.seed), seconds)
        )
        label = f"{name} {'-'.join(map(str, w.sizes))} b{w.batch} {w.loss}"
        all_pass &= print_row(label, "numpy", base_us, gv_us, w.target)
    if "cnn" in names and torch is not None:
        gv_bytes, torch_bytes = peak_memory("cnn", args.seed)
        ratio = gv_bytes / torch_bytes
        all_pass &= ratio <= MEMORY_TARGET
        print(
            f"\ncnn step, peak extra memory: gradviz {gv_bytes / 2**20:.1f} MB (tracemalloc), "
            f"torch {torch_bytes / 2**20:.1f} MB (its profiler's allocator events): "
            f"{ratio:.2f}x, target <= {MEMORY_TARGET:g}x  {verdict(ratio <= MEMORY_TARGET)}"
        )
    return 0 if all_pass else 1


if __name__ == "__main__":
    sys.exit(main())
