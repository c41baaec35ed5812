"""Scripts that take second derivatives, traced: the graph rules' ops are ordinary recorded
ops (drawn with the forward graph, at the line of the ``grad`` call), the backward pass runs
through them, and ``check`` checks them as any op."""

from __future__ import annotations

import textwrap

import numpy as np

import gradviz
from gradviz import nn
from gradviz.autograd import grad
from gradviz.viz.runner import run_script

PENALTY = textwrap.dedent(
    """\
    import gradviz as torch
    import gradviz.nn as nn

    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(critic.parameters(), lr=0.1)
    real, fake, eps = torch.randn(4, 2), torch.randn(4, 2), torch.rand(4, 1)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
    loss = critic(fake).mean() - critic(real).mean() + 10 * penalty
    opt.zero_grad()
    loss.backward()
    opt.step()
    """
)

PINN = textwrap.dedent(
    """\
    import math
    import gradviz as torch
    import gradviz.nn as nn

    torch.manual_seed(0)
    u = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.Adam(u.parameters(), lr=1e-2)
    x = torch.linspace(0, 1, 5).reshape(-1, 1).requires_grad_(True)
    out = u(x)
    (u_x,) = torch.autograd.grad(out, x, torch.ones_like(out), create_graph=True)
    (u_xx,) = torch.autograd.grad(u_x, x, torch.ones_like(u_x), create_graph=True)
    loss = ((u_xx + math.pi**2 * torch.sin(math.pi * x)) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    """
)

SECOND = textwrap.dedent(
    """\
    import gradviz as torch

    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x**3 - 2 * x).sum()
    (dy,) = torch.autograd.grad(y, x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy.sum(), x, create_graph=True)
    d2y.sum().backward()
    """
)


def ops_at(graph, line: str) -> list[str]:
    return sorted(d["op"] for _, d in graph.nodes(data=True) if d["source"] == line and d["op"])


def test_a_gradient_penalty_script_is_drawn_and_checked(tmp_path):
    script = tmp_path / "gp.py"
    script.write_text(PENALTY, encoding="utf-8")
    trace = run_script(script)
    graph = trace.graph
    # The gradient of critic(mixed) w.r.t. mixed, drawn at its line (the parts the loss
    # reaches): the seed expanded (Sum's rule), grad @ weight (Linear's), grad * (1 - out *
    # out) (Tanh's), beside the forward ops it reads.
    assert ops_at(graph, "gp.py:9") == [
        "Expand", "Linear", "MatMul", "MatMul", "Mul", "Mul", "Reshape", "Sub", "Tanh"
    ]  # fmt: skip
    assert ops_at(graph, "gp.py:10") == ["Mean", "Norm", "Pow", "Sub"]
    stepped = [graph.nodes[s.node]["op"] for s in trace.get_pass().steps]
    assert stepped.count("MatMul") == 2  # the penalty's gradient flows back through them
    report = trace.check()
    assert report.ok, str(report)
    statuses = {(c.op, c.status) for c in report.gradchecks}
    assert ("MatMul", "passed") in statuses
    assert all(status == "passed" for _, status in statuses)
    for view in ("forward", "backward"):
        out = tmp_path / f"gp.{view}.svg"
        trace.render(view, out)
        assert out.read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg"))


def test_a_d2y_script_draws_only_what_its_backward_reaches(tmp_path):
    """The last backward starts from d2y = 6x: the nodes drawn are the second gradient's
    (Pow's rule, x**1 * 2, and the Muls at the second grad's line; the first gradient's seed
    at the first's)."""
    script = tmp_path / "d2y.py"
    script.write_text(SECOND, encoding="utf-8")
    trace = run_script(script)
    graph = trace.graph
    assert ops_at(graph, "d2y.py:5") == ["Expand", "Reshape"]
    assert ops_at(graph, "d2y.py:6") == ["Expand", "Mul", "Mul", "Mul", "Mul", "Pow", "Reshape"]
    seeds = [d["name"] for _, d in graph.nodes(data=True) if d["kind"] == "input"]
    assert seeds == ["grad_output", "grad_output"]  # the 1 each grad call starts from
    report = trace.check()
    assert report.ok, str(report)
    (x,) = (n for n, d in graph.nodes(data=True) if d["name"] == "x")
    (leaf,) = (s for s in trace.get_pass().steps if s.node == x)
    np.testing.assert_allclose(leaf.grad["norm"], np.linalg.norm([6.0, 6.0, 6.0]), rtol=1e-6)


def test_trace_records_no_backward_pass_for_the_create_graph_pass():
    """Only backward calls are passes: the gradient with a graph is ops, drawn in the forward."""
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = gradviz.randn(5, 2, requires_grad=True)
    with gradviz.trace() as tr:
        (g,) = grad(model(x).sum(), x, create_graph=True)
        (g**2).sum().backward()
    assert tr.backward_calls == 1
    assert {"MatMul", "Mul", "Sub"} <= {d["op"] for _, d in tr.graph.nodes(data=True)}


