"""PyTorch's process-wide switches, with what they mean for gradviz: ``compile`` (the model as
it is: gradviz runs op by op, which is what its pictures show), the float32 matmul precision
(remembered; NumPy's matmul is always full precision), the number of threads (BLAS's, set
through threadpoolctl), the default device (the CPU: gradviz has no other), ``finfo``/``iinfo``
and ``is_floating_point``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradviz.autograd.dtypes import cpu_only
from gradviz.autograd.dtypes import device as _device
from gradviz.autograd.errors import InputError, OperandError
from gradviz.autograd.variable import Variable, as_dtype, get_default_dtype

_PRECISIONS = ("highest", "high", "medium")
_state: dict[str, Any] = {"matmul_precision": "highest", "interop_threads": 1, "warn_always": False}


def compile(model: Any = None, **options: Any) -> Any:
    """PyTorch's ``torch.compile``: returns ``model`` (a module or function) unchanged, or, as
    ``@compile(...)``, a decorator that does. gradviz runs every op eagerly."""
    if model is None:
        return _unchanged
    if not callable(model):
        raise OperandError(
            f"compile(): expected a Module or a function, got {type(model).__name__}"
        )
    return model


def _unchanged(model: Callable[..., Any]) -> Callable[..., Any]:
    return model


def set_float32_matmul_precision(precision: str) -> None:
    """Remember ``"highest"``, ``"high"`` or ``"medium"`` (NumPy's float32 matmul is always
    the highest)."""
    if precision not in _PRECISIONS:
        raise InputError(
            f"Invalid precision {precision!r}: expected one of {', '.join(_PRECISIONS)}"
        )
    _state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    """What :func:`set_float32_matmul_precision` was last given (``"highest"`` at start)."""
    return _state["matmul_precision"]


def set_num_threads(count: int) -> None:
    """Let BLAS (NumPy's matmul) use ``count`` threads, as PyTorch's intra-op threads."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(f"set_num_threads expects a positive integer, got {count!r}")
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=count, user_api="blas")


def get_num_threads() -> int:
    """How many threads BLAS may use (1 when NumPy's BLAS reports none)."""
    from threadpoolctl import threadpool_info

    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts, default=1)


def set_num_interop_threads(count: int) -> None:
    """Recorded for ``get_num_interop_threads``: gradviz runs ops one after another."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(f"set_num_interop_threads expects a positive integer, got {count!r}")
    _state["interop_threads"] = count


def get_num_interop_threads() -> int:
    """What :func:`set_num_interop_threads` was last given (1 at start: one op at a time)."""
    return _state["interop_threads"]


def init_num_threads() -> None:
    """Nothing to start: NumPy's BLAS makes its own threads."""


def set_warn_always(b: bool) -> None:
    """Recorded for ``is_warn_always_enabled`` (gradviz's warnings follow Python's filters)."""
    _state["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    """What :func:`set_warn_always` was last given (False at start)."""
    return _state["warn_always"]


def set_flush_denormal(mode: bool) -> bool:
    """False: NumPy cannot flush denormal numbers to zero, so nothing changes."""
    return False


@dataclass(frozen=True)
class finfo:
    """Limits of a float dtype (the default dtype when none), as PyTorch's ``finfo``: Python
    floats ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``), ``resolution``, the
    ``bits`` and the dtype's name."""

    bits: int
    eps: float
    max: float
    min: float
    tiny: float
    smallest_normal: float
    resolution: float
    dtype: str

    def __init__(self, type: Any = None) -> None:
        dtype = get_default_dtype() if type is None else as_dtype(type, "finfo")
        if dtype.kind != "f":
            raise OperandError(f"finfo(): expected a floating point dtype, got {dtype}")
        info = np.finfo(dtype)
        for name in ("eps", "max", "min", "tiny", "smallest_normal"):
            object.__setattr__(self, name, float(getattr(info, name)))
        object.__setattr__(self, "bits", info.bits)
        object.__setattr__(self, "resolution", 10.0**-info.precision)
        object.__setattr__(self, "dtype", str(dtype))


@dataclass(frozen=True)
class iinfo:
    """Limits of an integer dtype, as PyTorch's ``iinfo``: ``bits``, ``min``, ``max`` and the
    dtype's name."""

    bits: int
    min: int
    max: int
    dtype: str

    def __init__(self, type: Any) -> None:
        dtype = as_dtype(type, "iinfo")
        if dtype.kind not in "iu":
            raise OperandError(f"iinfo(): expected an integer dtype, got {dtype}")
        info = np.iinfo(dtype)
        for name, value in (("bits", info.bits), ("min", int(info.min)), ("max", int(info.max))):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "dtype", str(dtype))


def set_default_device(device: Any) -> None:
    """PyTorch's ``torch.set_default_device``: ``"cpu"`` or ``device("cpu")`` (or None) only,
    as the tutorials' ``torch.set_default_device(device)`` after picking the CPU."""
    cpu_only(device, "set_default_device")


def get_default_device() -> _device:
    """The device new Variables are made on: always ``device("cpu")``."""
    return _device("cpu")


def is_floating_point(tensor: Variable) -> bool:
    """Whether ``tensor``'s dtype is a float type."""
    if not isinstance(tensor, Variable):
        raise OperandError(
            f"is_floating_point(): argument 'input' must be Tensor, not {type(tensor).__name__}"
        )
    return tensor.dtype.kind == "f"


#: Every name above, for the top package to re-export.
NAMES = (
    "compile", "set_float32_matmul_precision", "get_float32_matmul_precision",
    "set_num_threads", "get_num_threads", "finfo", "iinfo", "is_floating_point",
    "set_default_device", "get_default_device", "set_num_interop_threads",
    "get_num_interop_threads", "init_num_threads", "set_warn_always", "is_warn_always_enabled",
    "set_flush_denormal",
)  # fmt: skip
