"""Ops whose result takes no gradient: comparisons, tests of values, ``all``/``any``,
``argmax``/``argmin``, the bitwise ops of masks.

As in PyTorch, they make no graph node (their result has no ``grad_fn``) and cost no more than
their NumPy call. A trace listening is still told of each one (:func:`announce`), so its
pictures show where such a value came from (``(logits.argmax(1) == y).float().mean()``) and
``gradviz check`` can say that a parameter reaches the loss only through one of them.
"""

from __future__ import annotations

from typing import Any

from gradviz.autograd import hooks
from gradviz.autograd.function import Function, new_context
from gradviz.autograd.variable import Variable


class NoGradient(Function):
    """An op with no backward, which a trace sees: its result needs no gradient."""


def _op(name: str, what: str) -> type[NoGradient]:
    return type(name, (NoGradient,), {"__doc__": what, "__module__": __name__})


Eq, Ne, Lt, Le, Gt, Ge = (
    _op(name, f"``a {symbol} b``, elementwise: a bool result")
    for name, symbol in (("Eq", "=="), ("Ne", "!="), ("Lt", "<"), ("Le", "<="), ("Gt", ">"),
                         ("Ge", ">="))
)  # fmt: skip
Isnan = _op("Isnan", "Which elements are NaN.")
Isinf = _op("Isinf", "Which elements are infinite.")
Isfinite = _op("Isfinite", "Which elements are finite.")
All = _op("All", "Whether every element (along a dim) is nonzero.")
Any_ = _op("Any", "Whether some element (along a dim) is nonzero.")
Argmax = _op("Argmax", "Indices of the largest values.")
Argmin = _op("Argmin", "Indices of the smallest values.")

#: the comparison ops by operator symbol
COMPARISONS = {"==": Eq, "!=": Ne, "<": Lt, "<=": Le, ">": Gt, ">=": Ge}
#: the bitwise ops of masks by operator symbol
BITWISE = {
    symbol: _op(name, f"``{symbol}`` of bool or integer values")
    for symbol, name in (("&", "BitwiseAnd"), ("|", "BitwiseOr"), ("^", "BitwiseXor"),
                         ("~", "BitwiseNot"))
}  # fmt: skip
#: the names of these ops, as a trace records them
NAMES = frozenset(
    op.__name__
    for op in (
        *COMPARISONS.values(),
        *BITWISE.values(),
        Isnan,
        Isinf,
        Isfinite,
        All,
        Any_,
        Argmax,
        Argmin,
    )
)


def announce(op: type[NoGradient], args: tuple[Any, ...], out: Variable) -> Variable:
    """``out``, which ``op`` made from ``args`` without a node; the hooks listening are told
    (one truth test when none listens)."""
    active = hooks.ACTIVE
    if active:
        ctx = new_context(op, (False,) * len(args))
        ctx.inputs = args
        ctx.parents = tuple(a for a in args if isinstance(a, Variable))
        for hook in active:
            hook.op(ctx, args, out)
    return out
