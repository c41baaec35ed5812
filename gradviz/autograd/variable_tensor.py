"""Tensor methods of ``Variable`` with PyTorch's names beyond the basic ones: products
(``mm``, ``mv``, ``dot`` ...), ``new_*`` constructors, ``flip``/``roll``/``narrow``,
``cumprod``, ``diff``, ``median``, ``masked_select``, logical ops and the memory layout
(``stride``, ``is_contiguous`` ...), a mixin.

Each checks its arguments as PyTorch does and applies existing ops, or one of
``gradviz.autograd.ops.sequence``, which ``variable.py`` hands to this module once it can be
imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gradviz.autograd.dims import dim_index
from gradviz.autograd.dtypes import cpu_only, device
from gradviz.autograd.errors import InputError, OperandError, ShapeError
from gradviz.autograd.torch_types import check_factory, check_memory_format
from gradviz.autograd.variable_rare import RareMethods

if TYPE_CHECKING:
    from gradviz.autograd.ops.sequence import MedianDim
    from gradviz.autograd.variable import Variable

_sequence: Any = None  # gradviz.autograd.ops.sequence, set by variable.py
_nodiff: Any = None  # gradviz.autograd.ops.nodiff (a trace is told of each result), likewise


def _size(size: tuple[Any, ...], op: str) -> tuple[int, ...]:
    """``new_zeros(2, 3)`` or ``new_zeros((2, 3))``: the shape, checked."""
    if len(size) == 1 and isinstance(size[0], list | tuple):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise OperandError(f"{op}(): argument 'size' must be a tuple of ints, not {n!r}")
        if n < 0:
            raise InputError(f"{op}(): Trying to create tensor with negative dimension {n}")
    return tuple(int(n) for n in size)


def _tensor(self: Any, other: Any, op: str) -> Any:
    if isinstance(other, self._plain):
        return other
    if isinstance(other, np.ndarray | list | tuple | bool | int | float):
        return self._plain(np.asarray(other))
    raise OperandError(
        f"{op}(): argument 'other' (position 1) must be a Variable, not {type(other).__name__}"
    )


def _logic(ufunc: Any, self: Any, other: Any, op: str) -> Variable:
    """``ufunc`` (``np.logical_and`` ...) of two Variables that broadcast: PyTorch takes no
    number for ``other`` (a TypeError) and refuses shapes that do not broadcast."""
    if not isinstance(other, self._plain):
        raise OperandError(
            f"{op}(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}"
        )
    try:
        out = self._plain(ufunc(self._data, other._data))
    except ValueError as error:
        raise ShapeError(f"{op}(): shapes {self.shape} and {other.shape}: {error}") from None
    return _nodiff.announce(getattr(_nodiff, f"Logical{op[8:].title()}"), (self, other), out)


class TensorMoreMethods(RareMethods):
    """Products, constructors, reordering, scans, logical ops and layout, as PyTorch's."""

    __slots__ = ()

    # ------------------------------------------------------------------------------- device
    @property
    def device(self) -> device:
        """Where the data lives: ``device('cpu')``, the only device."""
        return device("cpu")

    def cpu(self) -> Variable:
        """This Variable (it is on the CPU already, as ``cpu()`` of a CPU tensor)."""
        return self

    def cuda(self, device: Any = None) -> Variable:
        """An ``InputError``: gradviz runs on the CPU only."""
        cpu_only("cuda", "cuda")
        return self

    # -------------------------------------------------------------------------- products
    def matmul(self, other: Any) -> Variable:
        """``self @ other`` (NumPy's broadcasting rules)."""
        return self @ other

    def mm(self, mat2: Any) -> Variable:
        """Product of two matrices (2-d only)."""
        from gradviz.autograd.ops.api import mm

        return mm(self, mat2)

    def bmm(self, mat2: Any) -> Variable:
        """Batched product of (b, n, m) and (b, m, p) (3-d only)."""
        from gradviz.autograd.ops.api import bmm

        return bmm(self, mat2)

    def mv(self, vec: Any) -> Variable:
        """Product of a matrix and a vector."""
        vec = _tensor(self, vec, "mv")
        if self.ndim != 2 or vec.ndim != 1:
            raise ShapeError(
                f"mv(): expected a 2-d matrix and a 1-d vector, got {self.ndim}-d and {vec.ndim}-d"
            )
        return self @ vec

    def dot(self, other: Any) -> Variable:
        """Inner product of two 1-d Variables of one dtype and length."""
        other = _tensor(self, other, "dot")
        if self.ndim != 1 or other.ndim != 1:
            raise ShapeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        if self.shape != other.shape:
            raise ShapeError(
                f"inconsistent tensor size, expected tensor [{self.shape[0]}] and src "
                f"[{other.shape[0]}] to have the same number of elements, but got "
                f"{self.shape[0]} and {other.shape[0]} elements respectively"
            )
        if self.dtype != other.dtype:
            raise OperandError(
                f"dot : expected both vectors to have same dtype, but found {self.dtype} and "
                f"{other.dtype}"
            )
        return self @ other

    def mul(self, other: Any) -> Variable:
        """``self * other``."""
        return self * other

    multiply = mul

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Variable:
        """``self / other``; ``rounding_mode="trunc"`` or ``"floor"`` rounds the quotient
        (zero gradient)."""
        return _sequence.divide(self, other, rounding_mode)

    divide = div

    # ------------------------------------------------------------------------ constructors
    def new_zeros(
        self,
        *size: Any,
        dtype: Any = None,
        requires_grad: bool = False,
        device: Any = None,
        layout: Any = None,
        pin_memory: bool | None = False,
    ) -> Variable:
        """Zeros of ``size``, in this dtype unless ``dtype`` is given (``device``, ``layout``
        and ``pin_memory`` as ``gradviz.zeros`` takes them)."""
        return self._new_filled(
            "new_zeros", size, 0, dtype, requires_grad, device, layout, pin_memory
        )

    def new_ones(
        self,
        *size: Any,
        dtype: Any = None,
        requires_grad: bool = False,
        device: Any = None,
        layout: Any = None,
        pin_memory: bool | None = False,
    ) -> Variable:
        """Ones of ``size``, in this dtype unless ``dtype`` is given."""
        return self._new_filled(
            "new_ones", size, 1, dtype, requires_grad, device, layout, pin_memory
        )

    def new_empty(
        self,
        *size: Any,
        dtype: Any = None,
        requires_grad: bool = False,
        device: Any = None,
        layout: Any = None,
        pin_memory: bool | None = False,
    ) -> Variable:
        """A Variable of ``size`` (zeros here), in this dtype unless ``dtype`` is given."""
        return self._new_filled(
            "new_empty", size, 0, dtype, requires_grad, device, layout, pin_memory
        )

    def new_full(
        self,
        size: Any,
        fill_value: Any,
        *,
        dtype: Any = None,
        requires_grad: bool = False,
        device: Any = None,
        layout: Any = None,
        pin_memory: bool | None = False,
    ) -> Variable:
        """``fill_value`` everywhere in ``size``, in this dtype unless ``dtype`` is given."""
        size = tuple(size) if isinstance(size, list | tuple) else (size,)
        return self._new_filled(
            "new_full", size, fill_value, dtype, requires_grad, device, layout, pin_memory
        )

    def _new_filled(
        self,
        op: str,
        size: tuple[Any, ...],
        fill_value: Any,
        dtype: Any,
        requires_grad: bool,
        device: Any = None,
        layout: Any = None,
        pin_memory: bool | None = False,
    ) -> Variable:
        from gradviz.autograd.variable import as_dtype

        check_factory(op, device, layout, pin_memory)
        dtype = self.dtype if dtype is None else as_dtype(dtype, op)
        shape = _size(size, op)
        return self._plain(np.full(shape, fill_value, dtype), requires_grad=requires_grad)

    def new_tensor(
        self, data: Any, *, dtype: Any = None, requires_grad: bool = False, device: Any = None
    ) -> Variable:
        """A new leaf holding a copy of ``data``, in this dtype unless ``dtype`` is given."""
        from gradviz.autograd.variable import as_array, as_dtype

        check_factory("new_tensor", device)
        dtype = self.dtype if dtype is None else as_dtype(dtype, "new_tensor")
        return self._plain(np.array(as_array(data), dtype), requires_grad=requires_grad)

    # --------------------------------------------------------------------------- reshaping
    def reshape_as(self, other: Any) -> Variable:
        """This Variable in ``other``'s shape."""
        return self.reshape(*_tensor(self, other, "reshape_as").shape)

    @property
    def mT(self) -> Variable:
        """The last two dims swapped (at least 2-d)."""
        if self.ndim < 2:
            raise ShapeError(
                "tensor.mT is only supported on matrices or batches of matrices. Got "
                f"{self.ndim}-D tensor."
            )
        return self.transpose(-2, -1)

    def flip(self, *dims: Any) -> Variable:
        """The elements in reverse order along ``dims`` (a copy)."""
        return _sequence.flip(self, dims[0] if len(dims) == 1 else dims)

    def roll(self, shifts: Any, dims: Any = None) -> Variable:
        """Elements shifted by ``shifts`` along ``dims``, wrapping around (no ``dims``: over
        the flattened elements)."""
        return _sequence.roll(self, shifts, dims)

    def narrow(self, dim: int, start: int, length: int) -> Variable:
        """The view of ``length`` entries from ``start`` along ``dim``."""
        return _sequence.narrow(self, dim, start, length)

    def repeat_interleave(self, repeats: Any, dim: int | None = None) -> Variable:
        """Each element repeated ``repeats`` times (or ``repeats[i]`` for the ``i``-th)
        along ``dim`` (None: flattened)."""
        return _sequence.repeat_interleave(self, repeats, dim)

    # ----------------------------------------------------------------- selections and scans
    def masked_select(self, mask: Any) -> Variable:
        """The elements where the bool ``mask`` (broadcast with self) is true, 1-d."""
        mask = _tensor(self, mask, "masked_select")
        if mask.dtype != np.bool_:
            raise OperandError(
                f"masked_select: expected BoolTensor for mask, got dtype {mask.dtype}"
            )
        try:
            shape = np.broadcast_shapes(self.shape, mask.shape)
        except ValueError:
            raise ShapeError(
                f"masked_select: the shape of the mask {mask.shape} does not broadcast with "
                f"the input's {self.shape}"
            ) from None
        if self.shape == shape == mask.shape:  # the mask's own array: a trace draws its source
            return self[mask._data]
        x = self if self.shape == shape else self.expand(*shape)
        return x[np.broadcast_to(mask._data, shape)]

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Variable:
        """The indices that sort the values along ``dim`` (int64, no gradient)."""
        return _sequence.argsort(self, dim, descending)

    def cumprod(self, dim: int, *, dtype: Any = None) -> Variable:
        """Running products along ``dim`` (integers give int64); exact gradient at zeros."""
        from gradviz.autograd.dims import dim_index

        x = self if dtype is None else self.to(dtype)
        return _sequence.Cumprod.apply(x, dim_index(dim, self.ndim, "cumprod"))

    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Variable:
        """The ``n``-th forward difference along ``dim``, after joining ``prepend`` and
        ``append``."""
        return _sequence.diff(self, n, dim, prepend, append)

    def median(self, dim: Any = None, keepdim: bool = False) -> Variable | MedianDim:
        """The lower median of every element (NaN if any is NaN); with ``dim``, the
        ``(values, indices)`` of the medians along it, as PyTorch's."""
        if dim is not None:
            dim_index(dim, self.ndim, "median")  # (PyTorch checks the dim first)
        if self.dtype == np.bool_:
            raise InputError("\"median_cpu\" not implemented for 'Bool'")
        if dim is None:
            return _sequence.Median.apply(self)
        return _sequence.median_dim(self, dim, keepdim)

    def where(self, condition: Any, y: Any) -> Variable:
        """``self`` where ``condition`` holds, ``y`` elsewhere."""
        from gradviz.autograd.ops import where

        return where(condition, self, y)

    # ------------------------------------------------------------------------ logical ops
    def logical_and(self, other: Any) -> Variable:
        """Nonzero in both, elementwise (bool, no gradient)."""
        return _logic(np.logical_and, self, other, "logical_and")

    def logical_or(self, other: Any) -> Variable:
        """Nonzero in either, elementwise (bool, no gradient)."""
        return _logic(np.logical_or, self, other, "logical_or")

    def logical_xor(self, other: Any) -> Variable:
        """Nonzero in exactly one, elementwise (bool, no gradient)."""
        return _logic(np.logical_xor, self, other, "logical_xor")

    def logical_not(self) -> Variable:
        """True where zero (bool, no gradient)."""
        return _nodiff.announce(
            _nodiff.LogicalNot, (self,), self._plain(np.logical_not(self._data))
        )

    # ------------------------------------------------------------------ comparisons, layout
    def allclose(
        self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
    ) -> bool:
        """Whether ``|self - other| <= atol + rtol * |other|`` everywhere."""
        from gradviz.autograd.ops.api import allclose

        return allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other: Any) -> bool:
        """Whether ``other`` has this shape and these values."""
        from gradviz.autograd.ops.api import equal

        return equal(self, other)

    def is_contiguous(self, memory_format: Any = None) -> bool:
        """Whether the elements lie in row-major order without gaps (the one layout gradviz
        knows: a ``memory_format`` is taken and asks the same)."""
        check_memory_format(memory_format, "is_contiguous")
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None) -> Any:
        """The steps between elements along each dim (or ``dim``), in elements."""
        steps = tuple(s // self._data.itemsize for s in self._data.strides)
        if dim is None:
            return steps
        from gradviz.autograd.dims import dim_index

        return steps[dim_index(dim, self.ndim, "stride")]

    def element_size(self) -> int:
        """Bytes per element."""
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes of all the elements."""
        return self._data.nbytes

    @property
    def is_cuda(self) -> bool:
        """False: the data lives in a NumPy array on the CPU."""
        return False

    def get_device(self) -> int:
        """-1, PyTorch's answer for a CPU tensor."""
        return -1

    def data_ptr(self) -> int:
        """The address of the first element (equal for two Variables that share it, as tied
        weights do)."""
        return int(self._data.__array_interface__["data"][0])

    def is_pinned(self) -> bool:
        """False: there is no GPU to pin memory for."""
        return False

    def pin_memory(self) -> Any:
        """An ``InputError``, as PyTorch's without a GPU: pinned memory is for copies to one."""
        raise InputError(
            "pin_memory(): cannot access an accelerator device when none is available "
            "(gradviz runs on the CPU; pin memory only when the device is 'cuda')"
        )

    def bfloat16(self) -> Any:
        """An ``OperandError``: NumPy has no bfloat16 (use ``float()``)."""
        from gradviz.autograd.dtypes import bfloat16

        raise OperandError(f"bfloat16(): {bfloat16.why()}")
