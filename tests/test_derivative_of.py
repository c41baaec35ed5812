"""The ops of a gradient computed with ``create_graph=True`` say what they are the derivative of:
each op a graph rule records carries ``derivative_of`` (the op, its module, and for a second
derivative the rule that recorded that op), no other node does; trace files keep it; the
pictures group each rule's ops in a dashed ``∂ Tanh in 1`` box and the page names the op in its
node panel. Pictures of scripts without ``create_graph`` are unchanged (tests/golden)."""

from __future__ import annotations

import json
import re
import textwrap

import numpy as np
import pytest
from test_html import embedded

import gradviz
from gradviz import Function, Variable, nn
from gradviz.autograd import grad
from gradviz.viz.capture.live import graph_from_variable
from gradviz.viz.draw.render import build
from gradviz.viz.draw.scene import DASH, TIMES
from gradviz.viz.records.io import TraceFormatError
from gradviz.viz.records.schema import NODE_ATTRS, NODE_SCHEMA
from gradviz.viz.runner import run_script
from gradviz.viz.trace import write_page

PENALTY = textwrap.dedent(
    """\
    import gradviz as torch
    import gradviz.nn as nn
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(critic.parameters(), lr=0.1)
    x = torch.randn(16, 2, requires_grad=True)
    for step in range(2):
        opt.zero_grad()
        score = critic(x).mean()
        (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
        loss = -score + 10 * penalty
        loss.backward(); opt.step()
    """
)

SECOND = textwrap.dedent(
    """\
    import gradviz as torch
    x = torch.linspace(-2, 2, 5, requires_grad=True)
    y = x**3 + torch.sin(x)
    (dy,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy.sum(), x, create_graph=True)
    d2y.sum().backward()
    """
)

# the gradient taken inside a module's forward (an energy-based layer), in three identical
# blocks: the rules' ops run inside the blocks
FORCE = textwrap.dedent(
    """\
    import gradviz as torch
    import gradviz.nn as nn

    class Force(nn.Module):
        def __init__(self):
            super().__init__()
            self.energy = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))

        def forward(self, x):
            (f,) = torch.autograd.grad(self.energy(x).sum(), x, create_graph=True)
            return x - 0.1 * f

    torch.manual_seed(0)
    model = nn.Sequential(Force(), Force(), Force())
    x = torch.randn(8, 2, requires_grad=True)
    model(x).pow(2).mean().backward()
    """
)


def _run(tmp_path, text: str, name: str):
    script = tmp_path / name
    script.write_text(text, encoding="utf-8")
    return run_script(script)


def _rules(graph) -> dict[str, tuple]:
    """``{node: (op, the op it differentiates, its module, rule)}`` of the rules' ops."""
    out = {}
    for n, a in graph.nodes(data=True):
        d = a["derivative_of"]
        if d is not None:
            out[n] = (a["op"], d["op"], d["module"], d["rule"])
    return out


def _clusters(source: str) -> list[tuple[str, list[str], list[str]]]:
    """(label, node ids directly inside, labels of the clusters it is in) of each cluster of a
    DOT text, in order."""
    found: list[tuple[str, list[str], list[str]]] = []
    stack: list[int | None] = []  # open subgraphs: a cluster's index, None for a rank row
    for line in source.splitlines():
        text = line.strip()
        open_clusters = [i for i in stack if i is not None]
        inner = open_clusters[-1] if open_clusters else None
        if text.startswith("subgraph cluster_"):
            found.append(("", [], [found[i][0] for i in open_clusters]))
            stack.append(len(found) - 1)
        elif text.endswith("{"):
            stack.append(None)
        elif text == "}" and stack:
            stack.pop()
        elif inner is not None and not found[inner][0] and (m := re.search(r"label=<(.*)>", text)):
            found[inner] = (m.group(1), *found[inner][1:])
        elif inner is not None and (node := re.match(r"(\w+) \[label=", text)):
            found[inner][1].append(node.group(1))
    return found


def _rule_clusters(source: str) -> dict[str, list[str]]:
    return {label: nodes for label, nodes, _ in _clusters(source) if label.startswith("∂")}


