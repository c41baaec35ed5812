"""The Timeline records: one series per structural key over the recorded steps."""

import csv
import math

import gradviz
import gradviz.nn as nn
import gradviz.optim as optim
from gradviz.viz.records.timeline import FIELDS, Timeline


def _timeline(steps=3):
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = gradviz.randn(8, 3), gradviz.randn(8, 1)
    with gradviz.trace() as tr:
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    graphs = ((p.index, p.graph, loss) for p, loss in zip(tr.passes, losses, strict=True))
    return Timeline.from_graphs(graphs), losses


def test_one_row_per_step_and_node_with_the_loss_of_each_step():
    timeline, losses = _timeline()
    assert timeline.steps == [1, 2, 3]
    assert timeline.loss == losses
    assert len(timeline.rows()) == 3 * len(timeline.keys)
    assert timeline.changed_steps == []
    norms = timeline.series("param:0.weight", "update_norm")
    assert all(n > 0 for n in norms)
    assert not math.isnan(timeline.series("/MseLoss#0", "grad_norm")[0])


def test_csv_has_a_header_and_a_line_per_row(tmp_path):
    timeline, _ = _timeline(2)
    timeline.to_csv(tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["step", "node", *FIELDS]
    assert len(lines) == 1 + 2 * len(timeline.keys)
