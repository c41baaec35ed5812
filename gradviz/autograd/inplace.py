"""In-place ops with PyTorch's semantics: ``with no_grad(): w -= lr * w.grad`` trains.

A write keeps the Variable (the same object). What else happens depends on whether it is
recorded, which is when grad mode is on and the Variable or an operand requires grad:

- Not recorded: NumPy writes into the array with ``out=``; ``requires_grad``, leaf status and
  ``.grad`` stay as they were.
- Recorded: a leaf that requires grad refuses, with PyTorch's error. Anything else is rebased as
  PyTorch rebases ``grad_fn``: its history moves to a new Variable holding the value before the
  write (under the old id), the write is recorded as an op on that value (``Add_``: the op's name
  with a trailing underscore), and the Variable stands for the op's output under a new id.

Every write bumps a version counter, shared by Variables that share data (``detach``). The
backward engine compares it with the time each node ran: a node whose saved arrays were
overwritten raises PyTorch's "modified by an inplace operation" error; a node that used the
Variable before a recorded write is pointed at the history it really used.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd import grad_mode, hooks, inplace_shown, ops, rng
from gradviz.autograd.errors import (
    IndexRangeError,
    InplaceError,
    InputError,
    OperandError,
    ShapeError,
)
from gradviz.autograd.function import Function
from gradviz.autograd.grad_mode import _state as _grad_state
from gradviz.autograd.inplace_ops import (  # (the recorded ops; inplace.Add_ as before)
    INPLACE_OPS,
    Add_,
    Clamp_,
    Copy_,
    Div_,
    Fill_,
    IndexPut_,
    MaskedFill_,
    Mul_,
    Neg_,
    Normal_,
    Pow_,
    Sub_,
    Uniform_,
    Zero_,
)
from gradviz.autograd.unrecorded import numpy_operand
from gradviz.autograd.variable import WRITES, Variable, _ids, as_array, from_op


class VersionCounter:
    """How often, and when, an array was written in place (one per array, shared by aliases).

    Times are taken from the Variable id counter, so "after node N ran" is "greater than the id
    of N's output". ``written`` is the time of the latest write; ``rebases`` lists
    ``(time, owner, before, node)`` for each time ``owner`` got a new history (``node``, a
    recorded write; None for ``detach_`` or a write made through a view): ``before`` is the
    Variable that stood for ``owner`` until then. ``rewritten`` is the time of the latest
    rebase by a recorded write: a view made before it and read after it is stale. ``stamp`` is
    the latest of the times: the engine's one test of "anything to look at".
    """

    __slots__ = (
        "array", "last_op", "rebases", "recent", "rewritten", "stamp", "version", "written"
    )  # fmt: skip

    def __init__(self, data: np.ndarray) -> None:
        self.array = data
        self.version = 0
        self.stamp = self.written = self.rewritten = 0
        self.recent: deque[int] = deque(maxlen=64)  # times of the latest writes
        self.rebases: list[tuple[int, Variable, Variable, Function | None]] = []
        self.last_op = ""

    def version_at(self, time: int) -> int:
        """The version the array had at ``time`` (a floor when writes were forgotten)."""
        return self.version - sum(1 for s in self.recent if s > time)


def counter(variable: Variable) -> VersionCounter:
    """The version counter of ``variable``'s data, made on first use."""
    vc = variable._vc
    if vc is None:
        vc = variable._vc = VersionCounter(variable._data)
    return vc


def view_of(base: Variable, out: Variable) -> Variable:
    """``out``, made by a view op (reshape, transpose, basic indexing) from ``base``: when it
    shares ``base``'s memory it shares its version counter too, as PyTorch's views do."""
    if out._data.base is not None and np.may_share_memory(out._data, base._data):
        out._vc = counter(base)
    return out


def bump(variable: Variable, op: str) -> VersionCounter:
    """Count one in-place write of ``variable`` by ``op`` (``"sub_"``)."""
    vc = variable._vc
    if vc is None:
        vc = variable._vc = VersionCounter(variable._data)
    vc.version += 1
    vc.stamp = vc.written = WRITES.written = stamp = next(_ids)
    vc.recent.append(stamp)
    vc.last_op = op
    return vc


def wrote(variable: Variable, op: str) -> None:
    """An unrecorded in-place write of ``variable``: bump its version and tell the hooks."""
    bump(variable, op)
    if hooks.ACTIVE:
        for hook in hooks.ACTIVE:
            hook.inplace(variable, op)


