"""``gradviz diff A B``: its exit codes and messages (CliRunner), and one real console run."""

from __future__ import annotations

import runpy
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import EXAMPLES

from gradviz.cli import cli
from gradviz.viz.draw.layout import find_layout_program

# Counts its runs in runs.txt beside it; trains for sys.argv[1] steps (default 3); the hidden
# size is HIDDEN, replaced to make a second version of the model.
TRAIN = """
    import sys
    from pathlib import Path
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    with open(Path(__file__).with_name("runs.txt"), "a") as runs:
        runs.write("run\\n")
    gradviz.manual_seed(0)
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    model = nn.Sequential(nn.Linear(3, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.MSELoss()
    x = gradviz.Variable(np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3))
    y = gradviz.Variable(np.ones((5, 1), dtype=np.float32))
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
"""

needs_layout = pytest.mark.skipif(find_layout_program() is None, reason="no layout program")


def make_script(folder: Path, name: str = "train.py", hidden: int = 4) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(TRAIN).replace("HIDDEN", str(hidden)), encoding="utf-8")
    return path


def runs(folder: Path) -> int:
    marker = folder / "runs.txt"
    return len(marker.read_text().splitlines()) if marker.exists() else 0


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def train(tmp_path: Path) -> Path:
    return make_script(tmp_path)


def one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("gradviz: ")
    assert text in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""


