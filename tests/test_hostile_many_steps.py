"""Hostile but realistic use of the many-steps commands (``gradviz timeline``, ``watch``,
``diff``) and of their Python API: each ends in the right result or in a one-line message with
the documented exit code, and writes only the outputs asked for (CliRunner, and a real console
run or two). ``test_hostile_cli.py`` covers the rest."""

from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import run_gradviz
from test_cli import make_script, needs_layout
from test_hostile_cli import NON_SCALAR

import gradviz
from gradviz.cli import cli
from gradviz.viz.diagnose.timeline import timeline_findings
from gradviz.viz.diagnose.watchdog import ModelWatchdogs, step_key
from gradviz.viz.draw.diff import NothingToCompare


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("gradviz: "), result.stderr
    assert text in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") <= 2, result.stderr  # the message (and where to get help)


def names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- a script that
# fails after what watch or timeline came for: what was recorded is still written

# The common guard of a training loop: it raises on a NaN loss, after backward and before the
# optimizer step (where the flight recorder completes its capture).
GUARDED = """
    import math
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(np.ones((4, 2), np.float32))
    for i in range(6):
        opt.zero_grad()
        loss = (model(x) ** 2).mean() * (np.nan if i == 3 else 1.0)
        loss.backward()
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"loss is {loss.item()}")
        opt.step()
"""

# Three steps, then a crash; DATA: np.nan (a NaN loss from the first step) or 0.5
CRASHES = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(np.array([[DATA, 1.0]] * 4, np.float32))
    for i in range(4):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
        if i == 2:
            raise RuntimeError("the data loader died")
"""


def test_watch_keeps_the_trigger_of_a_script_that_raises_on_its_nan(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, GUARDED, "guarded.py")
    out = tmp_path / "out"
    result = runner.invoke(cli, ["watch", str(script), "-o", str(out)])
    assert result.exit_code == 1
    # was: "nothing was written", the trigger the run was watched for lost
    assert "step 4: nan_loss: the loss is nan" in result.stdout
    assert names(out) == [
        f"guarded.step4.{suffix}"
        for suffix in ("backward.svg", "diff.svg", "forward.svg", "timeline.html", "trace.json")
    ]
    assert result.stderr.startswith(
        "gradviz: guarded.py raised FloatingPointError: loss is nan; what fired before it is "
        "written above (1 trigger(s)). Its traceback (your code only):"
    )
    assert "stopped the script" not in result.stdout  # it stopped by itself
    assert [p.index for p in gradviz.load_trace(out / "guarded.step4.trace.json").passes] == [3, 4]


def test_the_trigger_of_a_guarded_script_in_a_real_console_run(tmp_path):
    needs_layout()
    script = make_script(tmp_path, GUARDED, "guarded.py")
    done = run_gradviz("watch", str(script), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("gradviz: guarded.py raised FloatingPointError")
    assert "wrote " in done.stdout
    assert (tmp_path / "out" / "guarded.step4.trace.json").is_file()
    assert names(tmp_path) == ["guarded.py", "out"]  # nothing beside the script or in cwd


def test_watch_continue_keeps_every_trigger_before_a_crash(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, CRASHES.replace("DATA", "np.nan"), "crashes.py")
    result = runner.invoke(cli, ["watch", str(script), "--continue", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert [line for line in result.stdout.splitlines() if line.startswith("step ")] == [
        f"step {n}: nan_loss: the loss is nan" for n in (1, 2, 3)
    ]
    assert "what fired before it is written above (3 trigger(s))" in result.stderr
    assert (tmp_path / "crashes.step3.diff.svg").is_file()


def test_watch_of_a_script_that_crashes_with_nothing_fired_writes_its_timeline(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, CRASHES.replace("DATA", "0.5"), "crashes.py")
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    # was: "nothing was written", the three steps before the failure lost
    assert result.stderr.startswith(
        "gradviz: crashes.py raised RuntimeError: the data loader died; nothing fired in the 3 "
        "steps before it; their timeline is written above. Its traceback (your code only):"
    )
    assert names(tmp_path / "out") == ["crashes.timeline.html"]


def test_watch_of_a_script_that_fails_before_any_step_writes_nothing(runner, tmp_path):
    script = make_script(tmp_path, "raise SystemExit('no data')\n", "nodata.py")
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "exited with status 1 (no data); nothing was written." in result.stderr
    assert not (tmp_path / "out").exists()


def test_timeline_writes_the_steps_recorded_before_the_script_failed(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, CRASHES.replace("DATA", "0.5"), "crashes.py")
    result = runner.invoke(cli, ["timeline", str(script), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1  # the script failed, as documented
    assert "recorded 3 of 3 backward calls" in result.stdout  # was: "nothing was recorded"
    assert "the steps recorded before it are written above" in result.stderr
    assert names(tmp_path / "out") == ["crashes.timeline.html", "crashes.timeline.json"]


# --------------------------------------------------------------------------- two models
# trained in turn: each loss is watched against its own history

TWO_MODELS = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    g = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    d = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1))
    opt_g = optim.SGD(g.parameters(), lr=0.1)
    opt_d = optim.SGD(d.parameters(), lr=1e-5)
    x = gradviz.Variable(np.ones((4, 2), np.float32))
    z = gradviz.Variable(np.ones((4, 3), np.float32))
    for step in range(15):
        opt_g.zero_grad()
        (g(x) ** 2).mean().backward()        # a loss near 1
        opt_g.step()
        opt_d.zero_grad()
        ((d(z) - 100) ** 2).mean().backward()  # a loss near 10,000, steady
        opt_d.step()
"""


