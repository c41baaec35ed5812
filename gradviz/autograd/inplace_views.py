"""The in-place shape methods: ``unsqueeze_``, ``squeeze_``, ``t_``, ``transpose_``,
``swapaxes_``/``swapdims_``, as PyTorch has them (the "Generating Names" tutorial's
``target_line_tensor.unsqueeze_(-1)``).

They change the Variable's shape, not its values: the Variable (the same object) then holds
the out-of-place op's result, a view of the same memory, and its version is bumped, as in
PyTorch. Recorded (grad mode on and the Variable requires grad), its history moves to a
stand-in as for any recorded write, and the op (``Reshape``, ``Transpose``) is recorded on it; a
leaf that requires grad refuses, with PyTorch's error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from gradviz.autograd import grad_mode, inplace
from gradviz.autograd.errors import InplaceError, InputError

if TYPE_CHECKING:
    from gradviz.autograd.variable import Variable


def _reshape_in_place(
    target: Variable, method: str, make: Callable[[Variable], Variable]
) -> Variable:
    """Make ``target`` stand for ``make(target)``; ``method`` names the write."""
    recorded = target.requires_grad and grad_mode.is_grad_enabled()
    if not recorded:
        target._data = make(target)._data
        inplace.wrote(target, method)
        return target
    if target._node is None:
        raise InplaceError(
            f"a leaf Variable that requires grad is being used in an in-place operation "
            f"({method}). Change its shape inside `with gradviz.no_grad():`, or use the "
            "out-of-place op"
        )
    before = inplace._stand_in(target, target._data)
    out = make(before)  # recorded as any op; raises on a bad dim before anything changed
    inplace.bump(target, method)
    inplace._rebase(target, before, out._id, None)
    target._data, target._node, target._id = out._data, out._node, out._id
    return target


def unsqueeze_(target: Variable, dim: int) -> Variable:
    """Insert a size-1 dim at ``dim``, in place."""
    return _reshape_in_place(target, "unsqueeze_", lambda v: v.unsqueeze(dim))


def squeeze_(target: Variable, dim: Any = None) -> Variable:
    """Drop size-1 dims (``dim``, or all of them), in place."""
    return _reshape_in_place(target, "squeeze_", lambda v: v.squeeze(dim))


def transpose_(target: Variable, dim0: int, dim1: int) -> Variable:
    """Swap dims ``dim0`` and ``dim1``, in place."""
    return _reshape_in_place(target, "transpose_", lambda v: v.transpose(dim0, dim1))


def t_(target: Variable) -> Variable:
    """Transpose a matrix in place (a 0-d or 1-d Variable stays as it is)."""
    if target.ndim > 2:
        raise InputError(f"t_() expects a tensor with <= 2 dimensions, but self is {target.ndim}D")
    return _reshape_in_place(target, "t_", lambda v: v.t())


def fill_diagonal_(target: Variable, fill_value: Any, wrap: bool = False) -> Variable:
    """Set the main diagonal (every dim of equal length past 2-D) to ``fill_value`` in place,
    as a masked fill (recorded as ``MaskedFill_``); ``wrap``: a tall matrix's diagonal starts
    again after N+1 rows, as NumPy's ``fill_diagonal``."""
    shape = target.shape
    if len(shape) < 2:
        raise InputError(f"fill_diagonal_: dimensions must larger than 1 (got shape {shape})")
    if len(shape) > 2 and len(set(shape)) > 1:
        raise InputError(
            f"fill_diagonal_: all dimensions of input must be of equal length (got shape {shape})"
        )
    mask = np.zeros(shape, dtype=bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    try:
        return inplace.masked_fill_(target, mask, fill_value)
    except InplaceError as error:  # (a leaf that requires grad: name the method called)
        raise InplaceError(str(error).replace("masked_fill_", "fill_diagonal_")) from None
