"""Hostile but realistic use of the many-steps API and commands, continued from
``test_hostile_many_steps.py``: counts given as NumPy integers, the format of a page, a NaN
written in the code, a graph of varying length, ``Timeline.to_csv`` as pandas' (each ends in
the right result or in a clear message, never a traceback)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from test_cli import make_script, needs_layout
from test_hostile_many_steps import GUARDED, _train

import gradviz
from gradviz.cli import cli
from gradviz.viz.diagnose.watchdog import step_key


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


# --------------------------------------------------------------------------- the format of a page


@pytest.mark.parametrize(
    ("view", "fmt"), [("timeline", "svg"), ("html", "png"), ("timeline", "dot")]
)
def test_render_refuses_a_picture_format_for_a_page(tmp_path, view, fmt):
    tr = _train()
    with pytest.raises(ValueError, match=f"the {view} view is an HTML page, not {fmt}"):
        tr.render(view, tmp_path / "run.html", format=fmt)  # was: the format ignored
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("view", ["timeline", "html", "forward"])
def test_render_refuses_a_format_that_is_no_string(tmp_path, view):
    tr = _train()
    with pytest.raises(ValueError, match="format must be a string such as 'svg', got 1"):
        tr.render(view, tmp_path / "run.svg", format=1)  # was: AttributeError on int.lower
    assert not list(tmp_path.iterdir())


def test_diff_render_refuses_a_format_that_is_no_string(tmp_path):
    tr = _train()
    report = gradviz.diff(tr, tr)
    with pytest.raises(ValueError, match="format must be one of svg, png, dot, got 1"):
        report.render(tmp_path / "run.diff.svg", format=1)  # was: AttributeError on int.lower
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("view", ["timeline", "html"])
def test_render_of_a_page_takes_format_html(tmp_path, view):
    tr = _train()
    tr.render(view, tmp_path / "run.html", format="HTML")
    assert (tmp_path / "run.html").read_text().startswith("<!doctype html>")


# --------------------------------------------------------------------------- NumPy integers
# (a step count read from an array, len of a np.arange): PyTorch takes them wherever an int goes


@pytest.mark.parametrize("kind", [np.int64, np.int32, np.uint8])
def test_trace_takes_numpy_integers_for_its_counts(kind):
    step = nn_model()
    with gradviz.trace(steps=kind(5), every=kind(2), detail="summary", keep_full=kind(1)) as tr:
        for _ in range(7):
            step()
    assert tr.steps_recorded == [1, 3, 5]
    assert [p.index for p in tr.passes] == [5]
    assert type(tr.keep_full) is int  # saved to JSON as a number


@pytest.mark.parametrize(
    ("option", "value"),
    [("steps", np.float64(2.0)), ("every", np.bool_(True)), ("keep_full", np.int64(-1))],
)
def test_trace_refuses_numpy_numbers_that_are_no_count(option, value):
    with pytest.raises(ValueError, match=option):
        gradviz.trace(**{option: value})


def nn_model():
    """One training step of a small model per call."""
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(np.ones((4, 2), np.float32))

    def step():
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()

    return step


# --------------------------------------------------------------------------- a NaN the code wrote
# A number in the code (a Python 0/0 made float("nan"), a division by a constant 0) is where the
# NaN/Inf comes from, not an overflow of finite inputs


@pytest.mark.parametrize(
    ("expression", "op", "cause"),
    [
        ("x * float('nan')", "Mul", "the constant b=nan is NaN"),
        ("x + np.inf", "Add", "the constant b=inf is infinite"),
        ("x.clamp(min=float('nan'))", "Clamp", "the constant low=nan is NaN"),
        ("x / 0.0", "Div", "division by the constant b=0.0"),
    ],
)
def test_check_blames_a_non_finite_constant(expression, op, cause):
    x = gradviz.Variable(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    with np.errstate(all="ignore"), gradviz.trace() as tr:
        eval(expression, {"x": x, "np": np}).sum().backward()
    birth = next(f for f in tr.check().findings if f.kind == "nan_forward")
    assert birth.op == op
    assert cause in birth.message, birth.message
    assert "overflow" not in birth.message
    assert any("constant" in tip for tip in birth.advice), birth.advice


def test_watch_says_where_a_constant_nan_came_from(runner, tmp_path):
    script = make_script(tmp_path, GUARDED, "guarded.py")  # loss * np.nan at the 4th step
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 1, result.output
    where = next(line for line in result.stdout.splitlines() if line.startswith("  where: "))
    assert "Mul in module (top) at guarded.py:" in where
    assert "from finite inputs: the constant b=nan is NaN" in where


# --------------------------------------------------------------------------- a graph unrolled a
# data-dependent number of times (an RNN over sequences of varying length): its loss ends the
# graph at another position each step, and is still one loss

VARYING_LENGTH = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    rng = np.random.default_rng(0)
    cell = nn.Linear(4, 4)
    opt = optim.SGD(cell.parameters(), lr=0.01)
    for i in range(40):
        opt.zero_grad()
        h = gradviz.zeros(2, 4)
        loss = 0
        scale = 1000.0 if i == 30 else 1.0  # the loss jumps at step 31
        for t in range(int(rng.integers(3, 7))):  # a sequence of 3 to 6 steps
            h = (cell(h) + gradviz.randn(2, 4)).tanh()
            loss = loss + (h ** 2).mean() * scale
        loss.backward()
        opt.step()
"""


