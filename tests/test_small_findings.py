"""Small things users saw in reports, labels and pages: each asserts on the data or text."""

from __future__ import annotations

import re

import networkx as nx
import numpy as np
import pytest

import gradviz
from gradviz import nn, optim
from gradviz.viz.capture.stats import array_stats
from gradviz.viz.draw import style
from gradviz.viz.draw.labels import Labels
from gradviz.viz.draw.legend import legend_label
from gradviz.viz.draw.render import build
from gradviz.viz.draw.scene import Scene
from gradviz.viz.records.text import number
from gradviz.viz.summary import summary


def labels_of(source: str) -> dict[str, str]:
    """Node id -> its DOT line."""
    out = {}
    for line in source.splitlines():
        match = re.match(r"\s*(\w+) \[", line)
        if match:
            out[match.group(1)] = line
    return out


def classify_step(model: nn.Module, opt: optim.Optimizer, y: np.ndarray) -> gradviz.Trace:
    x = gradviz.Variable(np.linspace(-1, 1, 24, dtype=np.float32).reshape(6, 4))
    with gradviz.trace() as tr:
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(x), y).backward()
        opt.step()
    return tr


# ------------------------------------------------------------------------ update ratio


def test_a_zero_initialised_bias_shows_its_update_norm_not_an_infinite_ratio():
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3))
    model[0].bias.numpy()[:] = 0  # a LayerNorm-like bias of zeros
    tr = classify_step(model, optim.SGD(model.parameters(), lr=0.1), np.arange(6) % 3)
    bias = next(n for n, a in tr.graph.nodes(data=True) if a.get("name") == "0.bias")
    update = tr.graph.nodes[bias]["update"]
    assert update["norm"] > 0
    label = labels_of(build(tr.graph, "backward").source)[bias]
    assert f"update {number(update['norm'])} (weight was 0)" in label
    assert "inf" not in label.split("tooltip")[0]
    text = summary(tr)
    assert "(weight was 0)" in text
    assert "update/weight inf" not in text
    assert "NaN/Inf: none" in text


# ------------------------------------------------------------------------ the Adam hint


@pytest.mark.parametrize(("make", "hint"), [(optim.SGD, False), (optim.Adam, True)])
def test_the_update_ratio_hint_names_adam_only_for_adam(make, hint):
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3))
    tr = classify_step(model, make(model.parameters(), lr=1.0), np.arange(6) % 3)
    report = tr.check()
    (finding,) = report.by_kind("update_ratio")
    assert "above the usual" in finding.message
    assert ("Adam" in finding.message) is hint


# ------------------------------------------------------------------------ dead ReLUs


def test_no_dead_relu_line_when_no_unit_is_dead():
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 3))
    with gradviz.no_grad():
        model[0].bias.numpy()[:] = 5.0  # every unit alive
    tr = classify_step(model, optim.SGD(model.parameters(), lr=0.01), np.arange(6) % 3)
    report = tr.check()
    assert [(r.dead_units, r.units) for r in report.relus] == [(0, 32)]
    assert not report.by_kind("dead_relu")
    assert "dead ReLU" not in report.format()
    assert "0/32" not in report.format()


def test_dead_relu_units_are_still_listed():
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3))
    with gradviz.no_grad():
        model[0].bias.numpy()[:2] = -50.0  # two units dead for every row
        model[0].bias.numpy()[2:] = 50.0  # two alive
    tr = classify_step(model, optim.SGD(model.parameters(), lr=0.01), np.arange(6) % 3)
    assert "dead ReLU units (zero for every row of the batch): 2/4 in module 1" in str(tr.check())


# ------------------------------------------------------------------------ names


