"""Trace.save / gradviz.load_trace: a round trip gives the same passes, graphs, steps, events."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn, optim
from gradviz.viz.records.io import (
    FORMAT,
    VERSION,
    TraceFileError,
    TraceFormatError,
    TraceVersionError,
)


def assert_same_graph(a: nx.DiGraph, b: nx.DiGraph) -> None:
    assert nx.utils.graphs_equal(a, b)
    assert list(a.nodes(data=True)) == list(b.nodes(data=True))  # order and attributes
    assert list(a.edges(data=True)) == list(b.edges(data=True))
    assert a.graph == b.graph


def assert_same_trace(a: gradviz.Trace, b: gradviz.Trace) -> None:
    assert [p.index for p in a.passes] == [p.index for p in b.passes]
    for pa, pb in zip(a.passes, b.passes, strict=True):
        assert_same_graph(pa.graph, pb.graph)
        assert pa.steps == pb.steps
    assert_same_graph(a.graph, b.graph)
    assert a.steps == b.steps
    assert a.events == b.events
    assert a.backward_calls == b.backward_calls
    assert a.script == b.script


def training_trace(arrays: bool = False) -> gradviz.Trace:
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 3))
    criterion = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = Variable(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    y = np.array([0, 1, 2, 0, 1])
    with gradviz.trace(arrays=arrays) as tr:
        for _ in range(2):
            opt.zero_grad()
            with gradviz.no_grad():
                scaled = x * 0.5
            loss = criterion(model(scaled.detach()), y)
            loss.backward()
            opt.step()
    return tr


@pytest.mark.parametrize("arrays", [False, True])
def test_round_trip(tmp_path, arrays):
    tr = training_trace(arrays)
    path = tmp_path / "step.trace.json"
    tr.save(path)
    loaded = gradviz.load_trace(path)
    assert_same_trace(tr, loaded)
    assert any(a["update"] for _, a in loaded.graph.nodes(data=True))
    assert {e.kind for e in loaded.events} == {"no_grad_enter", "no_grad_exit", "detach"}
    assert isinstance(loaded.graph.nodes[loaded.graph.graph["root"]]["shape"], tuple)
    if arrays:
        assert any(a["grad_array"] is not None for _, a in loaded.graph.nodes(data=True))
    # saving the loaded trace again gives the same file
    again = tmp_path / "again.json"
    loaded.save(again)
    assert again.read_text() == path.read_text()


def test_round_trip_of_a_forward_only_trace(tmp_path):
    x = Variable(np.arange(4, dtype=np.float32))
    with gradviz.trace() as tr:
        _ = (x * 2).exp().sum(axis=0)
    tr.save(tmp_path / "f.json")
    loaded = gradviz.load_trace(tmp_path / "f.json")
    assert loaded.passes == []
    assert loaded.steps == []
    assert loaded.graph.number_of_nodes() == 4
    assert_same_graph(tr.graph, loaded.graph)


def test_round_trip_keeps_non_finite_update_ratio(tmp_path):
    w = Variable(np.zeros(2, dtype=np.float32), requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    with gradviz.trace() as tr:
        (w * np.float32(3.0)).sum().backward()
        opt.step()
    node = next(n for n, a in tr.graph.nodes(data=True) if a["kind"] == "param")
    assert tr.graph.nodes[node]["update"]["ratio"] == float("inf")
    tr.save(tmp_path / "inf.json")
    assert gradviz.load_trace(tmp_path / "inf.json").graph.nodes[node]["update"]["ratio"] == float(
        "inf"
    )


def test_file_is_versioned_json_and_written_atomically(tmp_path):
    tr = training_trace()
    path = tmp_path / "out" / "t.json"
    tr.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT
    assert data["version"] == VERSION == 2
    assert [p["index"] for p in data["passes"]] == [1, 2]
    assert data["backward_calls"] == 2
    assert sorted(p.name for p in path.parent.iterdir()) == ["t.json"]  # no temporary files


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    tr = training_trace()
    path = tmp_path / "t.json"
    path.write_text("old")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("gradviz.viz.records.files.os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        tr.save(path)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]


def saved(tmp_path) -> tuple[dict, object]:
    tr = training_trace()
    path = tmp_path / "t.json"
    tr.save(path)
    return json.loads(path.read_text()), path


def write(path, data) -> None:
    path.write_text(json.dumps(data))


def test_future_version_is_rejected(tmp_path):
    data, path = saved(tmp_path)
    data["version"] = VERSION + 1
    write(path, data)
    with pytest.raises(TraceVersionError, match="newer") as info:
        gradviz.load_trace(path)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, gradviz.GradvizError)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("format"), "not a gradviz trace"),
        (lambda d: d.update(version="1"), "version"),
        (lambda d: d.pop("passes"), "has no 'passes'"),
        (lambda d: d.update(backward_calls=True), "backward_calls"),
        (lambda d: d["passes"][0]["graph"]["nodes"][0].pop("kind"), "has no 'kind'"),
        (lambda d: d["passes"][0]["graph"]["nodes"][0].update(kind="tensor"), "kind"),
        (lambda d: d["passes"][0]["graph"]["nodes"][0].update(shape="(2,)"), "shape"),
        (lambda d: d["passes"][0]["graph"]["edges"][0].update(target="v999"), "unknown nodes"),
        (lambda d: d["passes"][0]["steps"][0].update(node="v999"), "not a node"),
        (lambda d: d["passes"][0]["graph"]["attrs"].update(root="v999"), "root"),
        (lambda d: d["passes"][0]["graph"]["nodes"][0]["value"].pop("nan"), "value"),
        (lambda d: d["events"].append("detach"), "events"),
    ],
)
def test_malformed_files_are_rejected(tmp_path, mutate, message):
    data, path = saved(tmp_path)
    mutate(data)
    write(path, data)
    with pytest.raises(TraceFormatError, match=message) as info:
        gradviz.load_trace(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text", ["", "{", "[]", '"gradviz"', "null"])
def test_not_a_trace(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(TraceFileError, match="not a gradviz trace"):
        gradviz.load_trace(path)


def test_binary_file_is_rejected(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TraceFormatError):
        gradviz.load_trace(path)


def test_loaded_trace_renders_like_a_live_one(tmp_path):
    tr = training_trace()
    tr.save(tmp_path / "t.json")
    loaded = gradviz.load_trace(tmp_path / "t.json")
    for view in ("forward", "backward"):
        tr.render(view, tmp_path / f"a.{view}.dot")
        loaded.render(view, tmp_path / f"b.{view}.dot")
        live = (tmp_path / f"a.{view}.dot").read_bytes()
        assert live == (tmp_path / f"b.{view}.dot").read_bytes()
        assert b"->" in live
    with pytest.raises(gradviz.GradvizError, match="cannot record"), loaded:
        pass


def _node(d):
    return d["passes"][0]["graph"]["nodes"][0]


def _edges(d):
    return d["passes"][0]["graph"]["edges"]


def _self_loop(d):
    e = _edges(d)[0]
    e["target"] = e["source"]


def _cycle(d):
    e = _edges(d)[0]
    _edges(d).append({"source": e["target"], "target": e["source"], "arg": 0, "slots": [0]})


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: _node(d).update(shape=[1e30, 1e30]), r"nodes\[0\]\.shape"),
        (lambda d: _node(d).update(shape=[10**30, 10**30]), r"nodes\[0\]\.shape"),
        (lambda d: _node(d).update(shape=[2, -3]), r"nodes\[0\]\.shape"),
        (lambda d: d.update(backward_calls=-1), "backward_calls"),
        (lambda d: d.update(max_array_size=-5), "max_array_size"),
        (lambda d: _node(d)["value"].update(nan=-2), r"nodes\[0\]\.value\.nan"),
        (lambda d: d["passes"][0]["steps"][0].update(index=-1), r"steps\[0\]\.index"),
        (_self_loop, r"edges\[0\] joins .* to itself"),
        (_cycle, r"edges form a cycle"),
        (lambda d: _node(d).update(name=[[[["x"]]]]), r"nodes\[0\]\.name"),
    ],
)
def test_out_of_range_values_and_cycles_are_rejected(tmp_path, mutate, message):
    data, path = saved(tmp_path)
    mutate(data)
    write(path, data)
    with pytest.raises(TraceFormatError, match=message):
        gradviz.load_trace(path)


def test_a_5000_digit_number_is_rejected_naming_the_field(tmp_path):
    data, path = saved(tmp_path)
    text = json.dumps(data).replace('"backward_calls": 2', '"backward_calls": ' + "9" * 5000)
    path.write_text(text)
    with pytest.raises(TraceFormatError, match="backward_calls must be int, got a 5000-digit"):
        gradviz.load_trace(path)


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deep_nesting_is_rejected(tmp_path, depth):
    data, path = saved(tmp_path)
    text = json.dumps(data).replace('"events": [', '"events": [' + "[" * depth + "]" * depth + ",")
    path.write_text(text)
    with pytest.raises(TraceFormatError, match="nested deeper than a gradviz trace"):
        gradviz.load_trace(path)