def test_a_spike_of_one_of_two_models_still_fires():
    nodes = {"param:g.w": {"kind": "param"}, "param:d.w": {"kind": "param"}, "/Mean#0": {}}
    g, d = step_key(["param:g.w", "/Mean#0"], nodes), step_key(["param:d.w", "/Mean#0"], nodes)
    dogs = ModelWatchdogs()
    fired = []
    for step in range(1, 41):
        big = 1e4 * (100 if step == 36 else 1)  # the second model's loss jumps at step 36
        fired.append(dogs.observe(step, g if step % 2 else d, 1.0 if step % 2 else big, None))
    assert [t.step for t in fired if t is not None] == [36]


PENALTY = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=1e-6)
    x = gradviz.Variable(np.ones((4, 2), np.float32))
    for step in range(15):
        opt.zero_grad()
        out = model(x)
        (out ** 2).mean().backward(retain_graph=True)  # the loss
        (out.abs().sum() * 1000).backward()             # a penalty 1000x larger, on its own
        opt.step()
"""


@pytest.mark.parametrize("command", ["timeline", "watch"])
@pytest.mark.parametrize("body", [TWO_MODELS, PENALTY], ids=["two models", "loss and penalty"])
def test_losses_backpropagated_in_turn_are_no_spike(runner, tmp_path, command, body):
    needs_layout()
    script = make_script(tmp_path, body, "turns.py")
    result = runner.invoke(cli, [command, str(script), "-o", str(tmp_path)])
    # was: watch exit 1 with "loss_spike" (two models: at step 12), and timeline a spike at
    # every other step (every penalty step)
    assert result.exit_code == 0, result.output
    assert "spike:" not in result.stdout


TWO_LOSSES = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    trunk, head_a, head_b = nn.Linear(2, 4), nn.Linear(4, 1), nn.Linear(4, 1)
    params = [*trunk.parameters(), *head_a.parameters(), *head_b.parameters()]
    opt = optim.SGD(params, lr=1e-4)
    x = gradviz.Variable(np.ones((4, 2), np.float32))
    for step in range(15):
        opt.zero_grad()
        h = trunk(x).tanh()
        (head_a(h) ** 2).mean().backward(retain_graph=True)   # a loss near 1
        ((head_b(h) - 100) ** 2).mean().backward()          # a loss near 10,000
        opt.step()
"""


def test_two_losses_backpropagated_in_turn_are_no_spike(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, TWO_LOSSES, "heads.py")
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "watched 30 steps: no NaN/Inf, no loss or gradient spike" in result.stdout


def test_timeline_findings_of_two_models_in_python():
    with gradviz.trace(detail="summary") as tr:
        exec(compile(TWO_MODELS.replace("\n    ", "\n"), "two.py", "exec"), {})
    assert [f.kind for f in timeline_findings(tr.timeline)] == []


# --------------------------------------------------------------------------- diff of a trace
# that holds nothing to compare


def _train(**options):
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    with gradviz.trace(**options) as tr:
        model = nn.Linear(2, 1)
        opt = optim.SGD(model.parameters(), lr=0.1)
        x = gradviz.Variable(np.ones((3, 2), np.float32))
        for _ in range(3):
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()
    return tr


def test_diff_of_an_empty_trace_is_refused():
    empty = _empty()  # the training step was left outside the block
    with pytest.raises(NothingToCompare, match=r"gradviz.diff: trace_a recorded nothing \("):
        gradviz.diff(empty, _train())  # was: "structure differs: 6 added"
    with pytest.raises(ValueError, match="trace_b recorded nothing"):
        gradviz.diff(_train(), empty)


