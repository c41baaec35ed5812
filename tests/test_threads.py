"""Threads: grad mode is per thread (as in PyTorch), and one trace records several threads.

The interleavings are forced with ``threading.Event``s (no sleeps), so each test sees the same
order of events on every run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest

import gradviz
from gradviz import nn, optim

TIMEOUT = 10.0


def run_threads(*targets: Callable[[], None]) -> None:
    """Run ``targets`` in threads, join them, and re-raise the first exception one raised."""
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as error:
                errors.append(error)

        return run

    threads = [threading.Thread(target=guarded(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


# ------------------------------------------------------------------------------- grad mode


def test_no_grad_in_one_thread_leaves_recording_on_in_another():
    inside, checked = threading.Event(), threading.Event()
    seen = {}

    def other() -> None:
        with gradviz.no_grad():
            inside.set()
            assert checked.wait(TIMEOUT)
            seen["other"] = gradviz.is_grad_enabled()

    def this() -> None:
        assert inside.wait(TIMEOUT)
        x = gradviz.Variable(np.ones(3), requires_grad=True)
        seen["this"] = gradviz.is_grad_enabled()
        seen["records"] = (x * 2).requires_grad
        checked.set()

    run_threads(other, this)
    assert seen == {"other": False, "this": True, "records": True}


def test_a_new_thread_starts_with_grad_mode_on():
    seen = []
    with gradviz.no_grad():
        run_threads(lambda: seen.append(gradviz.is_grad_enabled()))
        assert not gradviz.is_grad_enabled()
    assert seen == [True]


def test_another_thread_switching_recording_on_again_leaves_it_off_here():
    x = gradviz.Variable(np.ones(3), requires_grad=True)

    def other() -> None:
        with gradviz.no_grad():
            pass  # off and on again in that thread

    with gradviz.no_grad():
        run_threads(other)
        made = [x * 2, 2 * x, x + 1, x - 1, x / 2, -x, x.tanh(), x.exp(), x.sum()]
    assert [v.requires_grad for v in made] == [False] * len(made)
    assert (x * 2).requires_grad


# ------------------------------------------------------------------------------- recording


class _Waiting(nn.Module):
    """Runs ``first`` (a module), then signals ``inside`` and waits for ``go`` before
    returning, so another thread's ops run while this one is inside the module."""

    def __init__(self, inside: threading.Event, go: threading.Event) -> None:
        super().__init__()
        self.first = nn.Linear(3, 3)
        self.inside, self.go = inside, go

    def forward(self, x):
        y = self.first(x)
        self.inside.set()
        assert self.go.wait(TIMEOUT)
        return y.tanh()


def test_each_thread_attributes_ops_to_its_own_modules():
    inside, go = threading.Event(), threading.Event()
    waiting = _Waiting(inside, go)
    other = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    x = gradviz.Variable(np.ones((2, 3), dtype=np.float32))
    results = {}

    def a() -> None:
        results["a"] = waiting(x).sum()

    def b() -> None:
        assert inside.wait(TIMEOUT)
        results["b"] = other(x).sum()  # runs while thread a is inside waiting.forward
        go.set()

    with gradviz.trace() as tr:
        run_threads(a, b)
        (results["a"] + results["b"]).backward()
    g = tr.graph
    modules = {a.get("op"): a.get("module") for _, a in g.nodes(data=True) if a.get("op")}
    # each model is named as the code calls it
    assert modules["Tanh"] == "waiting"  # _Waiting's own op
    assert modules["Relu"] == "other.1"
    ops_by_module = sorted(
        (a["module"], a["op"]) for _, a in g.nodes(data=True) if a.get("kind") == "op"
    )
    assert ("waiting.first", "Linear") in ops_by_module
    assert all(
        not m.startswith("waiting.first.") and "other.first" not in m for m, _ in ops_by_module
    )
    assert not any(m.startswith("waiting") and op == "Relu" for m, op in ops_by_module)


class _PausingSGD(optim.SGD):
    """SGD that, between the optimizer's begin and end events, signals ``paused`` and waits
    for ``go``: another thread's whole training step runs inside this one's ``step()``."""

    def __init__(self, params, paused: threading.Event, go: threading.Event) -> None:
        super().__init__(params, lr=0.1)
        self.paused, self.go = paused, go

    def _update_group(self, group):
        self.paused.set()
        assert self.go.wait(TIMEOUT)
        super()._update_group(group)


def _train_step(model: nn.Module, opt: optim.Optimizer) -> None:
    x = gradviz.Variable(np.ones((2, 4), dtype=np.float32))
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()


def test_an_optimizer_step_inside_another_threads_step_records_both_updates():
    paused, go = threading.Event(), threading.Event()
    gradviz.manual_seed(0)
    model_a = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
    model_b = nn.Sequential(nn.Linear(4, 2), nn.Tanh(), nn.Linear(2, 1))
    opt_a = _PausingSGD(model_a.parameters(), paused, go)
    opt_b = optim.SGD(model_b.parameters(), lr=0.1)

    def b() -> None:
        assert paused.wait(TIMEOUT)
        _train_step(model_b, opt_b)
        go.set()

    with gradviz.trace() as tr:
        run_threads(lambda: _train_step(model_a, opt_a), b)
    assert len(tr.passes) == 2
    for p in tr.passes:
        params = {
            a["name"]: a.get("update") for _, a in p.graph.nodes(data=True) if a["kind"] == "param"
        }
        assert len(params) == 4
        assert all(u is not None and u["norm"] > 0 for u in params.values()), params


def test_four_threads_train_under_one_trace():
    barrier = threading.Barrier(4)

    def worker(width: int) -> Callable[[], None]:
        def run() -> None:
            model = nn.Sequential(nn.Linear(4, width), nn.ReLU(), nn.Linear(width, 1))
            opt = optim.SGD(model.parameters(), lr=0.01)
            barrier.wait(TIMEOUT)
            for _ in range(20):
                _train_step(model, opt)

        return run

    with gradviz.trace() as tr:
        run_threads(*(worker(w) for w in (5, 6, 7, 8)))
    assert len(tr.passes) == 80
    for p in tr.passes:
        g = p.graph
        for _, a in g.nodes(data=True):
            if a.get("op") == "Relu":
                assert a["module"].rpartition(".")[2] == "1", a["module"]
            if a["kind"] == "param":
                assert a.get("update") is not None
        widths = {
            a["shape"][0] for _, a in g.nodes(data=True) if (a.get("name") or "").endswith("0.bias")
        }
        assert len(widths) == 1  # one thread's model per pass


def test_the_shared_vector_of_ones_cannot_be_written_by_an_op_or_a_caller():
    # Sums over rows and columns multiply by one vector of ones shared by every thread and op;
    # a write into it would corrupt every later sum, so it is read-only.
    from gradviz.autograd.ops.scratch import ones

    unit = ones(5, np.float32)
    assert unit.shape == (5,)
    assert unit.dtype == np.float32
    assert (unit == 1).all()
    with pytest.raises(ValueError, match="read-only"):
        unit += 1
    assert (ones(3000, np.float64) == 1).all()  # grown on demand, per dtype
    x = gradviz.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (x.softmax(-1) * gradviz.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert (ones(5, np.float32) == 1).all()