class _Unregistered(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.heads = [nn.Linear(3, 3)]  # a plain list: not a registered child

    def forward(self, x):
        return self.heads[0](self.fc(x).relu())


def test_a_parameter_of_an_unregistered_module_is_named_by_its_path():
    gradviz.manual_seed(0)
    model = _Unregistered()
    params = [*model.parameters(), *model.heads[0].parameters()]
    tr = classify_step(model, optim.SGD(params, lr=0.1), np.arange(6) % 3)
    names = sorted(a["name"] for _, a in tr.graph.nodes(data=True) if a["kind"] == "param")
    assert names == ["Linear.bias", "Linear.weight", "fc.bias", "fc.weight"]
    assert [p.name for p in tr.check().params] == [
        "fc.weight",
        "fc.bias",
        "Linear.weight",
        "Linear.bias",
    ]
    assert "None" not in summary(tr)


def test_a_bare_parameter_shows_its_node_and_line_in_the_summary():
    # no name: made before the trace and held in a list, not by a variable
    weights = [gradviz.Variable(np.ones(3, dtype=np.float32), requires_grad=True)]
    with gradviz.trace() as tr:
        (weights[0] * 2).sum().backward()
    node = next(n for n, a in tr.graph.nodes(data=True) if a["kind"] == "param")
    text = summary(tr)
    assert "None" not in text
    assert re.search(rf"  {node} \([\w/]*test_small_findings\.py:\d+\)", text)


# ------------------------------------------------------------------------ colour scale


def test_the_colour_scale_is_set_by_the_bulk_of_the_norms():
    g = nx.DiGraph()
    norms = [10 ** (k / 10) for k in range(30)] + [1e-12]  # 1 .. ~800, and one ~0 bias
    for i, norm in enumerate(norms):
        g.add_node(f"v{i + 1}", kind="op", op="Add", grad={"norm": norm, "nan": 0, "inf": 0})
    g.graph["root"] = None
    labels = Labels(Scene(g, "backward"), {})
    lo, hi = labels.bins
    assert lo == pytest.approx(0.0)  # the second smallest: the outlier is clamped
    assert hi == pytest.approx(2.8)
    assert labels.bins.clipped == (True, True)
    fills = [labels._fill_for(n)[0] for n in norms[:30]]
    used = {style.MAGNITUDE.index(f) for f in fills}
    assert used == set(range(len(style.MAGNITUDE)))  # the bulk spreads over every colour
    dark = sum(style.MAGNITUDE.index(f) >= len(style.MAGNITUDE) - 2 for f in fills)
    assert dark <= 12
    assert labels._fill_for(1e-12)[0] == style.MAGNITUDE[0]  # clamped, not off the scale
    legend = legend_label("backward", labels.bins)
    assert "2nd to 98th percentile" in legend
    assert "|grad| below" in legend


def test_a_few_norms_still_span_their_whole_range():
    g = nx.DiGraph()
    for i, norm in enumerate([1e-3, 1.0, 10.0]):
        g.add_node(f"v{i + 1}", kind="op", op="Add", grad={"norm": norm, "nan": 0, "inf": 0})
    labels = Labels(Scene(g, "backward"), {})
    assert tuple(labels.bins) == (-3.0, 1.0)
    assert labels.bins.clipped == (False, False)
    assert "percentile" not in legend_label("backward", labels.bins)


# ------------------------------------------------------------------------ integer inputs


def test_integer_statistics_count_their_distinct_values():
    stats = array_stats(np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.int64))
    assert stats["distinct"] == 7
    assert (stats["min"], stats["max"]) == (1.0, 9.0)
    assert "distinct" not in array_stats(np.ones(3, dtype=np.float32))


def test_class_labels_show_their_range_and_count_not_a_mean():
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 10))
    y = np.array([0, 9, 3, 3, 7, 1])
    tr = classify_step(model, optim.SGD(model.parameters(), lr=0.1), y)
    node = next(n for n, a in tr.graph.nodes(data=True) if a.get("dtype") == "int64")
    assert tr.graph.nodes[node]["value"]["distinct"] == 5
    line = labels_of(build(tr.graph, "forward").source)[node]
    label, tooltip = line.split("tooltip=")
    assert "0..9, 5 distinct" in label
    assert "mean" not in label
    assert "value: int64 0..9, 5 distinct" in tooltip


def test_a_saved_trace_keeps_the_distinct_count(tmp_path):
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 10))
    tr = classify_step(model, optim.SGD(model.parameters(), lr=0.1), np.arange(6))
    tr.save(tmp_path / "t.json")
    loaded = gradviz.load_trace(tmp_path / "t.json")
    values = [a["value"] for _, a in loaded.graph.nodes(data=True) if a.get("dtype") == "int64"]
    assert [v["distinct"] for v in values] == [6]


def test_summary_does_not_list_a_causal_mask_as_a_nan_inf():
    from gradviz.viz.summary import summary

    x = gradviz.randn(4, 4, requires_grad=True)
    mask = gradviz.ones(4, 4).triu(1) > 0
    with gradviz.trace() as tr:
        x.masked_fill(mask, float("-inf")).softmax(-1).sum().backward()
    text = summary(tr)
    assert "NaN/Inf: none (besides the -inf of 1 masked fill, as intended)" in text
    report = tr.check()
    assert not report.contaminated  # nothing drawn as carrying a NaN/Inf on
    assert report.ok
    from gradviz.viz.draw.render import build

    forward = build(tr.graph, "forward", marks=report.marks()).source
    assert "6 Inf (a mask)" in forward
    with gradviz.trace() as tr, np.errstate(invalid="ignore"):
        (x.masked_fill(mask, float("-inf")) * 0).sum().backward()  # -inf * 0: NaN
    assert "NaN/Inf found" in summary(tr)


def test_summary_rows_of_parameters_sharing_a_name_show_each_its_own_gradient():
    """Hand-written layers give every weight the name ``weight``: each row is still its own
    parameter's |grad|, not the range over all of them."""
    from gradviz.viz.summary import summary

    class Layer:
        def __init__(self, scale):
            self.weight = gradviz.ones(2) * scale

    with gradviz.trace() as tr:
        first, second = Layer(1.0), Layer(10.0)
        for layer in (first, second):
            layer.weight.requires_grad = True
        (first.weight.sum() + (second.weight * 100.0).sum()).backward()
    rows = [line.split() for line in summary(tr).splitlines() if line.startswith("  weight")]
    assert [row[-1] for row in rows] == ["1.41", "141"]
