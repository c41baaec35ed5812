"""The tracer on tiny named graphs: what it records, in which order, with which statistics."""

from __future__ import annotations

import inspect
import math
import os

import networkx as nx
import numpy as np
import pytest
from helpers import graph_nodes

import gradviz
from gradviz import Variable, nn, optim
from gradviz.autograd import hooks
from gradviz.nn import functional as F
from gradviz.viz.capture.stats import array_stats
from gradviz.viz.records.stats import KEYS
from gradviz.viz.trace import Trace, TraceError

HERE = os.path.relpath(__file__)
if HERE.startswith(os.pardir):
    HERE = os.path.basename(__file__)


def line_after() -> str:
    """``"tests/test_tracer.py:N"`` for the line after the caller's."""
    return f"{HERE}:{inspect.currentframe().f_back.f_lineno + 1}"


def one(graph: nx.DiGraph, **match: object) -> str:
    found = graph_nodes(graph, **match)
    assert len(found) == 1, (match, found)
    return found[0]


def f32(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ------------------------------------------------------------------------------ small graphs
def test_diamond_counts_order_and_fan_in():
    x = Variable(f32(3), requires_grad=True, name="x")
    with gradviz.trace() as tr:
        a = x * 2
        b = x + 1
        loss = (a * b).sum()
        loss.backward()
    g = tr.graph
    assert g.number_of_nodes() == 5
    assert g.number_of_edges() == 5
    xid = one(g, name="x")
    assert g.nodes[xid]["kind"] == "param"
    assert g.nodes[xid]["accumulated"] is True
    assert [g.nodes[n]["op"] for n in g] == [None, "Mul", "Add", "Mul", "Sum"]
    assert sorted(g.successors(xid)) == sorted(
        graph_nodes(g, op="Mul")[:1] + graph_nodes(g, op="Add")
    )
    assert sum(a["accumulated"] for _, a in g.nodes(data=True)) == 1
    assert g.graph["root"] == one(g, op="Sum")
    assert g.graph["pass"] == 1
    assert g.graph["script"] is None
    assert [s.index for s in tr.steps] == [1, 2, 3, 4, 5]
    assert tr.steps[0].node == g.graph["root"]
    assert all(":" not in n and n.startswith("v") for n in g)


def test_x_times_x_is_one_edge_with_both_slots():
    x = Variable(f32(2), requires_grad=True)
    with gradviz.trace() as tr:
        (x * x).sum().backward()
    g = tr.graph
    mul = one(g, op="Mul")
    (edge,) = g.in_edges(mul, data=True)
    assert edge[2]["arg"] == 0
    assert edge[2]["slots"] == (0, 1)
    assert g.nodes[edge[0]]["accumulated"] is True


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(np.eye(3, dtype=np.float32) * 0.5)

    def forward(self, x: Variable) -> Variable:
        return (x @ self.w) @ self.w


def test_shared_parameter_is_one_node_used_twice():
    model = Tied()
    with gradviz.trace() as tr:
        model(Variable(f32(2, 3))).sum().backward()
    g = tr.graph
    assert g.number_of_nodes() == 5  # x, w, MatMul, MatMul, Sum
    assert g.number_of_edges() == 5
    w = one(g, kind="param")
    assert g.nodes[w]["name"] == "w"
    assert g.nodes[w]["module"] == ""
    assert g.out_degree(w) == 2
    assert g.nodes[w]["accumulated"] is True
    assert g.graph["modules"] == {"": "Tied"}
    assert all(g.nodes[n]["module"] == "" for n in graph_nodes(g, kind="op"))


def test_sequential_mlp_names_modules_and_counts():
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    target = np.zeros((5, 2), dtype=np.float32)
    with gradviz.trace() as tr:
        loss = F.mse_loss(model(Variable(f32(5, 3))), target)
        loss.backward()
    g = tr.graph
    # x, 0.weight, 0.bias, Linear, Relu, 2.weight, 2.bias, Linear, target, MseLoss
    assert g.number_of_nodes() == 10
    assert g.number_of_edges() == 9
    params = {g.nodes[n]["name"]: g.nodes[n] for n in graph_nodes(g, kind="param")}
    assert sorted(params) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert params["0.weight"]["module"] == "0"
    assert params["2.bias"]["shape"] == (2,)
    ops = [(g.nodes[n]["op"], g.nodes[n]["module"]) for n in graph_nodes(g, kind="op")]
    assert ops == [("Linear", "0"), ("Relu", "1"), ("Linear", "2"), ("MseLoss", "")]
    assert g.graph["modules"] == {"": "Sequential", "0": "Linear", "1": "ReLU", "2": "Linear"}
    inputs = graph_nodes(g, kind="input")
    assert len(inputs) == 2
    const = one(g, kind="input", shape=(5, 2))
    assert g.nodes[const]["dtype"] == "float32"
    assert g.nodes[const]["requires_grad"] is False
    linear = graph_nodes(g, op="Linear")[0]
    assert [g.edges[p, linear]["arg"] for p in g.predecessors(linear)] == [0, 1, 2]


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x: Variable) -> Variable:
        return F.relu(self.fc(x))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(Block(), Block())
        self.head = nn.Linear(2, 1)

    def forward(self, x: Variable) -> Variable:
        return self.head(self.block(x)).sum()


