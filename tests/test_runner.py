"""run_script: a user's script run as __main__ under a trace, stopped once its step is captured."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

import gradviz
from gradviz.autograd import hooks
from gradviz.viz.runner import (
    BackwardNotCalled,
    ScriptFailed,
    StepNotReached,
    run_script,
)

TRAIN = """\
import sys
from pathlib import Path

import numpy as np

import gradviz
from gradviz import nn, optim

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
gradviz.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
criterion = nn.CrossEntropyLoss()
opt = optim.SGD(model.parameters(), lr=0.1)
x = gradviz.Variable(np.ones((4, 3), dtype=np.float32))
y = np.array([0, 1, 0, 1])
for i in range(steps):
    opt.zero_grad()
    loss = criterion(model(x), y)  # LOSS
    loss.backward()
    opt.step()
Path(__file__).with_name("finished.txt").write_text(str(steps))
"""


def script(tmp_path: Path, text: str, name: str = "train.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def line_number(path: Path, marker: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if marker in line)


def test_success_captures_the_first_step_and_stops_the_script(tmp_path):
    path = script(tmp_path, TRAIN)
    tr = run_script(path)
    assert [p.index for p in tr.passes] == [1]
    assert tr.backward_calls == 1
    g = tr.graph
    assert g.graph["script"] == "train.py"
    assert g.graph["pass"] == 1
    assert g.nodes[g.graph["root"]]["module"] == "CrossEntropyLoss"
    assert g.nodes[g.graph["root"]]["source"] == f"train.py:{line_number(path, '# LOSS')}"
    params = [a for _, a in g.nodes(data=True) if a["kind"] == "param"]
    assert sorted(a["name"] for a in params) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert all(a["update"] is not None for a in params)  # the optimizer step after it
    assert not (tmp_path / "finished.txt").exists()  # stopped after the capture
    assert hooks.ACTIVE == ()


def test_run_all_lets_the_script_finish(tmp_path):
    path = script(tmp_path, TRAIN)
    tr = run_script(path, step=2, run_all=True)
    assert [p.index for p in tr.passes] == [2]
    assert tr.backward_calls == 2  # nothing is recorded after the capture
    assert (tmp_path / "finished.txt").read_text() == "3"


def test_last_step_runs_to_the_end(tmp_path):
    path = script(tmp_path, TRAIN)
    tr = run_script(path, step=-1, args=["4"])
    assert [p.index for p in tr.passes] == [4]
    assert tr.backward_calls == 4
    assert (tmp_path / "finished.txt").read_text() == "4"
    assert all(
        a["update"] is not None for _, a in tr.graph.nodes(data=True) if a["kind"] == "param"
    )


def test_step_without_optimizer_ends_at_the_next_forward(tmp_path):
    path = script(
        tmp_path,
        """\
        from pathlib import Path
        import gradviz
        w = gradviz.Variable([1.0, 2.0], requires_grad=True)
        for i in range(3):
            (w * w).sum().backward()
            w.data -= 0.1 * w.grad
        Path(__file__).with_name("finished.txt").write_text("yes")
        """,
    )
    tr = run_script(path, step=2)
    assert tr.passes[0].index == 2
    assert not (tmp_path / "finished.txt").exists()


def test_script_arguments_and_argv_path_restored(tmp_path):
    path = script(
        tmp_path,
        """\
        import json, sys
        from pathlib import Path
        import gradviz
        Path(__file__).with_name("argv.json").write_text(json.dumps(sys.argv))
        Path(__file__).with_name("path0.txt").write_text(sys.path[0])
        (gradviz.Variable([1.0], requires_grad=True) * 2).sum().backward()
        """,
    )
    argv, path_before = list(sys.argv), list(sys.path)
    run_script(path, args=["--epochs", "2", "x y"])
    import json

    assert json.loads((tmp_path / "argv.json").read_text()) == [str(path), "--epochs", "2", "x y"]
    assert (tmp_path / "path0.txt").read_text() == str(tmp_path.resolve())
    assert sys.argv == argv
    assert sys.path == path_before


def test_sibling_modules_import_and_are_forgotten(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "__init__.py").write_text("")
    (tmp_path / "lib" / "model.py").write_text(
        "def loss(w):\n    return (w * 3).sum()\n"  # line 2
    )
    path = script(
        tmp_path,
        """\
        import gradviz
        from lib.model import loss
        loss(gradviz.Variable([1.0], requires_grad=True)).backward()
        """,
    )
    tr = run_script(path)
    g = tr.graph
    assert g.nodes[g.graph["root"]]["source"] == "lib/model.py:2"
    assert "lib.model" not in sys.modules
    assert "lib" not in sys.modules


def test_script_raising_gives_a_trimmed_traceback(tmp_path):
    path = script(
        tmp_path,
        """\
        import gradviz

        def forward(x):
            return x @ gradviz.Variable([[1.0, 2.0]])  # BAD

        forward(gradviz.Variable([[1.0, 2.0]]))
        """,
    )
    argv, path_before = list(sys.argv), list(sys.path)
    with pytest.raises(ScriptFailed) as info:
        run_script(path)
    error = info.value
    assert isinstance(error, gradviz.GradvizError)
    text = error.traceback
    assert text.startswith("Traceback (most recent call last):")
    assert f"line {line_number(path, '# BAD')}, in forward" in text
    assert "in <module>" in text
    assert "gradviz/" not in text
    assert "runpy" not in text
    assert text.rstrip().splitlines()[-1].startswith("gradviz.autograd.errors.ShapeError")
    assert "ShapeError" in str(error)
    assert "train.py" in str(error)
    assert error.trace is not None
    assert sys.argv == argv
    assert sys.path == path_before
    assert hooks.ACTIVE == ()


def test_chained_exceptions_keep_both_parts(tmp_path):
    path = script(
        tmp_path,
        """\
        try:
            {}["missing"]
        except KeyError as e:
            raise RuntimeError("wrapped") from e
        """,
    )
    with pytest.raises(ScriptFailed) as info:
        run_script(path)
    text = info.value.traceback
    assert "KeyError: 'missing'" in text
    assert "direct cause" in text
    assert text.rstrip().endswith("RuntimeError: wrapped")


@pytest.mark.parametrize("code", ["0", "None"])
def test_system_exit_zero_is_success(tmp_path, code):
    path = script(
        tmp_path,
        f"""\
        import sys
        import gradviz
        (gradviz.Variable([1.0], requires_grad=True) * 2).sum().backward()
        sys.exit({code})
        """,
    )
    assert run_script(path, step=-1).backward_calls == 1


def test_system_exit_nonzero_is_failure(tmp_path):
    path = script(tmp_path, "import sys\nsys.exit(3)\n")
    with pytest.raises(ScriptFailed, match="status 3") as info:
        run_script(path)
    assert info.value.exit_code == 3


def test_never_calling_backward(tmp_path):
    path = script(
        tmp_path,
        """\
        import gradviz
        x = gradviz.Variable([1.0, 2.0])
        y = (x * 2).exp()
        """,
    )
    with pytest.raises(BackwardNotCalled, match="--forward-only") as info:
        run_script(path)
    assert isinstance(info.value, gradviz.GradvizError)
    tr = run_script(path, forward_only=True)
    assert tr.passes == []
    assert [a["op"] for _, a in tr.graph.nodes(data=True)] == [None, "Mul", "Exp"]
    assert tr.graph.graph["script"] == "train.py"


def test_step_beyond_the_last(tmp_path):
    path = script(tmp_path, TRAIN)
    with pytest.raises(StepNotReached) as info:
        run_script(path, step=5)
    assert info.value.step == 5
    assert info.value.calls == 3
    assert "3 times" in str(info.value)
    assert (tmp_path / "finished.txt").exists()


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError):
        run_script(tmp_path / "missing.py")
    path = script(tmp_path, "pass\n")
    for step in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="step"):
            run_script(path, step=step)


def test_script_catching_exception_is_still_stopped(tmp_path):
    path = script(
        tmp_path,
        """\
        from pathlib import Path
        import gradviz
        w = gradviz.Variable([1.0], requires_grad=True)
        for i in range(3):
            try:
                (w * 2).sum().backward()
            except Exception:
                pass
        Path(__file__).with_name("finished.txt").write_text("yes")
        """,
    )
    tr = run_script(path)
    assert tr.passes[0].index == 1
    assert not (tmp_path / "finished.txt").exists()


def test_earlier_passes_are_dropped(tmp_path):
    path = script(tmp_path, TRAIN)
    tr = run_script(path, step=3)
    assert len(tr.passes) == 1
    assert tr.passes[0].index == 3
    assert tr.graph.graph["pass"] == 3


def test_gradviz_modules_are_never_forgotten(monkeypatch):
    import types

    from gradviz.viz import runner
    from gradviz.viz.capture.source import PACKAGE_DIR

    root = os.path.dirname(PACKAGE_DIR.rstrip(os.sep))
    mine = types.ModuleType("gradviz._fake_lazy")
    mine.__file__ = os.path.join(PACKAGE_DIR, "_fake_lazy.py")
    theirs = types.ModuleType("neighbour")
    theirs.__file__ = os.path.join(root, "neighbour.py")
    monkeypatch.setitem(sys.modules, "gradviz._fake_lazy", mine)
    monkeypatch.setitem(sys.modules, "neighbour", theirs)
    before = set(sys.modules) - {"gradviz._fake_lazy", "neighbour"}
    runner._forget_modules(root, before)
    assert sys.modules["gradviz._fake_lazy"] is mine
    assert "neighbour" not in sys.modules


# ----------------------------------------------------------------------------- isolation
STEP = """\
import gradviz
from gradviz import nn, optim

