"""Second derivatives (``create_graph=True``) through the recorded in-place ops: the
activations' ``inplace=True`` forms (``nn.ReLU(inplace=True)``, ``nn.LeakyReLU(0.2,
inplace=True)`` ...), in-place arithmetic on a non-leaf (``h.add_(y)``, ``h *= 2``), writes
(``copy_``, ``zero_``, ``masked_fill_``, ``h[i] = v``) and the in-place scatters. Each case by
finite differences at float64 (always) and against PyTorch (when installed); a value a rule
needs, written after the op ran, refused as PyTorch refuses it. A WGAN-GP critic with
``LeakyReLU(0.2, inplace=True)`` trains as PyTorch's in test_second_derivatives_demos.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
from test_second_derivatives import (
    AWAY,
    SIGNED,
    A,
    B,
    Op,
    P,
    check_against_pytorch,
    check_by_finite_differences,
)

import gradviz
from gradviz.autograd import grad
from gradviz.autograd.errors import BackwardError
from gradviz.autograd.function import Function
from gradviz.autograd.higher import graph_rule

M = ((3, 4), -0.9, 0.9)  # inside hardtanh's and relu6's kinks (and hardswish's)
IMAGE, KERNEL = ((1, 2, 4, 4), -1.0, 1.0), ((2, 2, 3, 3), -0.5, 0.5)


def copied(x):
    """A non-leaf copy of ``x``: what an in-place op may write."""
    return x * 1.0


def _put(lib, F, x, y):
    h = x * x
    h[0] = y**2  # a row (broadcast), a slice, integer arrays, a mask
    h[1:, ::2] = 0.5
    h[[1, 2], [3, 1]] = y[:2] * x[0, :2]
    h[h > 3.0] = -1.0
    return h * x


def _through_views(lib, F, x, y):
    """Writes into views of one array (``h[:, 1] += v``: an ``Add_`` on the view, an
    ``IndexPut_`` on ``h``): a later write elsewhere in ``h`` leaves these rules alone, which
    read only the gradient."""
    h = x * x
    h[:, 1] += y[:3] * x[:, 0]
    h[:, 2] -= y[1:] ** 2
    h[0, 1:] = y[:3]
    h[1:, 3] *= 2.0
    return h * x


def _residual_block(lib, F, x, w1, w2):
    """ResNet's basic block: ``nn.ReLU(inplace=True)`` after each convolution, ``out +=
    identity`` between them."""
    h = F.relu(F.conv2d(x, w1, padding=1), inplace=True)
    h = F.conv2d(h, w2, padding=1)
    h += x
    return F.relu(h, inplace=True) * x


def _scatters(lib, F, x, y):
    index = lib.tensor(np.array([[0, 1, 2, 0], [2, 0, 1, 1]]))
    rows = lib.tensor(np.array([2, 0]))
    h = copied(x).scatter_(0, index, y.expand(2, 4) * x[:2])
    h = copied(h).scatter_add_(0, index, x[:2] ** 2)
    h = copied(h).index_add_(0, rows, x[1:] * y, alpha=0.5)
    h = copied(h).index_copy_(0, rows, x[:2] ** 3)
    h = copied(h).index_fill_(1, lib.tensor(np.array([1])), 0.25)
    h = copied(h).index_put_((rows,), y * x[0], accumulate=True)
    return h * x


INPLACE = [
    Op("relu_", lambda lib, F, x, s: F.relu(copied(x), inplace=True) * x
       + copied(s).relu_() * s, (AWAY, SIGNED)),
    Op("leaky_relu_", lambda lib, F, x, s: F.leaky_relu(copied(x), 0.2, inplace=True) * x
       + lib.nn.LeakyReLU(0.2, inplace=True)(copied(s)) * s, (AWAY, SIGNED)),
    Op("elu_", lambda lib, F, x: F.elu(copied(x), 0.7, inplace=True) * x, (A,)),
    Op("hardtanh_relu6_", lambda lib, F, x: F.relu6(x * 4.0, inplace=True) * x
       + F.hardtanh(copied(x), -0.5, 0.5, inplace=True) * x, (M,)),
    Op("silu_", lambda lib, F, x: F.silu(copied(x), inplace=True) * x, (A,)),
    Op("hardswish_", lambda lib, F, x: F.hardswish(x * 2.0, inplace=True) * x, (M,)),
    Op("selu_celu_", lambda lib, F, x: F.selu(copied(x), inplace=True)
       * F.celu(copied(x), 0.5, inplace=True), (A,)),
    Op("mish_", lambda lib, F, x: F.mish(copied(x), inplace=True) * x, (A,)),
    Op("threshold_", lambda lib, F, x: F.threshold(copied(x), 0.1, -1.0, inplace=True)
       * x, (A,)),
    Op("rrelu_eval", lambda lib, F, s: F.rrelu(copied(s), training=False, inplace=True)
       * s, (SIGNED,)),
    Op("sigmoid_tanh_", lambda lib, F, x: copied(x).sigmoid_() * copied(x).tanh_(), (A,)),
    Op("exp_log_sqrt_abs_", lambda lib, F, x, s: copied(x).exp_() + copied(x).log_() * x
       + copied(x).sqrt_() * copied(s).abs_(), (P, SIGNED)),
    Op("add_sub_", lambda lib, F, x, y: copied(x).add_(y) ** 2
       + copied(x).add_(y * y, alpha=0.5) * x - copied(x).sub_(y, alpha=2) ** 3, (A, B)),
    Op("iadd_isub_", lambda lib, F, x, y: _augmented(x, y), (A, B)),
    Op("mul_div_", lambda lib, F, x, y: copied(x).mul_(y) * x + copied(x).mul_(2) * x
       + copied(x).div_(y) * x + copied(x).div_(4.0) ** 2, (A, P)),
    Op("neg_", lambda lib, F, x: (x * x).neg_() * x, (A,)),
    Op("pow_", lambda lib, F, x, y: copied(x).pow_(3) + copied(x).pow_(y), (P, A)),
    Op("clamp_", lambda lib, F, x: copied(x).clamp_(-1.0, 1.0) * x
       + copied(x).clamp_(min=0.3) ** 2, (A,)),
    Op("copy_", lambda lib, F, x, y: (x * x).copy_(y * y) * x, (A, B)),
    Op("zero_fill_", lambda lib, F, x, y: (x * x).zero_() * x + (x * x).fill_(2.0) * x**2
       + copied(x).fill_((y * y).sum()) * x, (A, B)),
    Op("masked_fill_", lambda lib, F, x: (x * x).masked_fill_(x > 0.5, 0.0) * x, (A,)),
    Op("setitem", _put, (A, B)),
    Op("writes_through_views", _through_views, (A, B)),
    Op("scatters", _scatters, (A, B)),
    Op("residual_block", _residual_block, (IMAGE, KERNEL, KERNEL)),
    Op("shape_methods_", lambda lib, F, x: copied(x).unsqueeze_(0).squeeze_(0) ** 3
       * (x * x).t_().t() + (x * 2).transpose_(0, 1).sum(1) ** 2, (A,)),
    Op("addcmul_addcdiv_lerp_", lambda lib, F, x, y, z: copied(x).addcmul_(y, x, value=0.5)
       * copied(x).addcdiv_(x, z, value=2.0) + copied(x).lerp_(y * y, 0.3) ** 2, (A, A, P)),
]  # fmt: skip


def _augmented(x, y):
    h = x * x
    h += y * x  # a recorded Add_ on a non-leaf
    h -= y**2
    h *= x
    h /= 2.0
    return h


def _drawn(lib, x, fill):
    """``fill`` of a non-leaf from a seeded generator (the same draws each call, not
    PyTorch's): its derivative is zero, the product's is the draws."""
    lib.manual_seed(0)
    return fill(x * x) * x**2


RANDOM = [
    Op("uniform_", lambda lib, F, x: _drawn(lib, x, lambda h: h.uniform_(-1.0, 1.0)), (A,)),
    Op("normal_", lambda lib, F, x: _drawn(lib, x, lambda h: h.normal_()), (A,)),
    Op("bernoulli_", lambda lib, F, x: _drawn(lib, x, lambda h: h.bernoulli_(0.5)), (A,)),
    Op("exponential_", lambda lib, F, x: _drawn(lib, x, lambda h: h.exponential_()), (A,)),
    Op("random_", lambda lib, F, x: _drawn(lib, x, lambda h: h.random_(0, 5)), (A,)),
    Op(
        "rrelu_train",
        lambda lib, F, s: _drawn(lib, s, lambda h: F.rrelu(h - 5.0, training=True, inplace=True)),
        (A,),
    ),
]
NO_DOUBLE_IN_PYTORCH = [  # PyTorch does not implement hardsigmoid's second derivative
    Op("hardsigmoid_", lambda lib, F, x: F.hardsigmoid(x * 2.0, inplace=True) * x, (M,)),
]
#: the cases test_second_derivatives_layers walks for the ops they record
CASES = [*INPLACE, *RANDOM, *NO_DOUBLE_IN_PYTORCH]


@pytest.mark.parametrize("op", CASES, ids=lambda op: op.id)
def test_gradient_of_the_gradient_by_finite_differences(op):
    check_by_finite_differences(op)


@pytest.mark.parametrize("op", INPLACE, ids=lambda op: op.id)
def test_first_and_second_gradients_match_pytorch(op):
    check_against_pytorch(op)


# --------------------------------------------------------------------------------- refusals
def _sigmoid_then_add(lib, x):
    y = (x * 1.0).sigmoid_()  # keeps its result for backward, as PyTorch's
    z = y.sum()
    y.add_(1.0)  # a recorded write of that result
    return z


def _relu_then_unrecorded_write(lib, x):
    y = lib.nn.functional.relu(x * 1.0, inplace=True)
    z = y.sum()
    with lib.no_grad():
        y.mul_(2.0)
    return z


@pytest.mark.parametrize(
    ("make", "op"), [(_sigmoid_then_add, "Sigmoid_"), (_relu_then_unrecorded_write, "Relu_")]
)
def test_a_value_a_rule_needs_written_later_is_refused_as_pytorch_refuses_it(make, op):
    x = gradviz.tensor([0.5, -1.0, 2.0], requires_grad=True)
    with pytest.raises(BackwardError, match=rf"modified by an inplace operation.*{op}"):
        grad(make(gradviz, x), x, create_graph=True)
    try:
        import torch
    except ImportError:
        return
    t = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        torch.autograd.grad(make(torch, t), t, create_graph=True)


def test_a_write_a_rule_does_not_read_is_not_refused():
    """``mul_``'s rule reads the multiplier and the value before the write (kept), ``sum``'s
    nothing: writing the result afterwards, outside the graph, changes nothing they need (as
    in PyTorch)."""
    x = gradviz.tensor([0.5, -1.0, 2.0], dtype=gradviz.float64, requires_grad=True)
    y = (x * x).mul_(3.0)
    z = y.sum()
    with gradviz.no_grad():
        y.zero_()
    (g,) = grad(z, x, create_graph=True)
    (h,) = grad(g.sum(), x)
    np.testing.assert_allclose(g.numpy(), 6 * x.numpy())
    np.testing.assert_allclose(h.numpy(), [6.0, 6.0, 6.0])


def test_every_declared_rule_reads_only_what_it_says():
    """``_rule_reads`` spares a rule the check of what it does not read: "inputs", no
    ``out``; "", neither ``out`` nor ``ctx.inputs`` (nor ``ctx`` handed whole to a helper)."""
    stack, declared = [Function], []
    while stack:
        op = stack.pop()
        stack.extend(op.__subclasses__())
        if "_rule_reads" in op.__dict__:
            declared.append(op)
    assert {"Mul", "LeakyRelu", "Hardtanh", "Add_", "IndexPut_"} <= {op.__name__ for op in declared}
    for op in declared:
        body = inspect.getsource(graph_rule(op)).split("\n", 2)[2]  # below the signature
        code = "\n".join(line.split("#")[0] for line in body.splitlines())
        assert not re.search(r"\bout\b", code), op.__name__
        if op._rule_reads == "":
            assert "ctx.inputs" not in code, op.__name__
            assert not re.search(r"\(ctx[,)]", code), op.__name__


def test_a_write_with_the_written_variable_as_operand_reads_its_old_value():
    """``h.mul_(h)`` is ``h * h`` of the value before the write (the graph has no loop):
    d/dx sum(x^2 * x) = 3 x^2, then 6 x; ``h.add_(h)`` as PyTorch's."""
    x = gradviz.tensor([0.5, -1.0, 2.0], dtype=gradviz.float64, requires_grad=True)
    h = x * 1.0
    h.mul_(h)
    (g,) = grad((h * x).sum(), x, retain_graph=True)  # (first order first: it fails fast)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    (g,) = grad((h * x).sum(), x, create_graph=True)
    (d2,) = grad(g.sum(), x)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    np.testing.assert_allclose(d2.numpy(), 6 * x.numpy())
    check_against_pytorch(Op("add_self", lambda lib, F, x: copied(x).add_(x * x) ** 2, (A,)))
    k = x * x
    k.add_(k)
    (g,) = grad((k * x).sum(), x)
    np.testing.assert_allclose(g.numpy(), 6 * x.numpy() ** 2)
