"""Many steps: the every-K-th capture policy, ``Trace.timeline``, the timeline's JSON, the findings
per step and the data the timeline page embeds."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from timeline_demo import NAN_AT, STEPS, nan_script

import gradviz
from gradviz.viz.capture.policy import EveryStep
from gradviz.viz.diagnose.timeline import SPIKE, WARMUP, timeline_findings
from gradviz.viz.page.timeline import timeline_data
from gradviz.viz.records.timeline import FIELDS, ROW_DTYPE, Timeline
from gradviz.viz.runner import run_script
from gradviz.viz.trace import TraceError


@pytest.fixture(scope="module")
def nan_trace(tmp_path_factory):
    script = nan_script(tmp_path_factory.mktemp("timeline"))
    return run_script(script, policy=EveryStep())


def synthetic(losses, relu_max=None, nan_steps=()):
    """A timeline of a weight, a ReLU and a loss node over ``len(losses)`` steps."""
    timeline = Timeline()
    metas = [
        ("param:w", {"kind": "param", "name": "w"}),
        ("/Relu#0", {"kind": "op", "op": "Relu", "module": ""}),
        ("/MseLoss#0", {"kind": "op", "op": "MseLoss", "module": ""}),
    ]
    for step, loss in enumerate(losses, 1):
        rows = np.zeros(len(metas), ROW_DTYPE)
        for row, (key, meta) in zip(rows, metas, strict=True):
            row["node"] = timeline.key_index(key, meta)
            row["grad_norm"] = 1.0
            row["value_max"] = relu_max[step - 1] if relu_max and key == "/Relu#0" else 1.0
        if step in nan_steps:
            rows[1]["value_nan"] = 3
            rows[2]["grad_inf"] = 1
        timeline.add_rows(step, loss, rows)
    return timeline


# ------------------------------------------------------------------ the policy and the runner
def test_the_runner_keeps_every_kth_pass_and_stops_after_n_calls(tmp_path, capsys):
    script = nan_script(tmp_path)
    tr = run_script(script, policy=EveryStep(6, every=2))
    assert [p.index for p in tr.passes] == [1, 3, 5]
    assert tr.backward_calls == 6
    assert len(capsys.readouterr().out.splitlines()) == 5  # stopped in step 6, before its print


# ------------------------------------------------------------------ Trace.timeline and JSON
def test_trace_timeline_has_every_pass_and_its_loss(nan_trace, capsys):
    timeline = nan_trace.timeline
    assert timeline.steps == list(range(1, STEPS + 1))
    assert "param:0.weight" in timeline.keys
    assert math.isnan(timeline.loss[NAN_AT - 1])  # a NaN loss has no finite value
    assert all(math.isfinite(v) for i, v in enumerate(timeline.loss) if i != NAN_AT - 1)
    assert timeline.loss[0] > timeline.loss[-1]


def test_to_dict_is_columnar_json_with_one_entry_per_row(nan_trace):
    timeline = nan_trace.timeline
    data = json.loads(json.dumps(timeline.to_dict(), allow_nan=False))
    rows = len(timeline.rows_array())
    assert (data["format"], data["version"]) == ("gradviz-timeline", 1)
    assert data["steps"] == timeline.steps
    assert set(data["columns"]) == {"step", "node", *FIELDS}
    assert all(len(column) == rows for column in data["columns"].values())
    weight = data["keys"].index("param:0.weight")
    norms = [
        v
        for n, v in zip(data["columns"]["node"], data["columns"]["update_norm"], strict=True)
        if n == weight
    ]
    assert norms[0] == pytest.approx(timeline.series("param:0.weight", "update_norm")[0], 1e-5)
    assert data["loss"][NAN_AT - 1] is None


def test_to_dict_writes_inf_as_a_string():
    timeline = synthetic([1.0])
    timeline.rows_array()["update_ratio"][0] = math.inf
    assert timeline.to_dict()["columns"]["update_ratio"][0] == "Infinity"


# ------------------------------------------------------------------ findings
def test_nan_is_found_at_its_first_step_naming_the_node_it_appeared_in(nan_trace):
    found = [f for f in timeline_findings(nan_trace.timeline) if f.kind == "nan"]
    assert [f.step for f in found] == [NAN_AT, NAN_AT]
    value, grad = found
    assert value.message.startswith("value of input has 1 NaN")  # the input, not what it fed
    assert nan_trace.timeline.nodes[value.key]["kind"] == "input"
    assert grad.message.startswith("gradient of 0.weight has 12 NaN")
    assert {f.severity for f in found} == {"error"}


def test_a_run_of_bad_steps_is_one_finding():
    found = timeline_findings(synthetic([1.0] * 6, nan_steps=(2, 3, 4, 6)))
    assert [(f.step, f.key) for f in found] == [
        (2, "/Relu#0"),
        (2, "/MseLoss#0"),
        (6, "/Relu#0"),
        (6, "/MseLoss#0"),
    ]


def test_a_loss_spike_is_found_after_the_warm_up_only():
    losses = [1.0] * 30
    losses[3] = 100.0  # during warm-up: not a spike
    losses[20] = SPIKE * 1.5
    losses[25] = SPIKE * 0.9
    found = timeline_findings(synthetic(losses))
    assert [(f.step, f.kind) for f in found] == [(21, "loss_spike")]
    assert "15x its running median 1" in found[0].message
    assert found[0].key is None
    assert WARMUP == 10


def test_a_dead_relu_layer_is_found_once_per_run():
    relu_max = [1.0, 0.0, 0.0, 2.0, 0.0]
    found = timeline_findings(synthetic([1.0] * 5, relu_max=relu_max))
    assert [(f.step, f.kind, f.key) for f in found] == [
        (2, "dead_relu", "/Relu#0"),
        (5, "dead_relu", "/Relu#0"),
    ]
    assert "every output of Relu" in found[0].message


def test_a_clean_run_has_no_findings():
    assert timeline_findings(synthetic([2.0, 1.5, 1.2, 1.0])) == []


# ------------------------------------------------------------------ the page's data
def test_page_data_maps_keys_to_the_drawn_nodes_and_rows_to_parameters(nan_trace):
    timeline = nan_trace.timeline
    data = timeline_data(timeline, timeline_findings(timeline), nan_trace.graph)
    assert data["steps"] == timeline.steps
    labels = [data["keys"][r]["label"] for r in data["rows"]]
    assert labels == ["0.weight", "0.bias", "2.weight", "2.bias"]
    graph = nan_trace.graph
    for key in data["keys"]:
        assert key["node"] in graph
        assert len(key["grad_norm"]) == len(timeline.steps)
        name = graph.nodes[key["node"]].get("name")
        assert name is None or name == key["label"]
    weight = data["keys"][data["rows"][0]]
    assert weight["bad"][NAN_AT - 1] == 1
    assert weight["grad_norm"][NAN_AT - 1] is None  # every element NaN: no norm
    assert weight["bad"][0] == 0
    assert [f["step"] for f in data["findings"]] == [NAN_AT, NAN_AT]
    assert data["full"] == STEPS
    json.dumps(data, allow_nan=False)


def test_render_timeline_writes_the_page_of_every_pass(nan_trace, tmp_path):
    page = nan_trace.render("timeline", tmp_path / "run.timeline.html")
    text = page.path.read_text(encoding="utf-8")
    assert page.size == len(text.encode("utf-8"))
    assert '<section id="tl"' in text
    assert text.count("'sha256-") == 2


def test_a_trace_without_backward_has_no_timeline_page(tmp_path):
    with gradviz.trace() as tr:
        gradviz.ones(2).sum()
    assert tr.timeline.steps == []
    with pytest.raises(TraceError, match="no backward pass was recorded"):
        tr.render("timeline", tmp_path / "t.html")
    assert not (tmp_path / "t.html").exists()


def test_the_inf_of_a_causal_mask_is_deliberate_but_a_nan_there_is_not():
    timeline = Timeline()
    for step, nan in ((1, 0), (2, 0), (3, 2)):
        rows = np.zeros(1, ROW_DTYPE)
        meta = {"kind": "op", "op": "MaskedFill", "module": "attn"}
        rows["node"] = timeline.key_index("attn/MaskedFill#0", meta)
        rows["value_inf"] = 12
        rows["value_nan"] = nan
        timeline.add_rows(step, 1.0, rows)
    found = timeline_findings(timeline)
    assert [(f.step, f.kind) for f in found] == [(3, "nan")]
    assert found[0].message == "value of MaskedFill (module attn) has 2 NaN, 12 Inf"


def test_parameters_without_gradient_or_update_come_last_marked_quiet():
    """Was: a DQN's target network, run under ``no_grad``, had empty heatmap rows listed before
    the policy network's, as if its gradients were missing data."""
    gradviz.manual_seed(0)
    policy_net, target_net = gradviz.nn.Linear(3, 2), gradviz.nn.Linear(3, 2)
    optimizer = gradviz.optim.SGD(policy_net.parameters(), lr=0.1)
    with gradviz.trace(steps="all", detail="summary") as tr:
        for _ in range(3):
            x = gradviz.randn(4, 3)
            with gradviz.no_grad():
                target = target_net(x).max(1).values
            loss = (policy_net(x).max(1).values - target).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    data = timeline_data(tr.timeline, [], tr.graph)
    rows = [(data["keys"][r]["label"], data["keys"][r]["quiet"]) for r in data["rows"]]
    assert rows == [
        ("policy_net.weight", False),
        ("policy_net.bias", False),
        ("target_net.weight", True),
        ("target_net.bias", True),
    ]
