"""The examples run in-process (as ``__main__``, as the tracer runs them) and hit their targets."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradviz

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# example -> (name of its final metric variable, the target it must reach in a full run)
TARGETS = {
    "regression": ("r2", 0.8),
    "moons": ("accuracy", 0.95),
    "digits": ("accuracy", 0.90),
    "custom_layer": ("accuracy", 0.95),
}


def run_example(name: str, capsys) -> tuple[dict, str]:
    namespace = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    return namespace, capsys.readouterr().out


def printed_losses(output: str) -> list[float]:
    return [float(value) for value in re.findall(r"^epoch +\d+ \| loss ([0-9.]+)$", output, re.M)]


def assert_clean_global_state() -> None:
    assert gradviz.is_grad_enabled()
    assert gradviz.get_default_dtype() == np.float32
    assert not gradviz.autograd.hooks.ACTIVE


@pytest.fixture
def full_size(monkeypatch):
    monkeypatch.delenv("GRADVIZ_EXAMPLE_QUICK", raising=False)


@pytest.mark.usefixtures("full_size")
@pytest.mark.parametrize("name", list(TARGETS))
def test_example_reaches_its_target(name, capsys):
    namespace, output = run_example(name, capsys)
    metric, target = TARGETS[name]
    assert namespace[metric] >= target, output
    losses = namespace["losses"]
    assert losses[-1] < 0.5 * losses[0], output
    printed = printed_losses(output)
    assert len(printed) >= 3, output  # the loss is printed every few epochs
    assert printed[-1] < printed[0]
    assert_clean_global_state()


def test_regression_reports_r2(full_size, capsys):
    namespace, output = run_example("regression", capsys)
    assert f"R^2 = {namespace['r2']:.3f}" in output
    assert namespace["model"][0].weight.dtype == np.float32


def test_digits_accuracy_is_measured_on_held_out_images(full_size, capsys):
    namespace, output = run_example("digits", capsys)
    assert len(namespace["y_test"]) == 450
    assert len(namespace["X_train"]) + len(namespace["y_test"]) == 1797
    assert re.search(r"held-out accuracy \d+\.\d% on 450 images", output)
    assert not namespace["model"].training  # evaluated in eval mode


def test_custom_layer_gradchecks_and_learns_beta(full_size, capsys):
    namespace, output = run_example("custom_layer", capsys)
    assert output.startswith("gradcheck passed")
    layer = namespace["model"][1]
    assert type(layer).__name__ == "SwishLayer"
    names = [name for name, _ in namespace["model"].named_parameters()]
    assert "1.beta" in names
    assert "3.beta" in names
    assert layer.beta.item() != 1.0  # the slope was trained along with the weights


def test_examples_are_reproducible(full_size, capsys):
    first, _ = run_example("moons", capsys)
    second, _ = run_example("moons", capsys)
    assert first["losses"] == second["losses"]


@pytest.mark.parametrize("name", list(TARGETS))
def test_quick_mode_is_shorter_and_still_learns(name, capsys, monkeypatch):
    monkeypatch.setenv("GRADVIZ_EXAMPLE_QUICK", "1")
    namespace, output = run_example(name, capsys)
    assert 1 < len(namespace["losses"]) <= 10
    assert namespace["losses"][-1] < namespace["losses"][0]
    assert TARGETS[name][0] in namespace
    assert printed_losses(output)
    assert_clean_global_state()


def test_example_runs_as_a_script():
    """The README's quick start: ``python examples/moons.py`` from the repository root."""
    env = {**os.environ, "GRADVIZ_EXAMPLE_QUICK": "1"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "moons.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=EXAMPLES.parent,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "train accuracy" in result.stdout
