"""PyTorch's ``grad_fn._saved_*`` attributes: what a node saved for backward, by PyTorch's names.

``(x ** 2).grad_fn._saved_self`` is ``x`` itself, ``._saved_exponent`` is ``2``;
``x.exp().grad_fn._saved_result`` is a new Variable equal to the output (no grad). Each name is a
property on the op's class, made here from a recipe and set from one table, so ``dir(node)``
lists it and an op call pays nothing: the values are read from what forward already keeps
(``saved_tensors``, ``inputs``) only when asked for. After a backward without
``retain_graph``, a saved tensor raises PyTorch's error; numbers and sizes stay readable, as in
PyTorch. A name of one of PyTorch's variants only (``_saved_dim`` of ``SumBackward1``, for
``x.sum(1)``) raises AttributeError on the other (``x.sum()``), so ``hasattr`` tells them apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd.errors import BackwardError
from gradviz.autograd.function import Function
from gradviz.autograd.ops import arithmetic, elementwise, pointwise, reductions, shape
from gradviz.autograd.variable import Variable, from_op

Recipe = Callable[[Function], Any]


def _freed_check(node: Function, attr: str) -> None:
    """Raise PyTorch's error when the engine freed ``node``'s saved arrays."""
    if node.saved_tensors is None:
        raise BackwardError(
            "Trying to backward through the graph a second time (or directly access saved "
            "tensors after they have already been freed). Saved intermediate values of the "
            "graph are freed when you call .backward() or autograd.grad(). Specify "
            "retain_graph=True if you need to backward through the graph a second time or if "
            f"you need to access saved tensors after calling backward. (gradviz: "
            f"{type(node).__name__}.{attr} read after its backward ran)"
        )


def _absent(node: Function, attr: str, why: str) -> AttributeError:
    return AttributeError(f"'{type(node).__name__}' node has no attribute '{attr}': {why}")


def _tensor(value: Any) -> Any:
    """A saved input as PyTorch gives it: the Variable itself; a number an op saved as a
    tensor (``x * 2`` saves ``tensor(2)``) or a constant array as a new Variable."""
    if value is None or isinstance(value, Variable):
        return value
    return from_op(np.asarray(value), None)


def _data(value: Any) -> np.ndarray:
    return value._data if isinstance(value, Variable) else np.asarray(value)


def sizes_of(value: Any) -> tuple[int, ...]:
    return tuple(int(n) for n in np.shape(_data(value)))


def _strides(array: np.ndarray) -> tuple[int, ...]:
    """PyTorch's strides (in elements) of an array (NumPy's are in bytes)."""
    return tuple(int(s) // array.itemsize for s in array.strides)


def _kept(node: Function, slot: int) -> bool:
    """Whether forward saved its array in ``slot`` (it saves what backward will read only)."""
    saved = node.saved_tensors
    return slot < len(saved) and saved[slot] is not None


def _number(value: Any) -> bool:
    return not isinstance(value, Variable | np.ndarray)


def argument(node: Function, index: int, default: Any = None) -> Any:
    inputs = node.inputs
    return inputs[index] if index < len(inputs) else default


# -- the recipes: each reads one value of a node ---------------------------------------------


def saved_input(index: int, slot: int | None = None) -> Recipe:
    """Input ``index`` (a saved tensor: freed by backward); None when forward did not save
    it (``saved_tensors[slot]`` is None: ``x * c`` keeps no ``x`` when ``c`` needs no grad)."""

    def read(node: Function) -> Any:
        if slot is not None and not _kept(node, slot):
            return None
        return _tensor(node.inputs[index])

    return read


def read_only(array: np.ndarray) -> Variable:
    """A new Variable of no grad on a read-only view of a saved array: an in-place write into
    it is refused rather than changing what backward (or a parameter) reads."""
    view = array.view()
    view.flags.writeable = False
    return from_op(view, None)


def _result(node: Function) -> Variable:
    """The output forward saved (Exp, Tanh, Sigmoid, Relu), as a new Variable of no grad."""
    return read_only(node.saved_tensors[0])


def constant(value: Any) -> Recipe:
    return lambda node: value


def _input_sizes(index: int) -> Recipe:
    return lambda node: sizes_of(node.inputs[index])


def _input_strides(index: int) -> Recipe:
    return lambda node: _strides(_data(node.inputs[index]))


def _mul_slots(node: Function) -> tuple[int, int]:
    """(self, other) argument slots of a Mul: ``2 * x`` is PyTorch's ``x.mul(2)``."""
    return (1, 0) if _number(node.inputs[0]) else (0, 1)


def _mul_operand(which: int) -> Recipe:
    def read(node: Function) -> Any:
        slot = _mul_slots(node)[which]
        if not _kept(node, slot):
            return None
        return _tensor(node.inputs[slot])

    return read


def _pow_operand(index: int, attr: str) -> Recipe:
    """Base or exponent of a Pow: a number as is (kept after backward), a tensor freed."""

    def read(node: Function) -> Any:
        value = node.inputs[index]
        if _number(value):
            return value
        _freed_check(node, attr)
        return _tensor(value)

    return read


def _pow_result(node: Function) -> Any:
    """``base ** exponent`` of a tensor exponent (PowBackward1/2), freed by backward."""
    if _number(node.inputs[1]):
        raise _absent(node, "_saved_result", "a tensor to a number's power saves no result")
    _freed_check(node, "_saved_result")
    base, exponent, out = node.saved_tensors
    if out is None:  # forward keeps it for the exponent's gradient only; PyTorch always
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = arithmetic._power(base, exponent, None)
    return from_op(out, None)