def test_diff_of_a_summary_trace_that_kept_no_pass_is_refused():
    summary = _train(detail="summary", keep_full=0)
    # was: its graph (no gradient, no update) compared as if it were a step: "0 numbers changed"
    with pytest.raises(NothingToCompare, match=r"trace_a kept no backward pass in full \("):
        gradviz.diff(summary, _train())
    forward = gradviz.trace()
    with forward:
        gradviz.Variable(np.ones(2), requires_grad=True).exp()
    assert not gradviz.diff(forward, forward).structure_changed  # a forward graph is compared


def _empty():
    with gradviz.trace() as tr:
        pass
    return tr


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_empty, "empty.trace.json recorded nothing"),
        (lambda: _train(detail="summary", keep_full=0), "empty.trace.json kept no backward pass"),
    ],
)
def test_diff_of_a_trace_file_with_nothing_to_compare_is_a_usage_error(
    runner, tmp_path, make, message
):
    make().save(tmp_path / "empty.trace.json")
    full = tmp_path / "full.trace.json"
    _train().save(full)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["diff", str(tmp_path / "empty.trace.json"), str(full), "-o", out])
    one_line_error(result, 2, message)  # was: exit 0 (1 with --structure-only), "N added"
    assert not out.exists()


@pytest.mark.parametrize(
    ("side", "message"),
    [("runs", "runs is a folder, not a trace file"), ("runs.py@1", "runs.py is a folder, not a s")],
)
def test_diff_of_a_folder_says_it_is_a_folder(runner, tmp_path, monkeypatch, side, message):
    (tmp_path / side.removesuffix("@1")).mkdir()
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["diff", side, side])
    one_line_error(result, 2, f"gradviz: {message}")  # was: "no such trace file" / "script"


# --------------------------------------------------------------------------- Trace.render


def test_render_names_a_wrong_view_as_the_view(tmp_path):
    tr = _train()
    with pytest.raises(ValueError, match="view must be 'forward', 'backward', 'html' or 'timel"):
        tr.render("timelines", tmp_path / "run.html")  # was: "cannot tell the format from"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("view", ["timeline", "html"])
def test_render_refuses_a_page_named_as_a_picture(tmp_path, view):
    tr = _train()
    with pytest.raises(ValueError, match=f"the {view} view is an HTML page: name the file .html"):
        tr.render(view, tmp_path / "run.svg")  # was: HTML written into run.svg
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- watch --keep 1

SPIKE_AT_15 = """
    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.01)
    x, y = gradviz.randn(8, 3), gradviz.randn(8, 1)
    for step in range(1, 17):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y) * (1000.0 if step == 15 else 1.0)
        loss.backward()
        opt.step()
"""


def test_watch_keep_1_says_why_no_change_is_named(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, SPIKE_AT_15, "spike.py")
    out = tmp_path / "out"
    result = runner.invoke(cli, ["watch", str(script), "--keep", "1", "-o", str(out)])
    assert result.exit_code == 1
    assert "step 15: loss_spike:" in result.stdout
    # was: "no op to blame was found", as if there were nothing to see
    assert "no step before it that trained the same parameters was kept in full" in result.stdout
    assert "spike.step15.diff.svg" not in names(out)  # no step before: no diff


# --------------------------------------------------------------------------- diff arguments


@pytest.mark.parametrize(
    ("extra", "first"), [(["third.trace.json"], "third.trace.json"), (["--", "--lr", "3"], "--lr")]
)
def test_diff_of_trace_files_refuses_arguments_no_script_takes(runner, tmp_path, extra, first):
    trace = tmp_path / "run.trace.json"
    _train().save(trace)
    args = ["diff", str(trace), str(trace), *extra, "-o", str(tmp_path / "out")]
    result = runner.invoke(cli, args)
    # was: exit 0, the third file (or the arguments) silently left out
    one_line_error(result, 2, f"{first!r} is not for diff: it compares two graphs")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- timeline summary


