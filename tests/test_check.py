"""tr.check(): the diagnoses on the examples, on the op table, on kinks; detect_anomaly; the
assertion helpers of gradviz.testing."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import EXAMPLES, line_of

import gradviz
from gradviz import nn, optim
from gradviz.autograd.ops import BUILTIN_OPS
from gradviz.testing import (
    assert_all_parameters_receive_gradient,
    assert_gradcheck_passes,
    assert_gradients_finite,
)
from gradviz.viz.diagnose import AnomalyError, Finding, Report
from gradviz.viz.diagnose.gradcheck import check_call
from gradviz.viz.runner import run_script

# how the tracer shows this file: relative to the current folder (pytest runs from the root)
HERE = os.path.relpath(__file__).replace(os.sep, "/")
if HERE.startswith(".."):
    HERE = Path(__file__).name


def checked(name: str, step: int = 1) -> Report:
    return run_script(EXAMPLES / f"{name}.py", step=step).check()


def this_line(offset: int = 0) -> str:
    import inspect

    frame = inspect.currentframe().f_back  # type: ignore[union-attr]
    return f"{HERE}:{frame.f_lineno + offset}"  # type: ignore[union-attr]


# ----------------------------------------------------------------------- the five examples
def test_buggy_layer_names_the_custom_op_and_its_line():
    report = checked("buggy_layer")
    first = report.findings[0]
    assert first.severity == "error"
    assert first.kind == "gradcheck"
    assert first.op == "DenseFunction"
    assert first.source == line_of("buggy_layer", "DenseFunction.apply(")
    assert first.module == "2"
    assert first.numbers["ratio"] == pytest.approx(1 / 32, rel=1e-3)  # the bug: / len(x)
    assert "2.weight" in first.message
    assert [f for f in report.errors] == [first]
    statuses = {c.op: c.status for c in report.gradchecks}
    assert statuses.pop("DenseFunction") == "failed"
    assert set(statuses.values()) == {"passed"}  # every other op passes
    failed = next(c for c in report.gradchecks if c.status == "failed")
    assert [i.slot for i in failed.inputs if not i.passed] == [1]  # the weight, not x or bias
    assert not report.ok


def test_nan_loss_reports_the_birth_op_and_line():
    report = checked("nan_loss", step=-1)
    births = report.by_kind("nan_forward")
    assert len(births) == 1
    birth = births[0]
    assert birth.op == "Log"
    assert birth.source == line_of("nan_loss", "prediction.log()")
    assert "log of values <= 0" in birth.message
    assert "of 64 inputs <= 0" in birth.message
    assert report.errors[0] == birth
    assert birth.node in report.marks()
    assert report.contaminated > {birth.node}  # the Sub, the Pow and the Mean after it
    assert not report.by_kind("gradcheck")  # ops with NaN inputs are skipped, not failed


def test_vanishing_flags_the_layer_range():
    report = checked("vanishing")
    assert report.ok  # warnings only
    (finding,) = report.by_kind("vanishing")
    assert finding.numbers["first_layer"] == 0
    assert finding.numbers["last_layer"] >= 6
    assert finding.numbers["factor"] > 1e6
    assert "layers 0-" in finding.message
    assert len(report.layers) == 12
    flagged = [layer.index for layer in report.layers if "vanishing" in layer.flags]
    assert flagged == list(range(len(flagged)))  # a prefix: the first layers
    assert report.layers[-1].flags == ()


def test_detached_names_the_detach_and_its_line():
    report = checked("detached")
    assert report.ok
    missing = {f.message.split(" ")[0]: f for f in report.by_kind("no_gradient")}
    assert set(missing) == {"hidden.weight", "hidden.bias"}
    detach = line_of("detached", "h.detach()")
    for finding in missing.values():
        assert f"cut by detach() at {detach}" in finding.message
        assert finding.module == "hidden"
        assert finding.related  # the detached copy is marked too
    marks = report.marks()
    cut = missing["hidden.weight"].related[0][0]
    assert any("detach()" in m.text for m in marks[cut])


def test_broadcast_bug_is_an_error_at_the_loss_line():
    with pytest.warns(UserWarning, match="target size"):  # F.mse_loss warns at call time
        report = checked("broadcast_bug")
    (finding,) = report.by_kind("broadcast")
    assert finding.severity == "error"
    assert finding.op == "MseLoss"
    assert finding.source == line_of("broadcast_bug", "F.mse_loss(")
    assert "(32, 1) against target (32,) to (32, 32)" in finding.message
    rows = [b for b in report.broadcasts if b.node == finding.node]
    assert {(b.slot, b.axes) for b in rows} == {(0, (1,)), (1, (0,))}
    assert all(b.accidental for b in rows)


@pytest.mark.parametrize("name", ["regression", "moons", "digits", "custom_layer"])
def test_correct_examples_have_no_errors(name):
    report = checked(name)
    assert report.ok, report.format()
    assert {c.status for c in report.gradchecks} == {"passed"}
    assert not report.by_kind("no_gradient")
    assert not report.by_kind("vanishing")
    assert not report.by_kind("exploding")


def test_custom_layer_swish_is_checked_and_its_broadcast_noted():
    report = checked("custom_layer")
    swish = [c for c in report.gradchecks if c.op == "Swish"]
    assert len(swish) == 2
    assert all(c.custom and c.status == "passed" for c in swish)
    betas = [b for b in report.broadcasts if b.op == "Swish"]
    assert len(betas) == 2
    assert all(b.axes == (0, 1) and not b.accidental for b in betas)


# ----------------------------------------------------------------------- the op table
def test_every_builtin_op_of_the_op_table_passes_the_per_op_check():
    from test_ops import CASES

    failures = []
    checked_ops = set()
    for case in CASES:
        inputs = case.inputs()
        with gradviz.trace() as tr:
            out = case.fn(*inputs)
            (out * 1.0).sum().backward()
        report = tr.check()
        for c in report.gradchecks:
            if c.status == "failed":
                failures.append(f"{case.id}: {c.op} {c.inputs}")
            elif c.status == "passed":
                checked_ops.add(c.op)
    assert not failures
    assert checked_ops == {op.__name__ for op in BUILTIN_OPS}  # every one checked, none skipped


class Scaled(gradviz.Function):
    """x * w with the gradient of w off by ``factor``."""

    factor = 1.0

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return grad * w, grad * x * Scaled.factor


@pytest.mark.parametrize(("factor", "fails"), [(1.0, False), (1.01, True), (0.5, True)])
def test_a_backward_off_by_one_percent_is_caught(factor, fails, monkeypatch, rng):
    monkeypatch.setattr(Scaled, "factor", factor)
    x, w = rng.standard_normal((8, 5)), rng.standard_normal((5,))
    result = check_call(Scaled, (x, w), (True, True), np.random.default_rng(0))
    assert (result.status == "failed") is fails
    assert result.inputs[0].passed  # x's gradient is right either way
    assert result.inputs[1].summed_axes == (0,)


# ----------------------------------------------------------------------- kinks
KINKS = {
    "relu at 0": lambda x: (x * 0).relu() + x.relu(),
    "abs at 0": lambda x: (x * 0).abs() + x.abs(),
    "clamp at its bounds": lambda x: x.clip(-1.0, 1.0),
    "max ties along an axis": lambda x: x.max(axis=1).values,
    "amax tie": lambda x: (x * 0).amax() + x.amax(),
    "leaky relu at 0": lambda x: gradviz.functional.leaky_relu(x * 0),
}


@pytest.mark.parametrize("name", list(KINKS))
def test_kinks_raise_no_alarm(name):
    # values exactly at the kinks: zeros, the clamp bounds, ties in every row
    data = np.array([[0.0, 1.0, 1.0, -1.0], [2.0, 2.0, 0.0, -1.0], [0.0, 0.0, 0.0, 0.0]])
    x = gradviz.Variable(data, requires_grad=True)
    with gradviz.trace() as tr:
        KINKS[name](x).sum().backward()
    report = tr.check()
    assert report.ok, report.format()
    assert report.gradchecks
    assert all(c.status != "failed" for c in report.gradchecks)


def test_relu_near_zero_is_checked_on_the_smooth_elements():
    x = np.array([1e-12, -1e-12, 0.5, -0.5, 2.0])
    result = check_call(gradviz.autograd.ops.Relu, (x,), (True,), np.random.default_rng(1))
    assert result.status == "passed"


# ----------------------------------------------------------------------- NaN / Inf
def test_backward_birth_names_the_op_whose_rule_made_it():
    x = gradviz.Variable(np.array([0.0, 1.0, 4.0]), requires_grad=True)
    with gradviz.trace() as tr:
        line = this_line(1).rpartition(":")[2]
        y = x.sqrt()
        loss = y.sum()
        loss.backward()
    report = tr.check()
    assert not report.by_kind("nan_forward")  # sqrt(0) = 0 is finite
    (birth,) = report.by_kind("nan_backward")
    assert birth.op == "Sqrt"
    assert birth.source == f"{HERE}:{line}"
    assert "infinite at x = 0" in birth.message
    with pytest.raises(AssertionError, match="Sqrt"):
        assert_gradients_finite(tr)


@pytest.mark.parametrize(
    ("make", "op", "why"),
    [
        (lambda x: (x * 100).exp(), "Exp", "exp overflow"),
        (lambda x: 1 / (x - x), "Div", "division by ~0"),
        (lambda x: (x - 2).log(), "Log", "log of values <= 0"),
    ],
)
def test_forward_birth_explains_itself(make, op, why):
    x = gradviz.Variable(np.array([1.0, 2.0, 3.0], dtype=np.float32), requires_grad=True)
    with gradviz.trace() as tr, np.errstate(all="ignore"):  # NumPy warns of the overflow
        make(x).sum().backward()
    (birth,) = tr.check().by_kind("nan_forward")
    assert birth.op == op
    assert why in birth.message


def test_detect_anomaly_raises_at_the_forward_birth_with_the_line():
    x = gradviz.Variable(np.array([1.0, -0.5, 2.0]), requires_grad=True)
    with gradviz.detect_anomaly():
        y = x * 2
        expected = this_line(2)
        with pytest.raises(AnomalyError) as caught:
            y.log()
    error = caught.value
    assert isinstance(error, RuntimeError)  # as PyTorch's anomaly mode raises
    assert (error.op, error.phase, error.source) == ("Log", "forward", expected)
    assert expected in str(error)
    assert "1 of 3 inputs <= 0" in str(error)
    assert not gradviz.autograd.hooks.ACTIVE


def test_detect_anomaly_raises_at_the_backward_birth_with_the_forward_line():
    x = gradviz.Variable(np.array([1.0, 0.0, 2.0]), requires_grad=True)
    with gradviz.detect_anomaly():
        expected = this_line(1)
        loss = x.sqrt().sum()
        with pytest.raises(AnomalyError) as caught:
            loss.backward()
    error = caught.value
    assert (error.op, error.phase, error.source) == ("Sqrt", "backward", expected)
    assert "infinite at x = 0" in str(error)


def test_detect_anomaly_stays_quiet_on_finite_steps_and_inherited_nans():
    x = gradviz.Variable(np.array([np.nan, 1.0]), requires_grad=True)
    with gradviz.detect_anomaly():
        (x * 2).exp().sum().backward()  # the NaN was already in the data: no birth
        (x[1:] ** 2).sum().backward()


# ----------------------------------------------------------------------- why no gradient
def _step(model, x, y, body=None):
    with gradviz.trace() as tr:
        out = body(model, x) if body else model(x)
        loss = ((out - y) ** 2).mean()
        loss.backward()
    return tr


class Encoded(nn.Module):
    """An encoder and a head; ``frozen_encoder`` runs the encoder under no_grad."""

    def __init__(self, frozen_encoder=False):
        super().__init__()
        self.encoder = nn.Linear(3, 4)
        self.head = nn.Linear(4, 1)
        self.spare = nn.Linear(2, 2)  # never called
        self.frozen_encoder = frozen_encoder

    def forward(self, x):
        if self.frozen_encoder:
            with gradviz.no_grad():
                h = self.encoder(x).relu()
        else:
            h = self.encoder(x).relu()
        return self.head(h)


NO_GRAD_LINE = next(
    i
    for i, line in enumerate(Path(__file__).read_text().splitlines(), 1)
    if "with gradviz.no_grad():" in line
)


def test_no_grad_cut_names_the_region():
    gradviz.manual_seed(0)
    model = Encoded(frozen_encoder=True)
    x = gradviz.Variable(np.ones((5, 3), dtype=np.float32))
    tr = _step(model, x, np.zeros((5, 1), np.float32))
    report = tr.check()
    causes = {f.message.split(" ")[0]: f.message for f in report.by_kind("no_gradient")}
    assert set(causes) == {"encoder.weight", "encoder.bias", "spare.weight", "spare.bias"}
    assert f"cut by no_grad at {HERE}:{NO_GRAD_LINE}" in causes["encoder.weight"]
    assert "no op of this step's forward used it" in causes["spare.weight"]
    with pytest.raises(AssertionError, match=r"encoder\.weight got no gradient"):
        assert_all_parameters_receive_gradient(tr)


def test_dead_relu_gives_exactly_zero_gradients():
    gradviz.manual_seed(0)
    model = Encoded()
    model.encoder.bias.numpy()[:] = -100.0  # every unit dead
    x = gradviz.Variable(np.ones((5, 3), dtype=np.float32))
    tr = _step(model, x, np.ones((5, 1), np.float32))
    report = tr.check()
    causes = {f.message.split(" ")[0]: f.message for f in report.by_kind("no_gradient")}
    assert "exactly zero: dead ReLU" in causes["encoder.weight"]
    assert "all 20 of its inputs are <= 0" in causes["encoder.weight"]
    (dead,) = report.by_kind("dead_relu")
    assert dead.numbers["dead_units"] == 4
    assert report.relus[0].dead_fraction == 1.0
    with pytest.raises(AssertionError, match=r"spare\.weight"):
        assert_all_parameters_receive_gradient(tr, allow_zero=True)


def test_frozen_parameters_are_not_reported():
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    model[0].weight.requires_grad_(False)
    model[0].bias.requires_grad_(False)
    x = gradviz.Variable(np.ones((5, 3), dtype=np.float32))
    tr = _step(model, x, np.zeros((5, 1), np.float32))
    assert not tr.check().by_kind("no_gradient")
    assert_all_parameters_receive_gradient(tr)


# ----------------------------------------------------------------------- health, reports
def test_update_ratio_flags_weights_far_from_one_in_a_thousand():
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = optim.SGD(model.parameters(), lr=10.0)
    x = gradviz.Variable(np.ones((5, 3), dtype=np.float32))
    with gradviz.trace() as tr:
        ((model(x) - 1) ** 2).mean().backward()
        opt.step()
    report = tr.check()
    flagged = {f.message.split(":")[0] for f in report.by_kind("update_ratio")}
    assert flagged
    assert flagged <= {"0.weight", "2.weight"}  # weights only, not biases
    assert all(f.severity == "warning" for f in report.findings)
    assert {p.name: p.update_ratio is not None for p in report.params} == {
        "0.weight": True,
        "0.bias": True,
        "2.weight": True,
        "2.bias": True,
    }


def test_report_is_frozen_data_with_errors_first():
    report = checked("buggy_layer")
    assert isinstance(report.findings[0], Finding)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.findings[0].severity = "warning"  # type: ignore[misc]
    with pytest.raises(TypeError):
        report.findings[0].numbers["ratio"] = 1.0  # type: ignore[index]
    severities = [f.severity for f in report.findings]
    assert severities == sorted(severities)  # "error" < "warning"
    with pytest.raises(ValueError, match="severity"):
        Finding("info", "gradcheck", "no such severity")
    text = report.format()
    assert text.splitlines()[0] == "gradviz check: buggy_layer.py, backward call 1"
    first = next(line for line in text.splitlines() if line.startswith("error"))
    assert "DenseFunction" in first
    assert line_of("buggy_layer", "DenseFunction.apply(") in first
    assert "layer  module  class" in text


def test_marks_reach_the_pictures():
    from gradviz.viz.diagnose import pictures_graph
    from gradviz.viz.draw.render import build

    tr = run_script(EXAMPLES / "buggy_layer.py")
    report = tr.check()
    graph = pictures_graph(tr, report)
    source = build(graph, "backward", marks=report.marks()).source
    assert "gradcheck FAILED: rel. error 0.969" in source
    assert "wrong gradient from DenseFunction" in source  # on 2.weight
    assert "check failed" in source  # the legend row
    assert "gradcheck FAILED" not in build(graph, "backward").source


def test_the_pass_graph_and_pictures_graph_hold_the_branch_cut_off_by_detach():
    from gradviz.viz.diagnose import pictures_graph

    tr = run_script(EXAMPLES / "detached.py")
    report = tr.check()
    for graph in (tr.graph, pictures_graph(tr, report)):
        names = {a.get("name") for _, a in graph.nodes(data=True)}
        assert {"hidden.weight", "hidden.bias"} <= names


def test_a_loaded_trace_is_checked_without_the_per_op_check(tmp_path):
    tr = run_script(EXAMPLES / "nan_loss.py", step=-1)
    tr.save(tmp_path / "t.json")
    loaded = gradviz.load_trace(tmp_path / "t.json")
    report = loaded.check()
    assert report.gradchecks == ()
    assert "per-op gradient check skipped" in report.notes[0]
    assert report.by_kind("nan_forward")[0].op == "Log"
    with pytest.raises(AssertionError, match="no op was gradient-checked"):
        assert_gradcheck_passes(loaded)


def test_testing_helpers_pass_on_a_clean_step():
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    x = gradviz.Variable(np.ones((5, 3), dtype=np.float32))
    tr = _step(model, x, np.zeros((5, 1), np.float32))
    assert_gradients_finite(tr)
    assert_all_parameters_receive_gradient(tr)
    assert_gradcheck_passes(tr)


def test_assert_gradcheck_passes_names_the_broken_op(monkeypatch):
    monkeypatch.setattr(Scaled, "factor", 2.0)
    w = gradviz.Variable(np.ones(3), requires_grad=True)
    x = gradviz.Variable(np.arange(6.0).reshape(2, 3))
    with gradviz.trace() as tr:
        line = this_line(1)
        Scaled.apply(x, w).sum().backward()
    with pytest.raises(AssertionError, match=rf"Scaled .*{line}.*2x the numeric"):
        assert_gradcheck_passes(tr)


def test_check_does_not_touch_the_rng_or_the_arrays():
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1))
    x = gradviz.Variable(np.ones((5, 3), dtype=np.float32))
    tr = _step(model, x, np.zeros((5, 1), np.float32))
    state = gradviz.autograd.rng.default_generator().bit_generator.state
    before = model[0].weight.numpy().copy()
    report = tr.check()
    assert gradviz.autograd.rng.default_generator().bit_generator.state == state
    np.testing.assert_array_equal(model[0].weight.numpy(), before)
    assert any(c.op == "Dropout" and c.status == "passed" for c in report.gradchecks)


def test_the_runner_keeps_the_pre_step_values_of_the_captured_ops(tmp_path):
    """The optimizer updates parameters in place after the backward; the captured pass's op
    calls keep the values the forward used (and the update ratio is unchanged)."""
    from gradviz.viz.capture.stats import array_stats

    tr = run_script(EXAMPLES / "moons.py")
    graph = tr.graph
    (calls,) = [p.calls for p in tr.passes]
    checked_params = 0
    for node, (_cls, values, _needs) in calls.items():
        for parent in graph.predecessors(node):
            slot, attrs = graph.edges[parent, node]["arg"], graph.nodes[parent]
            if attrs["kind"] == "param":
                assert array_stats(values[slot]) == attrs["value"], attrs["name"]
                assert attrs["update"]["ratio"] > 0  # the step did move it
                checked_params += 1
    assert checked_params == 6


class Round(gradviz.Function):
    """A non-differentiable op: no gradient for its input."""

    @staticmethod
    def forward(ctx, x):
        return np.round(x)

    @staticmethod
    def backward(ctx, grad):
        return None


class Cut(nn.Module):
    """``rounded`` feeds the loss through Round (no gradient), ``compared`` only through a
    comparison (a bool Variable without an op, as PyTorch's has no grad_fn)."""

    def __init__(self):
        super().__init__()
        self.rounded, self.compared, self.head = nn.Linear(3, 4), nn.Linear(3, 4), nn.Linear(4, 1)

    def forward(self, x):
        a = Round.apply(self.rounded(x))
        mask = self.compared(x) > 0  # no gradient flows through a comparison
        return self.head(a * mask)


def test_behind_a_non_differentiable_op_and_behind_a_comparison():
    gradviz.manual_seed(0)
    model = Cut()
    x = gradviz.Variable(np.ones((5, 3), dtype=np.float32))
    tr = _step(model, x, np.ones((5, 1), np.float32))
    report = tr.check()
    causes = {f.message.split(" ")[0]: f.message for f in report.by_kind("no_gradient")}
    assert set(causes) == {"rounded.weight", "rounded.bias", "compared.weight", "compared.bias"}
    assert "behind a non-differentiable op: Round at" in causes["rounded.weight"]
    assert "it reaches the loss only as plain data: G" in causes["compared.weight"]
    assert "values that carry no gradient" in causes["compared.weight"]
    assert not report.by_kind("gradcheck")  # Round's zero slope is right almost everywhere


def _run_example(name, monkeypatch, capsys):
    import runpy

    monkeypatch.setenv("GRADVIZ_EXAMPLE_QUICK", "1")
    namespace = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    return namespace, capsys.readouterr().out


def test_the_debugging_examples_tell_their_story(monkeypatch, capsys):
    """Each example runs in a moment and shows the symptom its docstring describes."""
    ns, _ = _run_example("buggy_layer", monkeypatch, capsys)
    assert ns["losses"][-1] < ns["losses"][0]  # it still learns: that is why the bug hides
    ns, out = _run_example("nan_loss", monkeypatch, capsys)
    assert "the loss is NaN: stopping" in out
    assert 3 <= len(ns["losses"]) <= 10  # after a few steps
    ns, _ = _run_example("vanishing", monkeypatch, capsys)
    assert abs(ns["losses"][-1] - ns["losses"][0]) < 0.05  # barely moves
    ns, out = _run_example("detached", monkeypatch, capsys)
    assert "hidden.weight unchanged after training: True" in out
    with pytest.warns(UserWarning, match="target size"):
        ns, _ = _run_example("broadcast_bug", monkeypatch, capsys)
    assert ns["losses"][-1] > 0.5  # stuck near the variance of the targets (1)


def _two_models_step(one_optimizer: bool):
    """A GAN-style first step: the discriminator's loss on the generator's detached output,
    then only the optimizer that holds the discriminator steps (or one that holds both)."""
    gradviz.manual_seed(0)
    gen = gradviz.nn.Sequential(gradviz.nn.Linear(4, 8), gradviz.nn.Tanh(), gradviz.nn.Linear(8, 4))
    disc = gradviz.nn.Linear(4, 1)
    held = [*disc.parameters(), *(gen.parameters() if one_optimizer else ())]
    opt = gradviz.optim.SGD(held, lr=0.01)
    x = gradviz.tensor(np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32))
    with gradviz.trace() as tr:
        opt.zero_grad()
        disc(gen(x).detach()).pow(2).mean().backward()
        opt.step()
    return [f.message for f in tr.check().by_kind("no_gradient")]


