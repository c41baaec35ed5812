"""Hostile input, round 3: what a learner's scripts (a GPT with its own weight init, a CNN on
digits, makemore's hand-written updates) and odd-but-legal inputs did to the recorder, the
layers and the commands; each case ends in the right result or a GradvizError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import run_gradviz

import gradviz
from gradviz import nn
from gradviz.cli import cli


def _param_norms(tr) -> dict[str, float]:
    return {
        a["name"]: a["value"]["norm"] for _, a in tr.graph.nodes(data=True) if a["kind"] == "param"
    }


def test_a_parameter_initialised_twice_inside_the_trace_shows_its_last_value():
    """nanoGPT's ``self.apply(self._init_weights)`` re-initialises an Embedding (already
    filled with N(0, 1) by its constructor) to N(0, 0.02): the trace showed the N(0, 1) values,
    so |weight| was 50x too big and check warned of an update/weight ratio 50x too small."""
    gradviz.manual_seed(0)
    with gradviz.trace() as tr:
        emb = nn.Embedding(22, 32)
        nn.init.normal_(emb.weight, mean=0.0, std=0.02)
        lin = nn.Linear(32, 4)
        nn.init.normal_(lin.weight, std=0.02)
        nn.init.zeros_(lin.weight)  # a second write after the first one was seen
        truth = float(np.linalg.norm(emb.weight.numpy()))
        lin(emb(gradviz.randint(22, (4, 8)))).sum().backward()
    norms = _param_norms(tr)
    assert norms["Embedding.weight"] == pytest.approx(truth, rel=1e-6)
    assert norms["weight"] == 0.0
    (layer,) = (x for x in tr.check().layers if x.cls == "Embedding")
    assert layer.weight_norm == pytest.approx(truth, rel=1e-6)


LEAF_UPDATE_BUG = """\
import gradviz
gradviz.manual_seed(0)
x = gradviz.randn(16, 3)
y = gradviz.randn(16, 1)
w = gradviz.randn(3, 1, requires_grad=True)
for i in range(3):
    loss = ((x @ w - y) ** 2).mean()
    loss.backward()
    w -= 0.1 * w.grad  # the tutorials' update, without no_grad: raises after backward
"""


def _script(folder: Path, body: str, name: str = "train.py") -> Path:
    script = folder / name
    script.write_text(body, encoding="utf-8")
    return script


@pytest.mark.parametrize("command", ["render", "check"])
def test_a_script_failing_after_its_backward_still_gets_the_step_drawn(tmp_path, command):
    """The learner's classic bug (an update without no_grad) raises right after backward:
    render and check said 'nothing was drawn' though the step they draw was captured
    (timeline wrote it); now they draw it, say so and still exit 1."""
    script = _script(tmp_path, LEAF_UPDATE_BUG)
    out = tmp_path / "out"
    args = [command, str(script), "-o", str(out), "--format", "dot"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "a leaf Variable that requires grad" in result.output
    done = "drawn" if command == "render" else "checked"
    assert f"backward call 1 was captured before it and is {done} above" in result.output
    assert "nothing was" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["train.backward.dot", "train.forward.dot"]


def test_a_script_failing_before_the_chosen_step_still_draws_nothing(tmp_path):
    script = _script(tmp_path, LEAF_UPDATE_BUG)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["render", str(script), "-o", str(out), "--step", "2"])
    assert result.exit_code == 1
    assert "nothing was drawn" in result.output
    assert not out.exists() or not list(out.iterdir())


def test_the_last_step_of_a_script_that_fails_is_drawn_in_a_real_console_run(tmp_path):
    """--step -1: the last backward call before the failure (a NaN guard that raises)."""
    body = LEAF_UPDATE_BUG.replace(
        "    w -= 0.1 * w.grad  # the tutorials' update, without no_grad: raises after backward\n",
        "    if i == 1:\n        raise SystemExit('loss went bad')\n",
    )
    script = _script(tmp_path, body)
    done = run_gradviz(
        "render", str(script), "-o", "out", "--step", "-1", "--format", "json", cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    assert "backward call 2 was captured before it and is drawn above" in done.stderr
    assert gradviz.load_trace(tmp_path / "out" / "train.trace.json").get_pass().index == 2
