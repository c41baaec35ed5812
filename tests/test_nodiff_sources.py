"""Indices, counts and draws computed from a Variable's values take no gradient, as in PyTorch,
and a trace draws each as the output of a named no-gradient op reading that Variable (never as
a disconnected grey input), with an edge on to every op that reads it in turn."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner
from helpers import dot_edges

import gradviz
import gradviz.nn.functional as F
from gradviz import Variable
from gradviz.autograd.ops.nodiff import NAMES
from gradviz.cli import cli
from gradviz.distributions import Categorical

VALUES = [[0.5, 1.0, 2.0, 1.0], [3.0, 0.0, 3.0, 2.0], [1.0, 1.0, 0.0, 4.0]]


def _traced(make: Callable[[Variable], Any]) -> tuple[nx.DiGraph, Any]:
    """The forward graph of ``make(h)`` with ``h = x * 2`` (a ``Mul`` node) and its result."""
    gradviz.manual_seed(0)
    x = Variable(np.array(VALUES, np.float32), requires_grad=True)
    with gradviz.trace() as tr:
        h = x * 2
        out = make(h)
    return tr.graph, out


def _nodes(graph: nx.DiGraph, op: str) -> list[str]:
    return [n for n, d in graph.nodes(data=True) if d["op"] == op]


def _ops_before(graph: nx.DiGraph, node: str) -> set[str]:
    return {graph.nodes[p]["op"] for p in graph.predecessors(node)}


def _no_inputs(graph: nx.DiGraph) -> None:
    drawn = [(d["shape"], d["dtype"]) for _, d in graph.nodes(data=True) if d["kind"] == "input"]
    assert drawn == [], f"drawn as disconnected inputs: {drawn}"


def _second(result: Any) -> Any:
    return result[1]


# (what, the result, the op that must make it, the op of the Variable it reads)
CASES = [
    ("sort", lambda h: h.sort(1).indices, "Argsort", "Mul"),
    ("sort_descending", lambda h: h.sort(0, descending=True)[1], "Argsort", "Mul"),
    ("argsort", lambda h: h.argsort(1, descending=True), "Argsort", "Mul"),
    ("torch_argsort", lambda h: gradviz.argsort(h), "Argsort", "Mul"),
    ("topk", lambda h: h.topk(2, dim=1).indices, "TopkIndices", "Mul"),
    ("topk_smallest", lambda h: gradviz.topk(h, 1, largest=False)[1], "TopkIndices", "Mul"),
    ("median_dim", lambda h: h.median(1).indices, "MedianIndices", "Mul"),
    ("median_keepdim", lambda h: h.median(0, keepdim=True).indices, "MedianIndices", "Mul"),
    ("mode", lambda h: h.mode(1).indices, "ModeIndices", "Mul"),
    ("torch_mode_keepdim", lambda h: gradviz.mode(h, 0, True).indices, "ModeIndices", "Mul"),
    ("max_dim_0d", lambda h: h[0, 0].max(0).indices, "Argmax", "Index"),
    ("cummax", lambda h: h.cummax(1).indices, "CummaxIndices", "Mul"),
    ("cummin", lambda h: gradviz.cummin(h, 0).indices, "CumminIndices", "Mul"),
    ("nonzero", lambda h: h.nonzero(), "Nonzero", "Mul"),
    ("nonzero_tuple", lambda h: gradviz.nonzero(h, as_tuple=True)[1], "Nonzero", "Mul"),
    ("argwhere", lambda h: h.argwhere(), "Nonzero", "Mul"),
    ("where_condition", lambda h: gradviz.where(h > 2)[0], "Nonzero", "Gt"),
    ("count_nonzero", lambda h: h.count_nonzero(1), "CountNonzero", "Mul"),
    ("unique", lambda h: gradviz.unique(h), "Unique", "Mul"),
    ("unique_inverse", lambda h: h.unique(return_inverse=True)[1], "UniqueInverse", "Mul"),
    ("unique_counts", lambda h: gradviz.unique(h, return_counts=True)[1], "UniqueCounts", "Mul"),
    ("unique_consecutive", lambda h: gradviz.unique_consecutive(h), "UniqueConsecutive", "Mul"),
    (
        "unique_consecutive_counts",
        lambda h: gradviz.unique_consecutive(h, return_counts=True)[1],
        "UniqueCounts",
        "Mul",
    ),
    ("bincount", lambda h: gradviz.bincount(h.argmax(1)), "Bincount", "Argmax"),
    ("bincount_weights", lambda h: h.argmax(0).bincount(h[0]), "Bincount", "Argmax"),
    ("histc", lambda h: h.histc(4), "Histc", "Mul"),
    ("torch_histc", lambda h: gradviz.histc(h, 3, 0, 8), "Histc", "Mul"),
    ("searchsorted", lambda h: gradviz.searchsorted(h[0].sort().values, h), "Searchsorted", "Mul"),
    ("bucketize", lambda h: gradviz.bucketize(h, h[0].sort().values), "Bucketize", "Mul"),
    ("isclose", lambda h: h.isclose(h.flip(0)), "Isclose", "Mul"),
    ("isin", lambda h: gradviz.isin(h, h[0]), "Isin", "Mul"),
    ("logical_and", lambda h: (h > 1).logical_and(h < 5), "LogicalAnd", "Gt"),
    ("logical_or", lambda h: (h > 1).logical_or(h < 5), "LogicalOr", "Gt"),
    ("logical_xor", lambda h: (h > 1).logical_xor(h < 5), "LogicalXor", "Gt"),
    ("logical_not", lambda h: (h > 1).logical_not(), "LogicalNot", "Gt"),
    (
        "div_trunc",
        lambda h: h.argmax(1).div(2, rounding_mode="trunc"),
        "DivTrunc",
        "Argmax",
    ),
    ("matrix_rank", lambda h: gradviz.linalg.matrix_rank(h), "MatrixRank", "Mul"),
    ("one_hot", lambda h: F.one_hot(h.argmax(1), 4), "OneHot", "Argmax"),
    ("multinomial", lambda h: gradviz.multinomial(h.softmax(1), 2), "Multinomial", "Softmax"),
    (
        "multinomial_method",
        lambda h: h[0].softmax(0).multinomial(3, True),
        "Multinomial",
        "Softmax",
    ),
    ("bernoulli", lambda h: gradviz.bernoulli(h.sigmoid()), "Bernoulli", "Sigmoid"),
    ("poisson", lambda h: gradviz.poisson(h), "Poisson", "Mul"),
    ("normal", lambda h: gradviz.normal(h, 1.0), "Normal", "Mul"),
    (
        "max_pool2d",
        lambda h: F.max_pool2d(h.reshape(1, 1, 3, 4), 2, return_indices=True)[1],
        "MaxPoolIndices",
        "Reshape",
    ),
    (
        "max_pool1d",
        lambda h: F.max_pool1d(h.reshape(1, 3, 4), 2, return_indices=True)[1],
        "MaxPoolIndices",
        "Reshape",
    ),
    (
        "nn_max_pool2d",
        lambda h: gradviz.nn.MaxPool2d(2, return_indices=True)(h.reshape(1, 1, 3, 4))[1],
        "MaxPoolIndices",
        "Reshape",
    ),
    (
        "adaptive_max_pool2d",
        lambda h: F.adaptive_max_pool2d(h.reshape(1, 1, 3, 4), 2, return_indices=True)[1],
        "AdaptiveMaxPoolIndices",
        "Reshape",
    ),
]


@pytest.mark.parametrize(
    ("make", "op", "source"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_result_is_the_output_of_a_named_op_reading_its_source(make, op, source):
    graph, out = _traced(make)
    made = _nodes(graph, op)
    assert made, f"no {op} node in {sorted({d['op'] for _, d in graph.nodes(data=True)})}"
    assert all(source in _ops_before(graph, n) for n in made)
    assert any(
        graph.nodes[n]["shape"] == out.shape and graph.nodes[n]["dtype"] == str(out.dtype)
        for n in made
    )
    assert not any(graph.nodes[n]["requires_grad"] for n in made)  # drawn dimmed
    _no_inputs(graph)
    assert op in NAMES  # ``gradviz check`` knows it gives no gradient


@pytest.mark.parametrize(
    "make",
    [
        lambda h: h.topk(2, dim=1).indices,
        lambda h: h.sort(1).indices,
        lambda h: h.argsort(0),
        lambda h: h.median(1).indices,
        lambda h: h.mode(0).indices,
        lambda h: h.cummax(1).indices,
        lambda h: gradviz.unique(h, return_inverse=True, return_counts=True)[2],
        lambda h: h.nonzero(),
        lambda h: gradviz.searchsorted(h[0].sort().values, h),
        lambda h: F.max_pool2d(h.reshape(1, 1, 3, 4), 2, return_indices=True)[1],
        lambda h: gradviz.multinomial(h.softmax(1), 1),
    ],
    ids=["topk", "sort", "argsort", "median", "mode", "cummax", "unique", "nonzero",
         "searchsorted", "max_pool2d", "multinomial"],
)  # fmt: skip
def test_indices_still_take_no_gradient(make):
    _, out = _traced(make)
    assert out.grad_fn is None
    assert not out.requires_grad
    assert out.dtype == np.int64


def test_the_values_of_sort_topk_median_and_mode_are_gathered_at_the_drawn_indices():
    for make, op in [
        (lambda h: h.sort(1), "Argsort"),
        (lambda h: h.topk(2, 1), "TopkIndices"),
        (lambda h: h.median(1), "MedianIndices"),  # (a Reshape of the indices between)
        (lambda h: h.mode(1, keepdim=True), "ModeIndices"),
    ]:
        graph, (values, indices) = _traced(make)
        (gather,) = _nodes(graph, "Gather")
        (found,) = _nodes(graph, op)
        assert "Mul" in _ops_before(graph, gather)
        assert nx.has_path(graph, found, gather)
        assert values.requires_grad
        assert not indices.requires_grad


def test_kthvalue_indices_come_from_the_argsort_of_its_input():
    graph, out = _traced(lambda h: h.kthvalue(2, 1))
    (argsort,) = _nodes(graph, "Argsort")
    assert _ops_before(graph, argsort) == {"Mul"}
    index_nodes = [n for n, d in graph.nodes(data=True) if d["dtype"] == "int64"]
    assert all(n == argsort or nx.has_path(graph, argsort, n) for n in index_nodes)
    _no_inputs(graph)
    assert out.indices.grad_fn is None


def test_argsort_computes_no_values():
    graph, _ = _traced(lambda h: h.argsort(1))
    assert sorted(d["op"] for _, d in graph.nodes(data=True) if d["op"]) == ["Argsort", "Mul"]


# ---------------------------------------------------------------- ops that read such indices
READERS = [
    ("gather", lambda h, i: gradviz.gather(h, 1, i), "Gather"),
    ("gather_method", lambda h, i: h.gather(1, i), "Gather"),
    ("take_along_dim", lambda h, i: gradviz.take_along_dim(h, i, 1), "Gather"),
    ("take", lambda h, i: gradviz.take(h, i), "Take"),
    ("getitem", lambda h, i: h.t()[i[:, 0]], "Index"),
    ("getitem_tuple", lambda h, i: h[np.arange(3), i[:, 0]], "Index"),
    ("scatter", lambda h, i: h.scatter(1, i, 0.0), "Scatter"),
    ("scatter_add", lambda h, i: h.scatter_add(1, i, h[:, :2]), "ScatterAdd"),
    ("index_add", lambda h, i: h.index_add(1, i[0], h[:, :2]), "IndexAdd"),
]


@pytest.mark.parametrize(("read", "op"), [r[1:] for r in READERS], ids=[r[0] for r in READERS])
def test_an_op_reading_the_indices_has_an_edge_from_them(read, op):
    graph, _ = _traced(lambda h: read(h, h.topk(2, dim=1).indices))
    (topk,) = _nodes(graph, "TopkIndices")
    assert any(nx.has_path(graph, topk, n) for n in _nodes(graph, op))
    _no_inputs(graph)


def test_index_select_reads_a_variable_index_with_an_edge_from_it():
    """Before, index_select copied the index to int64 and the picture lost where it came
    from (the argmax drawn loose, the Index with no second input)."""
    graph, _ = _traced(
        lambda h: h.index_select(1, h.argmax(0)).sum() + gradviz.index_select(h, 1, h.argmax(1))
    )
    argmaxes = _nodes(graph, "Argmax")
    readers = [n for n in _nodes(graph, "Index") if set(graph.predecessors(n)) & set(argmaxes)]
    assert len(readers) == 2
    _no_inputs(graph)


def test_a_mask_read_by_masked_select_has_an_edge_from_it():
    graph, _ = _traced(lambda h: h.masked_select(h > 2))
    (index,) = _nodes(graph, "Index")
    assert _ops_before(graph, index) == {"Mul", "Gt"}
    _no_inputs(graph)


def test_where_of_a_condition_indexes_with_an_edge_from_each_part():
    graph, _ = _traced(lambda h: h[gradviz.where(h > 2)])
    (index,) = _nodes(graph, "Index")
    assert _ops_before(graph, index) == {"Mul", "Nonzero"}
    assert graph.in_degree(index) == 3  # h and the two index parts
    _no_inputs(graph)


def test_max_unpool_reads_the_indices_of_max_pool():
    def make(h):
        pooled, indices = F.max_pool2d(h.reshape(1, 1, 3, 4), 2, return_indices=True)
        return F.max_unpool2d(pooled, indices, 2, output_size=(3, 4))

    graph, _ = _traced(make)
    (unpool,) = _nodes(graph, "MaxUnpool2d")
    assert _ops_before(graph, unpool) == {"MaxPool2d", "MaxPoolIndices"}
    _no_inputs(graph)


def test_a_categorical_sample_is_drawn_from_the_logits_and_read_by_log_prob():
    def make(h):
        dist = Categorical(logits=h)
        action = dist.sample()
        return dist.log_prob(action)

    graph, _ = _traced(make)
    (draw,) = _nodes(graph, "Multinomial")
    (softmax,) = _nodes(graph, "Softmax")
    assert _ops_before(graph, draw) == {"Reshape"}
    assert nx.has_path(graph, softmax, draw)
    (gather,) = _nodes(graph, "Gather")
    assert nx.has_path(graph, draw, gather)
    assert all(d["detached_from"] is None for _, d in graph.nodes(data=True))
    _no_inputs(graph)


def test_an_integer_copy_of_data_that_takes_no_gradient_is_a_cast_not_a_detach():
    graph, out = _traced(lambda h: h.argmax(1).long().int())
    assert [d["op"] for _, d in graph.nodes(data=True)] == [None, "Mul", "Argmax", "Cast", "Cast"]
    assert not out.requires_grad
    x = Variable(np.ones(2, np.float32), requires_grad=True)
    assert x.long().grad_fn is None  # cut, as PyTorch
    assert not x.long().requires_grad


def test_untraced_results_are_unchanged():
    x = Variable(np.array(VALUES, np.float32))
    np.testing.assert_array_equal(x.topk(2, 1).indices.numpy(), [[2, 1], [0, 2], [3, 0]])
    np.testing.assert_array_equal(x.argsort(1).numpy(), x.sort(1).indices.numpy())
    np.testing.assert_array_equal(x.median(1).indices.numpy(), [1, 3, 0])
    np.testing.assert_array_equal(x.median(1).values.numpy(), [1.0, 2.0, 1.0])
    np.testing.assert_array_equal(x.mode(1).indices.numpy(), [3, 2, 1])


# ---------------------------------------------------------------- check and the command line
def test_check_says_a_parameter_reaches_the_loss_only_through_topk_indices():
    gradviz.manual_seed(0)
    enc, head = gradviz.nn.Linear(4, 4), gradviz.nn.Linear(4, 1)
    x = Variable(np.array(VALUES, np.float32))
    with gradviz.trace() as tr:
        idx = enc(x).topk(2, dim=1).indices
        loss = (head(x) * idx.float().sum(1, keepdim=True)).mean()
        loss.backward()
    messages = [f.message for f in tr.check().by_kind("no_gradient")]
    assert len(messages) == 2  # enc's weight and bias; head's get theirs
    assert all("only as plain data: TopkIndices" in m for m in messages)


TOPK = """
import gradviz as torch, gradviz.nn as nn
torch.manual_seed(0)
x = torch.randn(4, 6, requires_grad=True); h = nn.Linear(6, 6)(x)
vals, idx = h.topk(2, dim=1)
loss = (torch.gather(h, 1, idx) * vals).sum(); loss.backward()
"""


def test_render_draws_topk_indices_from_their_source_with_no_disconnected_input(tmp_path: Path):
    script = tmp_path / "topk.py"
    script.write_text(TOPK, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["render", str(script), "-o", str(out), "--format", "dot"])
    assert result.exit_code == 0, result.output
    assert "TopkIndices 1" in result.output
    dot = (out / "topk.forward.dot").read_text()
    assert ": input |" not in dot  # no grey input node at all: x is a leaf requiring grad
    ids = {op: nid for nid, op in _drawn_ops(dot)}
    edges = set(dot_edges(dot))
    assert (ids["Linear"], ids["TopkIndices"]) in edges
    gathers = [nid for nid, op in _drawn_ops(dot) if op == "Gather"]
    assert len(gathers) == 2
    assert all((ids["TopkIndices"], g) in edges for g in gathers)


def _drawn_ops(dot: str) -> list[tuple[str, str]]:
    import re

    return re.findall(r'^\s*(\w+) \[.*tooltip="\w+: op \| op (\w+)', dot, re.M)


def test_an_array_that_is_no_op_result_is_still_drawn_as_an_input():
    weights = np.array([[1.0], [2.0]], np.float32)
    graph, _ = _traced(lambda h: gradviz.take(h, np.array([0, 5])) * weights)
    inputs = sorted(str(d["shape"]) for _, d in graph.nodes(data=True) if d["kind"] == "input")
    assert inputs == ["(2, 1)", "(2,)"]