def test_the_loss_of_a_graph_of_varying_length_is_one_loss():
    nodes = {"param:w": {"kind": "param", "name": "w"}, "/Add#3": {}, "/Add#5": {}}
    assert step_key(["param:w", "/Add#3"], nodes) == step_key(["param:w", "/Add#5"], nodes)


@pytest.mark.parametrize(
    ("command", "code", "says"),
    [
        ("watch", 1, "step 31: loss_spike: the loss"),
        ("timeline", 0, "step 31: warning: loss spike: the loss"),
    ],
)
def test_a_spike_of_a_graph_of_varying_length_fires(runner, tmp_path, command, code, says):
    needs_layout()
    script = make_script(tmp_path, VARYING_LENGTH, "rnn.py")
    result = runner.invoke(cli, [command, str(script), "-o", str(tmp_path)])
    assert result.exit_code == code, result.output  # was 0 and "no ... spike": one median per
    assert says in result.stdout  # sequence length, each under its warm-up


# --------------------------------------------------------------------------- to_csv as pandas'


def test_to_csv_writes_to_an_open_text_file_and_returns_the_text_without_one(tmp_path):
    import io

    timeline = _train(detail="summary").timeline
    buffer = io.StringIO()
    assert timeline.to_csv(buffer) is None  # as DataFrame.to_csv(buf)
    text = timeline.to_csv()  # as DataFrame.to_csv(): the text
    assert buffer.getvalue() == text
    assert text.startswith("step,node,value_min,")
    assert len(text.splitlines()) == 1 + len(timeline.rows())
    timeline.to_csv(tmp_path / "run.csv")
    assert (tmp_path / "run.csv").read_text() == text


@pytest.mark.parametrize("target", [3, b"run.csv"])
def test_to_csv_names_a_target_that_is_no_path(target):
    timeline = _train(detail="summary").timeline
    with pytest.raises(ValueError, match="to_csv takes a file path, an open text file or nothing"):
        timeline.to_csv(target)  # was: TypeError from os.fspath


# --------------------------------------------------------------------------- steps of two threads
# that end out of order: backward call 1 (a NaN) ends after call 2

OUT_OF_ORDER = """
    import threading
    import numpy as np
    import gradviz
    from gradviz import nn

    a, b = nn.Linear(2, 1), nn.Linear(2, 1)
    x = gradviz.Variable(np.ones((4, 2), np.float32))
    a_in_backward, b_done = threading.Event(), threading.Event()

    def wait_for_b(grad):
        a_in_backward.set()
        b_done.wait(30)
        return grad

    def run_a():
        out = a(x)
        out.register_hook(wait_for_b)
        (out.sum() * np.nan).backward()  # call 1: a NaN loss; ends after call 2

    def run_b():
        a_in_backward.wait(30)
        b(x).sum().backward()  # call 2
        b_done.set()

    threads = [threading.Thread(target=run_a), threading.Thread(target=run_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
"""


def test_watch_sees_a_nan_step_that_ended_after_a_later_one(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, OUT_OF_ORDER, "threads.py")
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 1, result.output  # was 0: "no NaN/Inf"
    assert "step 1: nan_loss: the loss is nan" in result.stdout


# --------------------------------------------------------------------------- a trigger at the end

LAST_STEP_NAN = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(np.ones((4, 2), np.float32))
    for i in range(3):
        opt.zero_grad()
        ((model(x) ** 2).mean() * (np.nan if i == 2 else 1.0)).backward()
        if i < 2:
            opt.step()
    print("the script's last line")
"""


def test_watch_does_not_say_it_stopped_a_script_that_ended_by_itself(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, LAST_STEP_NAN, "last.py")
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "the script's last line" in result.stdout  # it ran to its end
    assert "stopped the script" not in result.stdout  # was: "stopped the script at step 3"
    assert "step 3: nan_loss: the loss is nan" in result.stdout


def test_timeline_summary_ends_on_a_loss_that_went_nan(runner, tmp_path):
    needs_layout()
    body = LAST_STEP_NAN.replace("np.nan if i == 2", "np.nan if i >= 1")
    script = make_script(tmp_path, body, "nan_from_2.py")
    result = runner.invoke(cli, ["timeline", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = next(line for line in result.stdout.splitlines() if line.startswith("recorded"))
    assert summary.endswith(" -> nan"), summary  # was: "loss 0.1555 -> 0.1555", the last finite


def test_timeline_summary_of_a_last_step_without_a_loss_keeps_the_last_finite():
    from gradviz.commands.timeline import _timeline_summary

    with gradviz.trace(detail="summary") as tr:
        x = gradviz.Variable(np.ones(3, np.float32), requires_grad=True)
        (x * 2.0).sum().backward()
        (x * 3.0).backward(gradviz.Variable(np.ones(3, np.float32)))  # no scalar loss
    summary = _timeline_summary(tr.timeline, 2, 1)
    assert summary.endswith("; loss 6 -> 6"), summary