def test_nested_module_paths_and_loss_module_prefix():
    gradviz.manual_seed(0)
    net = Net()
    criterion = nn.MSELoss()
    with gradviz.trace() as tr:
        out = net(Variable(f32(4, 2)))
        loss = criterion(out, Variable(np.float32(0.0)))
        loss.backward()
    g = tr.graph
    modules = [(g.nodes[n]["op"], g.nodes[n]["module"]) for n in graph_nodes(g, kind="op")]
    assert modules == [
        ("Linear", "block.0.fc"),
        ("Relu", "block.0"),
        ("Linear", "block.1.fc"),
        ("Relu", "block.1"),
        ("Linear", "head"),
        ("Sum", ""),
        ("MseLoss", "MSELoss"),
    ]
    names = sorted(g.nodes[n]["name"] for n in graph_nodes(g, kind="param"))
    assert names == [
        "block.0.fc.bias",
        "block.0.fc.weight",
        "block.1.fc.bias",
        "block.1.fc.weight",
        "head.bias",
        "head.weight",
    ]
    assert g.graph["modules"]["block.1.fc"] == "Linear"
    assert g.graph["modules"][""] == "Net"
    assert g.graph["modules"]["MSELoss"] == "MSELoss"


class Unregistered(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = [nn.ReLU()]  # a plain list: not registered

    def forward(self, x: Variable) -> Variable:
        return self.layers[0](x)


def test_unregistered_submodule_is_named_by_class():
    with gradviz.trace() as tr:
        Unregistered()(Variable(f32(2), requires_grad=True)).sum().backward()
    relu = one(tr.graph, op="Relu")
    assert tr.graph.nodes[relu]["module"] == "ReLU"
    assert tr.graph.graph["modules"]["ReLU"] == "ReLU"


# ------------------------------------------------------------------------------ source lines
def test_source_lines_point_at_this_file():
    x = Variable(f32(3), requires_grad=True)
    with gradviz.trace() as tr:
        where_mul = line_after()
        y = x * 3
        where_sum = line_after()
        loss = y.sum()
        loss.backward()
    g = tr.graph
    assert g.nodes[one(g, op="Mul")]["source"] == where_mul
    assert g.nodes[one(g, op="Sum")]["source"] == where_sum
    # created before tracing: the line of its first use
    assert g.nodes[one(g, kind="param")]["source"] == where_mul
    assert not any(os.path.isabs(a["source"]) for _, a in g.nodes(data=True))


def test_parameter_remembers_the_line_that_created_it():
    with gradviz.trace() as tr:
        where = line_after()
        layer = nn.Linear(2, 3)
        layer(Variable(f32(1, 2))).sum().backward()
    g = tr.graph
    for n in graph_nodes(g, kind="param"):
        assert g.nodes[n]["source"] == where


def test_module_sources_are_the_users_lines_not_gradvizs():
    gradviz.manual_seed(0)
    with gradviz.trace() as tr:
        model = Net()
        model(Variable(f32(1, 2))).backward()
    g = tr.graph
    block_line = f"{HERE}:{inspect.getsourcelines(Block.forward)[1] + 1}"
    assert g.nodes[graph_nodes(g, op="Relu")[0]]["source"] == block_line
    assert all(a["source"].startswith(HERE) for _, a in g.nodes(data=True))


# ------------------------------------------------------------------------------ backward order
def test_backward_steps_are_a_reverse_topological_order():
    gradviz.manual_seed(1)
    net = Net()
    x = Variable(f32(3, 2))
    with gradviz.trace() as tr:
        h = net.block(x)
        loss = (net.head(h).sum() + (h * h).mean()) * 0.5
        loss.backward()
    g = tr.graph
    stepped = {s.node: s.index for s in tr.steps}
    assert len(stepped) == len(tr.steps)
    assert set(stepped) == {n for n, a in g.nodes(data=True) if a["requires_grad"]}
    for u, v in g.edges:
        if u in stepped and v in stepped:
            assert stepped[v] < stepped[u], (u, v)
    for node, index in stepped.items():
        assert g.nodes[node]["step"] == index
    sub = g.subgraph(stepped)
    assert nx.is_directed_acyclic_graph(sub)
    # every step's grad stats are on its node
    for s in tr.steps:
        assert g.nodes[s.node]["grad"] == s.grad
    assert g.nodes[one(g, kind="input")]["grad"] is None
    assert g.nodes[one(g, kind="input")]["step"] is None


# ------------------------------------------------------------------------------ statistics
def test_stats_match_numpy_with_nan_and_inf():
    a = np.array([[1.0, -2.0, np.nan], [np.inf, 4.0, -np.inf]], dtype=np.float64)
    s = array_stats(a)
    finite = np.array([1.0, -2.0, 4.0])
    assert tuple(s) == KEYS
    assert s["nan"] == 1
    assert s["inf"] == 2
    assert s["min"] == -2.0
    assert s["max"] == 4.0
    assert s["mean"] == pytest.approx(finite.mean())
    assert s["std"] == pytest.approx(finite.std())
    assert s["norm"] == pytest.approx(np.linalg.norm(finite))
    assert all(type(s[k]) is float for k in KEYS[:5])
    assert all(type(s[k]) is int for k in ("nan", "inf"))


@pytest.mark.parametrize("shape", [(7,), (64, 256), (300, 301), ()])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stats_match_numpy_on_finite_arrays(shape, dtype):
    a = (np.random.default_rng(3).standard_normal(shape) * 3 + 0.5).astype(dtype)
    s = array_stats(a)
    wide = a.astype(np.float64)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    assert s["min"] == wide.min()
    assert s["max"] == wide.max()
    assert s["mean"] == pytest.approx(wide.mean(), rel=rtol, abs=1e-6)
    assert s["std"] == pytest.approx(wide.std(), rel=rtol, abs=1e-6)
    assert s["norm"] == pytest.approx(np.linalg.norm(wide), rel=rtol)
    assert s["nan"] == s["inf"] == 0


def test_stats_edge_cases():
    assert array_stats(np.zeros((0, 3))) == dict.fromkeys(KEYS[:5]) | {"nan": 0, "inf": 0}
    assert array_stats(np.array([np.nan, np.inf])) == dict.fromkeys(KEYS[:5]) | {
        "nan": 1,
        "inf": 1,
    }
    ints = array_stats(np.array([1, 2, 3]))
    assert ints["mean"] == 2.0
    assert ints["max"] == 3.0
    assert array_stats(np.array([True, False]))["mean"] == 0.5
    big = np.full(10, 1e30, dtype=np.float32)  # squares overflow float32
    assert array_stats(big)["norm"] == pytest.approx(1e30 * math.sqrt(10), rel=1e-6)
    huge = np.array([1e200, -1e200, 3e200])  # and float64
    assert array_stats(huge)["norm"] == pytest.approx(np.linalg.norm(huge / 1e200) * 1e200)
    assert array_stats(huge)["std"] == pytest.approx(np.std(huge / 1e200) * 1e200)
    top = np.full(4, np.finfo(np.float64).max)  # the sum overflows: no warning, a finite mean
    assert array_stats(top)["mean"] == pytest.approx(np.finfo(np.float64).max)
    assert array_stats(np.array([2.5]))["std"] == 0.0
    const = np.full(5000, 1000.0, dtype=np.float32) + np.float32(1e-3) * np.arange(5000) % 2
    assert array_stats(const)["std"] == pytest.approx(const.astype(np.float64).std(), rel=1e-3)
    assert array_stats(np.array(["a"])) is None


def test_value_and_grad_stats_are_taken_at_event_time():
    x = Variable(np.array([1.0, np.nan, 3.0], dtype=np.float32), requires_grad=True)
    with gradviz.trace() as tr:
        y = x * 2
        y.sum().backward()
        y.numpy()[...] = 100  # later in-place changes do not reach the record
        x.grad[...] = 7
    g = tr.graph
    mul = one(g, op="Mul")
    assert g.nodes[mul]["value"]["max"] == 6.0
    assert g.nodes[mul]["value"]["nan"] == 1
    assert g.nodes[one(g, kind="param")]["grad"]["max"] == 2.0


# ------------------------------------------------------------------------------ optimizer
def test_optimizer_update_norm_and_ratio():
    gradviz.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = {n: p.numpy().copy() for n, p in model.named_parameters()}
    with gradviz.trace() as tr:
        model(Variable(f32(4, 3))).sum().backward()
        opt.step()
    g = tr.graph
    for node in graph_nodes(g, kind="param"):
        name = g.nodes[node]["name"]
        delta = model.__getattribute__(name).numpy() - before[name]
        update = g.nodes[node]["update"]
        assert update["norm"] == pytest.approx(np.linalg.norm(delta), rel=1e-5)
        assert update["ratio"] == pytest.approx(
            np.linalg.norm(delta) / np.linalg.norm(before[name]), rel=1e-5
        )
    assert all(g.nodes[n]["update"] is None for n in graph_nodes(g, kind="op"))


def test_updates_of_same_shaped_parameters_in_trace_after_trace_are_each_their_own():
    # the pre-step copies come from a pool shared by traces: two parameters of one shape must
    # not share a copy, and a copy given back by one trace is reused by the next
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    for step in range(3):
        before = {n: p.numpy().copy() for n, p in model.named_parameters()}
        with gradviz.trace() as tr:
            opt.zero_grad()
            model(Variable(f32(4, 3, seed=step))).sum().backward()
            opt.step()
        after = dict(model.named_parameters())
        g = tr.graph
        for node in graph_nodes(g, kind="param"):
            name = g.nodes[node]["name"]
            delta = after[name].numpy() - before[name]
            assert np.linalg.norm(delta) > 0
            assert g.nodes[node]["update"]["norm"] == pytest.approx(np.linalg.norm(delta), rel=1e-5)


def test_parameters_are_named_as_the_model_lists_them_even_when_it_overrides_the_listing():
    class Renamed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x: Variable) -> Variable:
            return self.fc(x)

        def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
            for name, p in super().named_parameters(prefix, recurse, remove_duplicate):
                yield f"custom_{name}", p

    shared = nn.Linear(2, 2)
    plain = nn.Sequential(shared, nn.ReLU(), shared)  # one Linear twice: named once
    for model, names in (
        (Renamed(), {"custom_fc.weight", "custom_fc.bias"}),
        (plain, {"0.weight", "0.bias"}),
    ):
        with gradviz.trace() as tr:
            model(Variable(f32(1, 2))).sum().backward()
        g = tr.graph
        assert {g.nodes[n]["name"] for n in graph_nodes(g, kind="param")} == names


