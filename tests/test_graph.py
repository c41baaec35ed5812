"""records -> networkx.DiGraph: the pinned schema, as a pure function of plain records."""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn
from gradviz.viz.records.graph import ancestors, build_graph, join_path
from gradviz.viz.records.schema import GRAPH_ATTRS, NODE_ATTRS, NodeRecord, Step

STATS = {"min": 0.0, "max": 1.0, "mean": 0.5, "std": 0.5, "norm": 1.0, "nan": 0, "inf": 0}


def record(n: int, kind: str = "op", parents=(), **kw) -> NodeRecord:
    base = {
        "id": f"v{n}",
        "seq": n,
        "kind": kind,
        "op": "Mul" if kind == "op" else None,
        "name": None,
        "shape": (2,),
        "dtype": "float32",
        "requires_grad": True,
        "root": -1,
        "module": "",
        "source": f"train.py:{n}",
        "value": STATS,
        "parents": tuple(parents),
        "var": n,
    }
    base.update(kw)
    return NodeRecord(**base)


def diamond() -> dict[str, NodeRecord]:
    records = [
        record(1, "param", name="x"),
        record(2, parents=[("v1", 0)]),
        record(3, parents=[("v1", 0)], op="Add"),
        record(4, parents=[("v2", 0), ("v3", 1)]),
        record(5, parents=[("v4", 0)], op="Sum", shape=()),
        record(6, parents=[("v1", 0)], op="Exp"),  # not an ancestor of v5
    ]
    return {r.id: r for r in records}


def test_ancestors_in_recording_order():
    records = diamond()
    assert [r.id for r in ancestors(records, "v5")] == ["v1", "v2", "v3", "v4", "v5"]
    assert [r.id for r in ancestors(records, "v6")] == ["v1", "v6"]
    assert [r.id for r in ancestors(records, "v1")] == ["v1"]


def test_ancestors_of_a_long_chain_is_iterative():
    records = {"v1": record(1, "param")}
    for n in range(2, 5001):
        records[f"v{n}"] = record(n, parents=[(f"v{n - 1}", 0)])
    assert len(ancestors(records, "v5000")) == 5000


def test_schema_of_a_built_graph():
    records = diamond()
    steps = [Step(1, "v5", STATS, False), Step(2, "v4", STATS, False), Step(3, "v1", None, True)]
    g = build_graph(ancestors(records, "v5"), root="v5", pass_index=2, script="t.py", steps=steps)
    assert isinstance(g, nx.DiGraph)
    assert list(g) == ["v1", "v2", "v3", "v4", "v5"]
    assert g.number_of_edges() == 5
    assert set(g.graph) == set(GRAPH_ATTRS)
    assert g.graph == {"root": "v5", "modules": {}, "pass": 2, "script": "t.py"}
    for _, attrs in g.nodes(data=True):
        assert tuple(attrs) == NODE_ATTRS
    assert g.nodes["v1"]["step"] == 3
    assert g.nodes["v1"]["accumulated"] is True
    assert g.nodes["v2"]["step"] is None
    assert g.nodes["v2"]["grad"] is None
    assert g.nodes["v5"]["grad"] == STATS
    assert g.edges["v3", "v4"] == {"arg": 1, "slots": (1,)}
    assert g.nodes["v3"]["op"] == "Add"
    assert g.nodes["v5"]["shape"] == ()


def test_repeated_parent_is_one_edge_with_all_slots():
    records = [record(1, "param"), record(2, parents=[("v1", 0), ("v1", 1)])]
    g = build_graph(records)
    assert g.number_of_edges() == 1
    assert g.edges["v1", "v2"] == {"arg": 0, "slots": (0, 1)}


def test_module_paths_and_parameter_names_resolve_at_build_time():
    records = [
        record(1, "param", var=11),
        record(2, "param", var=12),
        record(3, parents=[("v1", 0), ("v2", 1)], root=0, module="fc1"),
        record(4, parents=[("v3", 0)], root=1, module=""),
        record(5, parents=[("v4", 0)], root=1, module="inner"),
    ]
    g = build_graph(
        records,
        prefixes=["", "CrossEntropyLoss"],
        param_names={11: "fc1.weight"},
        names={"v3": "hidden"},
        modules={"": "Net", "fc1": "Linear"},
    )
    assert g.nodes["v1"]["name"] == "fc1.weight"
    assert g.nodes["v1"]["module"] == "fc1"
    assert g.nodes["v2"]["name"] is None  # not a named parameter
    assert g.nodes["v2"]["module"] == ""
    assert g.nodes["v3"]["module"] == "fc1"
    assert g.nodes["v3"]["name"] == "hidden"
    assert g.nodes["v4"]["module"] == "CrossEntropyLoss"
    assert g.nodes["v5"]["module"] == "CrossEntropyLoss.inner"
    assert g.graph["modules"] == {"": "Net", "fc1": "Linear"}


def test_records_are_plain_frozen_data():
    r = record(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.kind = "input"  # type: ignore[misc]
    assert Step(1, "v1", None, False) == Step(1, "v1", None, False)


def test_join_path():
    assert join_path("", "") == ""
    assert join_path("a", "") == "a"
    assert join_path("", "b.c") == "b.c"
    assert join_path("a", "b") == "a.b"


def test_traced_graph_is_deterministic():
    def run() -> nx.DiGraph:
        gradviz.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        x = Variable(np.ones((2, 3), dtype=np.float32))
        with gradviz.trace() as tr:
            model(x).mean().backward()
        return tr.graph

    first, second = run(), run()
    assert list(first.nodes(data=True)) == list(second.nodes(data=True))
    assert list(first.edges(data=True)) == list(second.edges(data=True))
    assert first.graph == second.graph
