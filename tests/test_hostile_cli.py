"""Hostile input to ``gradviz render``, ``watch`` and ``diff``: each ends in the right result or
in a one-line message with the documented exit code, never a traceback (CliRunner, and one real
console run per command)."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from helpers import run_gradviz
from test_cli import make_script, needs_layout

from gradviz.cli import cli

# Finite gradients whose L2 norm overflows float64 (4 elements of 1.5e308), beside ordinary ones:
# the colour scale of the backward picture meets an infinite norm.
OVERFLOWING_NORM = """
    import numpy as np
    import gradviz
    from gradviz import nn

    a, huge = nn.Parameter(np.full(4, 1e-300)), gradviz.Variable(np.full(4, 1.5e308))
    c, d = nn.Parameter(np.ones(4)), nn.Parameter(np.ones(4))
    loss = (a * huge).sum() + (c * d * 2.0).sum()  # a's gradient: huge
    loss.backward()
"""

TRAIN = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(np.linspace(-1, 1, 8, dtype=np.float32).reshape(4, 2))
    for _ in range(3):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("gradviz: "), result.stderr
    assert text in result.stderr
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") <= 2, result.stderr  # the message (and where to get help)


def test_render_draws_a_gradient_whose_norm_overflows(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, OVERFLOWING_NORM, "overflow.py")
    result = runner.invoke(cli, ["render", str(script), "-o", str(tmp_path), "--format", "dot"])
    assert result.exit_code == 0, result.output
    backward = (tmp_path / "overflow.backward.dot").read_text()
    assert "|grad| inf" in backward


def test_render_of_an_overflowing_norm_in_a_real_console_run(tmp_path):
    needs_layout()
    script = make_script(tmp_path, OVERFLOWING_NORM, "overflow.py")
    done = run_gradviz("render", str(script), "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "overflow.backward.svg").is_file()


@pytest.mark.parametrize("spike", ["nan", "NaN", "-nan"])
def test_watch_refuses_a_nan_spike_factor(runner, tmp_path, spike):
    script = make_script(tmp_path, TRAIN)
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path), "--spike", spike])
    one_line_error(result, 2, "--spike")
    assert not list(tmp_path.glob("*.html"))


def test_watch_nan_spike_in_a_real_console_run(tmp_path):
    script = make_script(tmp_path, TRAIN)
    done = run_gradviz("watch", str(script), "-o", str(tmp_path), "--spike", "nan")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("gradviz: Invalid value for '--spike'")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("step", [" 1", "1 ", "+1", "1_0", "\u0661", "\uff11", "0x1"])
def test_diff_takes_only_ascii_digits_as_a_step(runner, tmp_path, monkeypatch, step):
    script = make_script(tmp_path, TRAIN)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["diff", f"{script}@1", f"{script}@{step}"])
    one_line_error(result, 2, "bad step in")
    assert not list(tmp_path.glob("*.svg"))


def test_diff_of_a_script_without_backward_says_so(runner, tmp_path, monkeypatch):
    script = make_script(tmp_path, "print('inference only')\n", "infer.py")
    train = make_script(tmp_path, TRAIN)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["diff", f"{script}@1", f"{train}@1"])
    assert result.exit_code == 1
    assert result.stderr == (
        "gradviz: infer.py never called backward(), so it has no step to compare\n"
    )  # not the advice of render ("--forward-only"), an option diff does not have


def _edited_trace(tmp_path, runner, edit) -> str:
    """A trace file of TRAIN in summary detail, changed by ``edit(data)``."""
    script = make_script(tmp_path, TRAIN)
    result = runner.invoke(cli, ["render", str(script), "-o", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "train.trace.json"
    data = json.loads(path.read_text())
    edit(data["timeline"])
    edited = tmp_path / "edited.trace.json"
    edited.write_text(json.dumps(data))
    return str(edited)


def _set_op(timeline):
    timeline["nodes"][timeline["keys"][0]]["op"] = {"a": 1}


def _set_shape(timeline):
    timeline["nodes"][timeline["keys"][0]]["shape"] = [float("inf")]


def _set_count(timeline):
    timeline["columns"]["value_nan"][0] = float("inf")


def _set_steps(timeline):
    timeline["steps"] = [3, 1]
    timeline["loss"] = [1.0, 2.0]


@pytest.mark.parametrize("edit", [_set_op, _set_shape, _set_count, _set_steps])
def test_diff_of_a_hand_edited_timeline_is_a_usage_error(runner, tmp_path, edit):
    needs_layout()
    edited = _edited_trace(tmp_path, runner, edit)
    result = runner.invoke(cli, ["diff", edited, edited, "-o", str(tmp_path / "out")])
    one_line_error(result, 2, "malformed trace: timeline: not a timeline")
    assert not (tmp_path / "out").exists()


def test_diff_of_a_hand_edited_trace_in_a_real_console_run(runner, tmp_path):
    needs_layout()
    edited = _edited_trace(tmp_path, runner, _set_shape)
    done = run_gradviz("diff", edited, edited, "-o", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("gradviz: ")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


NON_SCALAR = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    net = nn.Linear(2, 3)
    opt = optim.SGD(net.parameters(), lr=0.1)
    x = gradviz.Variable(np.ones((4, 2), np.float32))
    for _ in range(12):
        opt.zero_grad()
        net(x).backward(np.ones((4, 3), np.float32))  # no scalar loss: a gradient given
        opt.step()
"""


