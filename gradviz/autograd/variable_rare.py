"""Tensor attributes of ``Variable`` that training code rarely meets, with PyTorch's meaning
(``apply_``/``map_``, the legacy ``new``, ``resize_``, ``layout``, ``storage_offset``,
``dim_order`` ...), and the refusal of the rest of ``torch.Tensor``'s, a mixin.

A name of ``torch.Tensor`` that gradviz has not (sparse, quantized and complex tensors,
storages, streams, other devices) raises an ``AbsentError`` naming ``Tensor.<name>`` and what
to use instead: an AttributeError, so ``hasattr(x, "to_sparse_csr")`` stays False. The methods
PyTorch itself removed (``eig``, ``lstsq``, ``symeig``, ``solve``, ``reinforce``) are there and
raise PyTorch's RuntimeError, as PyTorch's do. The refused names are descriptors on the class
(:mod:`gradviz.autograd.variable_absent`), so any other missing attribute fails as Python's own.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from gradviz.autograd.errors import (
    InputError,
    LinAlgError,
    OperandError,
    RequiresGradError,
    ShapeError,
)
from gradviz.autograd.torch_types import Size as TorchSize
from gradviz.autograd.torch_types import (
    channels_last,
    channels_last_3d,
    check_factory,
    check_memory_format,
    memory_format,
    strided,
)
from gradviz.autograd.torch_types import layout as Layout
from gradviz.autograd.variable_absent import refuse_by_name

if TYPE_CHECKING:
    from gradviz.autograd.variable import Variable


def _removed(lead: str, instead: str) -> str:
    return f"This function was deprecated since version 1.9 and is now removed. {lead}\n{instead}"


#: PyTorch's words for the methods it removed (the lead as PyTorch's, then gradviz's way)
REMOVED = {
    "eig": _removed(
        "`torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` rather "
        "than real tensors mimicking complex tensors.",
        "gradviz has no complex dtypes: for a symmetric matrix, L, V = gradviz.linalg.eigh(A)",
    ),
    "lstsq": _removed(
        "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.",
        "X, _ = torch.lstsq(B, A) should be replaced with: X = gradviz.linalg.pinv(A) @ B",
    ),
    "symeig": _removed(
        "The default behavior has changed from using the upper triangular portion of the "
        "matrix by default to using the lower triangular portion.",
        "L, V = torch.symeig(A, eigenvectors=True) should be replaced with:\n"
        "L, V = torch.linalg.eigh(A, UPLO='U' if upper else 'L')",
    ),
    "solve": _removed(
        "`torch.solve` is deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` "
        "has its arguments reversed and does not return the LU factorization.",
        "X = torch.solve(B, A).solution should be replaced with:\nX = torch.linalg.solve(A, B)",
    ),
}

_REINFORCE = (
    "reinforce() was removed.\nUse torch.distributions instead.\n"
    "See https://pytorch.org/docs/main/distributions.html\n\n"
    "Instead of action.reinforce(reward), use:\n"
    "m = torch.distributions.Categorical(probs)\naction = m.sample()\n"
    "loss = -m.log_prob(action) * reward\nloss.backward()"
)


def _root(data: np.ndarray) -> np.ndarray:
    """The array whose memory ``data`` views (PyTorch's storage)."""
    while isinstance(data.base, np.ndarray):
        data = data.base
    return data


def _address(data: np.ndarray) -> int:
    return int(data.__array_interface__["data"][0])


def _refuse_grad(variables: tuple[Any, ...], op: str) -> None:
    if any(v.requires_grad for v in variables):
        raise RequiresGradError(
            f"Can't call {op}() on Variable that requires grad. Use var.detach().{op}() instead."
        )


def _tensor_arg(self: Any, other: Any, op: str, argument: str) -> np.ndarray:
    """``other``'s values broadcast to ``self``'s shape, after PyTorch's checks."""
    if not isinstance(other, self._plain):
        raise OperandError(
            f"{op}(): argument '{argument}' must be Variable, not {type(other).__name__}"
        )
    if other.dtype != self.dtype:
        raise OperandError(f"{op}: expected {self.type()} for '{argument}' (got {other.type()})")
    return other.expand(*self.shape)._data


def _scalar(value: Any, dtype: np.dtype) -> Any:
    """A callable's result as an element of ``dtype``, converted as PyTorch converts it (a
    float into integers is truncated; a string or None is refused)."""
    floating = dtype.kind == "f"
    try:
        if not isinstance(value, str | bytes):
            return float(value) if floating else int(value)
    except (TypeError, ValueError):
        pass
    name = type(value).__name__
    raise OperandError(
        f"must be real number, not {name}"
        if floating
        else f"'{name}' object cannot be interpreted as an integer"
    )


def _map(self: Any, op: str, fn: Callable[..., Any], others: tuple[np.ndarray, ...]) -> Any:
    """Write ``fn(element, *other elements)`` into each element of ``self``."""
    from gradviz.autograd.inplace import wrote

    data = self._data
    for index in np.ndindex(data.shape):
        data[index] = _scalar(
            fn(data[index].item(), *(o[index].item() for o in others)), data.dtype
        )
    wrote(self, op)
    return self


def _sizes(sizes: tuple[Any, ...], op: str) -> tuple[int, ...]:
    if not sizes:
        raise OperandError(f"{op}() missing 1 required positional argument: 'size'")
    if len(sizes) == 1 and isinstance(sizes[0], list | tuple):
        sizes = tuple(sizes[0])
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise OperandError(f"{op}(): argument 'size' must be a tuple of ints, not {n!r}")
        if n < 0:
            raise InputError(f"{op}(): Trying to create tensor with negative dimension {n}")
    return tuple(int(n) for n in sizes)


def _resized(data: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``data``'s storage from its offset, laid out row by row in ``shape``: a view of it while
    it holds enough elements (as PyTorch's ``resize_``), else a copy grown with zeros."""
    count = math.prod(shape)
    root = _root(data)
    if root.dtype == data.dtype and (root.flags.c_contiguous or root.flags.f_contiguous):
        start = (_address(data) - _address(root)) // data.itemsize
        storage = root.ravel(order="K")[start:]
    else:  # memory NumPy cannot see as one run: the values, in order
        storage = data.ravel()
    if count <= storage.size:
        return storage[:count].reshape(shape)
    grown = np.zeros(count, data.dtype)
    grown[: storage.size] = storage
    return grown.reshape(shape)


def _check_format(memory_format: Any, ndim: int) -> None:
    check_memory_format(memory_format, "resize_")
    for fmt, rank in ((channels_last, 4), (channels_last_3d, 5)):
        if memory_format is fmt and ndim != rank:
            raise InputError(f"required rank {rank} tensor to use {fmt.name} format")


def _should_swap(shape: tuple[int, ...], strides: tuple[int, ...], a: int, b: int) -> int:
    """PyTorch's order of two dims in memory: 1 when ``a`` is inner to ``b``, -1 when outer,
    0 when either may be (a zero stride, or equal strides and sizes)."""
    sa, sb = strides[a], strides[b]
    if sa == 0 or sb == 0:
        return 0
    if sa == sb:
        return 0 if _ge(shape[b], shape[a]) else 1
    if _ge(sb, sa):
        return -1
    return 1 if _ge(sa, sb) else 0


def _ge(a: int, b: int) -> bool:
    return b == 0 or (a != 0 and (a >= b or a % b == 0))


def dim_order(shape: tuple[int, ...], strides: tuple[int, ...]) -> tuple[list[int], bool]:
    """The dims from outermost to innermost in memory, and whether another order fits too
    (PyTorch's insertion sort of ``compute_elementwise_output_logical_to_physical_perm``)."""
    ndim = len(shape)
    if ndim <= 1:
        return list(range(ndim)), False
    perm = list(reversed(range(ndim)))
    for i in range(1, ndim):
        dim1 = i
        for dim0 in reversed(range(i)):
            comparison = _should_swap(shape, strides, perm[dim0], perm[dim1])
            if comparison > 0:
                perm[dim0], perm[dim1] = perm[dim1], perm[dim0]
                dim1 = dim0
            elif comparison < 0:
                break
    ambiguous = any(
        _should_swap(shape, strides, perm[i], perm[i + 1]) != -1 for i in range(ndim - 1)
    )
    return list(reversed(perm)), ambiguous


def _channels_last(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """Whether a 4-d (5-d) layout is PyTorch's ``channels_last`` (``_3d``) contiguous one."""
    if len(shape) not in (4, 5):
        return False
    expected = 1
    for d in (1, *range(len(shape) - 1, 1, -1), 0):
        if shape[d] != 1:
            if strides[d] != expected:
                return False
            expected *= shape[d]
    return True


def _formats(self: Any, formats: list[Any]) -> int:
    """How many of ``formats`` the layout of ``self`` is contiguous in."""
    from gradviz.autograd.torch_types import contiguous_format

    strides = self.stride()
    fits = {
        contiguous_format: bool(self._data.flags.c_contiguous),
        channels_last: self.ndim == 4 and _channels_last(self.shape, strides),
        channels_last_3d: self.ndim == 5 and _channels_last(self.shape, strides),
    }
    return sum(fits.get(f, False) for f in formats)


class RareMethods:
    """The rarely met tensor attributes of ``Variable`` (see the module's docstring)."""

    __slots__ = ()

    # -------------------------------------------------------------------- element maps
    def apply_(self, callable: Callable[[Any], Any]) -> Variable:
        """Write ``callable(element)`` into every element, in place (a Python loop on the
        CPU, as PyTorch's); refused on a Variable that requires grad."""
        _refuse_grad((self,), "apply_")
        return _map(self, "apply_", callable, ())

    def map_(self, tensor: Any, callable: Callable[[Any, Any], Any]) -> Variable:
        """Write ``callable(element, other element)`` into every element, in place, with
        ``tensor`` (of this dtype) broadcast to this shape."""
        _refuse_grad((self, tensor) if hasattr(tensor, "requires_grad") else (self,), "map_")
        return _map(self, "map_", callable, (_tensor_arg(self, tensor, "map_", "other"),))

    def map2_(self, x: Any, y: Any, callable: Callable[[Any, Any, Any], Any]) -> Variable:
        """``map_`` with two Variables: ``callable(element, x element, y element)``."""
        given = tuple(v for v in (self, x, y) if hasattr(v, "requires_grad"))
        _refuse_grad(given, "map2_")
        others = (_tensor_arg(self, x, "map2_", "x"), _tensor_arg(self, y, "map2_", "y"))
        return _map(self, "map2_", callable, others)

    # ----------------------------------------------------------------- constructors
    def new(self, *args: Any, device: Any = None) -> Variable:
        """PyTorch's legacy constructor, in this dtype: ``x.new()`` is empty, ``x.new(2, 3)``
        or ``x.new(torch.Size([2, 3]))`` a new Variable of that size (zeros here),
        ``x.new(data)`` holds a copy of a sequence, ``x.new(t)`` is ``t`` itself (an alias)."""
        from gradviz.autograd.dtypes import cpu_only

        cpu_only(device, "new")
        if len(args) == 1 and not isinstance(args[0], TorchSize | int | np.integer):
            return self._new_from(args[0])
        if not args:
            return self._plain(np.zeros((0,), self.dtype))
        shape = _sizes(tuple(args[0]) if isinstance(args[0], TorchSize) else args, "new")
        return self._plain(np.zeros(shape, self.dtype))

    def _new_from(self, data: Any) -> Variable:
        if isinstance(data, self._plain):
            if data.dtype != self.dtype:
                raise OperandError(
                    f"new(): expected a Variable of dtype {self.dtype}, got {data.dtype}"
                )
            return data.view_as(data)
        if isinstance(data, bool | float | complex | str) or np.ndim(data) == 0:
            raise OperandError(f"new(): data must be a sequence (got {type(data).__name__})")
        from gradviz.autograd.variable import as_array

        return self._plain(np.array(as_array(data), self.dtype))

    def new_empty_strided(
        self,
        size: Any,
        stride: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        layout: Any = None,
        pin_memory: bool | None = False,
        requires_grad: bool = False,
    ) -> Variable:
        """A new Variable of ``size`` whose steps between elements are ``stride`` (zeros
        here), in this dtype unless ``dtype`` is given (``layout`` may only be
        ``torch.strided``, ``pin_memory`` only False, as on PyTorch's CPU build)."""
        from gradviz.autograd.variable import as_dtype

        check_factory("new_empty_strided", device, layout, pin_memory)
        shape, steps = _sizes((size,), "new_empty_strided"), tuple(stride)
        if len(shape) != len(steps):
            raise InputError("mismatch in length of strides and shape")
        if any(s < 0 for s in steps):
            raise InputError(
                "as_strided: Negative strides are not supported at the moment, got strides: "
                f"{list(steps)}"
            )
        dtype = self.dtype if dtype is None else as_dtype(dtype, "new_empty_strided")
        count = 0 if 0 in shape else 1 + sum((n - 1) * s for n, s in zip(shape, steps, strict=True))
        memory = np.zeros(count, dtype)
        data = np.lib.stride_tricks.as_strided(
            memory, shape, tuple(s * memory.itemsize for s in steps)
        )
        return self._plain(data, requires_grad=requires_grad)

    def as_subclass(self, cls: type) -> Variable:
        """This Variable as an instance of ``cls`` (a subclass of Variable), sharing its values
        and attached to the graph through a view, as PyTorch's; ``__init__`` is not called."""
        from gradviz.autograd.variable import Variable

        if not (isinstance(cls, type) and issubclass(cls, Variable)):
            raise OperandError(
                "Creating a Variable subclass from a class that does not inherit from Variable "
                "is not possible. Make sure your class inherits from Variable."
            )
        view = self.view_as(self)
        out = object.__new__(cls)
        for name in ("_data", "_grad", "_id", "_node", "_retains_grad", "_vc", "name"):
            setattr(out, name, getattr(view, name))
        out.requires_grad = view.requires_grad
        return out

    def module_load(self, other: Any, assign: bool = False) -> Variable:
        """What ``load_state_dict`` makes of ``other`` for this parameter or buffer:
        ``other.detach()`` when ``assign``, else ``self.copy_(other).detach()``."""
        return other.detach() if assign else self.copy_(other).detach()

    # ----------------------------------------------------------------------- resizing
    def resize_(self, *sizes: Any, memory_format: Any = None) -> Variable:
        """PyTorch's ``resize_``: this Variable takes ``sizes``, its elements read from its
        memory row by row (new ones are zeros here); refused when it requires grad."""
        shape = _sizes(sizes, "resize_")
        if self.requires_grad:
            raise RequiresGradError("cannot resize variables that require grad")
        _check_format(memory_format, len(shape))
        if shape != self.shape or memory_format is not None:  # (the same size: left as it is)
            self._data = _resized(self._data, shape)
        return self

    def resize_as_(self, the_template: Any, memory_format: Any = None) -> Variable:
        """``resize_`` to ``the_template``'s shape."""
        return self.resize_(tuple(the_template.shape), memory_format=memory_format)

    def resize(self, *sizes: Any) -> Variable:
        """PyTorch's deprecated ``resize``: a reshape that keeps the number of elements
        (recorded), with PyTorch's warning."""
        warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
        return self._resize(_sizes(sizes, "resize"))

    def resize_as(self, tensor: Any) -> Variable:
        """PyTorch's deprecated ``resize_as``: ``resize(tensor.shape)``."""
        warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
        return self._resize(tuple(tensor.shape))

    def _resize(self, shape: tuple[int, ...]) -> Variable:
        count = math.prod(shape)
        if count != self.numel():
            sizes, own = "x".join(map(str, shape)), "x".join(map(str, self.shape))
            raise ShapeError(
                f"requested resize to {sizes} ({count} elements in total), but the given "
                f"tensor has a size of {own} ({self.numel()} elements). autograd's resize "
                "can only change the shape of a given tensor, while preserving the number of "
                "elements."
            )
        return self.contiguous().view(shape)

    # ------------------------------------------------------------------ memory, layout
    @property
    def layout(self) -> Layout:
        """``torch.strided``: every Variable is a dense array."""
        return strided

    @property
    def output_nr(self) -> int:
        """Which output of the op that made it this Variable is (0 for a leaf): a
        ``Function``'s several outputs count from 0, as PyTorch's (the pieces of ``split``
        and ``chunk`` are one op each here, so each is 0)."""
        slot = getattr(self._node, "slot", None)
        return getattr(slot, "index", 0)

    def storage_offset(self) -> int:
        """How many elements after the start of its memory (the array it views) the first
        element lies."""
        return (_address(self._data) - _address(_root(self._data))) // self._data.itemsize

    def is_set_to(self, tensor: Any) -> bool:
        """Whether ``tensor`` views the same memory from the same element, in the same shape
        and strides."""
        if not isinstance(tensor, self._plain):
            raise OperandError(
                f"is_set_to(): argument 'tensor' must be Variable, not {type(tensor).__name__}"
            )
        a, b = self._data, tensor._data
        return (
            _root(a) is _root(b)
            and _address(a) == _address(b)
            and a.shape == b.shape
            and a.strides == b.strides
        )

    def dim_order(self, *, ambiguity_check: bool | list[Any] = False) -> tuple[int, ...]:
        """The dims from outermost to innermost in memory, as PyTorch's; ``ambiguity_check``
        (True, or a list of memory formats) refuses a layout that more than one order fits."""
        formats = ambiguity_check if isinstance(ambiguity_check, list) else []
        if not isinstance(ambiguity_check, bool | list) or any(
            not isinstance(f, memory_format) for f in formats
        ):
            raise OperandError(
                "The ambiguity_check argument must be a bool or a list of memory formats."
            )
        shape, strides = tuple(self.shape), self.stride()
        check = ambiguity_check is True or isinstance(ambiguity_check, list)
        multiple = any(a == b for a, b in itertools.pairwise(strides)) or 1 in shape
        if check and multiple and _formats(self, formats) != 1:
            raise InputError(
                "The tensor does not have unique dim order, or cannot map to exact one of "
                "the given memory formats."
            )
        contiguous = bool(self._data.flags.c_contiguous)
        if len(shape) > 1 and contiguous != _channels_last(shape, strides):
            return tuple(range(len(shape))) if contiguous else (0, *range(2, len(shape)), 1)
        order, ambiguous = dim_order(shape, strides)
        if check and ambiguous:
            raise InputError("The tensor does not have unique dim order.")
        return tuple(order)

    def is_distributed(self) -> bool:
        """False: gradviz trains in one process."""
        return False

    def const_data_ptr(self) -> int:
        """``data_ptr()``: the address of the first element."""
        return self.data_ptr()

    # ----------------------------------------------------------------- grad attributes
    @property
    def volatile(self) -> bool:
        """False, with PyTorch's warning: ``volatile`` was removed (``no_grad`` replaced
        it)."""
        warnings.warn(
            "volatile was removed (Variable.volatile is always False)", UserWarning, stacklevel=2
        )
        return False

    @volatile.setter
    def volatile(self, value: Any) -> None:
        from gradviz.autograd.grad_mode import VOLATILE_REMOVED

        warnings.warn(VOLATILE_REMOVED, UserWarning, stacklevel=2)

    @property
    def grad_dtype(self) -> np.dtype:
        """The dtype of the gradient of this leaf: its own dtype (gradviz keeps every
        gradient in its Variable's dtype)."""
        if self._node is not None:
            raise InputError("grad_dtype can only be accessed on leaf tensors.")
        return self.dtype

    @grad_dtype.setter
    def grad_dtype(self, value: Any) -> None:
        if self._node is not None:
            raise InputError("grad_dtype can only be accessed on leaf tensors.")
        if value is not None and not isinstance(value, np.dtype | type):
            raise InputError(
                f"grad_dtype must be a torch.dtype or None, but got {type(value).__name__}"
            )
        if value is None or np.dtype(value) != self.dtype:
            raise InputError(
                f"grad_dtype: gradviz keeps each gradient in its Variable's dtype "
                f"({self.dtype}), got {value}; cast the gradient where it is used "
                "(x.grad.to(dtype))"
            )

    # ------------------------------------------------ methods PyTorch removed (its errors)
    def eig(self, eigenvectors: bool = False) -> Any:
        """PyTorch's RuntimeError: ``Tensor.eig`` was removed."""
        raise LinAlgError(REMOVED["eig"])

    def symeig(self, eigenvectors: bool = False) -> Any:
        """PyTorch's RuntimeError: ``Tensor.symeig`` was removed (``linalg.eigh``)."""
        raise LinAlgError(REMOVED["symeig"])

    def lstsq(self, other: Any) -> Any:
        """PyTorch's RuntimeError: ``Tensor.lstsq`` was removed."""
        raise LinAlgError(REMOVED["lstsq"])

    def solve(self, other: Any) -> Any:
        """PyTorch's RuntimeError: ``Tensor.solve`` was removed (``linalg.solve``)."""
        raise LinAlgError(REMOVED["solve"])

    def reinforce(self, reward: Any) -> Any:
        """PyTorch's RuntimeError: ``reinforce`` was removed (``torch.distributions``)."""
        raise InputError(_REINFORCE)


refuse_by_name(RareMethods)
