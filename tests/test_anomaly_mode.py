"""Anomaly mode as PyTorch names it: ``torch.autograd.set_detect_anomaly(True)`` for the rest of
the program (or a ``with`` block), ``torch.autograd.detect_anomaly(check_nan=...)``, and
``torch.is_anomaly_enabled()``, reached from a script that imports gradviz as torch."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz as torch
from gradviz.autograd import hooks
from gradviz.viz.diagnose import AnomalyError


@pytest.fixture(autouse=True)
def _mode_off():
    yield
    torch.autograd.set_detect_anomaly(False)
    assert not hooks.ACTIVE


def _sqrt_at_zero_backward() -> None:
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    (x.sqrt() * 0).sum().backward()  # sqrt'(0) = inf, times 0: NaN born in Sqrt's backward


def test_set_detect_anomaly_turns_the_mode_on_for_the_rest_of_the_program():
    assert not torch.is_anomaly_enabled()
    _sqrt_at_zero_backward()  # off: NaN flows silently, as in PyTorch
    torch.autograd.set_detect_anomaly(True)
    assert torch.is_anomaly_enabled()
    assert torch.is_anomaly_check_nan_enabled()
    with pytest.raises(AnomalyError, match="Sqrt") as caught:
        _sqrt_at_zero_backward()
    assert isinstance(caught.value, RuntimeError)  # what a PyTorch script catches
    torch.autograd.set_detect_anomaly(False)
    assert not torch.is_anomaly_enabled()
    _sqrt_at_zero_backward()


def test_set_detect_anomaly_as_a_context_manager_restores_the_mode_before_it():
    with torch.autograd.set_detect_anomaly(True):
        assert torch.is_anomaly_enabled()
        with torch.autograd.set_detect_anomaly(False):
            assert not torch.is_anomaly_enabled()
            _sqrt_at_zero_backward()
        assert torch.is_anomaly_enabled()
    assert not torch.is_anomaly_enabled()


def test_turning_it_on_twice_installs_one_detector():
    torch.autograd.set_detect_anomaly(True)
    torch.autograd.set_detect_anomaly(True)
    assert len(hooks.ACTIVE) == 1


def test_detect_anomaly_from_autograd_with_check_nan_off_does_not_raise():
    with torch.autograd.detect_anomaly(check_nan=False):
        assert torch.is_anomaly_enabled()
        assert not torch.is_anomaly_check_nan_enabled()
        _sqrt_at_zero_backward()
    with torch.autograd.detect_anomaly(), pytest.raises(AnomalyError):
        _sqrt_at_zero_backward()


NOT_BOOLS = [
    lambda: torch.autograd.set_detect_anomaly("yes"),
    lambda: torch.autograd.set_detect_anomaly(True, check_nan=1),
    lambda: torch.autograd.detect_anomaly(check_nan=None),
]


@pytest.mark.parametrize("call", NOT_BOOLS)
def test_a_mode_that_is_not_a_bool_is_refused_as_pytorch_refuses_it(call):
    with pytest.raises(torch.GradvizError, match="must be a bool"):
        call()


def test_the_same_as_pytorch_on_the_same_script():
    real = pytest.importorskip("torch")

    def run(lib) -> tuple[list[bool], bool]:
        seen = [lib.is_anomaly_enabled()]
        lib.autograd.set_detect_anomaly(True)
        seen.append(lib.is_anomaly_enabled())
        x = lib.tensor(np.array([0.0, 4.0]), requires_grad=True)
        try:
            (x.sqrt() * 0).sum().backward()
            raised = False
        except RuntimeError:
            raised = True
        finally:
            lib.autograd.set_detect_anomaly(False)
        seen.append(lib.is_anomaly_enabled())
        return seen, raised

    with pytest.warns(UserWarning, match="Error detected in SqrtBackward0"):
        theirs = run(real)
    ours = run(torch)
    assert ours == theirs == ([False, True, False], True)  # on, raised a RuntimeError, off


def test_unknown_names_of_autograd_still_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'detect_anomalies'"):
        torch.autograd.detect_anomalies  # noqa: B018