# ------------------------------------------------------------------------------ records
def test_a_gradient_penalty_marks_exactly_its_rules_ops(tmp_path):
    trace = _run(tmp_path, PENALTY, "gp.py")
    graph = trace.graph
    rules = _rules(graph)
    assert sorted(rules.values()) == [
        ("Expand", "Sum", "", None),  # the 1 the gradient starts from, expanded
        ("MatMul", "Linear", "0", None),  # grad @ weight of the first layer
        ("MatMul", "Linear", "2", None),
        ("Mul", "Tanh", "1", None),  # grad * (1 - out * out)
        ("Mul", "Tanh", "1", None),
        ("Reshape", "Sum", "", None),
        ("Sub", "Tanh", "1", None),
    ]
    # every other node: the forward, the seed, the penalty and the loss
    others = {a[k] for n, a in graph.nodes(data=True) if n not in rules for k in ("op", "name")}
    assert {"Linear", "Tanh", "Norm", "Pow", "Add", "grad_output", "0.weight", "loss"} <= others
    # one node id per rule: the Tanh differentiated is the one on the gradient's line
    (tanh,) = {graph.nodes[n]["derivative_of"]["node"] for n, r in rules.items() if r[1] == "Tanh"}
    assert graph.nodes[tanh]["op"] == "Tanh"
    assert graph.nodes[tanh]["source"] == "gp.py:10"


def test_sums_of_several_consumers_are_not_a_rule_but_unbroadcasting_is():
    x = Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    w = Variable(np.ones(3), requires_grad=True)
    with gradviz.trace() as tr:
        gx, gw = grad((x * x * w).sum(), [x, w], create_graph=True)
        (gx.sum() + gw.sum()).backward()
    graph = tr.graph
    rules = _rules(graph)
    # Mul's rule brings w's gradient, (2, 3), to w's shape (3,): a Sum and a Reshape of its own
    assert sorted(r[0] for r in rules.values() if r[1] == "Mul") == [
        "Mul", "Mul", "Mul", "Mul", "Reshape", "Sum"
    ]  # fmt: skip
    # the two shares of x (x * x) are added outside any rule, as the engine adds them
    adds = [n for n, a in graph.nodes(data=True) if a["op"] == "Add" and n not in rules]
    assert adds, "x's two gradients are summed by an Add"
    assert all(graph.nodes[n]["derivative_of"] is None for n in adds)


