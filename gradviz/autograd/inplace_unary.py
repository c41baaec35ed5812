"""The in-place forms of the one-input functions: ``relu_``, ``sigmoid_``, ``tanh_``, ``exp_``,
``log_``, ``sqrt_``, ``abs_``, with the semantics of ``gradviz.autograd.inplace`` (a leaf that
requires grad refuses; a recorded write rebases the Variable; every write bumps its version).

Each recorded op is the out-of-place op under the method's name with a trailing underscore
(``Relu_``); unrecorded, the op's forward is written into the array in the Variable's dtype
(a float result into an integer Variable is PyTorch's cast error).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from gradviz.autograd import inplace, ops
from gradviz.autograd.function import Function, new_context
from gradviz.autograd.inplace_ops import take_graph_rule

if TYPE_CHECKING:
    from gradviz.autograd.variable import Variable


class Relu_(ops.Relu):
    pass


class Sigmoid_(ops.Sigmoid):
    pass


class Tanh_(ops.Tanh):
    pass


class Exp_(ops.Exp):
    pass


class Log_(ops.Log):
    pass


class Sqrt_(ops.Sqrt):
    pass


class Abs_(ops.Abs):
    pass


#: Every recorded in-place op of this module.
UNARY_INPLACE_OPS: tuple[type[Function], ...] = (
    Relu_, Sigmoid_, Tanh_, Exp_, Log_, Sqrt_, Abs_,
)  # fmt: skip

for _op in UNARY_INPLACE_OPS:  # as the built-in ops: rules return fresh arrays or views of grad
    _op._may_alias = False
    inplace._METHOD[_op] = _op.__name__.lower()
    take_graph_rule(_op)  # (the base op's: see inplace_ops)


def _method(op: type[Function]) -> Callable[[Variable], Variable]:
    def write(x: np.ndarray, out: np.ndarray) -> None:
        np.copyto(out, op.forward(new_context(op, (False,)), x), casting="same_kind")

    def apply(target: Variable) -> Variable:
        return inplace._write(target, op, (), write, target._data)

    apply.__name__ = inplace._METHOD[op]
    apply.__doc__ = f"``{apply.__name__[:-1]}`` of the Variable, in place."
    return apply


relu_ = _method(Relu_)
sigmoid_ = _method(Sigmoid_)
tanh_ = _method(Tanh_)
exp_ = _method(Exp_)
log_ = _method(Log_)
sqrt_ = _method(Sqrt_)
abs_ = _method(Abs_)
