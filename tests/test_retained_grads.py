"""Which intermediates keep ``.grad`` (``t.retain_grad()``, as makemore's "backprop ninja"
calls it on every one it compares) is shown: in the graph, the backward picture and a saved
trace."""

import gradviz
from gradviz.viz.draw.render import build


def _retained_trace():
    x = gradviz.tensor([1.0, -2.0, 3.0], requires_grad=True)
    with gradviz.trace() as tr:
        counts = x.exp()
        counts_sum = counts.sum()
        counts.retain_grad()
        probs = counts / counts_sum
        loss = -probs[0].log()
        loss.backward()
    return tr


def _names(graph, attr):
    return {a["name"] for _, a in graph.nodes(data=True) if a.get(attr)}


def test_retained_intermediates_are_marked_in_the_graph_and_the_backward_picture():
    tr = _retained_trace()
    assert _names(tr.graph, "retained") == {"counts"}
    labels = build(tr.graph, "backward").source
    assert labels.count("retain_grad: .grad kept") == 1


def test_retained_marks_survive_a_saved_trace(tmp_path):
    tr = _retained_trace()
    path = tmp_path / "t.trace.json"
    tr.save(path)
    assert _names(gradviz.load_trace(path).graph, "retained") == {"counts"}
