"""The in-place forms of the activations with an ``inplace`` option (``F.relu(x,
inplace=True)``, ``nn.ReLU(inplace=True)``, ``nn.Hardswish(inplace=True)`` ...), with the
semantics of ``gradviz.autograd.inplace``: a leaf that requires grad refuses, a recorded write
rebases the Variable on the op (named with a trailing underscore, ``Selu_``) applied to a copy
of its old values, and every write bumps its version.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import inplace, inplace_unary, ops
from gradviz.autograd.function import Function, new_context
from gradviz.autograd.inplace_ops import take_graph_rule
from gradviz.autograd.ops import activations_more as acts
from gradviz.autograd.variable import Variable


class Selu_(acts.Selu):
    pass


class Celu_(acts.Celu):
    pass


class Hardswish_(acts.Hardswish):
    pass


class Hardsigmoid_(acts.Hardsigmoid):
    pass


class Threshold_(acts.Threshold):
    pass


class Rrelu_(acts.Rrelu):
    pass


class LeakyRelu_(ops.LeakyRelu):
    pass


class Hardtanh_(ops.Hardtanh):
    pass


class Elu_(ops.Elu):
    pass


class Silu_(ops.Silu):
    pass


class Mish_(ops.Mish):
    pass


_OWN = (
    Selu_, Celu_, Hardswish_, Hardsigmoid_, Threshold_, Rrelu_, LeakyRelu_, Hardtanh_, Elu_,
    Silu_, Mish_,
)  # fmt: skip

for _op in _OWN:  # as the built-in ops: rules return fresh arrays or views of grad
    _op._may_alias = False
    inplace._METHOD[_op] = _op.__name__.lower()
    take_graph_rule(_op)  # (the base op's: see inplace_ops)

#: The in-place op of each out-of-place one (``Relu_`` is ``x.relu_()``'s).
INPLACE: dict[type[Function], type[Function]] = {
    op.__mro__[1]: op for op in (*_OWN, inplace_unary.Relu_)
}


def apply_inplace(op: type[Function], x: Variable, *options: Any) -> Variable:
    """``op(x, *options)`` written into ``x``, which is returned."""
    in_place = INPLACE[op]

    def write(data: np.ndarray, out: np.ndarray) -> None:
        context = new_context(in_place, (False,) * (1 + len(options)))
        np.copyto(out, in_place.forward(context, data, *options), casting="same_kind")

    return inplace._write(x, in_place, options, write, x._data)
