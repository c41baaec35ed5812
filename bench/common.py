"""What the benchmark scripts share: BLAS pinning, the workloads they build, the result table.

Each script imports it as ``common`` (``python bench/X.py`` puts bench/ first on ``sys.path``).
It imports no NumPy at module level, so a script can call :func:`pin_blas_threads` after
importing it and before importing NumPy. The model builders import NumPy and gradviz when
called, which also keeps :func:`medium_mlp` self-contained for :func:`medium_mlp_script`.

The builders return the model, optimizer and data; the traced training step itself stays in
each script: a trace records the file:line of the forward call and the HTML page embeds it
once per op and picture, so running the step from here would change the page sizes measured.
"""

from __future__ import annotations

import inspect
import os
import textwrap
import time
from collections.abc import Callable, Sequence

BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ------------------------------------------------------------------------------------ threads


def pin_blas_threads() -> None:
    """One BLAS/OpenMP thread, so a timing measures framework overhead, not threading.

    Call it before anything imports NumPy: the environment variables only act when the BLAS
    library loads. It then imports NumPy and, when threadpoolctl is installed, limits the loaded
    thread pools to one as well (the variables do nothing if a BLAS was loaded before them).
    """
    for name in BLAS_THREAD_VARIABLES:
        os.environ[name] = "1"
    import numpy  # noqa: F401 - loads BLAS under the variables above

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return
    threadpool_limits(limits=1)


def describe_blas() -> str:
    """The loaded BLAS thread pools, e.g. ``openblas 0.3.31 (1 thread)``."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return "threadpoolctl missing: BLAS threads set by environment variables only"
    pools = [
        f"{p['internal_api']} {p['version']} ({p['num_threads']} thread)" for p in threadpool_info()
    ]
    return ", ".join(pools) or "no BLAS thread pool found"


# ------------------------------------------------------------------------------------- timing


def per_step(step: Callable[[], object], repeat: int) -> float:
    """Seconds per call of ``step`` over ``repeat`` calls, after one untimed call: steps timed
    in turn share the process's heap, and the first call after the other one pays its page
    faults."""
    step()
    start = time.perf_counter()
    for _ in range(repeat):
        step()
    return (time.perf_counter() - start) / repeat


# ---------------------------------------------------------------------------------- workloads


def medium_mlp() -> tuple:
    """The medium MLP workload (784-256-128-10 relu, batch 64, cross-entropy, SGD lr 0.01),
    seeded: ``(model, criterion, optimizer, x, y)``, the same on every call."""
    import numpy as np

    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    x = gradviz.Variable(rng.standard_normal((64, 784)).astype(np.float32))
    y = rng.integers(0, 10, size=64)
    return model, criterion, optimizer, x, y


def medium_mlp_script(steps: int = 3) -> str:
    """A standalone training script, as a user writes one: :func:`medium_mlp` (its source
    copied in) and a loop of ``steps`` training steps."""
    loop = f"""
        model, criterion, optimizer, x, y = medium_mlp()
        for _ in range({steps}):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
    """
    return inspect.getsource(medium_mlp) + "\n" + textwrap.dedent(loop)


def deep_mlp(blocks: int, layers: int, width: int = 8) -> tuple:
    """``blocks`` x ``layers`` (Linear, Tanh) pairs of ``width`` units (2 * blocks * layers ops
    per forward), its SGD optimizer and a (4, ``width``) input: ``(model, optimizer, x)``."""
    import numpy as np

    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    model = nn.Sequential(
        *[
            nn.Sequential(*[m for _ in range(layers) for m in (nn.Linear(width, width), nn.Tanh())])
            for _ in range(blocks)
        ]
    )
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    x = gradviz.Variable(np.ones((4, width), dtype=np.float32))
    return model, optimizer, x


# ------------------------------------------------------------------------------------ results


def verdict(ok: bool) -> str:
    """``PASS`` or ``FAIL``."""
    return "PASS" if ok else "FAIL"


def print_results(header: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
    """Print ``rows`` (their cells, then whether the row met its target) as a table under
    ``header``, with a PASS/FAIL column; return the exit status: 0 if every row passed, else 1."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  result"
    print(line)
    print("-" * len(line))
    for *cells, ok in rows:
        cells_line = "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))
        print(f"{cells_line}  {verdict(ok)}")
    return 0 if all(row[-1] for row in rows) else 1
