"""Many steps under one trace: ``gradviz.trace(steps=, every=, detail=, keep_full=)`` and
``tr.timeline``."""

import json
import math

import numpy as np
import pytest

import gradviz
import gradviz.nn as nn
import gradviz.optim as optim
from gradviz.autograd.errors import GradvizError
from gradviz.viz.records.identity import structural_keys
from gradviz.viz.records.io import TraceFormatError
from gradviz.viz.records.timeline import FIELDS, Timeline


class Branchy(nn.Module):
    """A model whose forward takes an extra op on the steps listed in ``extra``."""

    def __init__(self, extra=()):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.fc2 = nn.Linear(4, 1)
        self.extra = set(extra)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        h = self.fc1(x).relu()
        if self.calls in self.extra:  # a data-dependent branch
            h = h.tanh()
        return self.fc2(h)


def train(calls=5, extra=(), **options):
    """``calls`` training steps of a seeded small model under
    ``gradviz.trace(**options)``; returns the trace and each step's ``loss.item()``."""
    gradviz.manual_seed(0)
    model = Branchy(extra)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = gradviz.randn(8, 3), gradviz.randn(8, 1)
    losses = []
    with gradviz.trace(**options) as tr:
        for _ in range(calls):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return tr, losses


def same_rows(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and all(
        np.array_equal(a[f], b[f], equal_nan=True) for f in a.dtype.names
    )


def test_one_row_per_step_and_node_with_the_loss_of_each_step():
    tr, losses = train(4, detail="summary")
    timeline = tr.timeline
    assert tr.steps_recorded == timeline.steps == [1, 2, 3, 4]
    assert timeline.loss == losses
    pairs = [(row["step"], row["node"]) for row in timeline.rows()]
    assert len(pairs) == len(set(pairs)) == 4 * len(timeline.keys)
    assert {"param:fc1.weight", "fc1/Linear#0", "/Relu#0", "/MseLoss#0"} <= set(timeline.keys)
    updates = timeline.series("param:fc1.weight", "update_norm")
    assert np.all(updates > 0)
    assert np.all(timeline.series("param:fc1.weight", "update_ratio") > 0)
    assert np.isnan(timeline.series("fc1/Linear#0", "update_norm")).all()  # not a parameter
    assert not np.isnan(timeline.series("/MseLoss#0", "grad_norm")).any()


def test_keys_are_the_structural_keys_of_each_steps_graph_and_stable_over_steps():
    tr, _ = train(3, detail="summary", keep_full=3)  # rows recorded as it goes, passes kept
    timeline = tr.timeline
    data = timeline.rows_array()
    for p in tr.passes:
        keys = [timeline.keys[i] for i in data["node"][data["step"] == p.index]]
        assert keys == list(structural_keys(p.graph).values())
    assert timeline.changed_steps == []


def test_a_data_dependent_branch_is_a_changed_step_not_merged():
    tr, _ = train(5, extra={3}, detail="summary")
    timeline = tr.timeline
    assert timeline.changed_steps == [3, 4]
    tanh = timeline.series("/Tanh#0", "value_mean")
    assert np.isnan(tanh[[0, 1, 3, 4]]).all()
    assert not np.isnan(tanh[2])
    counts = np.bincount(timeline.rows_array()["step"])[1:]
    assert counts[2] == counts[0] + 1


def test_summary_and_full_detail_record_the_same_timeline():
    full, _ = train(4, extra={2})
    summary, _ = train(4, extra={2}, detail="summary")
    assert summary.timeline.keys == full.timeline.keys
    assert summary.timeline.loss == full.timeline.loss
    assert summary.timeline.changed_steps == full.timeline.changed_steps == [2, 3]
    assert same_rows(summary.timeline.rows_array(), full.timeline.rows_array())
    # and the same as a timeline made of the full passes' graphs
    graphs = Timeline.from_graphs((p.index, p.graph, None) for p in full.passes)
    assert graphs.keys == full.timeline.keys
    assert graphs.loss == full.timeline.loss
    assert graphs.changed_steps == full.timeline.changed_steps
    assert same_rows(graphs.rows_array(), full.timeline.rows_array())


@pytest.mark.parametrize(
    ("keep_full", "kept"), [(2, [4, 5]), (1, [5]), (0, []), (9, [1, 2, 3, 4, 5])]
)
def test_summary_keeps_full_passes_of_the_last_k_steps_only(keep_full, kept):
    tr, _ = train(5, detail="summary", keep_full=keep_full)
    assert [p.index for p in tr.passes] == kept
    assert tr.steps_recorded == [1, 2, 3, 4, 5]
    if kept:
        assert tr.graph is tr.passes[-1].graph
        assert tr.graph.nodes[next(iter(tr.graph))]["value"] is not None


def test_full_detail_keeps_every_pass():
    tr, _ = train(5, keep_full=1)
    assert [p.index for p in tr.passes] == [1, 2, 3, 4, 5]


def test_steps_n_stops_recording_after_n_backward_calls():
    tr, losses = train(calls=6, steps=3, detail="summary")
    assert tr.steps_recorded == [1, 2, 3]
    assert tr.backward_calls == 3
    assert not tr.recording
    assert tr.timeline.loss == losses[:3]
    # the optimizer step after the last recorded call is still measured
    assert tr.timeline.series("param:fc2.weight", "update_norm")[-1] > 0


def test_every_k_records_every_k_th_call_from_the_first():
    tr, losses = train(calls=7, every=3)
    assert tr.steps_recorded == [1, 4, 7] == [p.index for p in tr.passes]
    assert tr.timeline.loss == [losses[0], losses[3], losses[6]]
    tr, _ = train(calls=7, every=3, steps=5, detail="summary")
    assert tr.steps_recorded == [1, 4]
    assert tr.backward_calls == 5


def test_a_root_that_is_not_a_scalar_has_no_loss():
    with gradviz.trace(detail="summary") as tr:
        x = gradviz.randn(3, requires_grad=True)
        (x * 2).backward(gradviz.ones(3))
    assert tr.steps_recorded == [1]
    assert math.isnan(tr.timeline.loss[0])


def test_save_and_load_keep_the_timeline(tmp_path):
    tr, _ = train(4, extra={2}, detail="summary", keep_full=1)
    tr.save(tmp_path / "t.json")
    loaded = gradviz.load_trace(tmp_path / "t.json")
    assert loaded.steps_recorded == tr.steps_recorded
    assert loaded.detail == "summary"
    assert loaded.keep_full == 1
    assert [p.index for p in loaded.passes] == [4]
    for name in ("steps", "loss", "keys", "nodes", "changed_steps"):
        assert getattr(loaded.timeline, name) == getattr(tr.timeline, name)
    assert same_rows(loaded.timeline.rows_array(), tr.timeline.rows_array())
    assert loaded.passes[0].loss == tr.passes[0].loss == tr.timeline.loss[-1]
    columns = json.loads((tmp_path / "t.json").read_text())["timeline"]["columns"]
    assert list(columns) == ["step", "node", *FIELDS]
    assert all(len(column) == len(tr.timeline.rows()) for column in columns.values())


def test_a_version_1_file_loads_with_a_timeline_of_its_passes(tmp_path):
    tr, losses = train(2)
    tr.save(tmp_path / "t.json")
    data = json.loads((tmp_path / "t.json").read_text())
    for key in ("detail", "keep_full", "timeline"):
        del data[key]
    data["version"] = 1
    (tmp_path / "old.json").write_text(json.dumps(data))
    loaded = gradviz.load_trace(tmp_path / "old.json")
    assert loaded.steps_recorded == [1, 2]
    assert loaded.timeline.loss == pytest.approx(losses)
    assert same_rows(loaded.timeline.rows_array(), tr.timeline.rows_array())


def test_timeline_json_keeps_nan_and_infinity():
    timeline = Timeline()
    rows = np.zeros(1, timeline.data.dtype)
    rows[0]["node"] = timeline.key_index("param:w", {"kind": "param", "shape": (2,)})
    rows[0]["value_min"] = math.nan
    rows[0]["update_ratio"] = math.inf
    timeline.add_rows(1, math.inf, rows)
    text = json.dumps(timeline.to_dict(), allow_nan=False)
    back = Timeline.from_dict(json.loads(text))
    assert same_rows(back.rows_array(), timeline.rows_array())
    assert back.loss == [math.inf]
    assert back.nodes["param:w"]["shape"] == (2,)
    with pytest.raises(ValueError, match="not a timeline"):
        Timeline.from_dict({"keys": []})


def test_trace_csv_has_a_line_per_step_and_node(tmp_path):
    tr, _ = train(3, detail="summary")
    tr.timeline.to_csv(tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0].split(",") == ["step", "node", *FIELDS]
    assert len(lines) == 1 + 3 * len(tr.timeline.keys)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": "some"}, "steps"),
        ({"every": 0}, "every"),
        ({"detail": "tiny"}, "detail"),
        ({"keep_full": -1}, "keep_full"),
    ],
)
def test_bad_options_are_refused_clearly(options, message):
    with pytest.raises(GradvizError, match=message) as raised:
        gradviz.trace(**options)
    assert isinstance(raised.value, ValueError)


