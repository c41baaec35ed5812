"""Ctrl-C during a long run: `gradviz timeline` and `watch` write what they recorded and exit
130 (128 + SIGINT, as a shell reports it); a command with nothing to show says so."""

from __future__ import annotations

import importlib
import json
import signal
import subprocess

from click.testing import CliRunner
from helpers import run_gradviz
from test_cli import make_script, needs_layout

from gradviz.cli import cli

# Three steps, then Ctrl-C (SIGNAL: the real signal, or a KeyboardInterrupt raised).
INTERRUPTED = """
    import os
    import signal
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(np.ones((4, 2), np.float32))
    for i in range(100):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
        if i == 2:
            SIGNAL
"""
RAISED = INTERRUPTED.replace("SIGNAL", "raise KeyboardInterrupt")
SIGNALLED = INTERRUPTED.replace("SIGNAL", "os.kill(os.getpid(), signal.SIGINT)")


def test_timeline_writes_the_steps_recorded_before_ctrl_c(tmp_path):
    script = make_script(tmp_path, RAISED)
    result = CliRunner().invoke(cli, ["timeline", str(script), "-o", str(tmp_path / "out")])
    assert result.exit_code == 130
    assert "train.py was interrupted (Ctrl-C) after 3 calls of backward" in result.output
    assert "the steps recorded before it are written above" in result.output
    record = json.loads((tmp_path / "out" / "train.timeline.json").read_text())
    assert len(record["steps"]) == 3
    assert (tmp_path / "out" / "train.timeline.html").is_file()


def test_watch_writes_the_timeline_of_the_steps_before_ctrl_c(tmp_path):
    script = make_script(tmp_path, RAISED)
    result = CliRunner().invoke(cli, ["watch", str(script), "-o", str(tmp_path / "out")])
    assert result.exit_code == 130
    assert "interrupted (Ctrl-C) after 3 calls of backward" in result.output
    assert (tmp_path / "out" / "train.timeline.html").is_file()


def test_render_interrupted_before_its_step_writes_nothing(tmp_path):
    needs_layout()
    script = make_script(tmp_path, RAISED)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["render", str(script), "-o", str(out), "--step", "5"])
    assert result.exit_code == 130
    assert "interrupted (Ctrl-C) after 3 calls of backward; nothing was drawn" in result.output
    assert not out.exists() or not list(out.iterdir())


def _default_sigint() -> None:
    """Ctrl-C raises KeyboardInterrupt in the child, however the tests were started (a shell
    starts a background job with SIGINT ignored, and a child inherits that)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def test_a_real_sigint_is_salvaged_by_the_console_command(tmp_path):
    script = make_script(tmp_path, SIGNALLED)
    out = str(tmp_path / "out")
    done = run_gradviz("timeline", str(script), "-o", out, preexec_fn=_default_sigint)
    assert done.returncode == 130, done.stderr
    assert "interrupted (Ctrl-C) after 3 calls of backward" in done.stderr
    assert (tmp_path / "out" / "train.timeline.json").is_file()


def test_diff_interrupted_before_its_step_exits_130(tmp_path):
    script = make_script(tmp_path, RAISED)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["diff", f"{script}@1", f"{script}@5", "-o", str(out)])
    assert result.exit_code == 130, result.output  # was 1, as for a script that failed
    assert result.stderr == (
        "gradviz: train.py was interrupted (Ctrl-C) after 3 calls of backward; "
        "nothing was compared\n"
    )
    assert not out.exists() or not list(out.iterdir())


def test_diff_interrupted_by_a_real_sigint_exits_130(tmp_path):
    script = make_script(tmp_path, SIGNALLED)
    done = run_gradviz(
        "diff", f"{script}@-1", f"{script}@1", "--structure-only", preexec_fn=_default_sigint
    )
    assert done.returncode == 130, done.stderr
    assert "interrupted (Ctrl-C) after 3 calls of backward; nothing was compared" in done.stderr
    assert "Traceback" not in done.stderr


# Ctrl-C outside the script (reading a trace file, laying out a page) is the same interruption
def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_ctrl_c_outside_the_script_exits_130(tmp_path, monkeypatch):
    import gradviz

    trace = tmp_path / "a.trace.json"
    trace.write_text("{}")
    monkeypatch.setattr(gradviz, "load_trace", _interrupt)
    result = CliRunner().invoke(cli, ["diff", str(trace), str(trace), "-o", str(tmp_path)])
    assert result.exit_code == 130, result.output  # was 1, click's "Aborted!"
    assert result.stderr == "gradviz: interrupted (Ctrl-C); nothing more was written\n"


def test_ctrl_c_while_timeline_writes_its_page_keeps_the_json(tmp_path, monkeypatch):
    trace = importlib.import_module("gradviz.viz.trace")  # (gradviz.viz.trace is also a function)
    script = make_script(tmp_path, INTERRUPTED.replace("SIGNAL", "pass"))
    monkeypatch.setattr(trace, "write_timeline_page", _interrupt)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["timeline", str(script), "-o", str(out)])
    assert result.exit_code == 130, result.output
    assert result.stderr.endswith("gradviz: interrupted (Ctrl-C); nothing more was written\n")
    assert [p.name for p in out.iterdir()] == ["train.timeline.json"]  # whole, and nothing half


def test_ctrl_c_outside_the_script_in_a_real_console_run(tmp_path):
    import sys

    trace = tmp_path / "a.trace.json"
    trace.write_text("{}")
    code = (
        "import gradviz, sys\n"
        "def stop(*a): raise KeyboardInterrupt\n"
        "gradviz.load_trace = stop\n"
        "from gradviz.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "diff", str(trace), str(trace), "--structure-only"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == "gradviz: interrupted (Ctrl-C); nothing more was written\n"
