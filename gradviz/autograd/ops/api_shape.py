"""PyTorch's shape helpers a ported script reaches for: ``movedim``/``moveaxis``,
``swapaxes``/``swapdims``, ``ravel``, ``dstack``/``column_stack``/``row_stack``,
``tensor_split``/``hsplit``/``vsplit``/``dsplit``, ``rot90``, ``argwhere``, ``aminmax`` and
``msort``, as top-level functions (and, through ``variable_extra``, methods where PyTorch has
both). Each is a composition of existing ops (permute, transpose, flip, reshape, cat, Split,
amin/amax, sort), so their graphs show the ops that ran.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np

from gradviz.autograd import inplace as _inplace
from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import InputError, OperandError, ShapeError
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.api_more import _sequence, hstack, vstack
from gradviz.autograd.ops.indexing import Split
from gradviz.autograd.ops.shape import concatenate
from gradviz.autograd.variable import Variable


def _dims(value: Any, op: str, name: str) -> list[int]:
    items = list(value) if isinstance(value, list | tuple) else [value]
    for d in items:
        if isinstance(d, bool) or not isinstance(d, int | np.integer):
            raise OperandError(f"{op}(): argument '{name}' must be int or tuple of ints, not {d!r}")
    return [int(d) for d in items]


def movedim(input: Any, source: Any, destination: Any) -> Variable:
    """The dims ``source`` moved to the places ``destination``, the others keeping their order
    (one ``Permute``)."""
    x = as_variable(input, "movedim")
    src, dst = _dims(source, "movedim", "source"), _dims(destination, "movedim", "destination")
    if len(src) != len(dst):
        raise InputError(
            f"movedim: Invalid source or destination dims: source ({src} dims) should contain "
            f"the same number of dims as destination ({dst} dims)"
        )
    ndim = max(x.ndim, 1)
    src = [dim_index(d, ndim, "movedim") for d in src]
    dst = [dim_index(d, ndim, "movedim") for d in dst]
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise InputError(f"movedim: repeated dim in `{name}` ({dims})")
    if not x.ndim:
        return x.reshape(())
    order = [d for d in range(x.ndim) if d not in src]
    for place, dim in sorted(zip(dst, src, strict=True)):
        order.insert(place, dim)
    return x.permute(*order)


moveaxis = movedim


def swapaxes(input: Any, axis0: int, axis1: int) -> Variable:
    """Two dims swapped (``transpose``)."""
    return as_variable(input, "swapaxes").transpose(axis0, axis1)


def swapdims(input: Any, dim0: int, dim1: int) -> Variable:
    """Two dims swapped (``transpose``)."""
    return as_variable(input, "swapdims").transpose(dim0, dim1)


def ravel(input: Any) -> Variable:
    """Every element in one dim, in order (``reshape(-1)``)."""
    return as_variable(input, "ravel").reshape(-1)


def _at_least_3d(x: Variable) -> Variable:
    if x.ndim >= 3:
        return x
    return (
        x.reshape(1, 1, 1) if not x.ndim else x.reshape(1, -1, 1) if x.ndim == 1 else x[..., None]
    )


def dstack(tensors: Any) -> Variable:
    """Join along dim 2 (the depth), inputs first made at least 3-d."""
    joined = [_at_least_3d(as_variable(t, "dstack")) for t in _sequence(tensors, "dstack")]
    return concatenate(joined, 2)


def column_stack(tensors: Any) -> Variable:
    """Join as columns: 0-d and 1-d inputs become columns, then ``hstack``."""
    columns = []
    for t in _sequence(tensors, "column_stack"):
        x = as_variable(t, "column_stack")
        columns.append(x.reshape(-1, 1) if x.ndim <= 1 else x)
    return hstack(columns)


row_stack = vstack


def tensor_split(input: Any, indices_or_sections: Any, dim: int = 0) -> tuple[Variable, ...]:
    """Views along ``dim``: ``n`` sections (the first ``size % n`` one longer), or the pieces
    between the given indices (views, as ``split``)."""
    x = as_variable(input, "tensor_split")
    if not x.ndim:
        raise InputError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
        )
    axis = dim_index(dim, x.ndim, "tensor_split")
    size = x.shape[axis]
    if isinstance(indices_or_sections, Variable):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, list | tuple):
        cuts = [
            min(max(i + size if i < 0 else i, 0), size)
            for i in _dims(indices_or_sections, "tensor_split", "indices")
        ]
        bounds = list(zip([0, *cuts], [*cuts, size], strict=True))
    else:
        (sections,) = _dims(indices_or_sections, "tensor_split", "sections")
        if sections <= 0:
            raise InputError(f"number of sections must be larger than 0, got {sections}")
        small, extra = divmod(size, sections)
        lengths = [small + 1] * extra + [small] * (sections - extra)
        starts = np.cumsum([0, *lengths]).tolist()
        bounds = list(itertools.pairwise(starts))
    return tuple(
        _inplace.view_of(x, Split.apply(x, axis, start, max(start, stop))) for start, stop in bounds
    )


def _split_at(op: str, dim: int, least: int, input: Any, indices_or_sections: Any):
    x = as_variable(input, op)
    if x.ndim < least:
        raise InputError(
            f"torch.{op} requires a tensor with at least {least} dimension, but got a tensor "
            f"with {x.ndim} dimensions!"
        )
    if isinstance(indices_or_sections, int | np.integer) and not isinstance(
        indices_or_sections, bool
    ):
        sections = int(indices_or_sections)
        if sections == 0 or x.shape[dim] % sections:
            raise InputError(
                f"torch.{op} attempted to split along dimension {dim}, but the size of the "
                f"dimension {x.shape[dim]} is not divisible by the split_size {sections}!"
            )
    return tensor_split(x, indices_or_sections, dim)


def hsplit(input: Any, indices_or_sections: Any) -> tuple[Variable, ...]:
    """``tensor_split`` along dim 1 (dim 0 of a 1-d input); sections must split evenly."""
    x = as_variable(input, "hsplit")
    return _split_at("hsplit", 1 if x.ndim > 1 else 0, 1, x, indices_or_sections)


def vsplit(input: Any, indices_or_sections: Any) -> tuple[Variable, ...]:
    """``tensor_split`` along dim 0 of an input of 2 or more dims; sections split evenly."""
    return _split_at("vsplit", 0, 2, input, indices_or_sections)


def dsplit(input: Any, indices_or_sections: Any) -> tuple[Variable, ...]:
    """``tensor_split`` along dim 2 of an input of 3 or more dims; sections split evenly."""
    return _split_at("dsplit", 2, 3, input, indices_or_sections)


def rot90(input: Any, k: int = 1, dims: Any = (0, 1)) -> Variable:
    """Rotated by 90 degrees ``k`` times, from the first of ``dims`` toward the second
    (flip and transpose, as PyTorch composes it)."""
    x = as_variable(input, "rot90")
    dims = _dims(dims, "rot90", "dims")
    (k,) = _dims(k, "rot90", "k")
    if len(dims) != 2:
        raise InputError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if x.ndim < 2:
        raise InputError(f"expected total dims >= 2, but got total dims = {x.ndim}")
    first, second = (dim_index(d, x.ndim, "rot90") for d in dims)
    if first == second:
        raise InputError(
            f"expected rotation dims to be different, but got dim0 = {first} and dim1 = {second}"
        )
    k %= 4
    if k == 1:
        return x.flip(second).transpose(first, second)
    if k == 2:
        return x.flip(first, second)
    if k == 3:
        return x.flip(first).transpose(first, second)
    return x.clone()


def argwhere(input: Any) -> Variable:
    """The indices of the nonzero elements, one row each (int64, ``nonzero()``)."""
    return as_variable(input, "argwhere").nonzero()


class MinMax(NamedTuple):
    """``(min, max)`` returned by ``aminmax``, as PyTorch's."""

    min: Variable
    max: Variable


def aminmax(input: Any, *, dim: int | None = None, keepdim: bool = False) -> MinMax:
    """The smallest and largest values over ``dim`` (every element when None), ``amin`` and
    ``amax`` (ties share the gradient)."""
    x = as_variable(input, "aminmax")
    if dim is None:
        if not x.numel():
            raise ShapeError(
                "aminmax(): cannot compute aminmax over an empty dimension as the operation "
                "has no identity."
            )
        axes = tuple(range(x.ndim))
        if not axes:
            return MinMax(x.amin(()), x.amax(()))
        return MinMax(x.amin(axes, keepdim), x.amax(axes, keepdim))
    return MinMax(x.amin(dim, keepdim), x.amax(dim, keepdim))


def msort(input: Any) -> Variable:
    """The values sorted along dim 0 (``sort(dim=0).values``)."""
    return as_variable(input, "msort").sort(dim=0).values


#: every public function of this module, for the top-level namespaces
NAMES = (
    "movedim",
    "moveaxis",
    "swapaxes",
    "swapdims",
    "ravel",
    "dstack",
    "column_stack",
    "row_stack",
    "tensor_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "rot90",
    "argwhere",
    "aminmax",
    "msort",
)
