"""A CNN training step in gradviz against PyTorch eager: time and peak extra memory, one run.

    python bench/cnn_step.py            # about 30 seconds
    python bench/cnn_step.py --quick

Input (64, 1, 28, 28); Conv2d(1, 8, 3, padding=1) - ReLU - MaxPool2d(2) - Conv2d(8, 16, 3,
padding=1) - ReLU - MaxPool2d(2) - Flatten - Linear(784, 10); cross-entropy; SGD lr 0.01. Both
models start from the same weights and take the same batch; the first steps are checked to give
the same loss. One BLAS thread and one PyTorch thread; medians of interleaved rounds. Peak extra
memory of one step: tracemalloc for gradviz (NumPy reports its buffers to it), the resident-set
growth for PyTorch (its allocator does not report to tracemalloc). Targets (the models issue):
gradviz <= 1.5x PyTorch's step time, peak extra memory <= 2x PyTorch's. Exit 1 on a missed
target; without PyTorch it prints gradviz's figures alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tracemalloc

from common import per_step, pin_blas_threads, print_results

pin_blas_threads()

import numpy as np  # noqa: E402

import gradviz  # noqa: E402
from gradviz import nn, optim  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - the figures without the comparison
    torch = None

TIME_TARGET, MEMORY_TARGET = 1.5, 2.0


def gradviz_model() -> tuple:
    gradviz.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(784, 10),
    )  # fmt: skip
    return model, optim.SGD(model.parameters(), lr=0.01), nn.CrossEntropyLoss()


def torch_model(weights: list[np.ndarray]) -> tuple:
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(784, 10),
    )  # fmt: skip
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights, strict=True):
            p.copy_(torch.from_numpy(w))
    return model, torch.optim.SGD(model.parameters(), lr=0.01), torch.nn.CrossEntropyLoss()


def stepper(model, opt, loss_fn, x, y):
    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run")
    args = parser.parse_args(argv)
    rounds, repeat = (5, 2) if args.quick else (15, 5)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    model, opt, loss_fn = gradviz_model()
    weights = [p.data.copy() for p in model.parameters()]
    gv = stepper(model, opt, loss_fn, gradviz.Variable(x), y)
    tracemalloc.start()
    gv()
    gv_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    steps = {"gradviz": gv}
    if torch is not None:
        torch.set_num_threads(1)
        tm = stepper(*torch_model(weights), torch.from_numpy(x), torch.from_numpy(y))
        before = rss_kb()
        tm()
        torch_peak = max(rss_kb() - before, 1) / 1024
        np.testing.assert_allclose(gv(), tm(), rtol=1e-3)  # same weights, same second step
        steps["torch"] = tm
    times: dict[str, list[float]] = {name: [] for name in steps}
    for r in range(rounds):
        order = list(steps.items())
        for name, step in order if r % 2 else reversed(order):
            times[name].append(per_step(step, repeat) * 1e3)
    ms = {name: statistics.median(t) for name, t in times.items()}
    print(f"numpy {np.__version__}, one thread, {rounds} rounds; cnn step on (64, 1, 28, 28)")
    if torch is None:
        print(f"gradviz {ms['gradviz']:.2f} ms per step, peak extra memory {gv_peak:.1f} MB")
        return 0
    ratio, memory = ms["gradviz"] / ms["torch"], gv_peak / max(torch_peak, 1e-9)
    return print_results(
        ("what", "gradviz", f"torch {torch.__version__}", "ratio", "target"),
        [
            ("step time", f"{ms['gradviz']:.2f} ms", f"{ms['torch']:.2f} ms", f"{ratio:.2f}x",
             f"<= {TIME_TARGET}x", ratio <= TIME_TARGET),
            ("peak extra memory", f"{gv_peak:.1f} MB", f"{torch_peak:.1f} MB", f"{memory:.2f}x",
             f"<= {MEMORY_TARGET}x", memory <= MEMORY_TARGET),
        ],
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
