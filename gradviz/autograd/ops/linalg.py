"""``einsum``: one op for any contraction; its backward is one einsum per operand.

Supported: letter subscripts, with or without ``->`` (implicit output: the letters seen once,
sorted, as PyTorch and NumPy read it). Not supported, with a clear error: ``...`` and a letter
repeated within one operand (a diagonal).
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from gradviz.autograd.errors import InputError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.promotion import same_float_dtype
from gradviz.autograd.variable import Variable


class Outer(Function):
    """``outer(a, b)``: ``a[i] * b[j]`` of two 1-d inputs of one dtype."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.outer(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad @ b if need_a else None), (grad.T @ a if need_b else None)

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        return (grad @ b if need_a else None), (grad.T @ a if need_b else None)


class Einsum(Function):
    """``einsum(equation, *operands)`` (``"bij,bjk->bik"``; ``...`` expanded by ``parse``)."""

    @staticmethod
    def forward(ctx, inputs, output, *arrays):
        ctx.inputs_subs, ctx.output = inputs, output
        ctx.save_for_backward(*arrays)
        return np.einsum(f"{','.join(inputs)}->{output}", *arrays, optimize=len(arrays) > 1)

    @staticmethod
    def backward(ctx, grad):
        arrays = ctx.saved_tensors
        grads: list[Any] = [None, None]
        for k, (subs, array) in enumerate(zip(ctx.inputs_subs, arrays, strict=True)):
            if not ctx.needs_input_grad[k + 2]:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(ctx.inputs_subs) if j != k]
            seen = set(ctx.output).union(*others)
            kept = "".join(c for c in subs if c in seen)  # letters only this operand summed
            terms = ",".join([ctx.output, *others])
            rest = [a for j, a in enumerate(arrays) if j != k]
            g = np.einsum(f"{terms}->{kept}", grad, *rest, optimize=bool(rest))
            missing = tuple(i for i, c in enumerate(subs) if c not in seen)
            grads.append(np.broadcast_to(np.expand_dims(g, missing), array.shape))
        return tuple(grads)

    @staticmethod
    def backward_graph(ctx, grad, out):
        operands = ctx.inputs[2:]
        grads: list[Any] = [None, None]
        for k, (subs, operand) in enumerate(zip(ctx.inputs_subs, operands, strict=True)):
            if not ctx.needs_input_grad[k + 2]:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(ctx.inputs_subs) if j != k]
            seen = set(ctx.output).union(*others)
            kept = "".join(c for c in subs if c in seen)
            rest = [a for j, a in enumerate(operands) if j != k]
            g = Einsum.apply((ctx.output, *others), kept, grad, *rest)
            if len(kept) < len(subs):  # letters only this operand summed: broadcast back
                ones = [n if c in seen else 1 for c, n in zip(subs, operand.shape, strict=True)]
                g = g.reshape(ones).expand(*operand.shape)
            grads.append(g)
        return tuple(grads)


def _expand_ellipsis(text: str, ndims: list[int], equation: str) -> str:
    """``text`` with each ``...`` replaced by letters of its own for the dimensions it stands
    for (aligned from the right across operands, as NumPy and PyTorch do); an implicit output
    puts them first."""
    left, arrow, output = text.partition("->")
    inputs = left.split(",")
    if any(s.count("...") > 1 or s.replace("...", "").count(".") for s in [*inputs, output]):
        raise InputError(f"einsum(): '...' may appear once per operand, got {equation!r}")
    if len(inputs) != len(ndims):
        return text  # the operand count is reported by parse
    spans = [ndim - len(s) + 3 if "..." in s else 0 for s, ndim in zip(inputs, ndims, strict=True)]
    if min(spans) < 0:
        raise InputError(f"einsum(): more subscripts than dimensions in {equation!r}")
    free = [c for c in string.ascii_letters if c not in text]
    width = max(spans)
    fill = "".join(free[:width])
    inputs = [s.replace("...", fill[width - span :]) for s, span in zip(inputs, spans, strict=True)]
    if arrow:
        output = output.replace("...", fill)
    else:
        letters = "".join(inputs)
        output = fill + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1 and c not in fill)
        )
    return f"{','.join(inputs)}->{output}"