# --------------------------------------------------------------------------- the dispatcher


def _write(
    target: Variable, op: type[Function], args: tuple[Any, ...], write: Callable, *operands: Any
) -> Variable:
    """Run ``op`` on ``target`` in place: recorded (see the module docstring), or unrecorded as
    ``write(*operands, out=target._data)`` (a NumPy ufunc, or a helper of the same shape)."""
    if grad_mode.is_grad_enabled() and (target.requires_grad or _any_requires_grad(args)):
        _record(target, op, args)
        return target
    seen = inplace_shown.shown(target, args) if hooks.ACTIVE else None  # (a copy if seen)
    try:
        write(*operands, out=target._data)
    except (TypeError, ValueError, IndexError, OverflowError) as error:  # NumPy's refusals
        raise _numpy_error(op, target, error, operands) from None
    if seen is not None:
        inplace_shown.show(target, op, args, seen)
    wrote(target, _METHOD[op])
    return target


def _wrote_directly(target: Variable, method: str, ufunc: np.ufunc, other: Any) -> bool:
    """Write ``ufunc(target, other)`` into ``target`` with NumPy alone when the write records
    nothing and NumPy's result is the op's (``unrecorded.numpy_operand``): the unrecorded
    write at NumPy's cost plus its version count. Whether it did (else: the general way)."""
    if target.requires_grad and _grad_state.enabled:
        return False
    x = target._data
    y = numpy_operand(x, other)
    if y is None:
        return False
    try:
        ufunc(x, y, out=x)
    except (ValueError, OverflowError):  # NumPy refused before writing: the general way says why
        return False
    bump(target, method)
    return True


def _any_requires_grad(args: tuple[Any, ...]) -> bool:
    for arg in args:
        if isinstance(arg, Variable) and arg.requires_grad:
            return True
    return False


def _record(target: Variable, op: type[Function], args: tuple[Any, ...]) -> None:
    method = _method(op)
    node = target._node
    if node is None and target.requires_grad:
        raise InplaceError(
            f"a leaf Variable that requires grad is being used in an in-place operation "
            f"({method}). Update parameters inside `with gradviz.no_grad():`, or use the "
            "out-of-place op"
        )
    if not target._data.flags.writeable:
        raise _read_only(target, method)
    chain = _views(target, method)
    for variable in (target, *(base for _, base, _ in chain)):
        refusal = getattr(variable._node, "inplace_refusal", None)  # a module's hooked input
        if refusal:
            raise InplaceError(refusal.format(method=method))
    # Through views (h[i] += 1 is t = h[i]; t += 1; h[i] = t): the write lands in the bases'
    # memory, so each base gets the history PyTorch gives it: h = IndexPut_(h, i, t).
    snapshots = [base._data.copy() for _, base, _ in chain]
    before = _stand_in(target, target._data.copy())
    args = tuple(_as_read(a, target, before) for a in args)  # h.mul_(h): the old h twice
    op.apply(before, *args, _into=target)
    for (view, base, index), snapshot in zip(chain, snapshots, strict=True):
        before = _stand_in(base, snapshot)
        out = IndexPut_.apply(before, index, view)
        _rebase(base, before, out._id, None)
        base._node, base._id, base.requires_grad = out._node, out._id, True


def _as_read(arg: Any, target: Variable, before: Variable) -> Any:
    """An operand of a recorded write as the op reads it: the value before the write. The
    target itself is ``before``; an operand sharing its memory (``h[0].mul_(h[0])``: another
    view of ``h``) is a copy with its history, as the write would change what the op saved."""
    if arg is target:
        return before
    if isinstance(arg, Variable) and np.may_share_memory(arg._data, target._data):
        return _stand_in(arg, arg._data.copy())
    return arg


def _views(target: Variable, method: str) -> list[tuple[Variable, Variable, Any]]:
    """``(view, base, index)`` from ``target`` up through the views it looks into: ``index``
    puts the view's elements in the base (``base[index] = view``), an index view's own index
    or, for any other view (a transpose, a diagonal), integer arrays read from the memory."""
    chain = []
    view, base = target, _viewed(target)
    while base is not None:
        if isinstance(view._node, ops.Split):
            raise InplaceError(
                f"{method}: an output of Split is a view and is being modified inplace. This "
                "view is the output of a function that returns multiple views (split, chunk). "
                "Such functions do not allow the output views to be modified inplace. You "
                "should replace the inplace operation by an out-of-place one"
            )
        if base._node is None and base.requires_grad:
            raise InplaceError(
                f"a view of a leaf Variable that requires grad is being used in an in-place "
                f"operation ({method}). Update it inside `with gradviz.no_grad():`"
            )
        node = view._node
        index = node.inputs[1] if isinstance(node, ops.Index) else None
        chain.append((view, base, index or _places(base._data, view._data, method)))
        view, base = base, _viewed(base)
    return chain


