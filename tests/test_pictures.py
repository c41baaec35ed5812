"""Pictures that must not hide the bug: what a ``detach()`` cut off and a parameter no op used
are drawn and counted by every view (render, check, html, the summary), the same way."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from helpers import EXAMPLES

import gradviz
from gradviz import nn, optim
from gradviz.viz.draw import render as R
from gradviz.viz.runner import run_script
from gradviz.viz.summary import summary

HERE = os.path.relpath(__file__).replace(os.sep, "/")
if HERE.startswith(".."):
    HERE = Path(__file__).name


def line_in(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def drawn(drawing: R.Drawing, graph: nx.DiGraph, what: str) -> list:
    """The ``what`` attribute (op, name, kind) of every graph node a drawing shows."""
    return [graph.nodes[n][what] for ns in drawing.stands_for.values() for n in ns if n in graph]


def detached_trace() -> gradviz.Trace:
    gradviz.manual_seed(0)
    net1, net2 = nn.Linear(3, 4), nn.Linear(4, 1)
    x = gradviz.Variable(np.ones((2, 3), dtype=np.float32))
    with gradviz.trace() as tr:
        h = net1(x).tanh().detach()
        net2(h).sum().backward()
    return tr


# ------------------------------------------------------------------------------ detach()
@pytest.mark.parametrize("view", ["forward", "backward"])
def test_trace_render_draws_the_layers_a_detach_cut_off(tmp_path, view):
    tr = detached_trace()
    g = tr.graph
    drawing = R.build(g, view)
    ops = drawn(drawing, g, "op")
    assert sorted(o for o in ops if o) == ["Linear", "Linear", "Sum", "Tanh"]
    assert drawn(drawing, g, "kind").count("param") == 4
    assert drawing.source.count('label=" detach()"') == 1
    tr.render(view, tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text(encoding="utf-8") == drawing.source


def test_backward_view_draws_no_gradient_behind_the_detach():
    tr = detached_trace()
    g = tr.graph
    tanh = next(n for n, a in g.nodes(data=True) if a["op"] == "Tanh")
    assert g.nodes[tanh]["step"] is None
    assert g.nodes[tanh]["grad"] is None
    source = R.build(g, "backward").source
    # the edge from Tanh towards the first Linear carries no gradient: dashed grey
    linear = next(p for p in g.predecessors(tanh))
    edge = re.search(rf"\b{tanh} -> {linear} \[([^\]]*)\]", source)
    assert edge is not None
    assert "dashed" in edge.group(1)


def test_summary_counts_the_parameters_behind_a_detach():
    text = summary(detached_trace())
    assert "parameters: 4 tensors, 21 values" in text  # 3*4 + 4 and 4 + 1
    assert "grad: none (not computed)" in text


def _gradviz(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADVIZ_EXAMPLE_QUICK": "1"}
    return subprocess.run(
        [sys.executable, "-m", "gradviz", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def _node_ids(dot: str) -> set[str]:
    return set(re.findall(r"^\s*(v\d+) \[", dot, flags=re.MULTILINE))


@pytest.mark.slow
def test_cli_render_and_check_draw_the_same_detached_graph(tmp_path):
    script = EXAMPLES / "detached.py"
    done = _gradviz("render", str(script), "-o", "r", "--format", "dot", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "parameters: 4 tensors, 131 values" in done.stdout
    assert "hidden.weight" in done.stdout
    checked = _gradviz("check", str(script), "-o", "c", "--format", "dot", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    for view in ("forward", "backward"):
        rendered = (tmp_path / "r" / f"detached.{view}.dot").read_text(encoding="utf-8")
        marked = (tmp_path / "c" / f"detached.{view}.dot").read_text(encoding="utf-8")
        assert "hidden.weight" in rendered
        assert "Tanh" in rendered
        assert 'label=" detach()"' in rendered
        assert _node_ids(rendered) == _node_ids(marked)


# ------------------------------------------------------------------------------ never used
UNUSED = """\
import numpy as np

import gradviz
from gradviz import nn, optim


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 32)
        self.fc2 = nn.Linear(32, 1)
        self.skip = nn.Linear(2, 32)  # forward forgets it

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())


gradviz.manual_seed(0)
model = Net()
opt = optim.SGD(model.parameters(), lr=0.1)
x = gradviz.Variable(np.ones((4, 2), dtype=np.float32))
opt.zero_grad()
((model(x) - 1.0) ** 2).mean().backward()
opt.step()
"""


@pytest.fixture
def unused_script(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    script = folder / "train.py"
    script.write_text(UNUSED, encoding="utf-8")
    return script


def _never_used(report) -> dict[str, object]:
    return {
        f.message.split(" ")[0]: f for f in report.by_kind("no_gradient") if "used it" in f.message
    }


def test_a_never_used_parameter_is_reported_where_it_was_created(unused_script):
    tr = run_script(unused_script)
    where = f"train.py:{line_in(unused_script, 'self.skip =')}"
    found = _never_used(tr.check())
    assert set(found) == {"skip.weight", "skip.bias"}
    for f in found.values():
        assert f.source == where
        assert f.module == "skip"
        assert where in f.label
        node = tr.graph.nodes[f.node]
        assert node["kind"] == "param"
        assert node["source"] == where
        assert tr.graph.degree(f.node) == 0  # drawn on its own: no op read it
    assert "parameters: 6 tensors, 225 values" in summary(tr)


def test_a_parameter_made_before_tracing_is_reported_at_its_assignment():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)
            self.spare = nn.Linear(2, 2)  # never called

        def forward(self, x):
            return self.fc(x)

    assigned = f"{HERE}:{line_in(Path(__file__), 'self.spare = nn.Linear(2, 2)')}"
    model = Net()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with gradviz.trace() as tr:
        model(gradviz.Variable(np.ones((3, 2), dtype=np.float32))).sum().backward()
        opt.step()
    found = _never_used(tr.check())
    assert {name: f.source for name, f in found.items()} == {
        "spare.weight": assigned,
        "spare.bias": assigned,
    }


def test_cli_shows_the_creation_line_in_the_report_the_picture_and_the_page(unused_script):
    folder = unused_script.parent
    where = f"train.py:{line_in(unused_script, 'self.skip =')}"
    done = _gradviz("check", "train.py", "-o", "out", "--format", "dot", cwd=folder)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if "skip.weight got no gradient" in line]
    assert len(rows) == 1
    assert f"skip  {where}" in rows[0]
    dot = (folder / "out" / "train.forward.dot").read_text(encoding="utf-8")
    label = re.sub(r"<[^>]*>", " ", dot)  # the mark's text, wrapped over table rows
    assert re.search(rf"never used \(created at\s+{re.escape(where)}\)", label)
    assert re.search(rf'tooltip="[^"]*name skip\.weight[^"]*at {re.escape(where)}', dot)
    page = _gradviz("render", "train.py", "-o", "page", "--format", "html", cwd=folder)
    assert page.returncode == 0, page.stderr
    html = (folder / "page" / "train.html").read_text(encoding="utf-8")
    assert re.search(
        rf'"text":"skip\.weight got no gradient[^"]*","node":"v\d+","source":"{where}"', html
    )
    assert str(folder) not in dot + html  # relative to the script's folder, never absolute