def parse(equation: str, ndims: list[int]) -> tuple[tuple[str, ...], str]:
    """The operands' subscripts and the output's, checked against the operands' dims."""
    if not isinstance(equation, str):
        raise InputError(f"einsum(): equation must be a string, got {type(equation).__name__}")
    text = equation.replace(" ", "")
    if "." in text:
        text = _expand_ellipsis(text, ndims, equation)
    left, arrow, output = text.partition("->")
    inputs = tuple(left.split(","))
    letters = "".join(inputs)
    if not all(c.isalpha() and c.isascii() for c in letters + output):
        raise InputError(
            f"einsum(): subscripts must be letters a-z or A-Z, with ',' and '->', got {equation!r}"
        )
    if not arrow:
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    if len(inputs) != len(ndims):
        raise InputError(
            f"einsum(): the equation {equation!r} has {len(inputs)} operand(s), but "
            f"{len(ndims)} were given"
        )
    for position, (subs, ndim) in enumerate(zip(inputs, ndims, strict=True)):
        if len(subs) != ndim:
            raise InputError(
                f"einsum(): operand {position} has {ndim} dimension(s) but its subscripts "
                f"{subs!r} name {len(subs)}"
            )
    unknown = set(output) - set(letters)
    if unknown or len(set(output)) != len(output):
        raise InputError(
            f"einsum(): output subscripts {output!r} must be distinct letters of the operands "
            f"({equation!r})"
        )
    return inputs, output


def _from_sublists(args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """PyTorch's other form, ``einsum(a, [0, 1], b, [1, 2], [0, 2])``: each operand followed
    by its subscripts as integers 0-51 (or ``...``), then the output's, optional."""
    letters = string.ascii_lowercase + string.ascii_uppercase

    def subscripts(sublist: Any) -> str:
        if not isinstance(sublist, list | tuple):
            raise InputError(
                f"einsum(): expected a list of subscripts after each operand, got "
                f"{type(sublist).__name__}"
            )
        text = ""
        for item in sublist:
            if item is Ellipsis:
                text += "..."
            elif isinstance(item, int) and not isinstance(item, bool) and 0 <= item < 52:
                text += letters[item]
            else:
                raise InputError(
                    f"einsum(): subscript in subscript list is not within the valid range "
                    f"[0, 52), got {item!r}"
                )
        return text

    paired = len(args) - len(args) % 2  # an odd count ends with the output's subscripts
    operands = args[0:paired:2]
    equation = ",".join(subscripts(sublist) for sublist in args[1:paired:2])
    if len(args) % 2:
        equation += "->" + subscripts(args[-1])
    return equation, tuple(operands)


def _diagonals(subs: str, operand: Variable, position: int) -> tuple[str, Variable]:
    """A letter repeated within one operand (``"ii->i"``, ``"bii->b"``: a diagonal, a trace)
    taken as recorded ``diagonal`` ops, each diagonal a last dim named by its letter."""
    while len(set(subs)) != len(subs):
        letter = next(c for c in subs if subs.count(c) > 1)
        first, second = subs.index(letter), subs.index(letter, subs.index(letter) + 1)
        size1, size2 = operand.shape[first], operand.shape[second]
        if size1 != size2:
            raise InputError(
                f"einsum(): subscript {letter} is repeated for operand {position} but the sizes "
                f"don't match, {size2} != {size1}"
            )
        operand = operand.diagonal(0, first, second)
        subs = subs[:first] + subs[first + 1 : second] + subs[second + 1 :] + letter
    return subs, operand


def einsum(equation: str, *operands: Any) -> Variable:
    """``einsum("ij,jk->ik", a, b)`` (operands may also come as one list, as in PyTorch)."""
    if not isinstance(equation, str) and isinstance(equation, Variable | np.ndarray):
        equation, operands = _from_sublists((equation, *operands))
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    operands = tuple(o if isinstance(o, Variable) else Variable(o) for o in operands)
    inputs, output = parse(equation, [o.ndim for o in operands])
    pairs = [
        _diagonals(subs, o, i) for i, (subs, o) in enumerate(zip(inputs, operands, strict=True))
    ]
    inputs, operands = tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    for operand in operands[1:]:  # PyTorch multiplies in one dtype: no promotion
        same_float_dtype("einsum()", operand._data, operands[0]._data)
    sizes: dict[str, int] = {}
    for subs, operand in zip(inputs, operands, strict=True):
        for letter, size in zip(subs, operand.shape, strict=True):
            if sizes.setdefault(letter, size) != size:
                raise InputError(
                    f"einsum(): subscript {letter!r} has size {size} in one operand and "
                    f"{sizes[letter]} in another ({equation!r}, shapes "
                    f"{[o.shape for o in operands]})"
                )
    return Einsum.apply(inputs, output, *operands)
