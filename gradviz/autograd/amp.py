"""PyTorch's mixed-precision API, for scripts written for a GPU: ``autocast`` and ``GradScaler``.

gradviz computes every op in its inputs' dtype (NumPy has no bfloat16, and a learner's float32
graph is the one worth seeing), so ``autocast`` changes nothing: on ``"cuda"`` it is disabled
with PyTorch's warning when no GPU is present, on ``"cpu"`` with a 16-bit dtype it says once
that the ops stay in full precision. ``GradScaler`` is PyTorch's: the loss scaled, gradients
unscaled and checked for Inf/NaN, a step with a non-finite gradient skipped, the scale backed
off and grown (on ``"cuda"`` disabled as PyTorch's is without a GPU).
"""

from __future__ import annotations

import functools
import math
import warnings
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from gradviz.autograd import grad_mode
from gradviz.autograd.errors import InputError, ScalerError
from gradviz.autograd.variable import Variable

_DEVICES = ("cpu", "cuda", "mps", "xpu", "hpu", "xla", "meta", "mtia", "privateuseone")
_SIXTEEN_BITS = ("float16", "bfloat16")
_warned_full_precision = False

#: engine id of each Variable ``GradScaler.scale`` returned -> the scale it multiplied by (the
#: tracer reads it: a backward from it is drawn and measured as the unscaled loss's)
_SCALED: dict[int, float] = {}


def loss_scale(variable: Variable) -> float | None:
    """The scale ``variable`` is a loss multiplied by (``scaler.scale(loss)``), else None."""
    return _SCALED.get(variable._id)


