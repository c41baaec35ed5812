"""``Variable``: an ndarray with a gradient and a place in the graph.

All math lives in ``ops``; the operator methods here delegate to it (arithmetic that records
nothing goes straight to NumPy when that gives the op's result: ``autograd/unrecorded.py``).
"""

from __future__ import annotations

import itertools
import warnings
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.dtypes import as_dtype as as_dtype  # re-exported: ops import it from here
from gradviz.autograd.dtypes import get_default_dtype
from gradviz.autograd.dtypes import set_default_dtype as set_default_dtype
from gradviz.autograd.errors import (
    GradvizError,
    InputError,
    OperandError,
    RequiresGradError,
    ShapeError,
)
from gradviz.autograd.grad_mode import _OFF, VOLATILE_REMOVED
from gradviz.autograd.grad_mode import _state as _grad_state
from gradviz.autograd.torch_types import ElementCount, array_text
from gradviz.autograd.variable_compare import CompareMethods
from gradviz.autograd.variable_extra import ExtraMethods
from gradviz.autograd.variable_index import IndexMethods
from gradviz.autograd.variable_inplace import InplaceMethods
from gradviz.autograd.variable_math import MathMethods
from gradviz.autograd.variable_methods import TensorMethods
from gradviz.autograd.variable_more import MoreMethods
from gradviz.autograd.variable_numpy import ArrayMethods
from gradviz.autograd.variable_tensor import TensorMoreMethods

if TYPE_CHECKING:
    from gradviz.autograd.function import Function

_ids = itertools.count(1)


class _WriteClock:
    """When any array was last written in place (``written``) and last rebased by a recorded
    write (``rewritten``), on the id clock: the backward engine skips its in-place checks of
    every node that ran after both (:mod:`gradviz.autograd.inplace` keeps it)."""

    __slots__ = ("rewritten", "written")

    def __init__(self) -> None:
        self.written = self.rewritten = 0


WRITES = _WriteClock()

#: PyTorch's warning when ``.grad`` of a non-leaf that does not retain it is read.
_NON_LEAF_GRAD = (
    "The .grad attribute of a Variable that is not a leaf Variable is being accessed. Its .grad "
    "attribute won't be populated during backward(). If you indeed want the .grad field to be "
    "populated for a non-leaf Variable, use .retain_grad() on the non-leaf Variable. If you "
    "access the non-leaf Variable by mistake, make sure you access the leaf Variable instead."
)


def as_array(data: Any) -> np.ndarray:
    """``data`` as an ndarray: ndarrays keep their dtype; Python floats take the default dtype."""
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, Variable):
        return data._data
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as error:
        reason = _ragged(data) or str(error)
        raise OperandError(f"cannot make a Variable from {type(data).__name__}: {reason}") from None
    if array.dtype.kind in "fuO" and isinstance(data, int | list | tuple) and array.size:
        _check_int64(data, array)
    if array.dtype.kind == "f" and not isinstance(data, np.generic):
        return array.astype(get_default_dtype(), copy=False)
    if array.dtype.kind not in "fiub":
        raise OperandError(
            f"cannot make a Variable from {type(data).__name__} data of dtype {array.dtype}; "
            "expected numbers, a NumPy array or a Variable"
        )
    return array


def _check_int64(data: Any, array: np.ndarray) -> None:
    """Refuse Python ints past int64, which NumPy reads as uint64 or float64 and PyTorch
    refuses (the scan runs only when some value is that large)."""
    if array.dtype.kind != "O" and np.abs(array).max() < 2**63:
        return
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif type(item) is int and not -(2**63) <= item < 2**63:
            raise OperandError(f"Overflow when unpacking long: {item} does not fit in int64")


def _ragged(data: Any, dim: int = 0) -> str | None:
    """Where nested lists stop being rectangular, in PyTorch's words, or None."""
    if not isinstance(data, list | tuple) or not data:
        return None
    lengths = [len(item) if isinstance(item, list | tuple) else None for item in data]
    if len(set(lengths)) > 1:
        expected = next(n for n in lengths if n is not None)
        got = next(n for n in lengths if n != expected)
        what = "a number" if got is None else f"length {got}"
        return f"expected sequence of length {expected} at dim {dim + 1} (got {what})"
    return next((r for item in data if (r := _ragged(item, dim + 1))), None)


