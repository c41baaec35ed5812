"""In-place writes seen: recorded writes are op nodes (``Add_``) with their version, unrecorded
ones (``w -= lr * w.grad`` under ``no_grad``) are trace events with their line, and a
"modified by an inplace operation" error names the line of the write."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import gradviz
from gradviz.cli import cli
from gradviz.viz.trace import load_trace, save_trace

SCRIPT = """\
import numpy as np
import gradviz
from gradviz import nn

gradviz.manual_seed(0)
net = nn.Linear(3, 2)
x = gradviz.Variable(np.ones((4, 3), dtype=np.float32))
y = net(x).exp()
{write}
loss = y.sum()
loss.backward()
"""


def write_script(tmp_path: Path, write: str) -> Path:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT.format(write=write), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "write", ["y += 1", "with gradviz.no_grad():\n    y += 1"], ids=["recorded", "no_grad"]
)
def test_a_write_over_a_saved_array_is_reported_with_its_line(tmp_path, write):
    script = write_script(tmp_path, write)
    result = CliRunner().invoke(cli, ["check", str(script), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "modified by an inplace operation" in result.stderr
    assert "output 0 of Exp" in result.stderr
    line = 9 if write == "y += 1" else 10
    assert f"(the in-place write is at train.py:{line})" in result.stderr


def test_a_recorded_write_is_an_op_node_with_its_version(tmp_path):
    x = gradviz.Variable(np.arange(3.0), requires_grad=True)
    with gradviz.trace() as tr:
        h = x * 2
        h += 1
        h.mul_(3)
        h.sum().backward()
    graph = tr.graph
    ops = {graph.nodes[n]["op"]: graph.nodes[n] for n in graph if graph.nodes[n]["op"]}
    assert {"Mul", "Add_", "Mul_", "Sum"} <= set(ops)
    assert "in-place, version 1" in ops["Add_"]["args"]
    assert "in-place, version 2" in ops["Mul_"]["args"]
    np.testing.assert_array_equal(x.grad, [6.0, 6.0, 6.0])
    tr.render("forward", tmp_path / "f.dot", format="dot")
    dot = (tmp_path / "f.dot").read_text(encoding="utf-8")
    assert "in-place · v1" in dot
    assert "in-place · v2" in dot


def test_an_update_under_no_grad_is_an_event_with_its_line(tmp_path):
    w = gradviz.Variable(np.ones(3, dtype=np.float32), requires_grad=True)
    with gradviz.trace() as tr:
        (w * w).sum().backward()
        with gradviz.no_grad():
            w -= 0.1 * w.grad  # the update
    events = [e for e in tr.events if e.kind == "inplace"]
    assert len(events) == 1
    assert (events[0].op, events[0].version) == ("sub_", 1)
    assert events[0].source.endswith(f":{update_line()}")
    assert events[0].node in tr.graph
    loaded = load_trace(save_trace(tr, tmp_path / "t.trace.json"))
    assert [(e.kind, e.op, e.version) for e in loaded.events if e.kind == "inplace"] == [
        ("inplace", "sub_", 1)
    ]


def update_line() -> int:
    source = Path(__file__).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(source, 1) if line.endswith("# the update"))


def test_check_reports_a_forward_that_writes_into_its_input(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """\
            import numpy as np
            import gradviz
            from gradviz import nn

            class NegExp(gradviz.Function):
                @staticmethod
                def forward(ctx, x):
                    out = np.exp(-x, out=x)
                    ctx.save_for_backward(out)
                    return out

                @staticmethod
                def backward(ctx, grad):
                    (out,) = ctx.saved_tensors
                    return -grad * out

            net = nn.Linear(3, 2)
            x = gradviz.Variable(np.ones((4, 3), dtype=np.float32))
            NegExp.apply(net(x)).sum().backward()
            """
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["check", str(script), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("error")]
    assert len(errors) == 1
    assert "NegExp" in errors[0]
    assert "train.py:19" in errors[0]
    assert "forward wrote into its input 0 in place" in errors[0]
