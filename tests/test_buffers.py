"""Module buffers (``register_buffer``: BatchNorm's running statistics) are their own kind of
node: named by module path, drawn apart from inputs and parameters, with their in-place change
during the step's forward, kept by a saved trace, and never reported as parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import EXAMPLES

import gradviz
from gradviz import Variable, nn, optim
from gradviz.viz.draw.render import build
from gradviz.viz.draw.style import BUFFER_FILL
from gradviz.viz.records.identity import structural_keys
from gradviz.viz.runner import run_script


def _trained(steps: int = 2, build_inside: bool = False) -> tuple[gradviz.Trace, nn.Module]:
    def make() -> tuple[nn.Module, optim.Optimizer]:
        gradviz.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Tanh(), nn.Linear(3, 2))
        return model, optim.SGD(model.parameters(), lr=0.1)

    x = Variable(np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32))
    if not build_inside:
        model, opt = make()
    with gradviz.trace() as tr:
        if build_inside:  # the running statistics are written by __init__ before any forward
            model, opt = make()
        for _ in range(steps):
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
    return tr, model


def _buffers(graph) -> dict[str, dict]:
    return {a["name"]: a for _, a in graph.nodes(data=True) if a["kind"] == "buffer"}


def test_running_statistics_are_buffers_named_by_module_path() -> None:
    for inside in (False, True):
        tr, model = _trained(build_inside=inside)
        buffers = _buffers(tr.graph)
        assert set(buffers) == {"1.running_mean", "1.running_var"}
        assert all(a["module"] == "1" and not a["requires_grad"] for a in buffers.values())
        # the value is the statistic after this step's update
        mean = buffers["1.running_mean"]["value"]["mean"]
        assert np.isclose(mean, float(model[1].running_mean.numpy().mean()), rtol=1e-5)


def test_the_update_in_the_step_is_the_change_of_the_running_statistic() -> None:
    gradviz.manual_seed(0)
    bn = nn.BatchNorm1d(3)
    x = Variable(np.random.default_rng(1).normal(2.0, 1.0, size=(16, 3)).astype(np.float32))
    with gradviz.trace() as tr:
        for _ in range(2):
            before = bn.running_mean.numpy().copy()
            bn(x).sum().backward()
    update = _buffers(tr.graph)["running_mean"]["update"]
    change = float(np.linalg.norm(bn.running_mean.numpy() - before))
    assert np.isclose(update["norm"], change, rtol=1e-5)
    assert np.isclose(update["ratio"], change / float(np.linalg.norm(before)), rtol=1e-5)


def test_evaluation_mode_uses_the_buffers_without_an_update() -> None:
    _, model = _trained(steps=1)
    model.eval()
    with gradviz.trace() as tr:
        model(Variable(np.ones((2, 4), dtype=np.float32))).sum().backward()
    buffers = _buffers(tr.graph)
    assert set(buffers) == {"1.running_mean", "1.running_var"}
    assert all(a["update"] is None for a in buffers.values())


def test_buffers_are_drawn_in_their_own_style_with_a_legend_row() -> None:
    tr, _ = _trained()
    for view in ("forward", "backward"):
        source = build(tr.graph, view).source
        assert source.count(f'fillcolor="{BUFFER_FILL}"') == 2
        assert "updated in step" in source
        assert "buffer (running statistics)" in source
    plain = nn.Sequential(nn.Linear(2, 1))
    with gradviz.trace() as tr2:
        plain(Variable(np.ones((1, 2), dtype=np.float32))).sum().backward()
    assert "buffer (running statistics)" not in build(tr2.graph, "forward").source


def test_a_saved_trace_keeps_the_buffers_and_an_older_one_still_loads(tmp_path) -> None:
    tr, _ = _trained()
    path = tmp_path / "t.json"
    tr.save(path)
    loaded = gradviz.load_trace(path)
    assert _buffers(loaded.graph) == _buffers(tr.graph)
    # a trace written before buffers had a kind: they were unnamed inputs
    data = json.loads(path.read_text())
    for p in data["passes"]:
        for node in p["graph"]["nodes"]:
            if node["kind"] == "buffer":
                node.update(kind="input", name=None, update=None)
    path.write_text(json.dumps(data))
    old = gradviz.load_trace(path)
    assert not _buffers(old.graph)


def test_buffers_are_not_parameters_for_check_and_have_structural_keys() -> None:
    tr, _ = _trained()
    report = tr.check()
    assert not any("running" in f.message for f in report.findings)
    keys = structural_keys(tr.graph)
    assert {k for k in keys.values() if k.startswith("buffer:")} == {
        "buffer:1.running_mean",
        "buffer:1.running_var",
    }


@pytest.mark.parametrize(("script", "bn"), [("cnn_digits.py", "1"), ("char_mlp.py", "3")])
def test_the_examples_show_their_batchnorm_running_statistics(script, bn, monkeypatch):
    monkeypatch.setenv("GRADVIZ_EXAMPLE_QUICK", "1")
    tr = run_script(EXAMPLES / script)  # stops once the first step is captured
    buffers = _buffers(tr.graph)
    assert set(buffers) == {f"{bn}.running_mean", f"{bn}.running_var"}
    assert all(a["update"]["norm"] > 0 for a in buffers.values())
    assert not any("running" in f.message for f in tr.check().findings)