model = nn.Linear(3, 1)
opt = optim.SGD(model.parameters(), lr=0.1)


def train_step():
    opt.zero_grad()
    model(gradviz.Variable([[1.0, 2.0, 3.0]]).float()).sum().backward()
    opt.step()
"""


def test_interpreter_state_the_script_changed_is_restored(tmp_path):
    import warnings

    import numpy as np

    (tmp_path / "elsewhere").mkdir()
    path = script(
        tmp_path,
        STEP
        + """
import os, sys, warnings
import numpy as np
sys.setrecursionlimit(123)
os.chdir(os.path.join(os.path.dirname(__file__), "elsewhere"))
sys.path.append("added-by-the-script")
np.seterr(all="raise")
np.set_printoptions(precision=2)
warnings.simplefilter("ignore")
gradviz.set_grad_enabled(False)
gradviz.set_default_dtype("float64")
gradviz.set_grad_enabled(True)
gradviz.autograd.set_detect_anomaly(True)
train_step()
train_step()
""",
    )
    cwd, limit, syspath = os.getcwd(), sys.getrecursionlimit(), list(sys.path)
    err, options, filters = np.geterr(), np.get_printoptions(), list(warnings.filters)
    run_script(path)
    assert os.getcwd() == cwd
    assert sys.getrecursionlimit() == limit
    assert sys.path == syspath
    assert np.geterr() == err
    assert np.get_printoptions() == options
    assert warnings.filters == filters
    assert gradviz.is_grad_enabled()
    assert not gradviz.is_anomaly_enabled()  # the anomaly mode it set ended with it
    assert not gradviz.autograd.hooks.ACTIVE


def test_grad_mode_the_script_left_off_is_switched_back_on(tmp_path):
    path = script(tmp_path, STEP + "train_step()\ngradviz.set_grad_enabled(False)\n")
    run_script(path, run_all=True)  # (to its end: its last line switches recording off)
    assert gradviz.is_grad_enabled()
    assert (gradviz.Variable([1.0], requires_grad=True) * 2).requires_grad  # ops record again


def test_the_step_is_delivered_as_soon_as_it_is_captured(tmp_path):
    path = script(
        tmp_path,
        STEP
        + """