class Variable(
    TensorMethods,
    MoreMethods,
    IndexMethods,
    MathMethods,
    TensorMoreMethods,
    CompareMethods,
    InplaceMethods,
    ArrayMethods,
    ExtraMethods,
):
    """An ndarray that records the ops applied to it, so ``backward`` can compute gradients.

    ``Variable(data, requires_grad=False, name=None)``: an ndarray keeps its dtype (and is not
    copied); Python floats and lists of floats take the default dtype (float32).
    """

    __slots__ = (
        "__weakref__",
        "_data",
        "_grad",
        "_grad_seen",
        "_hooks",
        "_id",
        "_node",
        "_retains_grad",
        "_vc",
        "name",
        "requires_grad",
    )
    __array_priority__ = 1000  # `ndarray + Variable` calls Variable.__radd__ (as a tensor)
    __hash__ = object.__hash__  # __eq__ compares values; identity stays the hash

    def __init__(
        self, data: Any, requires_grad: bool = False, name: str | None = None, volatile: Any = None
    ) -> None:
        if volatile is not None:  # PyTorch 0.3's keyword, taken with PyTorch's warning
            warnings.warn(VOLATILE_REMOVED, UserWarning, stacklevel=2)
        array = as_array(data)
        if requires_grad and array.dtype.kind != "f":
            raise RequiresGradError(
                f"only floating point Variables can require gradients, got dtype {array.dtype}"
            )
        self._data = array
        self._grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._node: Function | None = None
        self._retains_grad = False
        self._vc: _inplace.VersionCounter | None = None  # made on the first in-place write
        self._id = next(_ids)
        if hooks.ACTIVE:
            for hook in hooks.ACTIVE:
                hook.variable_created(self)

    def __getstate__(self) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """What a copy or pickle keeps: everything but the hooks (PyTorch's copies have none)."""
        names = set()
        for cls in type(self).__mro__:  # (a lone slot may be given as a string)
            declared = getattr(cls, "__slots__", ())
            names.update((declared,) if isinstance(declared, str) else declared)
        slots = {
            name: getattr(self, name)
            for name in sorted(names - {"_hooks", "_grad_seen", "__weakref__", "__dict__"})
            if hasattr(self, name)
        }
        return getattr(self, "__dict__", None) or None, slots

    def __setstate__(self, state: Any) -> None:
        """A copy (``copy``, ``deepcopy``, pickle) is a Variable of its own: a new id, as the
        engine's order, hooks and optimizer state go by id (sharing one merged gradients)."""
        own, slots = state if isinstance(state, tuple) else (state, None)
        if own:
            self.__dict__.update(own)
        for name, value in (slots or {}).items():
            setattr(self, name, value)
        self._id = next(_ids)

    # ----------------------------------------------------------------------------- attributes
    @property
    def data(self) -> Variable:
        """The values as a new Variable that shares them and records nothing (PyTorch's
        ``.data``): ``p.data.normal_(0, 0.02)`` or ``p.data -= lr * p.grad`` write into ``p``'s
        array unseen by autograd. ``numpy()`` gives the ndarray itself. Assigning a Variable or
        an array replaces the values (shape and dtype may change, as in PyTorch)."""
        return from_op(self._data, None)

    @data.setter
    def data(self, value: Any) -> None:
        array = as_array(value)
        if self.requires_grad and array.dtype.kind != "f":
            raise RequiresGradError(
                f"data of dtype {array.dtype}: a Variable that requires grad must be floating point"
            )
        self._data = array

    @property
    def grad(self) -> Variable | None:
        """The gradient accumulated by ``backward``, a Variable of this one's shape that shares
        the array ``backward`` adds into (``p.grad.zero_()`` zeroes it), or None. Assigning
        checks it as PyTorch does: a Variable (or array) of this shape, or None."""
        grad = self._grad
        if grad is None:
            if self._node is not None and not self._retains_grad:
                warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
            return None
        seen = getattr(self, "_grad_seen", None)  # the Variable last given out, held weakly
        view = None if seen is None else seen()
        if view is None or view._data is not grad:
            view = from_op(grad, None)
            self._grad_seen = weakref.ref(view)
        return view

    @grad.setter
    def grad(self, value: Any) -> None:
        given = value if isinstance(value, Variable) else None
        if given is not None:
            if given is self:
                raise OperandError("can't assign Variable as its own grad")
            value = given._data
        problem = None if value is None else grad_problem(self.shape, value)
        if problem is not None:
            error, text = problem
            raise error(f"cannot assign {text}")
        if isinstance(value, np.generic) or (value is not None and not value.flags.writeable):
            value = np.array(value)  # a scalar or a read-only array: in-place updates must work
            given = None
        self._grad = value
        self._grad_seen = None if given is None else weakref.ref(given)

    @grad.deleter
    def grad(self) -> None:
        self._grad = None  # PyTorch's ``del t.grad``

    @property
    def shape(self) -> tuple[int, ...]:
        """The data's shape."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return self._data.ndim

    @property
    def size(self) -> ElementCount:
        """Number of elements, an int as NumPy's ``size``; called, PyTorch's ``size()``: the
        shape, or ``size(dim)`` the length of one dim (``batch, length = x.size()``)."""
        return ElementCount(self._data.shape)

    def numel(self) -> int:
        """Number of elements (PyTorch's name; ``size`` here is NumPy's)."""
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        """The data's NumPy dtype."""
        return self._data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for Variables made by the user (not by an op that records a graph)."""
        return self._node is None

    @property
    def grad_fn(self) -> Function | None:
        """The node that produced this Variable, or None for leaves."""
        return self._node

    @property
    def op(self) -> str | None:
        """Name of the op that produced this Variable (``"Mul"``), None for leaves."""
        return None if self._node is None else self._node.name()

    @property
    def parents(self) -> tuple[Variable, ...]:
        """The Variables this one was computed from, in argument order (duplicates kept)."""
        return () if self._node is None else self._node.parents

    @property
    def _version(self) -> int:
        """How many in-place writes this Variable's data has had (PyTorch's ``_version``)."""
        return 0 if self._vc is None else self._vc.version

    @property
    def id(self) -> int:
        """A process-wide sequential id (never reused, unlike ``id()``)."""
        return self._id

    # ------------------------------------------------------------------------------- autograd
    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
        *,
        grad: Any = None,
    ) -> None:
        """Compute gradients of this Variable with respect to every leaf that requires grad;
        ``gradient`` (PyTorch's name; ``grad=`` too) is d(loss)/d(this) for a non-scalar.
        With ``inputs``, only those Variables' ``.grad`` take the gradient. ``create_graph=True``
        records the gradients as a graph, to differentiate again (``autograd.higher``)."""
        if grad is not None:
            if gradient is not None:
                raise OperandError("backward() got both 'gradient' and 'grad'; pass one")
            gradient = grad
        if inputs is not None or create_graph:
            from gradviz.autograd.grads import backward_into  # grads imports this module

            backward_into([self], [gradient], inputs, retain_graph, create_graph)
            return
        _engine.backward(self, gradient, bool(retain_graph))

    def register_hook(self, hook: Any) -> _engine.HookHandle:
        """Call ``hook(grad)`` (a Variable) each time backward computes this Variable's
        gradient; a Variable it returns replaces the gradient. ``.remove()`` on the handle."""
        return _engine.register_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf Variable after backward."""
        if not self.requires_grad:
            raise RequiresGradError("can't retain_grad on a Variable that has requires_grad=False")
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf that keeps ``.grad`` after backward (see ``retain_grad``)."""
        return self._retains_grad and self._node is not None

    def detach(self) -> Variable:
        """A new leaf sharing this data, cut from the graph (no gradient flows through it)."""
        out = from_op(self._data, None)
        out._vc = _inplace.counter(self)  # shared data, shared version, as in PyTorch
        if hooks.ACTIVE:
            for hook in hooks.ACTIVE:
                hook.detach(self, out)
        return out

    def requires_grad_(self, requires_grad: bool = True) -> Variable:
        """Set ``requires_grad`` in place (leaves only) and return self."""
        if self._node is not None and not requires_grad:
            raise RequiresGradError("you can only change requires_grad flags of leaf variables")
        if requires_grad and self.dtype.kind != "f":
            raise RequiresGradError(
                f"only floating point Variables can require gradients, got dtype {self.dtype}"
            )
        self.requires_grad = requires_grad
        return self

    def detach_(self) -> Variable:
        """Cut this Variable from the graph in place: a leaf that does not require grad."""
        return _inplace.detach_(self)

    def _commit(self, data: np.ndarray, node: Function) -> Variable:
        """Take an in-place op's result (``Function.apply(..., _into=self)``)."""
        return _inplace.commit(self, data, node)

    def zero_grad(self) -> None:
        """Drop the accumulated gradient (``grad = None``)."""
        self.grad = None

    def __repr__(self) -> str:
        body = array_text(self._data, "Variable(")  # (set_printoptions)
        extras = []
        if self._data.dtype != get_default_dtype():
            extras.append(f"dtype={self._data.dtype}")
        if self.name is not None:
            extras.append(f"name={self.name!r}")
        if self._node is not None:
            extras.append(f"op={self.op}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"Variable({', '.join([body, *extras])})"

    # ------------------------------------------------------------------------------ operators
    # Unrecorded (no_grad, or no input requiring grad): to NumPy where its result is PyTorch's
    # (_unrecorded); recorded: the op's Function, its apply bound once (at the end of the file),
    # told that ``self`` records; an n-d array operand needs no ``_operand`` check.
    def __add__(self, other: Any) -> Variable:
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            if type(other) is not _ndarray or not other.ndim:
                other = _operand("+", other)
            return _apply2(_Add, self, other, True)
        return _unrecorded(np.add, _ops.Add, "+", self, other)

    def __radd__(self, other: Any) -> Variable:
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            return _apply2(_Add, _operand("+", other), self)
        return _unrecorded(np.add, _ops.Add, "+", self, other, reflected=True)

    def __sub__(self, other: Any) -> Variable:
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            if type(other) is not _ndarray or not other.ndim:
                other = _operand("-", other)
            return _apply2(_Sub, self, other, True)
        return _unrecorded(np.subtract, _ops.Sub, "-", self, other)

    def __rsub__(self, other: Any) -> Variable:
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            return _apply2(_Sub, _operand("-", other), self)
        return _unrecorded(np.subtract, _ops.Sub, "-", self, other, reflected=True)

    def __mul__(self, other: Any) -> Variable:
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            if type(other) is not _ndarray or not other.ndim:
                other = _operand("*", other)
            return _apply2(_Mul, self, other, True)
        return _unrecorded(np.multiply, _ops.Mul, "*", self, other)

    def __rmul__(self, other: Any) -> Variable:
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            return _apply2(_Mul, _operand("*", other), self)
        return _unrecorded(np.multiply, _ops.Mul, "*", self, other, reflected=True)

    def __truediv__(self, other: Any) -> Variable:
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            if type(other) is not _ndarray or not other.ndim:
                other = _operand("/", other)
            return _apply2(_Div, self, other, True)
        return _unrecorded(np.true_divide, _ops.Div, "/", self, other)

    def __rtruediv__(self, other: Any) -> Variable:
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            return _apply2(_Div, _operand("/", other), self)
        return _unrecorded(np.true_divide, _ops.Div, "/", self, other, reflected=True)

    def __pow__(self, other: Any) -> Variable:
        return _ops.Pow.apply(self, _operand("**", other))

    def pow(self, exponent: Any) -> Variable:
        """``self ** exponent``."""
        return _ops.Pow.apply(self, _operand("**", exponent))

    def __rpow__(self, other: Any) -> Variable:
        return _ops.Pow.apply(_operand("**", other), self)

    def __floordiv__(self, other: Any) -> Variable:
        return _ops.FloorDivide.apply(self, _operand("//", other))

    def __rfloordiv__(self, other: Any) -> Variable:
        return _ops.FloorDivide.apply(_operand("//", other), self)

    def __mod__(self, other: Any) -> Variable:
        return _ops.Remainder.apply(self, _operand("%", other))

    def __rmod__(self, other: Any) -> Variable:
        return _ops.Remainder.apply(_operand("%", other), self)

    def __matmul__(self, other: Any) -> Variable:
        if isinstance(other, Variable) and other._data.dtype != self._data.dtype:
            raise InputError(  # PyTorch does not promote in a product (an array may differ)
                f"expected m1 and m2 to have the same dtype, but got: {self._data.dtype} != "
                f"{other._data.dtype} (convert one with .to(other.dtype))"
            )
        return _ops.MatMul.apply(self, _operand("@", other))

    def __rmatmul__(self, other: Any) -> Variable:
        return _ops.MatMul.apply(_operand("@", other), self)

    def __neg__(self) -> Variable:
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            return _ops.Neg.apply(self)
        return unary(np.negative, _ops.Neg, self)

    def __pos__(self) -> Variable:
        if self._data.dtype == np.bool_:
            raise InputError("The `+` operator, on a bool tensor is not supported.")
        return self

    def __getitem__(self, index: Any) -> Variable:
        return _inplace.view_of(self, _ops.Index.apply(self, _ops.normalize_index(index)))


_new, _ndarray = object.__new__, np.ndarray  # np.X is a slow lookup (numpy has __getattr__)


def from_op(data: np.ndarray, node: Function | None) -> Variable:
    """An op's output: ``data`` as is, no check, no event (``node`` None: no grad)."""
    out = _new(Variable)
    out._data = data
    out._grad = None
    out.requires_grad = node is not None
    out.name = None
    out._node = node
    out._retains_grad = False
    out._vc = None
    out._id = next(_ids)
    return out


def grad_problem(shape: tuple[int, ...], grad: Any) -> tuple[type[GradvizError], str] | None:
    """Why ``grad`` cannot be the gradient of a Variable of ``shape``: (error class, what was
    given, as a noun phrase), or None if it can. A NumPy scalar stands for a 0-d gradient."""
    if isinstance(grad, np.ndarray | np.generic):
        if grad.shape != shape:
            return (
                ShapeError,
                f"a gradient of shape {grad.shape} for shape {shape}; expected {shape}",
            )
        if grad.dtype.kind != "f":
            return OperandError, f"a gradient of dtype {grad.dtype}; it must be floating point"
        return None
    return (
        OperandError,
        f"a {type(grad).__name__} as .grad; expected a Variable or array of shape {shape}",
    )


def _operand(symbol: str, value: Any) -> Any:
    """Check that ``value`` can take part in an arithmetic op; lists become arrays.

    NumPy scalars and 0-d arrays become Python numbers, so they do not widen the Variable
    (``float32 * np.sqrt(2.0)`` stays float32), as PyTorch treats wrapped numbers.
    """
    if (type(value) is _ndarray and value.ndim) or isinstance(value, Variable):  # fast path
        return value
    if isinstance(value, np.generic):  # before float: np.float64 is a float subclass
        return value.item() if value.dtype.kind in "biuf" else value
    if isinstance(value, int | float):
        if type(value) in (int, float, bool):
            return value
        # a subclass (x.size): NumPy would read it as an int64 or float64 array
        return int(value) if isinstance(value, int) else float(value)
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 and value.dtype.kind in "biuf" else value
    if isinstance(value, list | tuple):
        return as_array(value)
    raise OperandError(
        f"unsupported operand for {symbol}: expected a number, a NumPy array or a Variable, "
        f"got {type(value).__name__}"
    )


from gradviz.autograd import engine as _engine  # noqa: E402  (engine and ops import Variable)
from gradviz.autograd import function as _function  # noqa: E402
from gradviz.autograd import inplace as _inplace  # noqa: E402  (inplace subclasses ops)
from gradviz.autograd import inplace_index as _inplace_index  # noqa: E402
from gradviz.autograd import inplace_unary as _inplace_unary  # noqa: E402
from gradviz.autograd import inplace_views as _inplace_views  # noqa: E402
from gradviz.autograd import ops as _ops  # noqa: E402
from gradviz.autograd import variable_compare as _compare_methods  # noqa: E402
from gradviz.autograd import variable_extra as _extra_methods  # noqa: E402
from gradviz.autograd import variable_index as _index_methods  # noqa: E402
from gradviz.autograd import variable_inplace as _inplace_methods  # noqa: E402
from gradviz.autograd import variable_math as _math_methods  # noqa: E402
from gradviz.autograd import variable_methods as _methods  # noqa: E402
from gradviz.autograd import variable_more as _more_methods  # noqa: E402
from gradviz.autograd import variable_tensor as _tensor_methods  # noqa: E402
from gradviz.autograd.ops import api_math as _api_math  # noqa: E402
from gradviz.autograd.ops import linalg_checks as _linalg_checks  # noqa: E402
from gradviz.autograd.ops import scatter_checks as _scatter_checks  # noqa: E402
from gradviz.autograd.unrecorded import unary  # noqa: E402
from gradviz.autograd.unrecorded import unrecorded as _unrecorded  # noqa: E402

Variable._plain = Variable  # what `param.argmax()`, `param.new_zeros(2)` make, as PyTorch's
_Add, _Sub, _Mul, _Div = _ops.Add, _ops.Sub, _ops.Mul, _ops.Div  # (the operators' ops)
_inplace_methods._inplace, _inplace_methods._views = _inplace, _inplace_views
_methods._inplace, _methods._ops, _methods.unary, _more_methods._ops = _inplace, _ops, unary, _ops
_apply2, _methods.apply1 = _function.apply2, _function.apply1  # the operators' and methods' path
_compare_methods.from_op, _compare_methods._operand = from_op, _operand
_index_methods._scatter, _index_methods._linalg = _scatter_checks, _linalg_checks
_compare_methods._nodiff = _index_methods._nodiff = _tensor_methods._nodiff = _ops.nodiff
_math_methods._special, _math_methods._unary_inplace = _ops.special, _inplace_unary
_index_methods._inplace, _tensor_methods._sequence = _inplace_index, _ops.sequence
_math_methods._trig, _extra_methods._api = _ops.trig, _api_math
