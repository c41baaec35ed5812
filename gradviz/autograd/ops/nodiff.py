"""Ops whose result takes no gradient: comparisons, tests of values, ``all``/``any``, the
bitwise and logical ops of masks, and every index, count or draw computed from values
(``argmax``, the indices of ``sort``/``topk``/``median``/``max_pool``, ``nonzero``, ``unique``,
``searchsorted``, ``bincount``, ``one_hot``, ``multinomial`` ...).

As in PyTorch, they make no graph node (their result has no ``grad_fn``) and cost no more than
their NumPy call. A trace listening is still told of each one (:func:`announce`), so its
pictures show where such a value came from (``(logits.argmax(1) == y).float().mean()``, the
indices of ``h.topk(2)`` drawn as the output of ``TopkIndices`` reading ``h``) and
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
Isclose = _op("Isclose", "Which elements are close to another's.")
LogicalAnd, LogicalOr, LogicalXor, LogicalNot = (
    _op(f"Logical{name}", f"Logical {name.lower()} of the elements (bool).")
    for name in ("And", "Or", "Xor", "Not")
)
DivTrunc = _op("DivTrunc", "Integer division rounded toward zero.")
# indices found from values
Argsort = _op("Argsort", "The order that sorts the values along a dim (``sort``'s indices).")
TopkIndices = _op("TopkIndices", "Where the k largest (or smallest) values along a dim are.")
MedianIndices = _op("MedianIndices", "Where the medians along a dim are.")
ModeIndices = _op("ModeIndices", "Where the most frequent value along a dim last occurs.")
CummaxIndices = _op("CummaxIndices", "Where each running largest value came from.")
CumminIndices = _op("CumminIndices", "Where each running smallest value came from.")
MaxPoolIndices = _op("MaxPoolIndices", "Where the maximum of each pooling window is.")
AdaptiveMaxPoolIndices = _op(
    "AdaptiveMaxPoolIndices", "Where the maximum of each adaptive pooling bin is."
)
Nonzero = _op("Nonzero", "The indices of the nonzero elements.")
Searchsorted = _op("Searchsorted", "Where values would go among sorted ones.")
Bucketize = _op("Bucketize", "The bucket of each value among sorted boundaries.")
Isin = _op("Isin", "Which elements occur among test elements.")
# counts and summaries of values
CountNonzero = _op("CountNonzero", "How many elements (along dims) are nonzero.")
Unique = _op("Unique", "The distinct values, in order.")
UniqueConsecutive = _op("UniqueConsecutive", "The first of each run of equal values.")
UniqueInverse = _op(
    "UniqueInverse", "Where each element went among the values of ``unique`` (or of a run)."
)
UniqueCounts = _op("UniqueCounts", "How many elements went to each value of ``unique`` (or run).")
Bincount = _op("Bincount", "How often each non-negative integer occurs (or its weights' sum).")
Histc = _op("Histc", "The counts of equal bins between a min and a max.")
MatrixRank = _op("MatrixRank", "The number of singular values above a tolerance.")
OneHot = _op("OneHot", "Class indices as one-hot rows.")
# draws whose chances are the values
Multinomial = _op("Multinomial", "Category indices drawn with the values as weights.")
Bernoulli = _op("Bernoulli", "Ones drawn with the values as chances, else zeros.")
Poisson = _op("Poisson", "Counts drawn with the values as Poisson rates.")
Normal = _op("Normal", "Draws of normal distributions with these means and deviations.")

#: the comparison ops by operator symbol
COMPARISONS = {"==": Eq, "!=": Ne, "<": Lt, "<=": Le, ">": Gt, ">=": Ge}
#: the bitwise ops of masks by operator symbol
BITWISE = {
    symbol: _op(name, f"``{symbol}`` of bool or integer values")
    for symbol, name in (("&", "BitwiseAnd"), ("|", "BitwiseOr"), ("^", "BitwiseXor"),
                         ("~", "BitwiseNot"))
}  # fmt: skip
#: the names of these ops, as a trace records them (every op made by ``_op`` above)
NAMES = frozenset(op.__name__ for op in NoGradient.__subclasses__())


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