def _read_only(target: Variable, method: str) -> InplaceError:
    """The refusal of a write into a read-only array: an expanded Variable's (or overlapping
    windows'), in PyTorch's words, or one made from read-only memory."""
    data = target._data
    if np.unique(_offsets(data, data)).size < data.size:  # expanded, or unfolded windows
        return _overlapping(method)
    return InplaceError(f"{method}: the Variable's array is read-only")


def _overlapping(method: str) -> InplaceError:
    return InplaceError(
        f"{method}: unsupported operation: more than one element of the written-to tensor "
        "refers to a single memory location. Please clone() the tensor before performing the "
        "operation."
    )


def _places(base: np.ndarray, view: np.ndarray, method: str) -> tuple[np.ndarray, ...]:
    """Where each element of ``view`` (an array looking into ``base``'s memory) sits in
    ``base``: integer index arrays of the view's shape, so ``base[index]`` is ``view``."""
    at_base, at_view = _offsets(base, base), _offsets(view, base).reshape(-1)
    order = np.argsort(at_base, axis=None, kind="stable")
    ordered = at_base.reshape(-1)[order]
    found = np.searchsorted(ordered, at_view).clip(0, max(ordered.size - 1, 0))
    flat = order[found]
    if (
        np.unique(ordered).size < ordered.size  # a broadcast base: one place, many elements
        or np.unique(flat).size < flat.size  # an overlapping view (unfold)
        or not np.array_equal(ordered[found], at_view)
    ):
        raise _overlapping(method)
    return np.unravel_index(flat.reshape(view.shape), base.shape)


