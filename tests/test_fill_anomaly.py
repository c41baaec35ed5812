"""A deliberate infinite fill (a causal mask) is not a NaN/Inf birth; a real overflow still is."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable
from gradviz.viz.diagnose.anomaly import AnomalyError

CAUSAL = np.triu(np.ones((4, 4), dtype=bool), 1)


def _scores() -> Variable:
    return Variable(np.random.default_rng(0).normal(size=(2, 4, 4)), requires_grad=True)


def _masked_fill(x: Variable) -> Variable:
    return x.masked_fill(CAUSAL, float("-inf"))


def _where(x: Variable) -> Variable:
    return gradviz.where(~CAUSAL, x, float("-inf"))


@pytest.mark.parametrize("fill", [_masked_fill, _where], ids=["masked_fill", "where"])
def test_infinite_fill_then_softmax_is_not_an_anomaly(fill):
    x = _scores()
    with gradviz.detect_anomaly():
        y = fill(x).softmax(-1)
        (y * y).sum().backward()
    assert np.isfinite(x.grad).all()


@pytest.mark.parametrize("fill", [_masked_fill, _where], ids=["masked_fill", "where"])
def test_infinite_fill_then_softmax_passes_check(fill):
    x = _scores()
    with gradviz.trace() as tr:
        y = fill(x).softmax(-1)
        (y * y).sum().backward()
    report = tr.check()
    assert not [f for f in report.findings if f.kind.startswith("nan")], str(report)


def test_nan_fill_is_still_reported():
    x = _scores()
    with pytest.raises(AnomalyError, match="MaskedFill"), gradviz.detect_anomaly():
        x.masked_fill(CAUSAL, float("nan"))


def test_a_real_overflow_is_still_reported():
    x = Variable(np.array([1.0, 1000.0]), requires_grad=True)
    with np.errstate(over="ignore"):
        with pytest.raises(AnomalyError, match="Exp"), gradviz.detect_anomaly():
            x.masked_fill(np.array([True, False]), 5.0).exp()
        with gradviz.trace() as tr:
            y = x.masked_fill(np.array([True, False]), float("-inf")).softmax(-1) + x.exp()
            y.sum().backward()
    births = [f.op for f in tr.check().findings if f.kind == "nan_forward"]
    assert births == ["Exp"]


@pytest.mark.parametrize(
    ("write", "blamed"),
    [
        (lambda x: x * float("nan"), "the constant b=nan is NaN"),
        (lambda x: x + np.inf, "the constant b=inf is infinite"),
        (lambda x: x / 0.0, "division by the constant b=0.0"),
    ],
)
def test_detect_anomaly_blames_a_constant_written_in_the_code(write, blamed):
    x = Variable(np.ones(3, np.float32), requires_grad=True)
    with (
        pytest.raises(AnomalyError, match=blamed),
        np.errstate(all="ignore"),
        gradviz.detect_anomaly(),
    ):
        write(x)