def test_a_malformed_timeline_is_a_format_error(tmp_path):
    tr, _ = train(2, detail="summary")
    tr.save(tmp_path / "t.json")
    data = json.loads((tmp_path / "t.json").read_text())
    data["timeline"]["columns"]["grad_norm"].pop()
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(TraceFormatError, match="timeline"):
        gradviz.load_trace(tmp_path / "bad.json")


def test_summary_without_full_passes_says_how_to_keep_one():
    tr, _ = train(2, detail="summary", keep_full=0)
    with pytest.raises(GradvizError, match="keep_full >= 1"):
        tr.get_pass()


def test_a_loss_module_made_anew_each_step_is_one_series():
    gradviz.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = gradviz.randn(8, 3), gradviz.randn(8, 1)
    with gradviz.trace(detail="summary", keep_full=3) as tr:
        for _ in range(3):
            opt.zero_grad()
            nn.MSELoss()(model(x), y).backward()
            opt.step()
    timeline = tr.timeline
    assert timeline.changed_steps == []
    assert "MSELoss/MseLoss#0" in timeline.keys
    assert not np.isnan(timeline.series("MSELoss/MseLoss#0", "value_mean")).any()
    graphs = Timeline.from_graphs((p.index, p.graph, p.loss) for p in tr.passes)
    assert graphs.keys == timeline.keys
    assert same_rows(graphs.rows_array(), timeline.rows_array())


