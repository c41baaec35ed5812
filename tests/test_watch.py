"""``gradviz watch``: the flight recorder catches the first bad step of a whole run, keeps it in
full and stops the script; through CliRunner and one real console-script run."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers import EXAMPLES, run_gradviz
from test_cli import make_script, needs_layout

import gradviz
from gradviz.cli import cli
from gradviz.viz.flight import step_health

SPIKES = """
    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.01)
    x, y = gradviz.randn(8, 3), gradviz.randn(8, 1)
    for step in range(1, 41):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y) * (1000.0 if step in (15, 30) else 1.0)
        loss.backward()
        print("step", step)
        if step not in (15, 30):  # the spikes do not derail training
            opt.step()
"""
CALM = SPIKES.replace("(15, 30)", "()")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the script's own NaN
def test_a_nan_after_many_steps_is_caught_where_it_was_born(runner, tmp_path):
    needs_layout()
    result = runner.invoke(cli, ["watch", str(EXAMPLES / "slow_nan.py"), "-o", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "step 307: nan_loss: the loss is nan" in result.stdout
    assert "where: Log in module (top) at slow_nan.py:" in result.stdout
    assert "try: clamp the input" in result.stdout
    assert "stopped the script at step 307" in result.stdout
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        f"slow_nan.step307.{suffix}"
        for suffix in ("backward.svg", "diff.svg", "forward.svg", "timeline.html", "trace.json")
    ]
    saved = gradviz.load_trace(tmp_path / "slow_nan.step307.trace.json")
    assert [p.index for p in saved.passes] == [306, 307]  # the step and the one before
    assert saved.timeline.steps == list(range(1, 308))
    assert "step 400" not in result.stdout  # stopped: the script printed every 100 steps


def test_a_spike_stops_the_script_and_names_the_largest_change(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, SPIKES, "spikes.py")
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "step 15: loss_spike: the loss" in result.stdout
    assert "largest change since step 14:" in result.stdout
    assert "try: lower the learning rate" in result.stdout
    assert "step 16" not in result.stdout
    assert (tmp_path / "out" / "spikes.step15.diff.svg").is_file()


def test_continue_keeps_every_trigger(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, SPIKES, "spikes.py")
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path), "--continue"])
    assert result.exit_code == 1, result.output
    assert "step 40" in result.stdout  # ran to its end
    for step in (15, 30):
        assert f"step {step}: loss_spike" in result.stdout
        assert (tmp_path / f"spikes.step{step}.trace.json").is_file()


def test_nothing_fired_writes_the_timeline_and_exits_0(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, CALM, "calm.py")
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "watched 40 steps: no NaN/Inf, no loss or gradient spike" in result.stdout
    assert (tmp_path / "calm.timeline.html").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--spike", "1"], "--spike"), (["--keep", "0"], "--keep")],
)
def test_bad_options_are_usage_errors(runner, tmp_path, args, message):
    script = make_script(tmp_path, CALM, "calm.py")
    result = runner.invoke(cli, ["watch", str(script), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not list(tmp_path.glob("*.html"))


def test_step_health_reads_one_step_of_the_timeline():
    w = gradviz.nn.Parameter(gradviz.ones(2, 1).numpy())
    with gradviz.trace(detail="summary") as tr:
        for first in (0.5, 0.0):
            (gradviz.Variable([[first, 2.0]]).log() @ w).sum().backward()
    loss, norm, bad = step_health(tr.timeline, 1)
    assert bad == ()
    assert norm == pytest.approx((2 * 0.6931472**2) ** 0.5, rel=1e-5)  # |[log .5, log 2]|
    loss, norm, bad = step_health(tr.timeline, 2)
    assert loss == float("-inf")
    assert {"/Log#0", "/param#0"} <= set(bad)  # -inf value, -inf gradient, and on


def test_watch_runs_as_a_console_script(tmp_path):
    needs_layout()
    script = make_script(tmp_path, SPIKES, "spikes.py")
    done = run_gradviz("watch", str(script), "-o", str(tmp_path))
    assert done.returncode == 1, done.stderr
    assert "step 15: loss_spike" in done.stdout
    assert "gradviz: 1 trigger(s) fired" in done.stderr