class autocast:
    """PyTorch's ``torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``:
    a context manager and decorator that leaves every op in full precision (see the module)."""

    def __init__(
        self,
        device_type: str,
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if not isinstance(device_type, str):
            raise InputError(f"autocast: expected `device_type` of type `str`, got {device_type!r}")
        if device_type not in _DEVICES:
            raise InputError(
                f"autocast: unsupported device_type {device_type!r}; gradviz runs on the 'cpu'"
            )
        self.device = device_type
        self.fast_dtype = dtype
        self._enabled = bool(enabled)
        if self._enabled and device_type != "cpu":
            warnings.warn(
                f"User provided device_type of '{device_type}', but it is not available "
                "(gradviz runs on the CPU). Disabling",
                UserWarning,
                stacklevel=2,
            )
            self._enabled = False
        elif self._enabled:
            dtype = "bfloat16" if dtype is None else dtype  # the CPU's default
            if str(dtype).removeprefix("gradviz.") in _SIXTEEN_BITS:
                _say_full_precision(dtype)

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return run


def _say_full_precision(dtype: Any) -> None:
    global _warned_full_precision
    if not _warned_full_precision:
        _warned_full_precision = True
        warnings.warn(
            f"autocast(dtype={dtype}): gradviz computes every op in its inputs' dtype, so the "
            "graph you see is the full-precision one (PyTorch would run matmuls in 16 bits)",
            UserWarning,
            stacklevel=3,
        )


def cuda_autocast(enabled: bool = True, dtype: Any = "float16", cache_enabled: bool = True):
    """PyTorch's deprecated ``torch.cuda.amp.autocast``: ``autocast("cuda", ...)``."""
    return autocast("cuda", dtype, enabled, cache_enabled)


def cpu_autocast(enabled: bool = True, dtype: Any = "bfloat16", cache_enabled: bool = True):
    """PyTorch's deprecated ``torch.cpu.amp.autocast``: ``autocast("cpu", ...)``."""
    return autocast("cpu", dtype, enabled, cache_enabled)


_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScaler:
    """PyTorch's ``torch.amp.GradScaler``: ``scaler.scale(loss).backward()``,
    ``scaler.unscale_(opt)`` (before clipping), ``scaler.step(opt)``, ``scaler.update()``.

    The scale is a float32 number as PyTorch's scale tensor: gradients are multiplied by its
    float32 reciprocal; a step whose gradients hold Inf or NaN is skipped and the scale
    multiplied by ``backoff_factor``; after ``growth_interval`` clean steps it is multiplied by
    ``growth_factor``.
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        if enabled and str(device) != "cpu":
            warnings.warn(
                f"GradScaler({str(device)!r}) is enabled, but there is no {device} device "
                "(gradviz runs on the CPU). Disabling.",
                UserWarning,
                stacklevel=2 + (type(self) is not GradScaler),
            )
            enabled = False
        if enabled:
            if growth_factor <= 1.0:
                raise InputError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise InputError("The backoff factor must be < 1.0.")
        self._device = str(device)
        self._enabled = bool(enabled)
        self._scale = np.float32(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._states: dict[int, dict[str, Any]] = {}
        self._scaled = False  # PyTorch's scale tensor is made by the first scale()

    def is_enabled(self) -> bool:
        """Whether the scaler scales (False when disabled or on a device that is absent)."""
        return self._enabled

    def scale(self, outputs: Any) -> Any:
        """``outputs`` (a Variable, or a list/tuple of them) times the scale."""
        if not self._enabled:
            return outputs
        self._scaled = True
        if isinstance(outputs, Variable):
            scaled = outputs * Variable(np.asarray(self._scale, dtype=outputs.dtype))
            _SCALED[scaled._id] = float(self._scale)
            weakref.finalize(scaled, _SCALED.pop, scaled._id, None)
            return scaled
        if isinstance(outputs, Iterable):
            return type(outputs)(self.scale(output) for output in outputs)
        raise InputError("outputs must be a Tensor or an iterable of Tensors")

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale in place (once per step), noting
        whether any is Inf or NaN."""
        if not self._enabled:
            return
        self._check_scaled("unscale_")
        state = self._state(optimizer)
        if state["stage"] is _UNSCALED:
            raise InputError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if state["stage"] is _STEPPED:
            raise InputError("unscale_() is being called after step().")
        inverse = np.float32(1.0 / float(self._scale))
        found = False
        with grad_mode.no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    grad = param.grad
                    if grad is None:
                        continue
                    data = grad._data
                    found = found or not bool(np.isfinite(data).all())
                    data *= inverse.astype(data.dtype)
        state["found_inf"] = found
        state["stage"] = _UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """``optimizer.step()`` unless the unscaled gradients hold Inf or NaN (then skipped:
        returns None)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise InputError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scaled("step")
        state = self._state(optimizer)
        if state["stage"] is _STEPPED:
            raise InputError("step() has already been called since the last update().")
        if state["stage"] is _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale: float | Variable | None = None) -> None:
        """Set the next step's scale: ``new_scale`` if given, else backed off after a skipped
        step or grown after ``growth_interval`` clean ones."""
        if not self._enabled:
            return
        self._check_scaled("update")
        if new_scale is not None:
            value = new_scale.item() if isinstance(new_scale, Variable) else new_scale
            self._scale = np.float32(value)
        else:
            checked = [s["found_inf"] for s in self._states.values() if "found_inf" in s]
            if not checked:
                raise ScalerError("No inf checks were recorded prior to update.")
            if any(checked):
                self._scale = np.float32(self._scale * np.float32(self._backoff_factor))
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = np.float32(self._scale * np.float32(self._growth_factor))
                    if math.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
        self._states.clear()

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        return float(self._scale) if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        """The factor the scale grows by."""
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        """The factor the scale backs off by."""
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        """How many clean steps before the scale grows."""
        return self._growth_interval

    def state_dict(self) -> dict[str, Any]:
        """The scale and its counters (empty when disabled), as PyTorch's."""
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise InputError(
                "The source state dict is empty, possibly because it was saved from a disabled "
                "instance of GradScaler."
            )
        self._scale = np.float32(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])

    def _check_scaled(self, call: str) -> None:
        """PyTorch's error for a step of a scaler that never scaled a loss: the gradients
        would be divided by a scale they were never multiplied by."""
        if not self._scaled:
            raise ScalerError(
                f"Attempted {call} but _scale is None.  This may indicate your script did not "
                "use scaler.scale(loss or outputs) earlier in the iteration."
            )

    def _state(self, optimizer: Any) -> dict[str, Any]:
        return self._states.setdefault(id(optimizer), {"stage": _READY})


class CudaGradScaler(GradScaler):
    """PyTorch's deprecated ``torch.cuda.amp.GradScaler``: ``GradScaler("cuda", ...)``, so
    disabled (with PyTorch's warning) when enabled, as there is no GPU."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        super().__init__(
            "cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )
