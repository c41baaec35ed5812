"""The examples run in-process (as ``__main__``, as the tracer runs them) and hit their targets."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys

import numpy as np
import pytest
from helpers import EXAMPLES

import gradviz

# example -> (name of its final metric variable, the target it must reach in a full run)
TARGETS = {
    "regression": ("r2", 0.8),
    "moons": ("accuracy", 0.95),
    "digits": ("accuracy", 0.90),
    "custom_layer": ("accuracy", 0.95),
    "cnn_digits": ("accuracy", 0.95),
    "denoise_digits": ("improvement", 1.8),
    "vae_digits": ("improvement", 2.0),
}
#: how far the loss must fall in a full run (a VAE's loss keeps the pixels' own entropy)
LOSS_DROP = {"vae_digits": 0.8}


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
    assert losses[-1] < LOSS_DROP.get(name, 0.5) * losses[0], output
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


TORCH_POLYNOMIAL = """
import math, torch

class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
a = torch.full((), 0.0, requires_grad=True)
b = torch.full((), -1.0, requires_grad=True)
c = torch.full((), 0.0, requires_grad=True)
d = torch.full((), 0.3, requires_grad=True)
losses = []
for t in range(STEPS):
    y_pred = a + b * LegendrePolynomial3.apply(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        for w in (a, b, c, d):
            w -= 5e-6 * w.grad
            w.grad = None
"""


def test_polynomial_trains_like_pytorch_with_updates_in_place(full_size, capsys):
    """The tutorial's manual ``w -= lr * w.grad`` under no_grad: same losses as PyTorch."""
    torch = pytest.importorskip("torch")
    namespace, output = run_example("polynomial", capsys)
    weights = [namespace[name] for name in "abcd"]
    assert all(w.is_leaf and w.requires_grad for w in weights)  # updated in place, not rebound
    assert all(w._version == 2000 for w in weights)
    reference = {"torch": torch, "STEPS": 2000}
    exec(TORCH_POLYNOMIAL, reference)
    ours, theirs = namespace["losses"], reference["losses"]
    print(f"final loss: gradviz {ours[-1]:.4f}, PyTorch {theirs[-1]:.4f}")
    assert ours[-1] < 0.05 * ours[0]
    np.testing.assert_allclose(ours, theirs, rtol=2e-3)
    assert "Result: y = " in output


@pytest.mark.parametrize("command", ["render", "check"])
@pytest.mark.parametrize(
    ("name", "ops"),
    [
        ("polynomial", 8),
        ("cnn_digits", 9),
        ("denoise_digits", 9),
        ("vae_digits", 27),
        ("char_mlp", 7),
        ("tiny_gpt", 59),
        ("pinn", 50),
    ],
)
def test_example_renders_and_checks_clean(name, ops, command, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from gradviz.cli import cli

    monkeypatch.setenv("GRADVIZ_EXAMPLE_QUICK", "1")
    script = str(EXAMPLES / f"{name}.py")
    result = CliRunner().invoke(cli, [command, script, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"{name}.backward.svg",
        f"{name}.forward.svg",
    ]
    if command == "check":
        assert f"gradient check: {ops} ops, " in result.stdout
        assert "FAILED" not in result.stdout
        assert "0 errors" in result.stdout


def test_char_mlp_learns_and_samples_words(capsys, monkeypatch):
    monkeypatch.setenv("GRADVIZ_EXAMPLE_QUICK", "1")
    namespace, output = run_example("char_mlp", capsys)
    losses = namespace["losses"]
    assert len(losses) == 300
    assert np.mean(losses[-50:]) < 0.6 * losses[0]  # from ln(27) = 3.3 towards the words
    assert len(namespace["samples"]) == 8
    assert output.rstrip().splitlines()[-1].startswith("samples: ")
    assert not namespace["model"].training
    assert_clean_global_state()


def test_tiny_gpt_trains_clips_and_samples(capsys, monkeypatch):
    monkeypatch.setenv("GRADVIZ_EXAMPLE_QUICK", "1")
    namespace, output = run_example("tiny_gpt", capsys)
    losses = namespace["losses"]
    assert len(losses) == 30
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    assert namespace["schedule"].get_last_lr()[0] < 3e-3  # the cosine schedule ran
    names = [name for name, _ in namespace["model"].named_parameters()]
    assert "blocks.1.attn.qkv.weight" in names
    assert "\nsample: Beautiful is " in output
    assert_clean_global_state()


def test_pinn_learns_the_solution_from_the_equation_through_second_derivatives(full_size, capsys):
    namespace, output = run_example("pinn", capsys)
    losses = namespace["losses"]
    assert np.mean(losses[-50:]) < 1e-3 * losses[0], output
    assert namespace["error"] < 0.02, output  # against sin(pi x), never shown to the network
    assert "largest error against sin(pi x)" in output
    assert_clean_global_state()
