"""``gradviz.diff``: two graphs of one model compared by structural key, and the picture of it."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import networkx as nx
import pytest

import gradviz
import gradviz.nn as nn
from gradviz.viz.diagnose.diff import Change, compare
from gradviz.viz.draw.diff import DiffError, build_diff
from gradviz.viz.draw.layout import find_layout_program
from gradviz.viz.draw.style import ADDED_LINE, DIVERGING, REMOVED_LINE, WARN_LINE


def hand_graph(hidden: int = 4, act: str = "Relu", grad: float = 1.0) -> nx.DiGraph:
    """x -> fc/Linear (with fc.weight) -> act/<act> -> Sum: a tiny graph made by hand."""
    g = nx.DiGraph(root="s", modules={"fc": "Linear", "act": act})
    stats = lambda n: {"norm": n, "mean": 0.0, "std": 1.0, "nan": 0, "inf": 0}  # noqa: E731
    g.add_node("x", kind="input", shape=(2, 3), dtype="float32", value=stats(1.0))
    g.add_node(
        "w",
        kind="param",
        name="fc.weight",
        module="fc",
        shape=(hidden, 3),
        dtype="float32",
        value=stats(2.0),
        grad=stats(grad),
    )
    g.add_node("l", op="Linear", module="fc", shape=(2, hidden), dtype="float32", value=stats(3.0))
    g.add_node("a", op=act, module="act", shape=(2, hidden), dtype="float32", value=stats(1.5))
    g.add_node("s", op="Sum", shape=(), dtype="float32", value=stats(4.0))
    for parent, child, slot in (("x", "l", 0), ("w", "l", 1), ("l", "a", 0), ("a", "s", 0)):
        g.add_edge(parent, child, arg=slot, slots=(slot,))
    return g


def two_steps(model_cls=None):
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = gradviz.optim.SGD(model.parameters(), lr=0.5)
    x, y = gradviz.randn(16, 3), gradviz.randn(16, 1)
    with gradviz.trace() as tr:
        for _ in range(5):
            optimizer.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            optimizer.step()
    return tr


def test_identical_graphs_have_no_structure_change_and_no_changes():
    report = gradviz.diff(hand_graph(), hand_graph())
    assert not report.structure_changed
    assert report.added == report.removed == report.changed_shape == report.rewired == []
    assert report.changes == []
    assert "same structure (5 nodes); 0 numbers changed" in str(report)


def test_a_replaced_op_is_one_removed_and_one_added_node():
    report = gradviz.diff(hand_graph(), hand_graph(act="Tanh"))
    assert report.structure_changed
    assert [r.key for r in report.removed] == ["act/Relu#0"]
    assert [r.key for r in report.added] == ["act/Tanh#0"]
    assert report.added[0].op == "Tanh"
    assert report.rewired == []  # the Sum's input was replaced, not rewired: said once
    assert "+ act/Tanh#0 (2, 4)" in str(report)
    assert "- act/Relu#0 (2, 4)" in str(report)


def test_a_changed_hidden_size_is_a_shape_change():
    report = gradviz.diff(hand_graph(4), hand_graph(5))
    changed = {c.key: (c.a, c.b) for c in report.changed_shape}
    assert changed == {
        "param:fc.weight": ("(4, 3) float32", "(5, 3) float32"),
        "fc/Linear#0": ("(2, 4) float32", "(2, 5) float32"),
        "act/Relu#0": ("(2, 4) float32", "(2, 5) float32"),
    }
    assert report.added == report.removed == []
    assert report.structure_changed


def test_rewired_inputs_are_a_structure_change():
    b = hand_graph()
    b.remove_edge("l", "a")
    b.add_edge("x", "a", arg=0, slots=(0,))
    report = gradviz.diff(hand_graph(), b)
    assert [(r.key, r.a, r.b) for r in report.rewired] == [
        ("act/Relu#0", ("fc/Linear#0",), ("/input#0",))
    ]
    assert report.structure_changed


def test_changes_are_sorted_by_size_with_relative_and_ratio():
    b = hand_graph(grad=10.0)
    b.nodes["l"]["value"] = {**b.nodes["l"]["value"], "norm": 1.5}  # halved
    report = gradviz.diff(hand_graph(), b)
    assert [(c.key, c.field) for c in report.changes] == [
        ("param:fc.weight", "|grad|"),
        ("fc/Linear#0", "|value|"),
    ]
    grad, value = report.changes
    assert (grad.a, grad.b, grad.ratio, grad.relative) == (1.0, 10.0, 10.0, 9.0)
    assert (value.ratio, value.relative) == (0.5, -0.5)
    assert grad.size == pytest.approx(1.0)
    table = report.table()
    assert table.splitlines()[0].split() == ["node", "module", "what", "a", "->", "b", "ratio"]
    assert "param:fc.weight  fc" in table
    assert "1 -> 10" in table
    assert "x10" in table


def test_a_number_from_or_to_zero_is_the_largest_change():
    assert Change("k", "", "Sum", "|grad|", 0.0, 1e-9).size == math.inf
    assert Change("k", "", "Sum", "|grad|", 1.0, 0.0).ratio == 0.0
    assert Change("k", "", "Sum", "|grad|", 0.0, 2.0).relative == math.inf
    assert Change("k", "", "Sum", "|grad|", 2.0, 2.0).size == 0.0


def test_two_steps_of_one_run_differ_in_numbers_only():
    tr = two_steps()
    report = gradviz.diff(tr.get_pass(1).graph, tr.get_pass(5).graph)
    assert isinstance(report, gradviz.DiffReport)
    assert not report.structure_changed
    assert len(report.changes) > 5
    sizes = [c.size for c in report.changes]
    assert sizes == sorted(sizes, reverse=True)
    fields = {c.field for c in report.changes}
    assert {"|value|", "|grad|", "update/weight"} <= fields
    keys = {c.key for c in report.changes}
    assert "param:0.weight" in keys


def test_traces_and_loaded_traces_are_compared_by_their_last_pass(tmp_path):
    tr = two_steps()
    tr.save(tmp_path / "run.trace.json")
    loaded = gradviz.load_trace(tmp_path / "run.trace.json")
    report = gradviz.diff(tr, loaded)
    assert not report.structure_changed
    assert report.changes == []
    assert report.names == ("a", "b")
    with pytest.raises(DiffError, match="trace_b must be a Trace"):
        gradviz.diff(tr, "run.trace.json")


def test_a_changed_model_traced_for_real():
    gradviz.manual_seed(0)
    x = gradviz.randn(4, 3)
    graphs = []
    for hidden in (8, 6):
        model = nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        with gradviz.trace() as tr:
            model(x).sum().backward()
        graphs.append(tr)
    report = gradviz.diff(*graphs)
    assert {c.key for c in report.changed_shape} >= {"param:0.weight", "0/Linear#0", "1/Relu#0"}
    assert report.structure_changed


def test_the_diff_drawing_marks_added_removed_changed_and_numbers():
    b = hand_graph(act="Tanh", grad=10.0)
    b.nodes["w"]["shape"] = (4, 2)
    report = compare(hand_graph(), b)
    source = build_diff(report).source
    assert "+ added" in source
    assert "- removed" in source
    assert ADDED_LINE in source
    assert REMOVED_LINE in source
    assert "(4, 3) float32 -&gt; (4, 2) float32" in source
    assert "#1 |grad| 1 -&gt; 10 (x10)" in source
    assert DIVERGING[-1] in source  # grew x10: the top of the scale
    assert "<b>act</b>: Tanh (a: Relu)" in source  # the module's class changed


@pytest.mark.skipif(find_layout_program() is None, reason="no layout program")
def test_the_svg_holds_the_marks(tmp_path):
    b = hand_graph(act="Tanh", grad=0.01)
    b.nodes["w"]["shape"] = (4, 2)
    path = tmp_path / "d.diff.svg"
    rendered = gradviz.diff(hand_graph(), b).render(path)
    assert rendered.path == path
    root = ET.parse(path).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    texts = ["".join(t.itertext()) for t in root.iterfind(".//s:text", ns)]
    assert "+ added" in texts
    assert "- removed" in texts
    assert "(4, 3) float32 -> (4, 2) float32" in texts
    assert any(t.startswith("#1 |grad| 1 -> 0.01") for t in texts)
    strokes = {el.get("stroke") for el in root.iter() if el.get("stroke")}
    assert {ADDED_LINE, REMOVED_LINE, WARN_LINE} <= {s.lower() for s in strokes}
    dashed = [
        el for el in root.iter() if el.get("stroke") == REMOVED_LINE and el.get("stroke-dasharray")
    ]
    assert dashed  # the removed node is a dashed ghost
    fills = {(el.get("fill") or "").lower() for el in root.iter()}
    assert DIVERGING[0] in fills  # the gradient shrank x100: the bottom of the scale


def test_a_nan_that_appears_is_the_largest_change():
    b = hand_graph(grad=3.0)
    b.nodes["a"]["value"] = {**b.nodes["a"]["value"], "nan": 2}
    report = gradviz.diff(hand_graph(), b)
    first = report.changes[0]
    assert (first.key, first.field, first.a, first.b) == ("act/Relu#0", "value NaN/Inf", 0.0, 2.0)
    assert "value NaN/Inf  0 -> 2" in report.table()


def test_a_loss_module_made_anew_each_step_keeps_its_key():
    gradviz.manual_seed(0)
    model = nn.Linear(3, 1)
    x, y = gradviz.randn(4, 3), gradviz.randn(4, 1)
    with gradviz.trace() as tr:
        for _ in range(2):
            nn.MSELoss()(model(x), y).backward()  # a new MSELoss each step: MSELoss_2
    first, second = tr.get_pass(1).graph, tr.get_pass(2).graph
    assert "MSELoss_2" in second.graph["modules"]
    report = gradviz.diff(first, second)
    assert not report.structure_changed, str(report)


@pytest.mark.skipif(find_layout_program() is None, reason="no layout program")
def test_jupyter_shows_the_table_and_the_picture():
    html = gradviz.diff(hand_graph(), hand_graph(act="Tanh"))._repr_html_()
    assert html.startswith("<pre>a vs b: structure differs: 1 added, 1 removed")
    assert "<svg" in html
    assert "+ added" in html
