"""The methods of ``Variable`` that are ops (``sum``, ``reshape``, ``softmax`` ...), a mixin.

Each checks its arguments as PyTorch does (dims through ``dims.dim_index``) and delegates to
an op of ``gradviz.autograd.ops``, which ``variable.py`` hands to this module once it can be
imported (ops need ``Variable`` itself); views (``reshape``, ``transpose``) go through
``gradviz.autograd.inplace.view_of`` so that writes through them are seen.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import IndexRangeError, InputError, OperandError, ShapeError
from gradviz.autograd.grad_mode import _OFF
from gradviz.autograd.grad_mode import _state as _grad_state
from gradviz.autograd.torch_types import check_factory, check_memory_format

if TYPE_CHECKING:
    from gradviz.autograd.ops.sequence import Sorted
    from gradviz.autograd.variable import Variable

_ops: Any = None  # gradviz.autograd.ops, set by variable.py
_inplace: Any = None  # gradviz.autograd.inplace, set by variable.py
unary = apply1 = None  # gradviz.autograd.variable.unary and function.apply1, set by variable.py

_LN10, _LN2 = math.log(10.0), math.log(2.0)

#: PyTorch's legacy tensor type names (``x.type()``), by NumPy dtype name.
_TENSOR_TYPES = {
    "float16": "Half", "float32": "Float", "float64": "Double", "uint8": "Byte", "int8": "Char",
    "int16": "Short", "int32": "Int", "int64": "Long", "bool": "Bool",
}  # fmt: skip


class MinMax(NamedTuple):
    """``(values, indices)`` returned by ``max(dim)`` and ``min(dim)``, as in PyTorch."""

    values: Variable
    indices: Variable


class TensorMethods:
    """Ops as methods, with PyTorch's names and arguments."""

    __slots__ = ()

    def sum(
        self,
        axis: Any = None,
        keepdims: bool = False,
        *,
        dim: Any = None,
        keepdim: bool | None = None,
        dtype: Any = None,
    ) -> Variable:
        """Sum over ``axis`` (or ``dim``); all axes when None; ``dtype`` converts the input
        first, as in PyTorch (``mask.sum(dtype=np.float32)``)."""
        x = self if dtype is None else self.astype(dtype)
        return _ops.reduction(x, _ops.Sum, axis, keepdims, dim, keepdim)

    def mean(
        self,
        axis: Any = None,
        keepdims: bool = False,
        *,
        dim: Any = None,
        keepdim: bool | None = None,
        dtype: Any = None,
    ) -> Variable:
        """Mean over ``axis`` (or ``dim``); all axes when None; ``dtype`` converts the input
        first, as in PyTorch (``mask.mean(dtype=np.float32)``)."""
        x = self if dtype is None else self.astype(dtype)
        return _ops.reduction(x, _ops.Mean, axis, keepdims, dim, keepdim)

    def max(
        self,
        axis: Any = None,
        keepdims: bool = False,
        *,
        dim: Any = None,
        keepdim: bool | None = None,
    ) -> Variable | MinMax:
        """Largest value (a 0-d Variable); with an axis, PyTorch's ``(values, indices)`` pair."""
        return _ops.max_or_min(self, _ops.Max, axis, keepdims, dim, keepdim)

    def min(
        self,
        axis: Any = None,
        keepdims: bool = False,
        *,
        dim: Any = None,
        keepdim: bool | None = None,
    ) -> Variable | MinMax:
        """Smallest value (a 0-d Variable); with an axis, PyTorch's ``(values, indices)`` pair."""
        return _ops.max_or_min(self, _ops.Min, axis, keepdims, dim, keepdim)

    def amax(
        self,
        axis: Any = None,
        keepdims: bool = False,
        *,
        dim: Any = None,
        keepdim: bool | None = None,
    ) -> Variable:
        """Largest values over ``axis`` (ties share the gradient evenly, as in PyTorch)."""
        return _ops.reduction(self, _ops.Amax, axis, keepdims, dim, keepdim)

    def amin(
        self,
        axis: Any = None,
        keepdims: bool = False,
        *,
        dim: Any = None,
        keepdim: bool | None = None,
    ) -> Variable:
        """Smallest values over ``axis`` (ties share the gradient evenly, as in PyTorch)."""
        return _ops.reduction(self, _ops.Amin, axis, keepdims, dim, keepdim)

    def argmax(
        self, axis: int | None = None, keepdim: bool = False, *, dim: int | None = None
    ) -> Variable:
        """Indices of the largest values (int64, as PyTorch's; indices carry no gradient); the
        first of ties, as PyTorch; ``keepdim`` keeps the reduced dim (size 1)."""
        return self._arg_extreme(np.argmax, "argmax", dim if dim is not None else axis, keepdim)

    def argmin(
        self, axis: int | None = None, keepdim: bool = False, *, dim: int | None = None
    ) -> Variable:
        """Indices of the smallest values (int64, as PyTorch's; indices carry no gradient)."""
        return self._arg_extreme(np.argmin, "argmin", dim if dim is not None else axis, keepdim)

    def _arg_extreme(self, pick: Any, method: str, axis: int | None, keepdim: bool) -> Variable:
        if self.dtype == np.bool_ and not isinstance(axis, tuple | list):  # (PyTorch's order)
            raise InputError(f"{method}(): does not support bool input")
        if axis is not None:
            axis = dim_index(axis, self.ndim, method)  # (a 0-d input takes dim 0 or -1)
            axis = axis if self.ndim else None
        if not (self._data.size if axis is None else self.shape[axis]):  # NumPy's ValueError
            which = "dim to be specified for input.numel() == 0"
            if axis is not None:
                which = f"dim {axis} to have non-zero size"
            raise IndexRangeError(f"{method}(): Expected reduction {which}.")
        if keepdim and axis is None:  # PyTorch: every dim kept, of size 1
            found = pick(self._data).reshape((1,) * self.ndim)
        else:
            found = pick(self._data, axis=axis, keepdims=bool(keepdim))
        op = _ops.nodiff.Argmax if method == "argmax" else _ops.nodiff.Argmin
        return _ops.nodiff.announce(op, (self, axis, keepdim), self._plain(found.astype(np.int64)))

    def reshape(self, *shape: Any) -> Variable:
        """Same data, new shape (``-1`` infers one axis); a copy when the elements are not
        laid out for it (``x.T.reshape(-1)``), as PyTorch's."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return _inplace.view_of(self, _ops.Reshape.apply(self, shape))

    def view(self, *shape: Any) -> Variable:
        """Same data, new shape, as PyTorch's ``view``: refused where the elements are not laid
        out so that the new shape can share them (``x.T.view(-1)``; ``reshape`` copies)."""
        data = self._data
        if len(shape) == 1 and isinstance(shape[0], np.dtype | type):
            raise OperandError(
                f"view(dtype={np.dtype(shape[0])}): reinterpreting the bytes as another dtype is "
                f"not supported; convert the values with .to(torch.{np.dtype(shape[0])}) instead"
            )
        if not data.flags.c_contiguous:
            wanted = (
                tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
            )
            try:
                np.reshape(data, wanted, copy=False)
            except (ValueError, TypeError):
                try:
                    np.reshape(data, wanted)
                except (ValueError, TypeError):
                    pass  # not a shape of these elements: reshape says so
                else:
                    raise InputError(
                        f"view size is not compatible with input tensor's size and stride (at "
                        f"least one dimension spans across two contiguous subspaces): a "
                        f"{self.shape} Variable viewed as {wanted}. Use .reshape(...) instead "
                        "(or .contiguous().view(...))"
                    ) from None
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Variable:
        """Merge the axes ``start_dim`` to ``end_dim`` (inclusive) into one; a 0-d Variable
        becomes 1-d."""
        start = dim_index(start_dim, self.ndim, "flatten")
        end = dim_index(end_dim, self.ndim, "flatten")
        if start > end:
            raise InputError(
                f"flatten(): start_dim cannot come after end_dim, got start_dim={start_dim} "
                f"and end_dim={end_dim} for a {self.ndim}-d Variable"
            )
        merged = int(np.prod(self.shape[start : end + 1]))  # (not -1: a size-0 input)
        return self.reshape(*self.shape[:start], merged, *self.shape[end + 1 :])

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Variable:
        """Swap two axes (PyTorch's ``transpose(dim0, dim1)``)."""
        ndim = self.ndim
        dim0, dim1 = dim_index(dim0, ndim, "transpose"), dim_index(dim1, ndim, "transpose")
        if not ndim:  # 0-d: dims 0 and -1 are accepted and there is nothing to swap
            return _ops.Permute.apply(self, ())
        return _inplace.view_of(self, _ops.Transpose.apply(self, dim0, dim1))

    def permute(self, *dims: Any, **kwargs: Any) -> Variable:
        """Reorder all axes: ``permute(2, 0, 1)``, ``permute((2, 0, 1))`` or
        ``permute(dims=(2, 0, 1))``."""
        if not dims and set(kwargs) == {"dims"}:
            dims = (kwargs.pop("dims"),)
        if kwargs:
            raise OperandError(
                f"permute() got an unexpected keyword argument {next(iter(kwargs))!r}"
            )
        if not dims:
            raise OperandError('permute() missing 1 required positional arguments: "dims"')
        if len(dims) == 1 and isinstance(dims[0], tuple | list):
            dims = tuple(dims[0])
        ndim = self.ndim
        if len(dims) != ndim:
            raise ShapeError(
                f"permute(): number of dimensions in the tensor input does not match the length "
                f"of the desired ordering of dimensions i.e. input.dim() = {ndim} is not equal "
                f"to len(dims) = {len(dims)}"
            )
        dims = tuple(dim_index(d, ndim, "permute") for d in dims) if ndim else tuple(dims)
        return _inplace.view_of(self, _ops.Permute.apply(self, dims))

    @property
    def T(self) -> Variable:
        """All axes reversed."""
        return _inplace.view_of(self, _ops.Permute.apply(self, tuple(range(self.ndim - 1, -1, -1))))

    def t(self) -> Variable:
        """The transpose of a matrix; a 0-d or 1-d Variable as it is (PyTorch's ``t()``)."""
        if self.ndim > 2:
            raise InputError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    def squeeze(self, axis: Any = None, *, dim: Any = None) -> Variable:
        """Drop ``dim`` (an int or a tuple of them) where it has size 1, every size-1 axis when
        None; a dim of another size stays, as in PyTorch."""
        axis = dim if dim is not None else axis
        shape = self.shape
        if axis is None:
            return self.reshape(tuple(n for n in shape if n != 1))
        axes = axis if isinstance(axis, tuple | list) else (axis,)
        drop = {dim_index(a, self.ndim, "squeeze") for a in axes}
        # 0-d: nothing to drop (PyTorch accepts dim 0 and -1 here)
        return self.reshape(tuple(n for i, n in enumerate(shape) if i not in drop or n != 1))

    def unsqueeze(self, axis: Any = None, *, dim: Any = None) -> Variable:
        """Insert a size-1 axis at position ``dim``."""
        axis = dim if dim is not None else axis
        if axis is None:
            raise TypeError("unsqueeze() missing 1 required positional argument: 'dim'")
        axis = dim_index(axis, self.ndim + 1, "unsqueeze")
        return self.reshape((*self.shape[:axis], 1, *self.shape[axis:]))

    def exp(self) -> Variable:
        """Elementwise e**x."""
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            return apply1(_ops.Exp, self, True)
        return unary(np.exp, _ops.Exp, self)

    def log(self) -> Variable:
        """Elementwise natural logarithm."""
        return apply1(_ops.Log, self)

    def log10(self) -> Variable:
        """Base-10 logarithm (``log(x) / log(10)``)."""
        return self.log() / _LN10

    def log2(self) -> Variable:
        """Base-2 logarithm (``log(x) / log(2)``)."""
        return self.log() / _LN2

    def sqrt(self) -> Variable:
        """Elementwise square root."""
        return apply1(_ops.Sqrt, self)

    def abs(self) -> Variable:
        """Elementwise absolute value (the gradient at 0 is 0, as in PyTorch)."""
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            return apply1(_ops.Abs, self, True)
        return unary(np.abs, _ops.Abs, self)

    def clip(self, min: float | None = None, max: float | None = None) -> Variable:
        """Clamp values into ``[min, max]`` (gradient passes where min <= x <= max); bounds are
        numbers, arrays or Variables (which get the gradient where they are taken)."""
        if min is None and max is None:
            raise InputError("clamp(): At least one of 'min' or 'max' must not be None")
        for name, bound in (("min", min), ("max", max)):
            if not isinstance(bound, int | float | np.number | np.ndarray | TensorMethods | None):
                raise OperandError(
                    f"clamp(): argument '{name}' must be a number, an array or a Variable, "
                    f"not {type(bound).__name__}"
                )
        return _ops.Clamp.apply(self, min, max)

    clamp = clip

    def relu(self) -> Variable:
        """max(x, 0) (the gradient at 0 is 0, as in PyTorch)."""
        return apply1(_ops.Relu, self)

    def sigmoid(self) -> Variable:
        """1 / (1 + exp(-x)), stable for large |x|."""
        return apply1(_ops.Sigmoid, self)

    def tanh(self) -> Variable:
        """Elementwise hyperbolic tangent."""
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            return apply1(_ops.Tanh, self, True)
        return unary(np.tanh, _ops.Tanh, self)

    def sin(self) -> Variable:
        """Elementwise sine."""
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            return apply1(_ops.Sin, self, True)
        return unary(np.sin, _ops.Sin, self)

    def cos(self) -> Variable:
        """Elementwise cosine."""
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            return apply1(_ops.Cos, self, True)
        return unary(np.cos, _ops.Cos, self)

    def square(self) -> Variable:
        """``self ** 2`` (a Pow node, as in PyTorch)."""
        return _ops.Pow.apply(self, 2)

    def maximum(self, other: Any) -> Variable:
        """Elementwise larger value (ties split the gradient 0.5/0.5, as in PyTorch)."""
        return _ops.binary(_ops.Maximum, self, other)

    def minimum(self, other: Any) -> Variable:
        """Elementwise smaller value (ties split the gradient 0.5/0.5, as in PyTorch)."""
        return _ops.binary(_ops.Minimum, self, other)

    def softmax(self, dim: int, dtype: Any = None) -> Variable:
        """exp(x) normalised along ``dim`` (``F.softmax``), in ``dtype`` if given."""
        x = self if dtype is None else self.to(dtype)
        return _ops.Softmax.apply(x, _ops.softmax_dim(x, dim, "softmax"))

    def log_softmax(self, dim: int, dtype: Any = None) -> Variable:
        """log(softmax(x)) along ``dim``, computed stably (``F.log_softmax``)."""
        x = self if dtype is None else self.to(dtype)
        return _ops.LogSoftmax.apply(x, _ops.softmax_dim(x, dim, "log_softmax"))

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Variable:
        """log(sum(exp(x))) over ``dim``, computed stably."""
        return _ops.logsumexp(self, dim, keepdim)

    def var(
        self,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: bool = False,
        *,
        correction: Any = None,
    ) -> Variable:
        """Variance over ``dim`` (all when None); ``correction=1`` (Bessel's) by default."""
        return _ops.variance(self, _ops.Var, dim, unbiased, keepdim, correction)

    def std(
        self,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: bool = False,
        *,
        correction: Any = None,
    ) -> Variable:
        """Standard deviation over ``dim``; ``correction=1`` by default."""
        return _ops.variance(self, _ops.Std, dim, unbiased, keepdim, correction)

    def norm(self, p: Any = 2, dim: Any = None, keepdim: bool = False) -> Variable:
        """Vector p-norm over ``dim`` (all elements when None); p = 2, 1, inf, ..."""
        return _ops.norm(self, p, dim, keepdim)

    def cumsum(self, dim: int, *, dtype: Any = None) -> Variable:
        """Running sums along ``dim`` (in ``dtype``, if given: the input converted first)."""
        return _ops.cumsum(self if dtype is None else self.to(dtype), dim)

    def tril(self, diagonal: int = 0) -> Variable:
        """Lower triangle of the last two axes (zeros above ``diagonal``)."""
        return _ops.triangle(self, _ops.Tril, diagonal)

    def triu(self, diagonal: int = 0) -> Variable:
        """Upper triangle of the last two axes (zeros below ``diagonal``)."""
        return _ops.triangle(self, _ops.Triu, diagonal)

    def expand(self, *sizes: Any) -> Variable:
        """Broadcast to ``sizes`` (-1 keeps a size); the gradient is summed back."""
        return _ops.expand(self, *sizes)

    def expand_as(self, other: Any) -> Variable:
        """``expand`` to ``other``'s shape."""
        return _ops.expand(
            self, *np.shape(other._data if isinstance(other, TensorMethods) else other)
        )

    def clone(self, *, memory_format: Any = None) -> Variable:
        """A copy that stays in the graph (the gradient passes through); a ``memory_format`` is
        checked as PyTorch checks it and changes nothing (arrays stay row by row)."""
        if memory_format is not None:
            check_factory("clone", memory_format=memory_format, ndim=self.ndim, like=True)
        return apply1(_ops.Clone, self)

    def contiguous(self, memory_format: Any = None) -> Variable:
        """This Variable if its data is laid out row by row, else a copy that is (a ``Clone``
        in the graph, as PyTorch's): in-place writes into the copy leave the original alone.
        A ``memory_format`` (``gradviz.channels_last``) is taken and changes nothing."""
        if memory_format is not None:
            check_memory_format(memory_format, "contiguous")
        return self if self._data.flags.c_contiguous else self.clone()

    def dim(self) -> int:
        """Number of dims (PyTorch's name for ``ndim``)."""
        return self._data.ndim

    def __abs__(self) -> Variable:
        if self.requires_grad and (not _OFF or _grad_state.enabled):
            return apply1(_ops.Abs, self, True)
        return unary(np.abs, _ops.Abs, self)

    def repeat(self, *sizes: Any) -> Variable:
        """Tile ``sizes[i]`` times along axis ``i``."""
        return _ops.repeat(self, *sizes)

    def split(
        self, split_size_or_sections: Any = None, dim: int = 0, *, split_size: Any = None
    ) -> tuple[Variable, ...]:
        """Pieces of ``split_size`` (the last smaller) or of the listed sizes, along ``dim``
        (``split_size=`` is the method's keyword in PyTorch, ``split_size_or_sections=`` the
        function's)."""
        size = split_size_or_sections if split_size is None else split_size
        if size is None:
            raise OperandError("split() missing 1 required positional argument: 'split_size'")
        return _ops.split(self, size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Variable, ...]:
        """At most ``chunks`` pieces of equal size along ``dim`` (the last may be smaller)."""
        return _ops.chunk(self, chunks, dim)

    def unbind(self, dim: int = 0) -> tuple[Variable, ...]:
        """The slices along ``dim``, that dim removed (``x[:, i]`` for each ``i`` when dim=1)."""
        if not self.ndim:
            raise InputError("unbind(): dimension specified as 0 but tensor has no dimensions")
        axis = dim_index(dim, self.ndim, "unbind")
        return tuple(self[(slice(None),) * axis + (i,)] for i in range(self.shape[axis]))

    def __index__(self) -> int:
        """A one-element integer Variable used as an index (``classes[y]``), as in PyTorch."""
        if self._data.size != 1 or self.dtype.kind not in "iub":
            raise TypeError(
                "only integer Variables of a single element can be converted to an index"
            )
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """A 0-d Variable formats as its number (``f"{loss:.4f}"``), as in PyTorch."""
        if self.ndim == 0:
            return format(self._data.item(), spec)
        return object.__format__(self, spec)

    def index_select(self, dim: int, index: Any) -> Variable:
        """The entries at the 1-d integer ``index`` along ``dim`` (repeats allowed)."""
        axis = dim_index(dim, max(self.ndim, 1), "index_select")
        picks = np.asarray(index._data if isinstance(index, TensorMethods) else index)
        if picks.ndim > 1 or (picks.size and picks.dtype.kind not in "iu"):
            raise IndexRangeError(
                "index_select(): index must be a 1-d integer Variable, got "
                f"{picks.ndim}-d {picks.dtype}"
            )
        picks = picks.reshape(-1).astype(np.int64)
        size = (self.shape or (1,))[axis]
        bad = picks[(picks < 0) | (picks >= size)]
        if bad.size:  # (a negative index is no position from the end here, as in PyTorch)
            raise IndexRangeError(
                f"index_select(): index out of range in self: index {bad[0]} is not in "
                f"[0, {size}) along dim {axis} of {self.shape}"
            )
        if isinstance(index, TensorMethods) and index.ndim == 1:  # drawn with an edge from it
            picks = index
        return self[(slice(None),) * axis + (picks,)]

    def view_as(self, other: Any) -> Variable:
        """This Variable viewed in ``other``'s shape (``view(other.shape)``)."""
        return self.view(other.shape)

    def nelement(self) -> int:
        """Number of elements (PyTorch's alias of ``numel``)."""
        return self._data.size

    def gather(self, dim: int, index: Any) -> Variable:
        """Values along ``dim`` at the int64 ``index`` (repeated indices add gradients)."""
        return _ops.gather(self, dim, index)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Sorted:
        """The values along ``dim`` in order, and where each was (an int64 Variable without
        gradient); ties keep their order and NaN counts as the largest value, as PyTorch sorts."""
        return _ops.sequence.sort(self, dim, descending)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Sorted:
        """The ``k`` largest (``largest=False``: smallest) values along ``dim``, first to last,
        and their indices (an int64 Variable without gradient), as PyTorch's ``topk``."""
        return _ops.sequence.topk(self, k, dim, largest)

    def type_as(self, other: Any) -> Variable:
        """A copy in ``other``'s dtype (self when it has it already)."""
        return self if self.dtype == other.dtype else self.astype(other.dtype)

    def type(self, dtype: Any = None) -> Any:
        """PyTorch's ``type``: with no argument the type name (``'torch.FloatTensor'``), else a
        copy in ``dtype`` (a dtype or such a name), self when it has it already."""
        names = {np.dtype(k): f"torch.{v}Tensor" for k, v in _TENSOR_TYPES.items()}
        if dtype is None:
            return names.get(self.dtype, f"torch.{self.dtype}")
        if isinstance(dtype, str) and dtype in names.values():
            dtype = next(k for k, v in names.items() if v == dtype)
        return self.to(dtype)

    def to(self, *args: Any, dtype: Any = None, **kwargs: Any) -> Variable:
        """PyTorch's ``to``: ``to(dtype)``, ``to("cpu")``, ``to(other)`` (its dtype) or
        ``to("cpu", dtype)``; the CPU is the only device."""
        from gradviz.autograd.variable import Variable, as_dtype

        check_memory_format(kwargs.get("memory_format"), "to")  # taken, changing nothing
        for arg in (*args, kwargs.get("device")):
            if isinstance(arg, str):
                if arg.split(":")[0] != "cpu":
                    raise InputError(f"to(): gradviz runs on the CPU only, got device {arg!r}")
            elif arg is not None and dtype is None:
                dtype = arg.dtype if isinstance(arg, Variable | np.ndarray) else arg
        if dtype is None:
            return self
        dtype = as_dtype(dtype, "to")
        return self if self.dtype == dtype else self.astype(dtype)

    def masked_fill(self, mask: Any, value: Any) -> Variable:
        """``value`` where the boolean ``mask`` is true, self elsewhere."""
        return _ops.masked_fill(self, mask, value)

    def astype(self, dtype: Any) -> Variable:
        """A copy converted to ``dtype``; the gradient is converted back. An integer or bool
        copy takes no gradient (PyTorch's ``requires_grad`` is False)."""
        from gradviz.autograd.variable import as_dtype

        dtype = as_dtype(dtype, "astype")
        cut = dtype.kind not in "fc" and self.requires_grad  # (else a trace draws no detach())
        return _ops.Cast.apply(self.detach() if cut else self, dtype)

    def float(self) -> Variable:
        """A float32 copy (``astype(np.float32)``)."""
        return self.astype(np.float32)

    def double(self) -> Variable:
        """A float64 copy (``astype(np.float64)``)."""
        return self.astype(np.float64)

    def half(self) -> Variable:
        """A float16 copy."""
        return self.astype(np.float16)

    def long(self) -> Variable:
        """An int64 copy (floats truncated toward 0, as in PyTorch)."""
        return self.astype(np.int64)

    def int(self) -> Variable:
        """An int32 copy."""
        return self.astype(np.int32)

    def bool(self) -> Variable:
        """A bool copy: True where nonzero."""
        return self.astype(np.bool_)

    def _repr_html_(self) -> str:
        """Jupyter's view: shape, dtype, op, gradient and a line of statistics."""
        from gradviz.autograd.display import variable_html

        return variable_html(self)