def _offsets(array: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """The byte offset of each element of ``array`` from the start of ``origin``'s data."""
    start = array.__array_interface__["data"][0] - origin.__array_interface__["data"][0]
    offsets = np.full(array.shape, start, dtype=np.int64)
    for axis, (length, stride) in enumerate(zip(array.shape, array.strides, strict=True)):
        shape = [1] * array.ndim
        shape[axis] = length
        offsets += (np.arange(length, dtype=np.int64) * stride).reshape(shape)
    return offsets


def _viewed(target: Variable) -> Variable | None:
    """The Variable whose memory ``target`` (the output of a view op) looks into, if any."""
    node = target._node
    if isinstance(node, _VIEW_OPS) and np.may_share_memory(target._data, node.parents[0]._data):
        return node.parents[0]
    return None


_VIEW_OPS = (ops.Index, ops.Reshape, ops.Transpose, ops.Permute, ops.Split, *ops.linalg_more.VIEWS)


def _stand_in(target: Variable, data: np.ndarray) -> Variable:
    """A Variable with ``target``'s history (node, id, flags) and ``data``, to take it over."""
    before = from_op(data, target._node)
    before.requires_grad = target.requires_grad
    before.name = target.name
    before._id = target._id
    before._vc = counter(target)
    return before


def _rebase(target: Variable, before: Variable, time: int, node: Function | None) -> None:
    """From ``time`` on, ``before`` stands for ``target``'s old history; ``target`` is new
    (rewritten by ``node``, or None when its value did not change here)."""
    vc = counter(target)
    vc.rebases.append((time, target, before, node))
    vc.stamp = max(vc.stamp, time)
    WRITES.written = max(WRITES.written, time)
    if node is not None:
        vc.rewritten = WRITES.rewritten = time
    target._id = next(_ids)


def commit(target: Variable, data: np.ndarray, node: Function) -> Variable:
    """Write a recorded op's result into ``target`` and make ``target`` stand for its output."""
    method = _method(type(node))
    if data.shape != target.shape:
        raise ShapeError(
            f"{method}: output with shape {target.shape} doesn't match the broadcast shape "
            f"{data.shape}"
        )
    if not np.can_cast(data.dtype, target.dtype, "same_kind"):
        raise OperandError(
            f"{method}: result type {data.dtype} can't be cast to the desired output type "
            f"{target.dtype}"
        )
    np.copyto(target._data, data, casting="unsafe")
    # A saved result is the target's array from now on (as in PyTorch), so later writes count.
    node.saved_tensors = tuple(target._data if a is data else a for a in node.saved_tensors)
    _rebase(target, node.parents[0], bump(target, method).written, node)
    target._node = node
    target.requires_grad = True
    return target


def _method(op: type[Function]) -> str:
    """The method's name: ``Add_`` -> ``add_``, ``MaskedFill_`` -> ``masked_fill_``."""
    return _METHOD[op]


_METHOD = {
    op: "".join("_" + c.lower() if c.isupper() else c for c in op.__name__).lstrip("_")
    for op in INPLACE_OPS
}
_METHOD[IndexPut_] = "__setitem__"


def _numpy_error(
    op: type[Function], target: Variable, error: Exception, operands: tuple[Any, ...]
) -> Exception:
    method = _method(op)
    if isinstance(error, OverflowError):  # `int8_variable += 300`: PyTorch wraps it around
        return OperandError(f"{method}: {error} (in-place ops keep the Variable's dtype)")
    if isinstance(error, IndexError):  # an index out of range, a mask of the wrong shape
        index = operands[0] if operands else None
        return IndexRangeError(f"{method}: {ops.index_message(error, index, target.shape)}")
    if "read-only" in str(error):
        return _read_only(target, method)
    if isinstance(error, TypeError) and "cast" in str(error):
        return OperandError(
            f"{method}: the result can't be cast to the desired output type {target.dtype} "
            f"(in-place ops keep the Variable's dtype)"
        )
    if isinstance(error, TypeError):
        return OperandError(f"{method}: {error}")
    return ShapeError(f"{method}: {error} (the Variable has shape {target.shape})")


def _operand(method: str, value: Any) -> Any:
    """Variables, arrays and numbers stay (as in out-of-place ops); lists become arrays."""
    if type(value) is np.ndarray or isinstance(value, Variable | int | float | np.number):
        return value
    if isinstance(value, np.bool_ | list | tuple):
        return as_array(value)
    raise OperandError(
        f"{method}: expected a number, a NumPy array or a Variable, got {type(value).__name__}"
    )


def _data(value: Any) -> Any:
    return value._data if isinstance(value, Variable) else value


# The unrecorded writes that are not a NumPy ufunc, called as ``write(*operands, out=array)``.
def _fill(value: Any, out: np.ndarray) -> None:
    out.fill(value)


def _copy(src: Any, out: np.ndarray) -> None:
    np.copyto(out, src, casting="unsafe")


def _masked(mask: np.ndarray, value: Any, out: np.ndarray) -> None:
    np.copyto(out, value, where=mask)


def _put(index: Any, value: Any, out: np.ndarray) -> None:
    out[index] = value


# ------------------------------------------------------------------------ the public methods


def add_(target: Variable, other: Any, alpha: float = 1) -> Variable:
    """``target += alpha * other`` in place."""
    if alpha == 1 and _wrote_directly(target, "add_", np.add, other):
        return target
    return _add(target, Add_, other, alpha)


def sub_(target: Variable, other: Any, alpha: float = 1) -> Variable:
    """``target -= alpha * other`` in place."""
    if alpha == 1 and _wrote_directly(target, "sub_", np.subtract, other):
        return target
    return _add(target, Sub_, other, -alpha)


def _add(target: Variable, op: type[Function], other: Any, alpha: float) -> Variable:
    if (alpha == 1 or alpha == -1) and _wrote_directly(
        target, _METHOD[op], np.add if alpha == 1 else np.subtract, other
    ):
        return target
    other = _operand(_METHOD[op], other)
    o = _data(other)
    args = (other, alpha)
    if alpha == 1:
        return _write(target, op, args, np.add, target._data, o)
    if alpha == -1:
        return _write(target, op, args, np.subtract, target._data, o)
    return _write(target, op, args, np.add, target._data, alpha * o)


def _binary(op: type[Function], ufunc: np.ufunc) -> Callable[[Variable, Any], Variable]:
    method = _METHOD[op]

    def apply(target: Variable, other: Any) -> Variable:
        if _wrote_directly(target, method, ufunc, other):
            return target
        other = _operand(method, other)
        return _write(target, op, (other,), ufunc, target._data, _data(other))

    apply.__name__ = method
    apply.__doc__ = f"``target`` {ufunc.__name__} ``other``, in place."
    return apply


mul_ = _binary(Mul_, np.multiply)
div_ = _binary(Div_, np.true_divide)
pow_ = _binary(Pow_, np.power)


def neg_(target: Variable) -> Variable:
    """``-target`` in place."""
    return _write(target, Neg_, (), np.negative, target._data)


def clamp_(target: Variable, min: float | None = None, max: float | None = None) -> Variable:
    """Clamp into ``[min, max]`` in place."""
    if min is None and max is None:
        raise OperandError("clamp_: at least one of 'min' or 'max' must not be None")
    return _write(target, Clamp_, (min, max), np.clip, target._data, min, max)


def _scalar(method: str, value: Any) -> np.ndarray:
    value = _data(_operand(method, value))
    if np.size(value) != 1:
        raise ShapeError(
            f"{method} only supports a 0-dimensional value, got one of shape {np.shape(value)}"
        )
    return np.reshape(value, ())


def fill_(target: Variable, value: Any) -> Variable:
    """Set every element to ``value`` (a number, or a 0-d Variable, whose gradient is the sum)."""
    value = _operand("fill_", value)
    if np.ndim(_data(value)) != 0 and not isinstance(value, int | float):
        raise ShapeError(
            f"fill_ only supports a 0-dimensional value, got one of shape {np.shape(_data(value))}"
        )
    return _write(target, Fill_, (value,), _fill, _data(value))


def zero_(target: Variable) -> Variable:
    """Set every element to 0."""
    return _write(target, Zero_, (0,), _fill, 0)


def copy_(target: Variable, src: Any) -> Variable:
    """Copy ``src`` (broadcast to the shape, cast to the dtype) into ``target``."""
    src = _operand("copy_", src)
    return _write(target, Copy_, (src,), _copy, _data(src))


def uniform_(target: Variable, a: float = 0.0, b: float = 1.0) -> Variable:
    """Fill with draws from the uniform distribution on ``[a, b)``."""
    values = rng.default_generator().uniform(a, b, target.shape)
    return _write(target, Uniform_, (values,), _copy, values)


def normal_(target: Variable, mean: float = 0.0, std: float = 1.0) -> Variable:
    """Fill with draws from the normal distribution ``N(mean, std**2)``."""
    if std < 0:
        raise OperandError(f"normal_ expects std >= 0.0, but found std {std}")
    values = rng.default_generator().normal(mean, std, target.shape)
    return _write(target, Normal_, (values,), _copy, values)


def masked_fill_(target: Variable, mask: Any, value: Any) -> Variable:
    """Where ``mask`` is true, set ``value`` (a number); ``mask`` broadcasts to the shape."""
    mask = np.asarray(_data(mask))
    if mask.dtype != np.bool_:
        raise OperandError(
            f"masked_fill_ only supports boolean masks, but got mask of dtype {mask.dtype}"
        )
    if isinstance(value, Variable) and value.requires_grad:
        raise OperandError(
            "masked_fill_: a value that requires grad is not supported; use gradviz.where"
        )
    value = _scalar("masked_fill_", value)
    if value.dtype.kind == "f" and target._data.dtype.kind in "biu":  # PyTorch casts it in
        value = value.astype(target._data.dtype)
    return _write(target, MaskedFill_, (mask, value), _masked, mask, value)


def setitem(target: Variable, index: Any, value: Any) -> None:
    """``target[index] = value``: slices, integer arrays and boolean masks."""
    index = ops.normalize_index(index)
    value = _operand("__setitem__", value)
    source = np.asarray(_data(value))
    advanced = any(
        isinstance(i, np.ndarray) for i in (index if isinstance(index, tuple) else (index,))
    )
    if advanced and source.ndim and source.dtype != target._data.dtype:
        raise InputError(  # (PyTorch's index_put; a number or a slice's copy converts)
            f"Index put requires the source and destination dtypes match, got "
            f"{target._data.dtype} for the destination and {source.dtype} for the source."
        )
    _write(target, IndexPut_, (index, value), _put, index, _data(value))


def detach_(target: Variable) -> Variable:
    """Cut ``target`` from the graph in place: it becomes a leaf that does not require grad.

    Ops that used it before keep its history (it moves to a stand-in, as in a recorded write).
    """
    if target._node is not None:
        _rebase(target, _stand_in(target, target._data), next(_ids), None)
    target._node = None
    target.requires_grad = False
    return target