def test_update_is_recorded_only_for_the_step_right_after_backward():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with gradviz.trace() as tr:
        model(Variable(f32(1, 2))).sum().backward()
        model(Variable(f32(1, 2)))  # a forward op ends the step
        opt.step()
    assert all(a["update"] is None for _, a in tr.graph.nodes(data=True))


def test_parameters_are_summarised_again_each_step():
    model = nn.Linear(2, 1, bias=False)
    opt = optim.SGD(model.parameters(), lr=1.0)
    x = Variable(np.ones((1, 2), dtype=np.float32))
    with gradviz.trace() as tr:
        for _ in range(2):
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
    first, second = (p.graph for p in tr.passes)
    w1, w2 = one(first, kind="param"), one(second, kind="param")
    assert w1 == w2  # the same Variable keeps its node id
    assert second.nodes[w2]["value"]["mean"] == pytest.approx(
        first.nodes[w1]["value"]["mean"] - 1.0
    )


# ------------------------------------------------------------------------------ passes
def test_one_pass_per_backward_call():
    x = Variable(f32(3), requires_grad=True)
    with gradviz.trace() as tr:
        assert tr.graph.number_of_nodes() == 0
        assert tr.steps == []
        (x * 2).sum().backward()
        (x.exp()).sum().backward()
        (x * x).mean().backward()
    assert [p.index for p in tr.passes] == [1, 2, 3]
    assert tr.backward_calls == 3
    assert tr.graph is tr.passes[-1].graph
    assert tr.steps is tr.passes[-1].steps
    assert [p.graph.graph["pass"] for p in tr.passes] == [1, 2, 3]
    assert one(tr.passes[1].graph, op="Exp")
    assert not graph_nodes(tr.passes[1].graph, op="Mul")
    assert tr.get_pass(2) is tr.passes[1]
    assert tr.get_pass(-1) is tr.passes[-1]
    with pytest.raises(TraceError, match="no pass 9"):
        tr.get_pass(9)


