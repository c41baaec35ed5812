"""Scale: the diagnoses stay linear in the graph, and big graphs stay readable.

Work is measured as data, not time: the number of neighbour lookups ``tr.check()`` makes on
networkx graphs, for a chain and a chain four times as long.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import gradviz
from gradviz import nn, optim
from gradviz.viz import diagnose


def zero_grad_chain(layers: int) -> gradviz.Trace:
    """``layers`` Linear+Tanh layers whose loss is multiplied by 0: every parameter gets an
    exactly zero gradient, the case that searched below each parameter."""
    gradviz.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(layers) for m in (nn.Linear(3, 3), nn.Tanh())])
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(np.ones((2, 3), dtype=np.float32))
    with gradviz.trace() as tr:
        opt.zero_grad()
        (model(x).sum() * 0.0).backward()
        opt.step()
    return tr


def lookups(tr: gradviz.Trace, monkeypatch: pytest.MonkeyPatch) -> int:
    """Neighbour lookups (successors, predecessors) one ``tr.check()`` makes."""
    count = 0
    with monkeypatch.context() as m:
        for name in ("successors", "neighbors", "predecessors"):
            original = getattr(nx.DiGraph, name)

            def counted(self, n, original=original):
                nonlocal count
                count += 1
                return original(self, n)

            m.setattr(nx.DiGraph, name, counted)
        report = tr.check(gradcheck=False)
    assert len(report.by_kind("no_gradient")) >= 40
    return count


def test_check_is_linear_in_the_graph(monkeypatch):
    small = lookups(zero_grad_chain(20), monkeypatch)
    large = lookups(zero_grad_chain(80), monkeypatch)
    assert large <= 5 * small, (small, large)  # 4x the graph: about 4x the work


def test_zeroed_parameters_still_name_the_op_that_zeroed_them():
    report = zero_grad_chain(3).check(gradcheck=False)
    found = {f.message.split(" got")[0]: f.message for f in report.by_kind("no_gradient")}
    assert set(found) == {f"{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")}
    assert all(
        "Mul at " in m and "test_scale.py:" in m and "exactly zero gradient" in m
        for m in found.values()
    )


def test_the_gradient_check_of_a_big_pass_checks_each_kind_of_call_a_few_times(monkeypatch):
    monkeypatch.setattr(diagnose, "BUDGET", 10)
    report = zero_grad_chain(20).check()
    ops = {c.op for c in report.gradchecks}
    assert len(report.gradchecks) < 40
    assert {"Linear", "Tanh"} <= ops
    assert sum(c.op == "Linear" for c in report.gradchecks) <= diagnose.REPEATS + 1
    assert any("op calls checked" in note for note in report.notes)
