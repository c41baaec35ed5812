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
from gradviz.viz.diagnose.text import format_report


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
    monkeypatch.setattr(diagnose.gradcheck, "BUDGET", 10)
    report = zero_grad_chain(20).check()
    ops = {c.op for c in report.gradchecks}
    assert len(report.gradchecks) < 40
    assert {"Linear", "Tanh"} <= ops
    assert sum(c.op == "Linear" for c in report.gradchecks) <= diagnose.gradcheck.REPEATS + 1
    assert any("op calls checked" in note for note in report.notes)


# ------------------------------------------------------------------------------ the report


def test_repeated_findings_print_one_line_per_kind_and_the_count_matches():
    report = zero_grad_chain(30).check(gradcheck=False)
    assert len(report.by_kind("no_gradient")) == 60  # the Report keeps every finding
    text = format_report(report, width=200)
    lines = text.splitlines()
    headline = next(line for line in lines if " errors, " in line).strip()
    warning_lines = [line for line in lines if line.startswith("warning")]
    error_lines = [line for line in lines if line.startswith("error")]
    assert headline.startswith(f"{len(error_lines)} errors, {len(warning_lines)} warning")
    assert "findings; repeats grouped" in headline
    grouped = [line for line in warning_lines if "no gradient findings" in line]
    assert len(grouped) == 1
    assert "60 no gradient findings, the first: 0.weight got" in grouped[0]
    flat = " ".join(text.split())
    assert "also 0.bias, 2.weight, 2.bias, 4.weight, 4.bias and 54 more" in flat


def test_a_long_layer_table_shows_its_ends():
    report = zero_grad_chain(50).check(gradcheck=False)
    lines = format_report(report, width=200).splitlines()
    assert len(report.layers) == 50
    gap = lines.index("  ... 10 more layers (all in Report.layers)")
    assert lines[gap - 1].split()[:2] == ["19", "38"]  # layer 19 is module 38
    assert lines[gap + 1].split()[:2] == ["30", "60"]


# ------------------------------------------------------------------------------ pictures


def flat_trace(pairs: int) -> gradviz.Trace:
    gradviz.manual_seed(0)
    blocks = [m for _ in range(pairs) for m in (nn.Linear(4, 4), nn.Tanh())]
    model = nn.Sequential(*blocks, nn.Linear(4, 1))
    with gradviz.trace() as tr:
        model(gradviz.ones(2, 4)).sum().backward()
    return tr


def test_a_flat_sequential_folds_runs_of_identical_children_into_one_box():
    from gradviz.viz.draw.render import build

    tr = flat_trace(300)  # 601 top-level modules: over the folding threshold at depth 0
    drawing = build(tr.graph, "backward", max_nodes=200)
    assert drawing.depth == 0
    assert sorted(drawing.groups.values()) == ["0-599", "600"]
    assert drawing.node_count < 10
    assert "over the budget of 200" in drawing.note
    assert "runs of identical modules folded: 0-599: (Linear, Tanh) \u00d7300" in drawing.note
    assert "(Linear, Tanh) \u00d7300" in drawing.source  # the box's label


def test_fold_runs_finds_the_repeating_unit():
    from gradviz.viz.draw.scene import fold_runs

    nodes = [f"v{i}" for i in range(12)]
    # children 0..9 alternate A, B (one op each); 10 and 11 differ
    parts = {n: (str(i),) for i, n in enumerate(nodes)}
    ops = {n: ("op", "A" if i % 2 == 0 else "B", (2,)) for i, n in enumerate(nodes)}
    ops["v10"] = ("op", "C", (2,))
    ops["v11"] = ("op", "A", (3,))
    modules = {str(i): "AB"[i % 2] for i in range(12)}
    new, table, folds = fold_runs(nodes, parts, ops.__getitem__, dict(modules))
    assert folds == ["0-9: (A, B) \u00d75"]
    assert new["v3"] == ("0-9", "3")
    assert new["v10"] == ("10",)
    assert table["0-9.3"] == "B"


def test_small_pictures_do_not_fold():
    from gradviz.viz.draw.scene import Scene

    scene = Scene(flat_trace(20).graph, "backward")
    assert scene.folded == []
    assert scene.max_depth == 1