def test_graph_before_any_backward_is_the_forward_graph_of_everything():
    x = Variable(f32(2), requires_grad=True)
    with gradviz.trace() as tr:
        y = x * 2
        z = y + 1
        assert tr.graph.number_of_nodes() == 3
        _ = z.exp()
    g = tr.graph
    assert g.number_of_nodes() == 4
    assert g.graph["root"] is None
    assert g.graph["pass"] is None
    assert all(a["grad"] is None and a["step"] is None for _, a in g.nodes(data=True))
    assert tr.steps == []


def test_pass_graph_holds_the_loss_and_its_ancestors_only():
    x = Variable(f32(2), requires_grad=True)
    with gradviz.trace() as tr:
        unused = x * 5  # noqa: F841
        (x + 1).sum().backward()
    assert [a["op"] for _, a in tr.graph.nodes(data=True)] == [None, "Add", "Sum"]


# ------------------------------------------------------------------------------ no_grad, detach
def test_no_grad_ops_are_recorded_without_gradient_and_as_events():
    w = Variable(f32(3), requires_grad=True)
    raw = Variable(f32(3, seed=1))
    with gradviz.trace() as tr:
        enter = line_after()
        with gradviz.no_grad():
            clean = raw * 0.5
            ignored = w * 2
        loss = (clean * w).sum() + ignored.sum()
        loss.backward()
    g = tr.graph
    mul_nodes = graph_nodes(g, op="Mul")
    no_grad_muls = [n for n in mul_nodes if not g.nodes[n]["requires_grad"]]
    assert len(no_grad_muls) == 2  # raw * 0.5 and w * 2 feed the loss but need no gradient
    assert all(g.nodes[n]["step"] is None for n in no_grad_muls)
    assert g.nodes[one(g, op="Add")]["requires_grad"] is True
    kinds = [(e.kind, e.source) for e in tr.events]
    # Python reports the exit of a `with` block at the `with` line
    assert kinds == [("no_grad_enter", enter), ("no_grad_exit", enter)]
    assert tr.events[0].after is None  # nothing was recorded before the region
    assert tr.events[1].after == no_grad_muls[1]  # the region ended after `w * 2`


