"""Every finding says what to try, specific to what was found: in the report, the text, the
page and the pictures' legend."""

from __future__ import annotations

import numpy as np
from helpers import EXAMPLES

import gradviz
from gradviz import nn, optim
from gradviz.viz.diagnose import FINDING_KINDS, Report
from gradviz.viz.diagnose.advice import ADVICE
from gradviz.viz.diagnose.text import format_report
from gradviz.viz.draw.render import build
from gradviz.viz.runner import run_script


def checked(name: str, step: int = 1) -> Report:
    return run_script(EXAMPLES / f"{name}.py", step=step).check()


def test_every_finding_kind_has_advice():
    assert set(FINDING_KINDS) <= set(ADVICE)


def test_a_gradient_off_by_the_batch_size_is_named():
    report = checked("buggy_layer")
    (tip,) = report.findings[0].advice
    assert "the ratio 1/32 suggests a division by 32" in tip
    assert "batch size" in tip


def test_a_nan_born_in_log_suggests_clamp_or_log_softmax():
    (birth,) = checked("nan_loss", step=-1).by_kind("nan_forward")
    assert "clamp" in birth.advice[0]
    assert "log_softmax" in birth.advice[0]


def test_a_nan_gradient_of_sqrt_suggests_an_epsilon():
    x = gradviz.Variable(np.array([0.0, 1.0]), requires_grad=True)
    with gradviz.trace() as tr:
        x.sqrt().sum().backward()
    (birth,) = tr.check().by_kind("nan_backward")
    assert "sqrt(x + 1e-12)" in birth.advice[0]


def test_a_high_update_ratio_quotes_the_learning_rate():
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = optim.SGD(model.parameters(), lr=0.5)
    with gradviz.trace() as tr:
        loss = nn.functional.mse_loss(model(gradviz.randn(16, 4)), gradviz.randn(16, 1) * 10)
        loss.backward()
        opt.step()
    high = [f for f in tr.check().by_kind("update_ratio") if f.numbers["ratio"] > 1e-3]
    assert high
    assert high[0].advice[0] == "lower the learning rate (now 0.5)"
    assert "clip_grad_norm_" in high[0].advice[1]


def test_the_text_report_page_and_legend_show_the_advice():
    trace = run_script(EXAMPLES / "buggy_layer.py", step=1)
    report = trace.check()
    text = format_report(report, width=200)
    assert "try: compare your backward with the derivative of forward" in text
    legend = build(trace.graph, "backward", marks=report.marks()).source
    assert "<i>try</i>" in legend
    assert "the ratio 1/32 suggests" in legend
    from gradviz.viz.page.html import page_data

    data, _, _ = page_data(trace, report=report)
    assert data["findings"][0]["advice"] == list(report.findings[0].advice)
