"""The recorded in-place ops of ``gradviz.autograd.inplace`` (``x.add_(y)``, ``x.zero_()``,
``x[i] = v`` ...), each with its graph rule (``backward_graph``, for ``create_graph=True``).

How an in-place op's node reads its values in a ``create_graph`` pass: a recorded write runs the
op on a stand-in, a copy of the Variable's old value that takes over its old history, so the
node's first input is that value as it was when the op ran; its output is the written Variable
(or, once a later recorded write rebased it, the stand-in copy of this op's result). A graph
rule reads the values PyTorch saves, then; a value written again since, where a rule reads it,
is refused by the pass (``higher._check_unwritten``) or the engine's check of saved arrays, in
PyTorch's words ("modified by an inplace operation").

The in-place forms of out-of-place ops (``Mul_``, ``Relu_``, ``LeakyRelu_`` ...) run their
base op's ``backward``, so they take its graph rule too (``take_graph_rule``).
"""

from __future__ import annotations

import numpy as np

from gradviz.autograd import ops
from gradviz.autograd.errors import IndexRangeError
from gradviz.autograd.function import Function


class Add_(Function):
    """``a += alpha * b``, recorded (``Sub_`` is the same with ``-alpha``)."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return a + b if alpha == 1 else a - b if alpha == -1 else a + alpha * b

    @staticmethod
    def backward(ctx, grad):
        alpha = ctx.alpha
        return grad, ((grad if alpha == 1 else grad * alpha) if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward_graph(ctx, grad, out):
        alpha = ctx.alpha
        return grad, ((grad if alpha == 1 else grad * alpha) if ctx.needs_input_grad[1] else None)


class Sub_(Add_):
    pass


class Mul_(ops.Mul):
    pass


class Div_(ops.Div):
    pass


class Pow_(ops.Pow):
    pass


class Neg_(ops.Neg):
    pass


class Clamp_(ops.Clamp):
    pass


class Fill_(Function):
    """Overwrite every element with ``value`` (an array broadcast to the shape, or a number)."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, a, value):
        return np.broadcast_to(np.asarray(value, dtype=a.dtype), a.shape).copy()

    @staticmethod
    def backward(ctx, grad):
        # The old value no longer matters: zero, as PyTorch. A Variable value gets the sum.
        return np.zeros_like(grad), (grad if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return np.zeros(grad.shape, grad.dtype), (grad if ctx.needs_input_grad[1] else None)


class Zero_(Fill_):
    pass


class Uniform_(Fill_):
    pass


class Normal_(Fill_):
    pass


class Copy_(Function):
    """Overwrite with ``src``, broadcast to the shape and cast to the dtype."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, a, src):
        return np.broadcast_to(src, a.shape).astype(a.dtype)

    @staticmethod
    def backward(ctx, grad):
        return np.zeros_like(grad), grad

    @staticmethod
    def backward_graph(ctx, grad, out):  # (the pass sums grad to src's shape, casts it)
        return np.zeros(grad.shape, grad.dtype), grad


class MaskedFill_(Function):
    """Where ``mask`` is true, ``value``; elsewhere the old value."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, a, mask, value):
        ctx.mask = mask
        return np.where(mask, np.asarray(value, dtype=a.dtype), a)

    @staticmethod
    def backward(ctx, grad):
        return np.where(ctx.mask, 0, grad), None, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        return ops.MaskedFill.apply(grad, ctx.mask, np.zeros((), grad.dtype)), None, None


class IndexPut_(Function):
    """``a[index] = value`` (PyTorch's ``CopySlices`` and ``IndexPutBackward``)."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, a, index, value):
        ctx.index = index
        out = a.copy()
        try:
            out[index] = value
        except IndexError as error:  # PyTorch's IndexError, in its words
            raise IndexRangeError(
                f"__setitem__: {ops.index_message(error, index, a.shape)}"
            ) from None
        return out

    @staticmethod
    def backward(ctx, grad):
        grad_a = grad_value = None
        if ctx.needs_input_grad[0]:
            grad_a = grad.copy()
            grad_a[ctx.index] = 0
        if ctx.needs_input_grad[2]:
            grad_value = grad[ctx.index]
        return grad_a, None, grad_value

    @staticmethod
    def backward_graph(ctx, grad, out):
        grad_a = grad_value = None
        if ctx.needs_input_grad[0]:  # zeros put in the written places (a NaN stays out)
            written = np.zeros(grad.shape, dtype=bool)
            written[ctx.index] = True
            grad_a = ops.MaskedFill.apply(grad, written, np.zeros((), grad.dtype))
        if ctx.needs_input_grad[2]:
            grad_value = grad[ctx.index]
        return grad_a, None, grad_value


#: Every recorded in-place op, for the op-table test and the checker.
INPLACE_OPS: tuple[type[Function], ...] = (
    Add_, Sub_, Mul_, Div_, Pow_, Neg_, Clamp_, Fill_, Zero_, Uniform_, Normal_, Copy_,
    MaskedFill_, IndexPut_,
)  # fmt: skip


def take_graph_rule(op: type[Function]) -> None:
    """Give ``op``, an in-place op that runs its base op's ``backward``, the base's graph
    rule: its node's inputs and output hold the values the base op's node would (see the
    module docstring). An op with a ``backward`` of its own keeps what it has."""
    base = op.__mro__[1]
    rule = base.__dict__.get("backward_graph")
    if "backward" not in op.__dict__ and "backward_graph" not in op.__dict__ and rule:
        op.backward_graph = rule


for _op in INPLACE_OPS:  # as the built-in ops: rules return fresh arrays or views of grad
    _op._may_alias = False
    take_graph_rule(_op)