def test_a_model_the_stepping_optimizer_does_not_hold_is_not_missing_a_gradient():
    assert _two_models_step(one_optimizer=False) == []  # the generator is trained elsewhere


def test_a_detach_that_cuts_a_parameter_the_optimizer_holds_is_still_found():
    messages = _two_models_step(one_optimizer=True)
    assert messages
    assert all("cut by detach()" in m for m in messages)


def test_a_frozen_network_is_marked_frozen_not_said_to_have_missed_its_update():
    """Was: neural style transfer (a frozen CNN, the input image trained by LBFGS): the layer
    table showed ``-`` for every update under "no parameter changed between this backward
    call and the next forward (gradients accumulated over micro-batches?)"."""
    gradviz.manual_seed(0)
    cnn = gradviz.nn.Sequential(gradviz.nn.Conv2d(3, 4, 3), gradviz.nn.ReLU())
    cnn.requires_grad_(False)
    image = gradviz.rand(1, 3, 6, 6, requires_grad=True)
    opt = gradviz.optim.SGD([image], lr=0.1)
    with gradviz.trace() as tr:
        cnn(image).pow(2).mean().backward()
        opt.step()
    text = str(tr.check())
    assert "no parameter changed" not in text
    assert text.splitlines()[-1].split() == [
        *"0 0 Conv2d weight,bias - - 1.25 - <-".split(),
        "frozen",
    ]