def test_nested_no_grad_gives_one_region():
    with gradviz.trace() as tr, gradviz.no_grad(), gradviz.no_grad():
        pass
    assert [e.kind for e in tr.events] == ["no_grad_enter", "no_grad_exit"]


def test_detach_is_an_event_and_cuts_the_gradient():
    x = Variable(f32(3), requires_grad=True)
    with gradviz.trace() as tr:
        h = x * 2
        where = line_after()
        cut = h.detach()
        loss = (cut * x).sum()
        loss.backward()
    (event,) = tr.events
    assert event.kind == "detach"
    assert event.source == where
    g = tr.graph
    assert event.result in g
    assert g.nodes[event.result]["kind"] == "input"
    assert g.nodes[event.result]["detached_from"] == event.node
    assert g.nodes[event.result]["requires_grad"] is False
    # the detached branch stays in the pass's graph, though not upstream of the loss
    assert event.node in g
    assert event.node not in nx.ancestors(g, g.graph["root"])
    assert g.nodes[event.node]["step"] is None
    assert tr.passes[0].graph.nodes[event.result]["grad"] is None


# ------------------------------------------------------------------------------ details
def test_options_and_constants():
    x = Variable(f32(2, 3), requires_grad=True)
    offset = np.ones(3, dtype=np.float32)
    with gradviz.trace() as tr:
        y = (x + offset) * offset
        y.sum(axis=1).sum().backward()
    g = tr.graph
    assert len(graph_nodes(g, kind="input")) == 1  # the same ndarray used twice is one node
    sums = graph_nodes(g, op="Sum")
    assert g.nodes[sums[0]]["args"] == ("axis=1",)
    assert g.nodes[sums[1]]["args"] == ()