def test_timeline_without_a_scalar_loss_does_not_call_it_non_finite(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, NON_SCALAR, "tensor_grad.py")
    result = runner.invoke(cli, ["timeline", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    # was: "no finite loss", and on the next line "no NaN/Inf"
    assert (
        "recorded 12 of 12 backward calls (every 1st); no scalar loss (backward was given a "
        in (result.stdout)
    )
    assert "no NaN/Inf, loss spike or dead ReLU layer in the recorded steps" in result.stdout


def test_watch_of_a_single_step_says_step(runner, tmp_path):
    needs_layout()
    body = """
        import gradviz
        from gradviz import nn

        (nn.Linear(2, 1)(gradviz.randn(4, 2)) ** 2).mean().backward()
    """
    script = make_script(tmp_path, body, "one.py")
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "watched 1 step: no NaN/Inf" in result.stdout  # was: "watched 1 steps"


# --------------------------------------------------------------------------- Python outputs


@pytest.mark.parametrize("under", ["notes.txt", "notes.txt/deeper"])
def test_to_csv_under_a_file_names_the_file(tmp_path, under):
    (tmp_path / "notes.txt").write_text("mine\n")
    tr = _train(detail="summary")
    with pytest.raises(OSError, match=f"cannot create the folder .*: {tmp_path}/notes.txt is not"):
        tr.timeline.to_csv(tmp_path / under / "run.csv")  # was: "...: File exists"
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


# --------------------------------------------------------------------------- a thread the
# stopped script leaves blocked

PREFETCH = """
    import queue
    import threading
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    batches = queue.Queue(maxsize=2)

    def produce():  # a prefetching loader: blocks on the full queue once nobody reads it
        for i in range(20):
            batches.put(np.full((4, 2), i, np.float32))
        batches.put(None)

    threading.Thread(target=produce, name="prefetch").start()
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.01)
    while (batch := batches.get()) is not None:
        opt.zero_grad()
        (model(gradviz.Variable(batch)) ** 2).mean().backward()
        opt.step()
"""


def test_a_thread_blocked_after_the_stop_does_not_hang_the_command(tmp_path):
    needs_layout()
    script = make_script(tmp_path, PREFETCH, "prefetch.py")
    out = tmp_path / "out"
    # was: the outputs written, then the process waited for the producer for ever
    done = run_gradviz("timeline", str(script), "--steps", "2", "-o", str(out), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "gradviz: not waiting for the thread(s) the stopped script left (prefetch)\n"
    )
    assert names(out) == ["prefetch.timeline.html", "prefetch.timeline.json"]


def test_the_runner_names_the_threads_it_left_behind(tmp_path, monkeypatch):
    import sys
    import threading
    import types

    from gradviz.viz import runner

    gate = types.ModuleType("gate_of_the_test")
    gate.event = threading.Event()
    monkeypatch.setitem(sys.modules, "gate_of_the_test", gate)
    monkeypatch.setattr(runner, "THREAD_GRACE", 0.0)
    body = TWO_LOSSES.replace(
        "import numpy as np",
        "import threading\n    import numpy as np\n    import gate_of_the_test\n"
        "    wait = lambda: gate_of_the_test.event.wait(60)  # was: waited for to the end\n"
        "    threading.Thread(target=wait, name='waiter').start()",
    )
    try:
        tr = runner.run_script(make_script(tmp_path, body, "waits.py"), step=1)
        assert tr.backward_calls == 1  # stopped after its first step, not hung on the thread
        assert [t.name for t in runner.left_behind()] == ["waiter"]
    finally:
        gate.event.set()
    for thread in threading.enumerate():
        if thread.name == "waiter":
            thread.join()
    assert runner.left_behind() == []


# --------------------------------------------------------------------------- diff of two steps
# of one run: the script stops after the later one

LONG_RUN = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(np.ones((4, 2), np.float32))
    for i in range(1, 7):
        print("step", i)
        if i == 5:
            raise RuntimeError("a later step fails")
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
"""


def test_diff_of_two_steps_stops_the_script_after_the_later_one(runner, tmp_path):
    script = make_script(tmp_path, LONG_RUN, "long.py")
    result = runner.invoke(cli, ["diff", f"{script}@1", f"{script}@3", "--structure-only"])
    # was: the script ran on to its end (here: to its failure at step 5, exit 1)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == ["step 1", "step 2", "step 3"]
    assert "step 4" not in result.stdout
    assert "long.py@1 vs long.py@3: same structure (6 nodes)" in result.stdout


# --------------------------------------------------------------------------- diff of a norm
# that overflowed

OVERFLOW_AT_2 = """
    import numpy as np
    import gradviz
    from gradviz import nn

    a = nn.Parameter(np.full(4, 1e-300))
    c, d = nn.Parameter(np.ones(4)), nn.Parameter(np.ones(4))
    for i in range(2):
        huge = gradviz.Variable(np.full(4, 1.5e308 if i else 1.0))  # step 2: |x| overflows
        a.grad = None
        ((a * huge).sum() + (c * d * 2.0).sum()).backward()
"""


def test_diff_from_a_step_whose_norm_overflowed(runner, tmp_path, monkeypatch):
    script = make_script(tmp_path, OVERFLOW_AT_2, "overflow.py")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["diff", f"{script}@2", f"{script}@1", "--structure-only"])
    assert result.exit_code == 0, result.output  # was: ValueError: math domain error
    result = runner.invoke(cli, ["diff", f"{script}@2", f"{script}@1", "--format", "dot"])
    assert result.exit_code == 0, result.output
    assert "/input#0  -       |value|  inf -> 2" in result.stdout
    assert (
        "#2 |value| inf -&gt; 2 (x0)"
        in (tmp_path / "overflow@2-vs-overflow@1.diff.dot").read_text()
    )


def test_a_norm_that_overflowed_is_no_new_number():
    from gradviz.viz.diagnose.diff import Change

    grew = Change("k", "", "Mul", "|grad|", 2.0, math.inf)
    assert (grew.size, grew.ratio_text) == (math.inf, "xinf")  # was: "new", as from 0
    assert Change("k", "", "Mul", "|grad|", math.inf, 2.0).ratio_text == "x0"
    assert Change("k", "", "Mul", "|grad|", 0.0, 2.0).ratio_text == "new"


# --------------------------------------------------------------------------- watch of a loss
# that jumps to 1e300 (norms whose squares overflow)

HUGE_AT_13 = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    gradviz.set_default_dtype(np.float64)
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.0)
    x = gradviz.Variable(np.ones((4, 2)))
    for i in range(1, 16):
        opt.zero_grad()
        ((model(x) ** 2).mean() * (1e300 if i == 13 else 1.0)).backward()
        opt.step()
"""


def test_watch_of_a_gradient_norm_whose_square_overflows(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, HUGE_AT_13, "huge.py")
    result = runner.invoke(cli, ["watch", str(script), "-o", str(tmp_path / "out")])
    # was: OverflowError from grad_norm ** 2 in the layer health (and an overflow warning)
    assert result.exit_code == 1, result.output
    assert "step 13: loss_spike: the loss" in result.stdout
    assert result.stderr == "gradviz: 1 trigger(s) fired; see above\n"


def test_check_of_a_step_whose_gradient_norm_is_1e300():
    from gradviz import nn

    default = gradviz.get_default_dtype()
    gradviz.set_default_dtype(np.float64)
    try:
        with gradviz.trace() as tr:
            model = nn.Linear(2, 1)
            ((model(gradviz.Variable(np.ones((4, 2)))) ** 2).mean() * 1e300).backward()
    finally:
        gradviz.set_default_dtype(default)
    report = tr.check(gradcheck=False)  # was: OverflowError
    assert 1e298 < report.layers[0].grad_norm < math.inf


def test_diff_of_two_files_of_one_name_names_them_by_their_paths(runner, tmp_path, monkeypatch):
    for run in ("run1", "run2"):
        (tmp_path / run).mkdir()
        _train().save(tmp_path / run / "model.trace.json")
    monkeypatch.chdir(tmp_path)
    args = ["diff", "run1/model.trace.json", "run2/model.trace.json", "--structure-only"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    # was: "model.trace.json vs model.trace.json", which could be one file compared with itself
    assert result.stdout.startswith("run1/model.trace.json vs run2/model.trace.json: same")


def test_render_timeline_refuses_a_pass_index_it_would_not_draw(tmp_path):
    tr = _train(detail="summary")
    with pytest.raises(ValueError, match="the timeline page draws the last pass; pass_index is"):
        tr.render("timeline", tmp_path / "run.html", pass_index=1)  # was: the last pass drawn
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("keep", "since"), [("2", None), ("3", 24)])
def test_a_spike_of_one_of_two_models_is_compared_with_that_model(runner, tmp_path, keep, since):
    needs_layout()
    body = TWO_MODELS.replace(
        "((d(z) - 100) ** 2).mean().backward()",
        "(((d(z) - 100) ** 2).mean() * (100.0 if step == 12 else 1.0)).backward()",
    )
    script = make_script(tmp_path, body, "two.py")
    out = tmp_path / "out"
    result = runner.invoke(cli, ["watch", str(script), "--keep", keep, "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "step 26: loss_spike:" in result.stdout  # the second model's 13th step
    # was: "largest change since step 25", the other model's step (and a diff of the two)
    if since is None:
        assert "no step before it that trained the same parameters was kept" in result.stdout
        assert "two.step26.diff.svg" not in names(out)
    else:
        assert f"largest change since step {since}: " in result.stdout
        diff = (out / "two.step26.diff.svg").read_text()
        assert f"step {since} (a) vs step 26 (b)" in diff  # was: "a (a) vs b (b)"