def test_a_zero_initialised_layer_is_named_as_what_zeroes_the_gradients_before_it():
    """Was: the spatial transformer tutorial (its last localisation layer's weight zeroed)
    said "Linear gives it an exactly zero gradient" and "let its output reach the loss (no
    .detach() ...)": the cause is the all-zero weight, expected at the first step."""
    gradviz.manual_seed(0)
    first, last = nn.Linear(3, 4), nn.Linear(4, 2)
    last.weight.data.zero_()  # the tutorial's fc_loc[2].weight.data.zero_()
    x = gradviz.randn(5, 3)
    with gradviz.trace() as tr:
        last(first(x).tanh()).pow(2).sum().backward()
    report = tr.check()
    messages = [f.message for f in report.findings if f.kind == "no_gradient"]
    assert len(messages) == 2
    for name, message in zip(("weight", "bias"), messages, strict=True):
        assert message.startswith(f"first.{name} got a gradient of exactly zero: multiplied by")
        assert message.endswith("(last.weight is all 0)")
    assert "zero initialisation" in report.findings[0].advice[0]


def test_a_spatial_transformer_is_drawn_without_a_stray_pixel_grid_and_checks_clean():
    """Was: affine_grid's pixel grid drawn as an unnamed input of AffineGridGenerator, and a
    Reshape after it: PyTorch's node takes theta alone and makes the (N, H, W, 2) grid."""
    gradviz.manual_seed(0)
    x = gradviz.randn(2, 1, 5, 6)
    theta = (gradviz.eye(2, 3) + 0.1 * gradviz.randn(2, 2, 3)).requires_grad_()
    with gradviz.trace() as tr:
        grid = nn.functional.affine_grid(theta, x.size(), align_corners=False)
        nn.functional.grid_sample(x, grid, align_corners=False).pow(2).sum().backward()
    g = tr.graph
    (node,) = [n for n, a in g.nodes(data=True) if a.get("op") == "AffineGridGenerator"]
    assert [g.nodes[p]["name"] for p in g.predecessors(node)] == ["theta"]
    assert g.nodes[node]["shape"] == (2, 5, 6, 2)
    assert not tr.check().errors