class Boom(Function):
    """An op whose graph rule fails."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2

    @staticmethod
    def backward_graph(ctx, g, out):
        _ = g * 3  # recorded inside the rule, then the rule raises
        raise ValueError("boom")


def test_a_rule_that_raises_leaves_later_ops_unmarked():
    x = Variable(np.ones(3), requires_grad=True)
    with gradviz.trace() as tr:
        y = Boom.apply(x).sum()
        with pytest.raises(ValueError, match="boom"):
            grad(y, x, create_graph=True)
        after = x * 5
    ops = [
        (a["op"], a["derivative_of"] and a["derivative_of"]["op"], a["shape"])
        for n, a in sorted(tr.graph.nodes(data=True), key=lambda item: int(item[0][1:]))
        if a["op"]
    ]
    assert ("Mul", "Boom", (3,)) in ops  # the rule's own op, before it raised
    assert ops[-1] == ("Mul", None, after.shape)  # x * 5, after the failed rule


def test_a_second_derivative_names_the_rule_that_recorded_the_op_it_differentiates(tmp_path):
    trace = _run(tmp_path, SECOND, "d2.py")
    rules = set(_rules(trace.graph).values())
    # d/dx of cos(x) (recorded by Sin's rule) is -sin(x): Cos's rule records a Sin and a Neg
    assert {("Sin", "Cos", "", "Sin"), ("Neg", "Cos", "", "Sin")} <= rules
    assert ("Mul", "Pow", "", "Pow") in rules  # 3 * x**2 differentiated again
    assert ("Reshape", "Sum", "", None) in rules  # both grad calls start from a 1


def test_every_route_gives_a_create_graph_step_exactly_the_schema(tmp_path):
    trace = _run(tmp_path, PENALTY, "gp.py")
    trace.save(tmp_path / "gp.trace.json")
    loaded = gradviz.load_trace(tmp_path / "gp.trace.json")
    x = Variable(np.ones(3), requires_grad=True)
    (g,) = grad((x**3).sum(), x, create_graph=True)
    live = graph_from_variable(g.sum(), None)  # no trace saw the rules run: None
    assert all(a["derivative_of"] is None for _, a in live.nodes(data=True))
    for graph in (trace.graph, loaded.graph, live):
        for nid, attrs in graph.nodes(data=True):
            assert tuple(attrs) == NODE_ATTRS, nid
            for key, value in attrs.items():
                assert type(value) in NODE_SCHEMA[key][0], (nid, key, value)


# ------------------------------------------------------------------------------ files
def test_the_trace_file_keeps_derivative_of(tmp_path):
    trace = _run(tmp_path, PENALTY, "gp.py")
    path = tmp_path / "gp.trace.json"
    trace.save(path)
    loaded = gradviz.load_trace(path).graph
    expected = {n: a["derivative_of"] for n, a in trace.graph.nodes(data=True)}
    assert {n: a["derivative_of"] for n, a in loaded.nodes(data=True)} == expected
    assert any(v is not None for v in expected.values())
    data = json.loads(path.read_text(encoding="utf-8"))
    (node,) = [
        e
        for e in data["passes"][0]["graph"]["nodes"]
        if (e["derivative_of"] or {}).get("op") == "Sum" and e["op"] == "Expand"
    ]
    assert set(node["derivative_of"]) == {"node", "op", "module", "rule"}


def test_a_file_written_before_derivative_of_reads_as_none(tmp_path):
    trace = _run(tmp_path, PENALTY, "gp.py")
    path = tmp_path / "old.trace.json"
    trace.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    for entry in data["passes"][0]["graph"]["nodes"]:
        del entry["derivative_of"]
    path.write_text(json.dumps(data), encoding="utf-8")
    graph = gradviz.load_trace(path).graph
    assert all(a["derivative_of"] is None for _, a in graph.nodes(data=True))


@pytest.mark.parametrize(
    "bad",
    [
        "v3",
        {"node": "v3", "op": "Tanh"},
        {"node": 3, "op": "Tanh", "module": "", "rule": None},
        {"node": "v3", "op": "Tanh", "module": None, "rule": None},
    ],
)
def test_a_malformed_derivative_of_is_refused(tmp_path, bad):
    trace = _run(tmp_path, PENALTY, "gp.py")
    path = tmp_path / "bad.trace.json"
    trace.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["passes"][0]["graph"]["nodes"][0]["derivative_of"] = bad
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(TraceFormatError, match=r"nodes\[0\]\.derivative_of must be null or"):
        gradviz.load_trace(path)


# ------------------------------------------------------------------------------ pictures
@pytest.mark.parametrize("view", ["forward", "backward"])
def test_each_rule_is_a_labelled_cluster_of_its_ops(tmp_path, view):
    trace = _run(tmp_path, PENALTY, "gp.py")
    graph = trace.graph
    source = build(graph, view).source
    clusters = _rule_clusters(source)
    ops = {label: sorted(graph.nodes[n]["op"] for n in nodes) for label, nodes in clusters.items()}
    assert ops == {
        "∂ <b>Sum</b>": ["Expand", "Reshape"],
        "∂ <b>Linear</b> in 2": ["MatMul"],
        "∂ <b>Tanh</b> in 1": ["Mul", "Mul", "Sub"],
        "∂ <b>Linear</b> in 0": ["MatMul"],
    }
    assert "the ops of the derivative of Op" in source  # the legend says what the boxes are
    # the modules keep their clusters, and the rules' ops (run outside them) are not in them
    labels = [label for label, _, _ in _clusters(source)]
    assert {"<b>0</b>: Linear", "<b>1</b>: Tanh", "<b>2</b>: Linear"} <= set(labels)
    for label, _, outer in _clusters(source):
        if label.startswith("∂"):
            assert outer == []


def test_collapsed_modules_keep_the_rules_drawn_outside_them(tmp_path):
    trace = _run(tmp_path, PENALTY, "gp.py")
    drawing = build(trace.graph, "forward", depth=0)
    assert set(drawing.groups.values()) == {"0", "1", "2"}  # the layers are boxes
    assert len(_rule_clusters(drawing.source)) == 4


def test_rules_run_inside_a_module_are_drawn_in_it_and_fold_with_it(tmp_path):
    trace = _run(tmp_path, FORCE, "force.py")
    graph = trace.graph
    # the ops ran in the blocks: they are the blocks' (Force.forward took the gradient)
    modules = {graph.nodes[n]["module"] for n in _rules(graph)}
    assert modules == {"0", "1", "2"}
    # the three identical blocks fold into the first; its rules are drawn inside it
    folded = build(graph, "forward")
    assert [f["span"] for f in folded.folds] == [f"0{DASH}2"]
    block = f"<b>0{DASH}2</b> (Force) {TIMES}3"
    found = {label: outer for label, _, outer in _clusters(folded.source) if "∂" in label}
    assert found == {
        "∂ <b>Sum</b> in 0": [block],
        "∂ <b>Linear</b> in 0.energy.2": [block],
        "∂ <b>Tanh</b> in 0.energy.1": [block],
        "∂ <b>Linear</b> in 0.energy.0": [block],
    }
    # unfolded: each block draws its own four
    unfolded = _rule_clusters(build(graph, "forward", fold=False).source)
    assert len(unfolded) == 12
    assert "∂ <b>Tanh</b> in 2.energy.1" in unfolded
    # collapsed, a block is one box: its rules are inside it, not drawn
    collapsed = build(graph, "forward", depth=0)
    assert _rule_clusters(collapsed.source) == {}
    assert "the ops of the derivative of Op" not in collapsed.source


def test_a_second_derivative_says_which_rule_recorded_the_op(tmp_path):
    trace = _run(tmp_path, SECOND, "d2.py")
    clusters = _rule_clusters(build(trace.graph, "forward").source)
    assert "∂ <b>Cos</b> in ∂ Sin" in clusters
    assert "∂ <b>Pow</b> in ∂ Pow" in clusters


def test_a_script_without_create_graph_draws_no_rule(tmp_path):
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = Variable(np.ones((4, 2), np.float32))
    with gradviz.trace() as tr:
        model(x).sum().backward()
    assert all(a["derivative_of"] is None for _, a in tr.graph.nodes(data=True))
    for view in ("forward", "backward"):
        source = build(tr.graph, view).source
        assert "∂" not in source
        assert "#6a51a3" not in source


# ------------------------------------------------------------------------------ page
def test_the_page_names_what_a_rules_op_differentiates(tmp_path):
    trace = _run(tmp_path, PENALTY, "gp.py")
    write_page(trace, tmp_path / "gp.html")
    data = embedded((tmp_path / "gp.html").read_text(encoding="utf-8"))
    marked = {n["id"]: n["deriv"] for n in data["nodes"] if "deriv" in n}
    graph = trace.graph
    assert marked == {
        n: a["derivative_of"] for n, a in graph.nodes(data=True) if a["derivative_of"]
    }


@pytest.mark.browser
def test_the_node_panel_says_what_the_op_is_the_derivative_of(tmp_path):
    harness = pytest.importorskip("test_html_page")
    trace = _run(tmp_path, PENALTY, "gp.py")
    write_page(trace, tmp_path / "gp.html")
    graph = trace.graph
    (mul,) = [n for n, r in _rules(graph).items() if r[:2] == ("Sub", "Tanh")]
    with harness.chromium(1280, 800) as browser:
        page = harness.opened(browser, tmp_path / "gp.html")
        harness.node(page, mul).click()
        panel = page.locator("#info-body").inner_text()
        assert "derivative of\tTanh in 1: part of ∂ Tanh" in panel
        assert "TanhBackward0" in panel
        assert "∂ Op: the ops of Op's derivative" in page.locator("#legend-body").inner_text()
        assert page.problems == []