def test_check_warns_when_the_loss_reads_a_second_derivative_of_relu(tmp_path):
    """A PINN with ReLU: u_xx is zero whatever the weights (PyTorch computes the zeros in
    silence). check says where, through which op and module, and what to use instead; the
    same PINN with Tanh has no such finding."""
    script = tmp_path / "pinn.py"
    script.write_text(PINN.replace("nn.Tanh()", "nn.ReLU()"), encoding="utf-8")
    report = run_script(script).check()
    (finding,) = report.by_kind("zero_derivative")
    assert finding.severity == "warning"
    assert (finding.op, finding.source) == ("ZeroDerivative", "pinn.py:11")
    assert finding.message.startswith("the derivative of Relu's gradient in module 1 is zero")
    assert "nn.Tanh, nn.SiLU" in finding.advice[0]
    assert finding.label == "zero: Relu is piecewise linear"
    script.write_text(PINN, encoding="utf-8")
    assert not run_script(script).check(gradcheck=False).by_kind("zero_derivative")


def test_check_explains_a_bias_that_only_shifts_what_the_loss_differentiates(tmp_path):
    """A PINN's loss reads u_xx only: the output bias gets no gradient (as in PyTorch), and
    check says why, with advice for that case (a saved trace keeps the create_graph event)."""
    script = tmp_path / "pinn.py"
    script.write_text(PINN, encoding="utf-8")
    trace = run_script(script)
    (finding,) = trace.check(gradcheck=False).by_kind("no_gradient")
    assert "2.bias" in finding.message
    assert "the gradient of Linear (5, 1) at pinn.py:9 (create_graph=True at pinn.py:10)" in (
        finding.message
    )
    (advice,) = finding.advice
    assert advice.startswith("expected when the loss uses only derivatives")
    trace.save(tmp_path / "pinn.trace.json")
    events = gradviz.load_trace(tmp_path / "pinn.trace.json")._events
    assert [(e.kind, e.source) for e in events if e.kind == "create_graph"] == [
        ("create_graph", "pinn.py:10"),
        ("create_graph", "pinn.py:11"),
    ]


HESSIAN_LOOP = textwrap.dedent(
    """\
    import gradviz as torch

    torch.manual_seed(0)
    w = torch.randn(3, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    for step in range(3):
        opt.zero_grad()
        h = torch.autograd.functional.hessian(lambda v: (v**4).sum(), w)
        loss = (w**2).sum() + h.trace()
        loss.backward()
        opt.step()
    """
)


def test_a_transforms_own_passes_are_not_backward_calls_of_the_script():
    """``hessian`` runs one backward pass per row of its Jacobian: before, each counted as a
    backward call of the script, so three training steps were twelve and ``--step 2`` drew a
    Hessian row. They are part of the step that calls the transform, as its forward ops are."""
    w = gradviz.randn(3, requires_grad=True)
    with gradviz.trace(steps="all") as tr:
        for _ in range(3):
            h = gradviz.autograd.functional.hessian(lambda v: (v**4).sum(), w)
            ((w**2).sum() + h.trace()).backward()
    assert tr.backward_calls == 3
    (root,) = (n for n, d in tr.graph.nodes(data=True) if d["op"] == "Add")
    assert tr.get_pass().steps[0].node == root  # the loss's pass, not a Hessian row


def test_func_jacobians_are_part_of_the_step_and_func_grad_is_a_backward_call():
    """gradviz.func's Jacobian transforms (one pass per row) are the calling step's, as
    autograd.functional's; a gradient alone (func.grad, as autograd.grad) is a backward call."""
    w = gradviz.randn(3, requires_grad=True)
    with gradviz.trace(steps="all") as tr:
        for _ in range(2):
            h = gradviz.func.hessian(lambda v: (v**4).sum())(w.detach())  # plain passes
            j = gradviz.func.jacrev(lambda v: v.sin())(w.detach())
            ((w**2).sum() * h.trace() * j.sum()).backward()
    assert tr.backward_calls == 2
    with gradviz.trace(steps="all") as tr:
        gradviz.func.grad(lambda v: (v**3).sum())(w.detach())
    assert tr.backward_calls == 1


def test_render_step_2_of_a_loop_with_a_hessian_draws_the_second_training_step(tmp_path):
    script = tmp_path / "hess.py"
    script.write_text(HESSIAN_LOOP, encoding="utf-8")
    assert run_script(script, step=2).backward_calls == 2
    assert run_script(script, step=-1).backward_calls == 3