def test_watch_of_a_run_without_a_scalar_loss_does_not_call_it_nan(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, NON_SCALAR, "tensor_grad.py")
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "watched 12 steps: no NaN/Inf, no loss or gradient spike" in result.stdout
    assert "nan_loss" not in result.output


def test_watch_still_fires_on_a_nan_loss(runner, tmp_path):
    needs_layout()
    body = NON_SCALAR.replace(
        "net(x).backward(np.ones((4, 3), np.float32))", "(net(x) * np.nan).sum().backward()"
    )
    script = make_script(tmp_path, body, "nan.py")
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "step 1: nan_loss: the loss is nan" in result.stdout


CLOSES_STDOUT = TRAIN.replace(
    "gradviz.manual_seed(0)", "gradviz.manual_seed(0)\n    sys.stdout.close()"
).replace("import numpy as np", "import sys\n    import numpy as np")


@pytest.mark.parametrize("command", ["timeline", "watch"])
def test_a_script_that_closes_stdout_still_gets_our_report(tmp_path, command):
    needs_layout()
    script = make_script(tmp_path, CLOSES_STDOUT, "closes.py")
    done = run_gradviz(command, str(script), "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr  # was a traceback: I/O operation on closed file
    assert "Traceback" not in done.stderr
    assert f"wrote {tmp_path}" in done.stdout
    assert (tmp_path / "closes.timeline.html").is_file()


@pytest.mark.parametrize(("every", "nth"), [(21, "21st"), (22, "22nd"), (112, "112th"), (4, "4th")])
def test_timeline_summary_says_the_ordinal_right(every, nth):
    from gradviz.commands.timeline import _timeline_summary
    from gradviz.viz.records.timeline import Timeline

    record = Timeline(steps=[1], loss=[0.5])
    assert f"(every {nth});" in _timeline_summary(record, 30, every)


def test_diff_of_an_empty_argument_names_it(runner, tmp_path, monkeypatch):
    script = make_script(tmp_path, TRAIN)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["diff", "", f"{script}@1"])
    one_line_error(result, 2, "no such trace file: '' (")  # was: "no such trace file: ."


def test_diff_reads_a_trace_file_saved_with_a_byte_order_mark(runner, tmp_path):
    needs_layout()
    edited = _edited_trace(tmp_path, runner, lambda timeline: None)
    marked = tmp_path / "marked.trace.json"
    marked.write_bytes(b"\xef\xbb\xbf" + (tmp_path / "edited.trace.json").read_bytes())
    result = runner.invoke(cli, ["diff", str(marked), edited, "--structure-only"])
    assert result.exit_code == 0, result.output  # was: exit 2, "Unexpected UTF-8 BOM"
    assert "same structure" in result.stdout


