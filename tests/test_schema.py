"""The node schema is defined once (records/schema.py): every route that makes a graph (a live
Variable, a trace, a loaded trace file) gives each node exactly the schema's attributes, with
the schema's types."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn, optim
from gradviz.viz.capture.live import graph_from_variable
from gradviz.viz.records.schema import (
    EDGE_ATTRS,
    GRAD_NOT_RECORDED,
    GRAPH_ATTRS,
    KINDS,
    NODE_ATTRS,
    NODE_SCHEMA,
    node_attrs,
    node_view,
)


def _step(arrays: bool = False):
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = Variable(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32))
    with gradviz.trace(arrays=arrays) as tr:
        h = model(x)
        loss = (h * h).mean() + h.detach().sum() * 0
        loss.backward()
        opt.step()
    return tr, loss, model


def _live():
    _, loss, model = _step()
    return graph_from_variable(loss, dict(model.named_parameters()))


def _traced():
    return _step()[0].graph


def _traced_arrays():
    return _step(arrays=True)[0].graph


def _forward_only():
    x = Variable(np.ones((2, 2), np.float32), requires_grad=True)
    with gradviz.trace() as tr:
        (x * 2).sum()
    return tr.graph


def _loaded(tmp_path):
    tr = _step(arrays=True)[0]
    tr.save(tmp_path / "t.trace.json")
    return gradviz.load_trace(tmp_path / "t.trace.json").graph


ROUTES = {
    "live": lambda tmp_path: _live(),
    "traced": lambda tmp_path: _traced(),
    "traced-arrays": lambda tmp_path: _traced_arrays(),
    "forward-only": lambda tmp_path: _forward_only(),
    "loaded": _loaded,
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_route_gives_every_node_exactly_the_schema(route, tmp_path):
    graph = ROUTES[route](tmp_path)
    assert graph.number_of_nodes() > 1
    assert set(GRAPH_ATTRS) <= set(graph.graph)
    for nid, attrs in graph.nodes(data=True):
        assert tuple(attrs) == NODE_ATTRS, nid  # every attribute, in schema order
        for key, value in attrs.items():
            types, _ = NODE_SCHEMA[key]
            assert type(value) in types, (route, nid, key, value)
        assert attrs["kind"] in KINDS
        assert all(type(n) is int for n in attrs["shape"])
        assert all(type(a) is str for a in attrs["args"])
    for u, v, attrs in graph.edges(data=True):
        assert tuple(attrs) == EDGE_ATTRS, (u, v)
        assert attrs["arg"] == attrs["slots"][0]


def test_arrays_are_filled_when_asked():
    graph = _traced_arrays()
    assert all(a["array"] is not None for _, a in graph.nodes(data=True))
    assert any(a["grad_array"] is not None for _, a in graph.nodes(data=True))


def test_live_graph_marks_the_gradients_it_did_not_record():
    graph = _live()
    interior = {n for n, a in graph.nodes(data=True) if a["kind"] == "op"}
    assert graph.graph[GRAD_NOT_RECORDED] == interior
    params = [n for n, a in graph.nodes(data=True) if a["kind"] == "param"]
    assert all(node_view(graph, n).grad_recorded for n in params)
    assert not any(node_view(graph, n).grad_recorded for n in interior)


def test_live_and_traced_edges_keep_every_slot():
    x = Variable(np.ones(3), requires_grad=True)
    with gradviz.trace() as tr:
        y = (x * x).sum()
    for graph in (graph_from_variable(y, None), tr.graph):
        (slots,) = [a["slots"] for _, _, a in graph.edges(data=True) if len(a["slots"]) > 1]
        assert slots == (0, 1)


def test_node_attrs_fills_defaults_and_rejects_unknown_names():
    attrs = node_attrs(kind="input", shape=(2,))
    assert tuple(attrs) == NODE_ATTRS
    assert attrs["requires_grad"] is True
    assert attrs["args"] == ()
    assert attrs["grad"] is None
    with pytest.raises(TypeError, match="colour"):
        node_attrs(colour="red")


def test_node_view_applies_the_defaults_to_hand_made_graphs():
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_node("a", op="Add")
    graph.add_node("b")
    a, b = node_view(graph, "a"), node_view(graph, "b")
    assert (a.kind, b.kind) == ("op", "input")
    assert a.requires_grad is True
    assert (a.module, a.args) == ("", ())
    assert not a.grad_recorded