import os, sys
from pathlib import Path
os.chdir("/")  # delivery still sees the caller's folder
for i in range(3):
    try:
        train_step()
    except BaseException:  # swallows the runner's stop
        print("caught")
Path(__file__).with_name("after.txt").write_text("the loop ended")
sys.exit(1)  # how a stopped script ends does not matter
""",
    )
    seen = []

    def deliver(trace):
        seen.append((trace.passes[0].index, (tmp_path / "after.txt").exists(), os.getcwd()))

    tr = run_script(path, deliver=deliver)
    assert seen == [(1, False, os.getcwd())]
    assert tr.backward_calls == 1  # nothing after the capture was recorded
    assert (tmp_path / "after.txt").exists()


def test_a_delivery_error_is_raised_after_the_script_stopped(tmp_path):
    path = script(tmp_path, STEP + "train_step()\ntrain_step()\n")

    def deliver(trace):
        raise gradviz.GradvizError("cannot write it")

    with pytest.raises(gradviz.GradvizError, match="cannot write it"):
        run_script(path, deliver=deliver)
    assert hooks.ACTIVE == ()


def test_a_thread_calling_backward_stops_silently(tmp_path, capfd):
    path = script(
        tmp_path,
        STEP
        + """
import threading
worker = threading.Thread(target=lambda: [train_step() for _ in range(5)])
worker.start()
worker.join()
print("joined")
""",
    )
    tr = run_script(path, deliver=lambda trace: print("delivered"))
    out, err = capfd.readouterr()
    assert tr.backward_calls == 1
    assert "Exception in thread" not in err
    assert "_StopScript" not in err
    assert out.splitlines() == ["joined", "delivered"]
    assert hooks.ACTIVE == ()


def test_a_failing_thread_still_reports_its_error(tmp_path, monkeypatch):
    import threading

    seen = []
    hook = seen.append
    monkeypatch.setattr(threading, "excepthook", hook)
    path = script(
        tmp_path,
        STEP
        + """
