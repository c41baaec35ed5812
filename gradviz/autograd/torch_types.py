"""PyTorch's ``torch.Size``, ``torch.dtype`` and memory formats for scripts that name them,
and ``set_printoptions`` (how Variables print).

``Size`` is a tuple of ints (``x.shape == gradviz.Size([2, 3])`` holds; ``x.size()`` returns
one); ``dtype`` is NumPy's dtype class, of which every gradviz dtype is an instance. The memory
formats (``channels_last`` ...) are taken where PyTorch takes them and change nothing: a
layout is a speed habit of PyTorch's kernels, and gradviz keeps every array row by row.
``check_factory`` checks the keywords PyTorch's factories share (``device``, ``layout``,
``pin_memory``, ``memory_format``) once for every gradviz factory.
"""

from __future__ import annotations

import sys
from typing import Any, SupportsIndex

import numpy as np

from gradviz.autograd.dims import dim_index
from gradviz.autograd.dtypes import cpu_only
from gradviz.autograd.errors import (
    ArgumentError,
    IndexRangeError,
    InputError,
    LayoutError,
    OperandError,
)

dtype = np.dtype  # isinstance(x.dtype, gradviz.dtype), type hints


class memory_format:
    """PyTorch's ``torch.memory_format``: ``x.to(memory_format=gradviz.channels_last)`` and
    ``model.to(memory_format=...)`` run and leave the data as it is (values never depend on a
    layout)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"


contiguous_format, preserve_format = (
    memory_format("contiguous_format"),
    memory_format("preserve_format"),
)
channels_last, channels_last_3d = memory_format("channels_last"), memory_format("channels_last_3d")
MEMORY_FORMATS = ("contiguous_format", "preserve_format", "channels_last", "channels_last_3d")


class layout:
    """PyTorch's ``torch.layout``: ``x.layout`` is ``strided``, the dense layout, the one
    gradviz has (PyTorch's sparse layouts have no counterpart)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"


strided = layout("strided")


def check_memory_format(value: Any, op: str) -> None:
    """Refuse a ``memory_format`` argument that is not one, as PyTorch does."""
    if value is not None and not isinstance(value, memory_format):
        raise OperandError(
            f"{op}(): argument 'memory_format' must be torch.memory_format, not "
            f"{type(value).__name__}"
        )


#: the rank each channels-last format needs, as PyTorch checks it
_FORMAT_RANK = {"channels_last": 4, "channels_last_3d": 5}


def check_factory(
    op: str,
    device: Any = None,
    layout: Any = None,
    pin_memory: Any = False,
    memory_format: Any = None,
    *,
    ndim: int | None = None,
    like: bool = False,
) -> None:
    """The keywords every PyTorch factory takes, checked as PyTorch checks them on a CPU-only
    build: ``device`` the CPU; ``layout`` None or ``torch.strided`` (a sparse layout is a
    ``LayoutError``, anything else PyTorch's TypeError); ``pin_memory`` False or None
    (True is PyTorch's RuntimeError: no accelerator, so no pinned memory); ``memory_format``
    a memory format (the channels-last ones need a 4-d or 5-d result of ``ndim`` dims, and
    ``preserve_format`` a tensor to preserve: a ``*_like`` factory, ``like``). Nothing
    changes the result: gradviz keeps every array dense, row by row."""
    cpu_only(device, op)
    _check_layout(layout, op)
    if pin_memory is not None and not isinstance(pin_memory, bool):
        raise OperandError(
            f"{op}(): argument 'pin_memory' must be bool, not {type(pin_memory).__name__}"
        )
    if pin_memory:
        raise InputError(
            f"{op}(): pin_memory=True requires a CUDA or other accelerator backend; no pinned "
            "memory allocator is available on this system (gradviz runs on the CPU only: "
            "leave pin_memory out)"
        )
    check_memory_format(memory_format, op)
    name = getattr(memory_format, "name", None)
    if name == "preserve_format" and not like:
        raise InputError(f"{op}(): unsupported memory format Preserve (a *_like factory's)")
    if name in _FORMAT_RANK and ndim != _FORMAT_RANK[name]:
        raise InputError(
            f"{op}(): required rank {_FORMAT_RANK[name]} tensor to use {name} format, got a "
            f"{ndim}-d one"
        )


def _check_layout(value: Any, op: str) -> None:
    # PyTorch's own torch.layout objects count too (``repr`` tells their name)
    if value is None or repr(value) == "torch.strided":
        return
    if isinstance(value, layout) or type(value).__name__ == "layout":
        raise LayoutError(
            f"{op}(): gradviz has dense (strided) Variables only, got layout={value!r}: "
            "leave layout out or pass torch.strided (gradviz has no sparse tensors)"
        )
    raise OperandError(
        f"{op}(): argument 'layout' must be torch.layout, not {type(value).__name__}"
    )


class Size(tuple):
    """PyTorch's ``torch.Size``: a tuple of non-negative ints; slices and sums stay Sizes."""

    __slots__ = ()

    def __new__(cls, sizes: Any = ()) -> Size:
        items = tuple(sizes)
        for n in items:
            if isinstance(n, bool) or not isinstance(n, int | np.integer):
                raise OperandError(
                    f"torch.Size() takes an iterable of 'int' (item {len(items)} is "
                    f"'{type(n).__name__}')"
                )
        return super().__new__(cls, (int(n) for n in items))

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        count = 1
        for n in self:
            count *= n
        return count

    def __getitem__(self, index: SupportsIndex | slice) -> Any:  # type: ignore[override]
        item = super().__getitem__(index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other: Any) -> Size:  # type: ignore[override]
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other: Any) -> Size:
        return Size(tuple(other) + tuple(self))

    def __repr__(self) -> str:
        return f"gradviz.Size({list(self)})"


