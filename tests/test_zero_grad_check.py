"""``tr.check()`` and ``gradviz check`` find gradients never zeroed between training steps: a
backward that adds into ``.grad`` still holding the gradient of a step the optimizer took."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import gradviz
from gradviz import nn, optim
from gradviz.cli import cli

KIND = "grad_not_zeroed"


def train(zero: str, steps: int = 2, accumulate: int = 1):
    """A traced loop over a tiny model; ``zero``: how (and whether) ``.grad`` is reset."""
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(rng.normal(size=(8, 3)).astype(np.float32))
    y = gradviz.Variable(rng.normal(size=(8, 1)).astype(np.float32))
    with gradviz.trace() as tr:
        for _ in range(steps):
            if zero == "zero_grad":
                optimizer.zero_grad()
            elif zero == "set_to_none=False":
                optimizer.zero_grad(set_to_none=False)
            for _ in range(accumulate):
                loss = ((model(x) - y) ** 2).mean()
                loss.backward()
            optimizer.step()
            if zero == "after the step":
                optimizer.zero_grad()
    return tr


def test_a_loop_without_zero_grad_warns_once_naming_the_parameters():
    report = train("none").check()
    found = report.by_kind(KIND)
    assert len(found) == 1
    f = found[0]
    assert f.severity == "warning"
    assert "0.weight, 0.bias, 2.weight, 2.bias" in f.message
    assert "step 2" in f.message
    assert "optimizer.step()" in f.message
    assert any("optimizer.zero_grad()" in a for a in f.advice)
    assert {label for _, label in f.related} == {"grad not zeroed after optimizer.step()"}
    assert len(f.related) == 4


def test_the_first_step_cannot_know():
    report = train("none").check(pass_index=1)
    assert not report.by_kind(KIND)
    assert not [n for n in report.notes if "zero" in n]


@pytest.mark.parametrize("zero", ["zero_grad", "set_to_none=False"])
def test_zeroed_gradients_are_not_flagged(zero):
    assert not train(zero).check().by_kind(KIND)


def test_gradient_accumulation_with_zero_grad_after_the_step_is_not_flagged():
    tr = train("after the step", steps=2, accumulate=2)
    assert tr.backward_calls == 4
    for index in (2, 3, 4):
        assert not tr.check(pass_index=index).by_kind(KIND)


def test_a_saved_trace_keeps_the_finding_and_an_older_one_loads(tmp_path):
    tr = train("none")
    path = tmp_path / "t.json"
    tr.save(path)
    loaded = gradviz.load_trace(path)
    assert len(loaded.check().by_kind(KIND)) == 1
    text = path.read_text(encoding="utf-8").replace('"stale_grads"', '"unknown_key"')
    path.write_text(text, encoding="utf-8")
    assert not gradviz.load_trace(path).check().by_kind(KIND)


SCRIPT = """
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    criterion = nn.MSELoss()
    x = gradviz.Variable(rng.normal(size=(8, 3)).astype(np.float32))
    y = gradviz.Variable(rng.normal(size=(8, 1)).astype(np.float32))
    for epoch in range(3):
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
"""


@pytest.mark.parametrize(("step", "index"), [("2", 2), ("-1", 3)])
def test_check_cli_reports_the_missing_zero_grad(tmp_path: Path, step, index):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    args = ["check", str(script), "-o", str(tmp_path / "out"), "--format", "dot"]
    result = CliRunner().invoke(cli, [*args, "--step", step])
    out = " ".join(result.stdout.split())  # the report wraps long lines
    assert out.count("not zeroed after optimizer.step()") == 1, result.stdout + result.stderr
    assert (
        f"warning - - - the gradients of step {index} were added to those of the step before: "
        ".grad of 0.weight, 0.bias, 2.weight, 2.bias was not zeroed after optimizer.step() (SGD)"
    ) in out
    assert "try: call optimizer.zero_grad() (or model.zero_grad()) before loss.backward()" in out
    first = CliRunner().invoke(cli, [*args, "--step", "1"])
    assert first.exit_code == 0, first.stdout + first.stderr
    assert "not zeroed" not in first.stdout, first.stdout
    assert "zero_grad" not in first.stdout, first.stdout


def test_a_model_trained_earlier_and_left_unzeroed_is_not_blamed_for_the_next_one():
    """The first model's last gradients stay in its ``.grad``; the second model's loop zeroes
    its own: the backward calls of the second touch nothing stale."""
    first = nn.Linear(2, 1)
    second = nn.Linear(2, 1)
    x = gradviz.Variable(np.ones((4, 2), dtype=np.float32))
    with gradviz.trace() as tr:
        for model in (first, second):
            optimizer = optim.SGD(model.parameters(), lr=0.1)
            for _ in range(2):
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
    assert tr.backward_calls == 4
    assert not tr.check(pass_index=3).by_kind(KIND)
    assert not tr.check(pass_index=4).by_kind(KIND)


def test_one_warning_per_optimizer_each_naming_its_own_parameters():
    """A GAN-like pair of models, each with its own optimizer, neither zeroed."""
    g, d = nn.Linear(2, 2), nn.Linear(2, 1)
    opt_g, opt_d = optim.Adam(g.parameters()), optim.Adam(d.parameters())
    x = gradviz.Variable(np.ones((4, 2), dtype=np.float32))
    with gradviz.trace() as tr:
        for _ in range(2):
            d(g(x)).sum().backward()
            opt_d.step()
            opt_g.step()
    found = tr.check().by_kind(KIND)
    assert len(found) == 2
    d_first, g_second = (f.message for f in found)  # optimizers in the order they stepped
    assert ".grad of d.weight, d.bias was not zeroed after optimizer.step() (Adam)" in d_first
    assert ".grad of g.weight, g.bias was not zeroed after optimizer.step() (Adam #2)" in g_second


def test_a_long_list_of_parameters_is_shortened():
    model = nn.Sequential(*(nn.Linear(2, 2) for _ in range(4)))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(np.ones((4, 2), dtype=np.float32))
    with gradviz.trace() as tr:
        for _ in range(2):
            model(x).sum().backward()
            optimizer.step()
    (f,) = tr.check().by_kind(KIND)
    assert ".grad of 0.weight, 0.bias, 1.weight, 1.bias, 2.weight, 2.bias and 2 more was" in (
        f.message
    )
    assert f.numbers["parameters"] == 8
    assert len(f.related) == 8


def test_four_optimizers_left_unzeroed_print_as_one_line_naming_each():
    models = [nn.Linear(2, 1) for _ in range(4)]
    optimizers = [optim.SGD(m.parameters(), lr=0.1) for m in models]
    x = gradviz.Variable(np.ones((4, 2), dtype=np.float32))
    with gradviz.trace() as tr:
        for _ in range(2):
            sum(m(x).sum() for m in models).backward()
            for optimizer in optimizers:
                optimizer.step()
    report = tr.check()
    assert len(report.by_kind(KIND)) == 4
    assert "4 grad not zeroed findings" in str(report)
    assert "also SGD #2, SGD #3, SGD #4" in str(report)