def test_name_given_after_the_op_is_used():
    x = Variable(f32(2), requires_grad=True, name="x")
    with gradviz.trace() as tr:
        hidden = x * 2
        hidden.name = "hidden"
        hidden.sum().backward()
    assert one(tr.graph, op="Mul") == one(tr.graph, name="hidden")


def test_history_from_before_the_trace_is_recorded():
    x = Variable(f32(2), requires_grad=True, name="x")
    y = x.exp()
    with gradviz.trace() as tr:
        (y * 2).sum().backward()
    g = tr.graph
    assert [a["op"] for _, a in g.nodes(data=True)] == [None, "Exp", "Mul", "Sum"]
    assert g.nodes[one(g, op="Exp")]["source"] is None
    assert g.number_of_edges() == 3


def test_arrays_are_copied_up_to_the_size_limit():
    x = Variable(np.arange(3, dtype=np.float32), requires_grad=True)
    big = Variable(np.ones(50, dtype=np.float32), requires_grad=True)
    with gradviz.trace(arrays=True, max_array_size=10) as tr:
        y = x * 2
        y.sum().backward()
        y.numpy()[0] = 99  # copied at event time
        (big * 1).sum().backward()
    small = tr.passes[0].graph
    mul = one(small, op="Mul")
    assert small.nodes[mul]["array"] == [0.0, 2.0, 4.0]
    assert small.nodes[mul]["grad_array"] == [1.0, 1.0, 1.0]
    assert small.nodes[one(small, kind="param")]["grad_array"] == [2.0, 2.0, 2.0]
    large = tr.passes[1].graph
    assert large.nodes[one(large, kind="param")]["array"] is None
    assert large.nodes[one(large, kind="param")]["grad_array"] is None
    plain = gradviz.trace()
    with plain:
        (x * 2).sum().backward()
    assert all(a["array"] is None for _, a in plain.graph.nodes(data=True))