#: the options ``set_printoptions`` set (None: NumPy's own)
PRINT_OPTIONS: dict[str, Any] = {
    "precision": None,
    "threshold": None,
    "edgeitems": None,
    "linewidth": None,
    "sci_mode": None,
}


class ElementCount(int):
    """A Variable's ``size``: its number of elements (an int: NumPy's ``size``) that, called,
    is PyTorch's ``size()``: the shape as a tuple, or ``size(dim)`` one dim's length."""

    shape: tuple[int, ...]

    def __new__(cls, shape: tuple[int, ...]) -> ElementCount:
        count = 1
        for n in shape:
            count *= n
        size = super().__new__(cls, count)
        size.shape = shape
        return size

    def __call__(self, dim: Any = None) -> Any:
        if dim is None:
            return Size(self.shape)
        if not self.shape:
            raise IndexRangeError(f"size(): dimension specified as {dim} but the Variable is 0-d")
        return self.shape[dim_index(dim, len(self.shape), "size")]


_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": sys.maxsize, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """How Variables print, as PyTorch's: digits after the point, how many elements before
    summarizing with ``...`` (``edgeitems`` kept at each end), the line width, and scientific
    notation always (``sci_mode=True``), never (``False``) or when needed (None). A
    ``profile`` ("default", "short", "full") sets the first four at once; options not given
    keep their values."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ArgumentError(
                f"set_printoptions(): profile must be 'default', 'short' or 'full', got {profile!r}"
            )
        PRINT_OPTIONS.update(_PROFILES[profile])
    for name, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            PRINT_OPTIONS[name] = (
                min(int(value), sys.maxsize) if value != float("inf") else sys.maxsize
            )
    PRINT_OPTIONS["sci_mode"] = sci_mode


def array_text(data: np.ndarray, prefix: str) -> str:
    """``data`` as ``repr`` shows it inside ``prefix(...)``, with the print options set."""
    options = {k: v for k, v in PRINT_OPTIONS.items() if v is not None and k != "sci_mode"}
    if "linewidth" in options:
        options["max_line_width"] = options.pop("linewidth")
    sci = PRINT_OPTIONS["sci_mode"]
    if sci is not None and data.dtype.kind == "f":
        digits = PRINT_OPTIONS["precision"] if PRINT_OPTIONS["precision"] is not None else 4
        spec = f".{digits}{'e' if sci else 'f'}"
        options["formatter"] = {"float_kind": lambda v: format(v, spec)}
    return np.array2string(data, separator=", ", prefix=prefix, **options)
