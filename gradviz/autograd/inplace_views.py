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