def test_diff_of_a_timeline_file_says_what_it_is(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, TRAIN)
    result = runner.invoke(cli, ["timeline", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    timeline = str(tmp_path / "train.timeline.json")
    result = runner.invoke(cli, ["diff", timeline, timeline])
    one_line_error(result, 2, "a timeline file (the JSON of 'gradviz timeline'), not a trace")


def test_watch_continue_counts_the_triggers_it_could_not_keep(runner, tmp_path):
    needs_layout()
    body = """
        import numpy as np
        import gradviz
        from gradviz import nn

        net = nn.Linear(2, 1)
        x = gradviz.Variable(np.array([[np.nan, 1.0]], np.float32))
        for _ in range(23):
            net.zero_grad()
            net(x).sum().backward()
    """
    script = make_script(tmp_path, body, "always_nan.py")
    result = runner.invoke(cli, ["watch", str(script), "--continue", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "3 more trigger(s) fired after these 20" in result.stderr
    assert result.stderr.endswith("gradviz: 23 trigger(s) fired; see above\n")  # was: 20


# --------------------------------------------------------------------------- second round
@pytest.mark.parametrize("command", ["render", "check", "timeline", "watch"])
def test_a_trace_file_given_as_the_script_is_a_usage_error(runner, tmp_path, command):
    trace = tmp_path / "run.trace.json"
    trace.write_text('{"format": "gradviz-trace", "version": 2, "arrays": false}\n')
    result = runner.invoke(cli, [command, str(trace), "-o", str(tmp_path / "out")])
    # was: the JSON run as Python, exit 1 with "NameError: name 'false' is not defined"
    one_line_error(result, 2, "run.trace.json is a JSON file, not a Python script")
    assert not (tmp_path / "out").exists()


def test_a_trace_file_as_the_script_in_a_real_console_run(tmp_path):
    trace = tmp_path / "run.trace.json"
    trace.write_text("{}\n")  # valid Python: it ran and "never called backward()"
    done = run_gradviz("timeline", str(trace), "-o", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("gradviz: Invalid value for 'SCRIPT': ")
    assert "is a JSON file, not a Python script" in done.stderr


def test_a_script_exiting_with_a_message_is_said_to_exit_with_status_1(runner, tmp_path):
    script = make_script(tmp_path, 'import sys\nsys.exit("bye")\n', "bye.py")
    result = runner.invoke(cli, ["timeline", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 1
    # was: "exited with status bye"; Python prints the message and exits with status 1
    assert result.stderr.startswith("gradviz: bye.py exited with status 1 (bye); nothing was")


# Draws its data from the OS: two runs of it never train on the same numbers.
UNSEEDED = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    print("run")
    data = np.random.default_rng().normal(size=(4, 2)).astype(np.float32)
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (model(gradviz.Variable(data)) ** 2).mean().backward()
        opt.step()
"""


@pytest.mark.parametrize(("a", "b", "changed"), [("3", "-1", False), ("1", "-1", True)])
def test_diff_of_a_step_and_the_last_one_comes_from_one_run(
    runner, tmp_path, monkeypatch, a, b, changed
):
    script = make_script(tmp_path, UNSEEDED, "unseeded.py")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["diff", f"{script}@{a}", f"{script}@{b}"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("run\n") == 1  # one run, as for two steps counted from the start
    assert ("; 0 numbers changed" not in result.stdout) is changed  # @3 is the last call


def test_diff_of_a_step_after_the_last_one_is_not_reached(runner, tmp_path, monkeypatch):
    script = make_script(tmp_path, UNSEEDED, "unseeded.py")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["diff", f"{script}@5", f"{script}@-1"])
    one_line_error(result, 1, "backward step 5 was not reached: unseeded.py called backward() 3")


# --------------------------------------------------------------------------- names too long
# NAME_MAX is 255 bytes on the usual file systems: an output named after a long script name
# can pass it


@pytest.mark.parametrize("command", ["timeline", "watch"])
def test_an_output_name_too_long_is_a_usage_error_before_the_run(runner, tmp_path, command):
    body = TRAIN.replace("import numpy", "print('ran')\n    import numpy")
    script = make_script(tmp_path, body, "s" * 245 + ".py")  # <stem>.timeline.html: 263
    out = tmp_path / "out"
    result = runner.invoke(cli, [command, str(script), "-o", str(out)])
    one_line_error(result, 2, ".timeline.html: the name is too long for the file system")
    assert "shorten the name of the script" in result.stderr
    assert "ran" not in result.stdout
    assert not out.exists()


def test_a_diff_named_too_long_is_a_usage_error_before_the_runs(runner, tmp_path):
    script = make_script(tmp_path, TRAIN, "s" * 125 + ".py")  # <a>-vs-<b>.diff.svg: 267
    result = runner.invoke(cli, ["diff", f"{script}@1", f"{script}@2", "-o", str(tmp_path)])
    one_line_error(result, 2, "diff.svg: the name is too long for the file system")
    assert not list(tmp_path.glob("*.svg"))


def test_an_output_folder_named_too_long_is_a_usage_error(runner, tmp_path):
    script = make_script(tmp_path, TRAIN)
    out = tmp_path / ("d" * 300)
    result = runner.invoke(cli, ["timeline", str(script), "-o", str(out)])
    one_line_error(result, 2, "the name is too long for the file system; choose another folder")


def test_an_output_name_too_long_in_a_real_console_run(tmp_path):
    script = make_script(tmp_path, TRAIN, "s" * 245 + ".py")
    done = run_gradviz("timeline", str(script), "-o", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("gradviz: cannot write ")
    assert "Traceback" not in done.stderr


def test_a_long_name_within_the_limit_is_written(tmp_path):
    from gradviz.viz.records.files import atomic_write

    path = tmp_path / ("n" * 250 + ".csv")  # a legal name; its temporary file's must be too
    atomic_write(path, "a,b\n")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert path.read_text() == "a,b\n"


# --------------------------------------------------------------------------- what a side names


def test_diff_takes_a_script_whose_suffix_is_upper_case(runner, tmp_path, monkeypatch):
    make_script(tmp_path, TRAIN, "TRAIN.PY")  # python and gradviz timeline run it
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["diff", "TRAIN.PY@1", "TRAIN.PY@2", "--structure-only"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("TRAIN.PY@1 vs TRAIN.PY@2: same structure")
    result = runner.invoke(cli, ["diff", "TRAIN.PY", "TRAIN.PY@2"])
    one_line_error(result, 2, "TRAIN.PY is a script: name the backward call to compare")


def test_diff_reads_a_trace_file_whose_name_holds_py_at(runner, tmp_path, monkeypatch):
    script = make_script(tmp_path, TRAIN)
    monkeypatch.chdir(tmp_path)
    runner.invoke(cli, ["render", str(script), "--format", "json", "-o", "saved"])
    (tmp_path / "saved" / "train.trace.json").rename(tmp_path / "train.py@1.json")
    result = runner.invoke(cli, ["diff", "train.py@1.json", "train.py@1", "--structure-only"])
    assert result.exit_code == 0, result.output  # was: "bad step in 'train.py@1.json'"
    assert result.stdout.startswith("train.py@1.json vs train.py@1: same structure")


# --------------------------------------------------------------------------- not a regular file


@pytest.mark.parametrize("command", ["timeline", "watch", "render", "check"])
def test_a_fifo_as_the_script_is_a_usage_error(runner, tmp_path, command):
    fifo = tmp_path / "train.py"
    os.mkfifo(fifo)
    result = runner.invoke(cli, [command, str(fifo), "-o", str(tmp_path / "out")])
    one_line_error(result, 2, "train.py is not a regular file: give a Python script")
    assert not (tmp_path / "out").exists()


def test_a_fifo_as_the_script_in_a_real_console_run(tmp_path):
    fifo = tmp_path / "train.py"
    os.mkfifo(fifo)
    done = run_gradviz("timeline", str(fifo), "-o", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert "train.py is not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("side", "what"), [("f.py@1", "script"), ("f.json", "trace file")])
def test_diff_of_a_fifo_says_it_is_not_a_regular_file(runner, tmp_path, monkeypatch, side, what):
    os.mkfifo(tmp_path / side.removesuffix("@1"))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["diff", side, side])  # was: "no such script" / "trace file"
    one_line_error(result, 2, f"{side.removesuffix('@1')} is not a regular file: give a {what}")


# --------------------------------------------------------------------------- a name with a newline
# and an escape sequence (register_parameter takes any name without a dot): our lines stay one
# line each, and nothing reaches the terminal as a control character

EVIL_NAME = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    NAME = "w\\nevil\\x1b[31mred"

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_parameter(NAME, nn.Parameter(np.ones((2, 1), np.float32)))

        def forward(self, x):
            return x @ getattr(self, NAME)

    model = M()
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(np.linspace(-1, 1, 8, dtype=np.float32).reshape(4, 2))
    for i in range(3):
        opt.zero_grad()
        if i == 1:
            getattr(model, NAME).data[0, 0] = np.nan  # NAN
        (model(x) ** 2).mean().backward()
        opt.step()
"""
ESCAPED = "w\\nevil\\x1b[31mred"  # as the Python escapes


def _lines_naming_the_parameter(text: str) -> list[str]:
    assert "\x1b" not in text  # no raw escape character
    return [line for line in text.splitlines() if "evil" in line]


def test_diff_writes_a_name_with_a_newline_on_one_line(runner, tmp_path, monkeypatch):
    script = make_script(tmp_path, EVIL_NAME.replace("np.nan  # NAN", "2.0"), "m.py")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["diff", f"{script}@1", f"{script}@3", "--format", "dot"])
    assert result.exit_code == 0, result.output
    lines = _lines_naming_the_parameter(result.stdout)
    assert lines, result.stdout
    assert all(line.startswith(f"param:{ESCAPED}  ") for line in lines), lines


@pytest.mark.parametrize(("command", "says"), [("timeline", "error: gradient of"), ("watch", "")])
def test_step_findings_write_a_name_with_a_newline_on_one_line(runner, tmp_path, command, says):
    script = make_script(tmp_path, EVIL_NAME, "m.py")
    result = runner.invoke(cli, [command, str(script), "-o", str(tmp_path)])
    lines = _lines_naming_the_parameter(result.stdout)
    assert lines, result.stdout
    assert all(ESCAPED in line for line in lines), lines
    assert any(says in line for line in lines), lines


def test_check_writes_a_name_with_a_newline_on_one_line(runner, tmp_path):
    script = make_script(tmp_path, EVIL_NAME.replace("np.nan  # NAN", "2.0"), "m.py")
    result = runner.invoke(cli, ["check", str(script), "-o", str(tmp_path), "--format", "dot"])
    lines = _lines_naming_the_parameter(result.stdout)
    assert lines, result.stdout
    assert all(ESCAPED in line for line in lines), lines  # the layer table's row, the finding