@needs_layout
def test_two_steps_of_one_script_come_from_one_run(runner, train, tmp_path):
    out = tmp_path / "out"
    args = ["diff", f"{train}@1", f"{train}@4", "-o", str(out), "--", "5"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert runs(tmp_path) == 1
    assert [p.name for p in out.iterdir()] == ["train@1-vs-train@4.diff.svg"]
    lines = result.stdout.splitlines()
    assert lines[0] == f"wrote {out / 'train@1-vs-train@4.diff.svg'}"
    assert lines[1].startswith("train.py@1 vs train.py@4: same structure (")
    assert lines[2].startswith("largest relative changes (10 of ")
    assert lines[3].split() == ["node", "module", "what", "a", "->", "b", "ratio"]
    assert len(lines) == 14
    ET.parse(out / "train@1-vs-train@4.diff.svg")  # valid XML


def test_a_step_past_the_end_fails_with_exit_1(runner, train):
    result = runner.invoke(cli, ["diff", f"{train}@1", f"{train}@9", "--structure-only"])
    assert result.exit_code == 1
    assert "backward step 9 was not reached: train.py called backward() 3 times" in result.stderr


@needs_layout
def test_trace_files_compare(runner, train, tmp_path):
    for name, hidden in (("a", 4), ("b", 6)):
        folder = tmp_path / name
        folder.mkdir()
        script = make_script(folder, hidden=hidden)
        result = runner.invoke(cli, ["render", str(script), "--format", "json", "-o", str(folder)])
        assert result.exit_code == 0, result.output
    a, b = tmp_path / "a" / "train.trace.json", tmp_path / "b" / "train.trace.json"
    result = runner.invoke(cli, ["diff", str(a), str(b), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output  # a changed structure is still a diff drawn
    assert (tmp_path / "out" / "train-vs-train.diff.svg").is_file()
    assert "structure differs: 0 added, 0 removed, 5 changed in shape" in result.stdout
    assert "~ param:0.weight: (4, 3) float32 -> (6, 3) float32" in result.stdout


def test_structure_only_exits_0_for_the_same_model_and_draws_nothing(
    runner, train, tmp_path, monkeypatch
):
    other = make_script(tmp_path, "train_v2.py")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["diff", f"{train}@1", f"{other}@2", "--structure-only"])
    assert result.exit_code == 0, result.output
    assert runs(tmp_path) == 2
    assert result.stdout.startswith("train.py@1 vs train_v2.py@2: same structure (")
    assert "largest" not in result.stdout
    assert not list(tmp_path.glob("*.svg"))


def test_structure_only_exits_1_and_says_what_differs(runner, train, tmp_path):
    other = make_script(tmp_path, "train_v2.py", hidden=5)
    result = runner.invoke(cli, ["diff", f"{train}@1", f"{other}@1", "--structure-only"])
    assert result.exit_code == 1
    assert "structure differs: 0 added, 0 removed, 5 changed in shape" in result.stdout
    assert "~ 1/Relu#0: (5, 4) float32 -> (5, 5) float32" in result.stdout


@needs_layout
def test_structure_only_draws_when_given_an_outdir(runner, train, tmp_path):
    result = runner.invoke(
        cli, ["diff", f"{train}@1", f"{train}@1", "--structure-only", "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "train@1-vs-train@1.diff.svg").is_file()


def test_examples_refactor_is_the_same_model_and_the_bug_is_not(runner, monkeypatch):
    monkeypatch.setenv("GRADVIZ_EXAMPLE_QUICK", "1")
    folder = EXAMPLES / "refactor"
    v1, v2, bug = (f"{folder / n}.py@1" for n in ("model_v1", "model_v2", "model_v2_bug"))
    same = runner.invoke(cli, ["diff", v1, v2, "--structure-only"])
    assert same.exit_code == 0, same.output
    assert "same structure (14 nodes); 0 numbers changed" in same.stdout
    differs = runner.invoke(cli, ["diff", v1, bug, "--structure-only"])
    assert differs.exit_code == 1, differs.output
    assert "- layers.3/Relu#0 (256, 32)" in differs.stdout
    assert "+ layers.3/Linear#0 (256, 1)" in differs.stdout


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("missing.trace.json", "no such trace file: missing.trace.json"),
        ("missing.py@1", "no such script: missing.py"),
        ("TRAIN@x", "bad step in 'TRAIN@x'"),
        ("TRAIN@0", "bad step in 'TRAIN@0'"),
        ("TRAIN@-2", "bad step in 'TRAIN@-2'"),
        ("TRAIN", "is a script: name the backward call to compare"),
    ],
)
def test_bad_inputs_exit_2_before_running_anything(
    runner, train, tmp_path, monkeypatch, spec, message
):
    spec, message = (s.replace("TRAIN", str(train)) for s in (spec, message))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["diff", f"{train}@1", spec])
    one_line_error(result, 2, message)
    assert runs(tmp_path) == 0


def test_a_file_that_is_not_a_trace_exits_2(runner, train, tmp_path):
    notes = tmp_path / "notes.json"
    notes.write_text('{"hello": 1}')
    result = runner.invoke(cli, ["diff", f"{train}@1", str(notes)])
    one_line_error(result, 2, "not a gradviz trace")
    assert runs(tmp_path) == 0


def test_an_output_that_cannot_be_written_exits_2_before_running(runner, train, tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "train@1-vs-train@2.diff.svg").mkdir()  # a folder where the file goes
    result = runner.invoke(cli, ["diff", f"{train}@1", f"{train}@2", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "choose another folder with -o" in result.stderr
    assert runs(tmp_path) == 0


def test_a_failing_script_exits_1(runner, tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("raise ValueError('boom')\n")
    result = runner.invoke(cli, ["diff", f"{script}@1", f"{script}@2", "--structure-only"])
    assert result.exit_code == 1
    assert "boom.py raised ValueError: boom; nothing was compared" in result.stderr


def test_help_shows_the_exit_codes_and_an_example(runner):
    result = runner.invoke(cli, ["diff", "--help"])
    assert result.exit_code == 0
    assert "gradviz diff train.py@1 train.py@50" in result.stdout
    assert "1    --structure-only and the structures differ" in result.stdout
    assert "130  interrupted (Ctrl-C)" in result.stdout


@needs_layout
def test_the_console_command_in_a_subprocess(train, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "gradviz", "diff", f"{train}@1", f"{train}@2", "-o", "out"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "train@1-vs-train@2.diff.svg").is_file()
    assert "wrote out/train@1-vs-train@2.diff.svg" in done.stdout
    assert "largest relative changes" in done.stdout


def test_run_script_keeps_several_steps_of_one_run(train, tmp_path):
    from gradviz.viz.runner import run_script

    trace = run_script(train, args=("6",), steps=(2, 4))
    assert [p.index for p in trace.passes] == [2, 4]
    assert trace.backward_calls == 4  # stopped after the last step asked for
    assert all(p.optimizer == "SGD" for p in trace.passes)  # each with its optimizer step
    assert runs(tmp_path) == 1


@pytest.mark.parametrize("name", ["model_v1", "model_v2", "model_v2_bug"])
def test_the_refactor_examples_train(name, monkeypatch, capsys):
    monkeypatch.setenv("GRADVIZ_EXAMPLE_QUICK", "1")
    monkeypatch.syspath_prepend(str(EXAMPLES / "refactor"))
    try:
        script = EXAMPLES / "refactor" / f"{name}.py"
        namespace = runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.modules.pop("common", None)  # the examples' shared module, imported from their folder
    losses = namespace["losses"]
    assert len(losses) == 60
    assert losses[-1] < 0.2 * losses[0]
    assert "step   50 | loss" in capsys.readouterr().out


def test_the_last_step_against_the_first_takes_one_run(runner, train, tmp_path):
    result = runner.invoke(cli, ["diff", f"{train}@-1", f"{train}@1", "--structure-only"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("train.py@-1 vs train.py@1: same structure")
    assert runs(tmp_path) == 1  # step 1 is kept while the run goes on to its last call


def test_two_scripts_that_each_choose_the_spawn_start_method_compare(runner, tmp_path):
    """``mp.set_start_method("spawn")`` (no force) under ``__main__`` in both versions: the
    second run raised "context has already been set" (the first run's choice was kept)."""
    import multiprocessing

    before = multiprocessing.get_start_method(allow_none=True)
    body = textwrap.dedent(TRAIN).replace("import sys\n", "import sys\nimport multiprocessing\n")
    body = body.replace("gradviz.manual_seed(0)", 'multiprocessing.set_start_method("spawn")')
    for name, hidden in (("v1.py", 4), ("v2.py", 5)):
        (tmp_path / name).write_text(body.replace("HIDDEN", str(hidden)), encoding="utf-8")
    args = ["diff", f"{tmp_path / 'v1.py'}@1", f"{tmp_path / 'v2.py'}@1", "--structure-only"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output  # compared: the hidden sizes differ
    assert "context has already been set" not in result.output
    assert "~" in result.stdout
    assert multiprocessing.get_start_method(allow_none=True) == before  # put back after each


def test_two_scripts_that_each_set_up_logging_log_where_each_asked(runner, tmp_path):
    """``logging.basicConfig(filename=...)`` in both versions: the second call did nothing (the
    first run's handler was kept), so the second script logged into the first one's file."""
    import logging

    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    for name, hidden in (("v1", 4), ("v2", 5)):
        log = f"logging.basicConfig(filename={str(tmp_path / name) + '.log'!r}, level=logging.INFO)"
        body = textwrap.dedent(TRAIN).replace("import sys\n", "import sys\nimport logging\n")
        body = body.replace("gradviz.manual_seed(0)", f"{log}\nlogging.info('hello from {name}')")
        (tmp_path / f"{name}.py").write_text(body.replace("HIDDEN", str(hidden)), encoding="utf-8")
    root.handlers[:] = []  # as in a fresh process (pytest's capture handler aside)
    try:
        args = ["diff", f"{tmp_path / 'v1.py'}@1", f"{tmp_path / 'v2.py'}@1", "--structure-only"]
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, result.output  # compared: the hidden sizes differ
        for handler in logging.getLogger().handlers:
            handler.flush()
        assert (tmp_path / "v1.log").read_text() == "INFO:root:hello from v1\n"
        assert (tmp_path / "v2.log").read_text() == "INFO:root:hello from v2\n"
        assert (root.handlers, root.level) == ([], before[1])  # put back after each script
    finally:
        for handler in set(root.handlers) - set(before[0]):
            handler.close()
        root.handlers[:], root.level = before
