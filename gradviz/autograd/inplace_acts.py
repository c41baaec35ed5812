"""The in-place forms of the activations with an ``inplace`` option (``F.selu(x,
inplace=True)``, ``nn.Hardswish(inplace=True)`` ...), with the semantics of
``gradviz.autograd.inplace``: a leaf that requires grad refuses, a recorded write rebases the
Variable on the op (named with a trailing underscore, ``Selu_``) applied to a copy of its old
values, and every write bumps its version.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import inplace, ops
from gradviz.autograd.function import Function, new_context
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


#: The in-place op of each out-of-place one.
INPLACE: dict[type[Function], type[Function]] = {
    op.__mro__[1]: op
    for op in (Selu_, Celu_, Hardswish_, Hardsigmoid_, Threshold_, Rrelu_, LeakyRelu_, Hardtanh_)
}

for _op in INPLACE.values():  # as the built-in ops: rules return fresh arrays or views of grad
    _op._may_alias = False
    inplace._METHOD[_op] = _op.__name__.lower()


def apply_inplace(op: type[Function], x: Variable, *options: Any) -> Variable:
    """``op(x, *options)`` written into ``x``, which is returned."""
    in_place = INPLACE[op]

    def write(data: np.ndarray, out: np.ndarray) -> None:
        context = new_context(in_place, (False,) * (1 + len(options)))
        np.copyto(out, in_place.forward(context, data, *options), casting="same_kind")

    return inplace._write(x, in_place, options, write, x._data)
