"""The commands on scripts ported from PyTorch tutorials by changing only the import: what such
a script does (free leaves as the model, several models fitted in turn, Adam on a fresh model)
must not confuse the capture, the pictures or the findings."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers import run_gradviz
from test_cli import make_script

from gradviz.cli import cli

# Two polynomial fits one after the other, each with its own free leaves (the "learning PyTorch
# with examples" tutorial): the first converges, the second starts far off with new parameters.
TWO_FITS = """
    import gradviz as torch

    x = torch.linspace(-1, 1, 50)
    y = 3 * x

    def step(w):
        loss = (w * x - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            w -= 1e-4 * w.grad
            w.grad = None
        return loss

    def first():
        w = torch.full((), 2.9, requires_grad=True)
        for _ in range(30):
            loss = step(w)
        print("first", loss.item())

    def second():
        w = torch.full((), -3.0, requires_grad=True)
        for _ in range(30):
            loss = step(w)
        print("second", loss.item())

    first()
    second()
"""

# nanoGPT's loop: AdamW, and the gradients already clipped before the step.
ADAMW_CLIPPED = """
    import gradviz as torch
    from gradviz import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4))
    opt = torch.optim.AdamW(model.parameters(), lr=0.05)
    x, y = torch.randn(32, 8), torch.randint(0, 4, (32,))
    for it in range(3):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
"""

# The tutorial's parts run one after the other: an nn.Sequential fitted first, then free leaves
# updated by hand under no_grad (no optimizer steps, so none tells which parameters are trained).
MODEL_THEN_LEAVES = """
    import gradviz as torch

    x = torch.linspace(-1, 1, 20)
    y = 3 * x

    def nn_part():
        model = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.Flatten(0, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        for _ in range(2):
            loss = torch.nn.functional.mse_loss(model(x.unsqueeze(-1)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    def leaves_part():
        w = torch.full((), 0.5, requires_grad=True)
        for _ in range(2):
            loss = (w * x - y).pow(2).sum()
            loss.backward()
            with torch.no_grad():
                w -= 1e-3 * w.grad
                w.grad = None

    nn_part()
    leaves_part()
"""

# makemore's MLP: free leaves made by ops without grad (randn times a gain), then marked
# ``p.requires_grad = True``, updated through ``p.data``.
MAKEMORE = """
    import gradviz as torch
    import gradviz.nn.functional as F

    g = torch.Generator().manual_seed(2147483647)
    X = torch.randint(0, 27, (32, 3), generator=g)
    Y = torch.randint(0, 27, (32,), generator=g)
    C = torch.randn((27, 10), generator=g)
    W1 = torch.randn((30, 64), generator=g) * (5 / 3) / 30**0.5
    b1 = torch.randn(64, generator=g) * 0.01
    W2 = torch.randn((64, 27), generator=g) * 0.01
    b2 = torch.randn(27, generator=g) * 0
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True
    for i in range(3):
        emb = C[X]
        h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
        loss = F.cross_entropy(h @ W2 + b2, Y)
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -0.1 * p.grad
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_watch_does_not_call_a_second_model_of_free_leaves_a_spike(runner, tmp_path):
    script = make_script(tmp_path, TWO_FITS)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["watch", str(script), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "second" in result.output  # the script ran to its end
    assert "no loss or gradient spike" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["train.timeline.html"]


def test_check_does_not_advise_clipping_for_adam_s_large_first_steps(tmp_path):
    script = make_script(tmp_path, ADAMW_CLIPPED)
    out = tmp_path / "out"
    result = run_gradviz("check", str(script), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr  # warnings only
    assert "update/weight" in result.stdout
    text = " ".join(result.stdout.split())  # the report wraps its lines
    assert "clipping gradients does not shrink the step: AdamW" in text
    assert "clip_grad_norm_" not in result.stdout  # the script clips already; it would not help
    assert sorted(p.name for p in out.iterdir()) == ["train.backward.svg", "train.forward.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "train.py"]


def test_check_of_the_last_step_leaves_out_a_model_trained_earlier(runner, tmp_path):
    script = make_script(tmp_path, MODEL_THEN_LEAVES)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["check", str(script), "--step", "-1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "backward call 4" in result.output
    assert "got no gradient" not in result.output  # the Sequential is not this step's model
    assert "0 errors, 0 warnings" in result.output
    assert "Sequential" not in result.output  # nor in the per-layer table


def test_render_of_the_last_step_does_not_name_it_after_a_model_trained_earlier(runner, tmp_path):
    script = make_script(tmp_path, MODEL_THEN_LEAVES)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["render", str(script), "--step", "-1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    forward = (out / "train.forward.svg").read_text()
    assert "pass 4" in forward
    assert "Sequential" not in forward  # neither the title nor a module box: it did not run


def test_free_leaves_made_by_ops_are_parameters_named_after_their_variables(runner, tmp_path):
    script = make_script(tmp_path, MAKEMORE)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["render", str(script), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "parameters: 5 tensors" in result.output
    for name in ("C ", "W1 ", "b1 ", "W2 ", "b2 "):
        assert f"\n  {name}" in result.output
    forward = (out / "train.forward.svg").read_text()
    assert ">W1</text>" in forward
    assert ">Mul</text>" not in forward  # the init's ops made the leaves: not this step's
    assert ">Div</text>" not in forward