def late_input_training(**options):
    """7 steps in which an input first used in step 3 (not summarised with ``every=3``) and a
    NumPy constant first used in step 1 enter every later step."""
    gradviz.manual_seed(0)
    w = gradviz.randn(3, 1, requires_grad=True)
    x = gradviz.randn(8, 3)
    shift = np.full((8, 1), 0.5, np.float32)
    late = None
    with gradviz.trace(detail="summary", **options) as tr:
        for step in range(1, 8):
            if step == 3:
                late = gradviz.randn(8, 1)
            out = x @ w + shift
            if late is not None:
                out = out * late
            loss = (out**2).mean()
            loss.backward()
            with gradviz.no_grad():
                w -= 0.1 * w.grad
            w.grad = None
    return tr


def test_a_step_between_recorded_ones_leaves_recorded_statistics_as_they_would_be():
    # Between recorded steps values are not summarised; what a recorded step uses that was
    # first seen in such a step (here `late`) is summarised when the recorded step ends.
    every_3, every_1 = late_input_training(every=3), late_input_training()
    assert every_3.steps_recorded == [1, 4, 7]
    assert every_3.timeline.keys == every_1.timeline.keys
    for step in (1, 4, 7):
        mine, theirs = every_3.timeline.step_rows(step), every_1.timeline.step_rows(step)
        assert same_rows(mine, theirs), step
        assert not np.isnan(mine["value_norm"]).any()


def test_values_are_not_summarised_in_steps_far_from_a_recorded_one(monkeypatch):
    import gradviz.viz.capture.book as book  # where values are summarised

    counted = []
    real = book.array_stats
    monkeypatch.setattr(book, "array_stats", lambda a: counted.append(a.size) or real(a))
    late_input_training(steps=1)  # the first step alone
    one_step = len(counted)
    counted.clear()
    # every=10 over 7 steps records step 1 only: the forwards of steps 3 to 7 summarise nothing
    # (step 2's does: the optimizer step after a recorded pass is recorded with it)
    late_input_training(every=10)
    assert one_step < len(counted) < 2 * one_step