import threading
def work():
    raise ValueError("the worker broke")
worker = threading.Thread(target=work)
worker.start()
worker.join()
train_step()
train_step()
""",
    )
    run_script(path)
    assert [str(args.exc_value) for args in seen] == ["the worker broke"]
    assert threading.excepthook is hook


def test_a_later_step_shows_the_values_an_earlier_step_used_first(tmp_path):
    # x and y are first used in step 1, which a capture of step 3 does not summarise: their
    # statistics, arrays and pictures are taken when step 3 ends, as if every step had been.
    from gradviz.viz.capture.policy import EveryStep
    from gradviz.viz.records.identity import structural_keys

    path = script(tmp_path, TRAIN)
    captured = run_script(path, step=3, arrays=True).passes[-1].graph
    every = run_script(path, policy=EveryStep(3), arrays=True).passes[-1].graph
    assert captured.graph["pass"] == every.graph["pass"] == 3
    ours, theirs = structural_keys(captured), structural_keys(every)
    assert sorted(ours.values()) == sorted(theirs.values())
    by_key = {key: node for node, key in theirs.items()}
    for node, key in ours.items():
        for attribute in ("value", "array", "preview"):
            assert captured.nodes[node][attribute] == every.nodes[by_key[key]][attribute], key
    kinds = {captured.nodes[n]["kind"] for n in ours}
    assert {"input", "param", "op"} <= kinds


def test_an_error_of_several_lines_is_summed_up_by_its_first(tmp_path):
    """Was: ``gradviz: train.py raised Variable([[nan, nan]], op=Div)`` for a Categorical of NaN
    probabilities: the summary took the last line of the message, the array it ends with."""
    path = script(
        tmp_path,
        """\
        import gradviz
        from gradviz.distributions import Categorical

        Categorical(gradviz.tensor([[float("nan"), 1.0]]))
        """,
    )
    with pytest.raises(ScriptFailed) as info:
        run_script(path)
    message = str(info.value)
    assert "raised gradviz.autograd.errors.ArgumentError: Expected parameter probs" in message
    assert message.endswith("found invalid values: ...")
    assert "Variable([[nan, nan]])" in info.value.traceback  # the whole message is still there


def test_a_script_s_ctrl_c_handler_ends_with_the_script(tmp_path):
    """A graceful-stop ``signal.signal(SIGINT, handler)`` (finish the epoch, then stop): once the
    script is over, Ctrl-C interrupts gradviz again instead of calling the finished script."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    path = script(
        tmp_path,
        TRAIN.replace(
            "steps = int",
            "import signal\nsignal.signal(signal.SIGINT, lambda sig, frame: None)\nsteps = int",
        ),
    )
    run_script(path)
    assert signal.getsignal(signal.SIGINT) is before