def _dims(node: Function) -> tuple[int, ...]:
    axis = argument(node, 1)
    if axis is None:
        raise _absent(node, "_saved_dim", "saved only when the reduction was given a dim")
    return (int(axis),) if isinstance(axis, int | np.integer) else tuple(int(a) for a in axis)


def _keepdim(node: Function) -> bool:
    if argument(node, 1) is None:
        raise _absent(node, "_saved_keepdim", "saved only when the reduction was given a dim")
    return bool(argument(node, 2, False))


def _int_arg(index: int) -> Recipe:
    """An int argument (softmax's dim, transpose's dims), as PyTorch keeps it."""
    return lambda node: int(argument(node, index, -1))


def _numel(node: Function) -> int:
    return int(_data(node.inputs[0]).size)


def _weight_t(node: Function) -> Variable:
    """Linear's ``weight.T`` (AddmmBackward0's ``mat2``), a new Variable of no grad."""
    return read_only(node.saved_tensors[1].T)


def _weight_t_sizes(node: Function) -> tuple[int, ...]:
    return sizes_of(node.inputs[1])[::-1]


def _weight_t_strides(node: Function) -> tuple[int, ...]:
    return _strides(_data(node.inputs[1]))[::-1]


# -- the table: PyTorch's names for each op class ----------------------------------------------

#: For each op class, its ``_saved_*`` names (without the prefix), each with its recipe and
#: whether it is a saved tensor (freed by backward: reading it then raises).
TABLE: dict[type[Function], dict[str, tuple[Recipe, bool]]] = {
    arithmetic.Add: {"alpha": (constant(1), False)},
    arithmetic.Sub: {"alpha": (constant(1), False)},
    arithmetic.Mul: {"self": (_mul_operand(0), True), "other": (_mul_operand(1), True)},
    arithmetic.Div: {"self": (saved_input(0, slot=0), True), "other": (saved_input(1), True)},
    arithmetic.Pow: {
        "self": (_pow_operand(0, "_saved_self"), False),
        "exponent": (_pow_operand(1, "_saved_exponent"), False),
        "result": (_pow_result, False),
    },
    elementwise.Exp: {"result": (_result, True)},
    elementwise.Log: {"self": (saved_input(0), True)},
    elementwise.Tanh: {"result": (_result, True)},
    elementwise.Sigmoid: {"result": (_result, True)},
    elementwise.Relu: {"result": (_result, True)},
    elementwise.Sqrt: {"result": (_result, True)},
    elementwise.Abs: {"self": (saved_input(0), True)},
    pointwise.Sin: {"self": (saved_input(0), True)},
    pointwise.Cos: {"self": (saved_input(0), True)},
    elementwise.Softmax: {"dim": (_int_arg(1), False), "result": (_result, True)},
    elementwise.LogSoftmax: {"dim": (_int_arg(1), False), "result": (_result, True)},
    reductions.Sum: {
        "self_sym_sizes": (_input_sizes(0), False),
        "dim": (_dims, False),
        "keepdim": (_keepdim, False),
    },
    reductions.Mean: {
        "self_sym_sizes": (_input_sizes(0), False),
        "self_sym_numel": (_numel, False),
        "dim": (_dims, False),
        "keepdim": (_keepdim, False),
    },
    arithmetic.MatMul: {  # MmBackward0's names (matrix @ matrix)
        "self": (saved_input(0), True),
        "mat2": (saved_input(1), True),
        "self_sym_sizes": (_input_sizes(0), False),
        "mat2_sym_sizes": (_input_sizes(1), False),
        "self_sym_strides": (_input_strides(0), False),
        "mat2_sym_strides": (_input_strides(1), False),
    },
    arithmetic.Linear: {  # AddmmBackward0's names (F.linear of a matrix, with a bias)
        "alpha": (constant(1), False),
        "beta": (constant(1), False),
        "mat1": (saved_input(0), True),
        "mat2": (_weight_t, True),
        "mat1_sym_sizes": (_input_sizes(0), False),
        "mat2_sym_sizes": (_weight_t_sizes, False),
        "mat1_sym_strides": (_input_strides(0), False),
        "mat2_sym_strides": (_weight_t_strides, False),
    },
    shape.Reshape: {"self_sym_sizes": (_input_sizes(0), False)},  # ViewBackward0's
    shape.Transpose: {"dim0": (_int_arg(1), False), "dim1": (_int_arg(2), False)},
}


def saved_property(attr: str, recipe: Recipe, tensor: bool) -> property:
    """A read-only property ``attr`` of an op class that returns ``recipe(node)``; a saved
    tensor (``tensor``) raises PyTorch's error once backward freed the node's arrays."""

    def get(node: Function) -> Any:
        if tensor:
            _freed_check(node, attr)
        return recipe(node)

    return property(get, doc=f"PyTorch's ``grad_fn.{attr}``: what forward saved.")


def install() -> None:
    """Set every ``_saved_*`` property of :data:`TABLE` on its op class."""
    for cls, names in TABLE.items():
        for name, (recipe, tensor) in names.items():
            setattr(cls, f"_saved_{name}", saved_property(f"_saved_{name}", recipe, tensor))


install()