def test_records_stay_bounded_over_many_steps():
    model = nn.Linear(4, 2)
    opt = optim.SGD(model.parameters(), lr=0.01)
    with gradviz.trace() as tr:
        for _ in range(30):
            opt.zero_grad()
            model(Variable(f32(3, 4))).sum().backward()
            opt.step()
        recorder = tr._recorder
        assert len(recorder.records) < 15
    assert len(tr.passes) == 30


# ------------------------------------------------------------------------------ lifecycle
def test_hooks_uninstalled_after_an_exception_inside_trace():
    tr = gradviz.trace()

    def crash() -> None:
        with tr:
            assert tr.recording
            assert hooks.ACTIVE
            _ = 1 / 0

    with pytest.raises(ZeroDivisionError):
        crash()
    assert hooks.ACTIVE == ()
    assert not tr.recording


def test_engine_error_inside_trace_leaves_it_clean():
    x = Variable(f32(2, 3), requires_grad=True)
    with pytest.raises(gradviz.ShapeError), gradviz.trace():
        _ = x @ Variable(f32(2, 3))
    assert hooks.ACTIVE == ()


def test_a_trace_records_once():
    tr = gradviz.trace()
    with tr:
        pass
    with pytest.raises(TraceError, match="records once"), tr:
        pass
    assert isinstance(tr, Trace)
    assert gradviz.Trace is Trace


def test_render_writes_the_chosen_view_and_pass(tmp_path):
    from gradviz.viz.draw.render import build

    x = Variable(f32(2), requires_grad=True)
    with gradviz.trace() as tr:
        (x * 2).sum().backward()
        (x * 3).sum().backward()
    out = tmp_path / "b.dot"
    result = tr.render("backward", out, depth=1)  # the last pass, format from the suffix
    assert (result.path, result.format, result.view) == (out, "dot", "backward")
    assert out.read_text(encoding="utf-8") == build(tr.graph, "backward", depth=1).source
    first = tmp_path / "f.txt"
    tr.render("forward", first, format="dot", pass_index=1)
    assert first.read_text(encoding="utf-8") == build(tr.passes[0].graph, "forward").source
    assert "Mul" in first.read_text(encoding="utf-8")


def test_gradchecks_own_backward_calls_are_not_passes():
    x = Variable(np.ones(3), requires_grad=True)
    with gradviz.trace() as tr:
        gradviz.gradcheck(lambda v: (v * v).sum(), (x,))
        (x * 2).sum().backward()
    assert tr.backward_calls == 1
    assert [p.index for p in tr.passes] == [1]
    assert tr.graph.number_of_nodes() == 3


class WithConstant(nn.Module):
    def forward(self, x: Variable) -> Variable:
        scale = Variable(np.float32(2.0), name="scale")  # made inside the module
        return x * scale


def test_leaves_made_inside_a_module_belong_to_it():
    model = nn.Sequential(WithConstant())
    x = Variable(f32(3), requires_grad=True, name="x")
    with gradviz.trace() as tr:
        model(x).sum().backward()
    g = tr.graph
    assert g.nodes[one(g, name="scale")]["module"] == "0"
    assert g.nodes[one(g, name="x")]["module"] == ""


def test_history_computed_before_the_trace_is_recorded_with_its_parents():
    x = gradviz.Variable(np.ones((2, 3)), requires_grad=True, name="x")
    w = gradviz.Variable(np.full((2, 3), 2.0), requires_grad=True, name="w")
    h = (x * w).tanh()  # before tracing: the tracer meets it first as an input of Sum
    with gradviz.trace() as tr:
        (h + x).sum().backward()
    g = tr.graph
    by_op = {a["op"]: n for n, a in g.nodes(data=True) if a["kind"] == "op"}
    assert set(by_op) == {"Mul", "Tanh", "Add", "Sum"}
    names = {g.nodes[p]["name"] for p in g.predecessors(by_op["Mul"])}
    assert names == {"x", "w"}
    assert list(g.predecessors(by_op["Tanh"])) == [by_op["Mul"]]
    assert g.nodes[by_op["Mul"]]["source"] is None  # ran before the trace: no line known
