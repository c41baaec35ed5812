"""``gradviz.detect_anomaly()``: raise where a NaN or Inf is born, forward or backward.

::

    with gradviz.detect_anomaly():
        loss = criterion(model(x), y)  # AnomalyError: an op made NaN/Inf from finite inputs
        loss.backward()                # ... or a backward rule made one from a finite gradient

Like PyTorch's anomaly mode, but the forward is checked too, and the error names the op, the
user's line that ran it, and what explains it (a log of values <= 0, an exp overflow, a
division by ~0). It is an engine-hook subscriber: outside the ``with`` block nothing runs.
Every op output and every gradient is scanned, so it slows a step down; use it to find a bug.

``set_detect_anomaly(True)`` turns the same checks on for the rest of the program (and, as a
context manager, back to what they were on exit), as ``torch.autograd.set_detect_anomaly``; a
script written for PyTorch reaches both as ``torch.autograd.detect_anomaly`` and
``torch.autograd.set_detect_anomaly``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.errors import GradvizError, OperandError
from gradviz.autograd.variable import Variable
from gradviz.viz.capture.options import option_label
from gradviz.viz.capture.source import SourceLocator
from gradviz.viz.diagnose.nan import (
    Operand,
    deliberate_fill,
    explain_backward,
    explain_constant,
    explain_forward,
)

__all__ = [
    "AnomalyError",
    "detect_anomaly",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "set_detect_anomaly",
]


class AnomalyError(GradvizError, RuntimeError):
    """An op made NaN/Inf from finite values. ``op`` is its name, ``source`` the user's line
    that ran it (``file:line``), ``phase`` "forward" or "backward", ``explanation`` why."""

    def __init__(self, message: str, op: str, source: str | None, phase: str, explanation: str):
        super().__init__(message)
        self.op = op
        self.source = source
        self.phase = phase
        self.explanation = explanation


def _bad(array: Any) -> tuple[int, int]:
    """(NaN count, Inf count) of a floating array; (0, 0) for anything else."""
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "fc":
        return 0, 0
    if np.isfinite(array).all():
        return 0, 0
    nan = int(np.count_nonzero(np.isnan(array)))
    return nan, int(array.size - nan - np.count_nonzero(np.isfinite(array)))


def _counts(nan: int, inf: int) -> str:
    return ", ".join(p for p in (f"{nan:,} NaN" if nan else "", f"{inf:,} Inf" if inf else "") if p)


class detect_anomaly(hooks.Hook):  # a context manager named as PyTorch's
    """Context manager: raise :class:`AnomalyError` at the first NaN/Inf birth inside it.

    ``forward=False`` or ``backward=False`` turns one of the two checks off;
    ``check_nan=False`` (PyTorch's argument) turns both off.
    """

    def __init__(self, check_nan: bool = True, *, forward: bool = True, backward: bool = True):
        _check_flag("detect_anomaly", "check_nan", check_nan)
        self.check_nan = check_nan
        self.forward = forward and check_nan
        self.backward = backward and check_nan
        self.locate = SourceLocator().locate
        # Variable id -> the line that computed it (for blaming a backward rule)
        self.sources: dict[int, str | None] = {}
        # Variable id -> [(the op that consumed it, whether the gradient into that op was finite)]
        self.consumers: dict[int, list[tuple[Any, bool, str | None]]] = {}

    def __enter__(self) -> detect_anomaly:
        hooks.install(self)
        return self

    def __exit__(self, *exc: object) -> None:
        hooks.uninstall(self)
        self.sources.clear()
        self.consumers.clear()

    # ------------------------------------------------------------------------------ forward
    def op(self, node: Any, inputs: tuple[Any, ...], output: Variable) -> None:
        source = self.locate()
        if output.requires_grad and self.backward:
            self.sources[output._id] = source
        if not self.forward:
            return
        nan, inf = _bad(output._data)
        if not nan and not inf:
            return
        op = type(node).__name__
        constants = [arg for arg in inputs if not isinstance(arg, Variable)]
        if deliberate_fill(op, nan, constants):
            return  # an infinite fill value (a causal mask), written on purpose
        operands = []
        for slot, arg in enumerate(inputs):
            array = arg._data if isinstance(arg, Variable) else arg
            if isinstance(array, np.ndarray):
                if any(_bad(array)):
                    return  # not born here: an input was already non-finite
                name = (arg.name if isinstance(arg, Variable) else None) or f"input {slot}"
                operands.append(Operand(slot, name, array, None))
        labels = [option_label(type(node), slot, a) for slot, a in enumerate(inputs)]
        explanation = explain_constant(op, [t for t in labels if t is not None])
        if explanation is None:
            explanation, _ = explain_forward(op, operands, str(output._data.dtype))
        raise AnomalyError(
            f"Function '{op}' returned {_counts(nan, inf)} values in its output (forward) at "
            f"{source or 'an unknown line'}, from finite inputs: {explanation}",
            op,
            source,
            "forward",
            explanation,
        )

    # ----------------------------------------------------------------------------- backward
    def backward_begin(self, root: Variable, grad: np.ndarray) -> None:
        self.consumers.clear()

    def backward_step(self, variable: Variable, grad: np.ndarray, accumulated: bool) -> None:
        if not self.backward:
            return
        nan, inf = _bad(grad)
        finite = not nan and not inf
        if not finite:
            users = self.consumers.get(variable._id, [])
            if users and all(ok for _, ok, _ in users) and not any(_bad(variable._data)):
                node, _, source = users[0]
                self._raise_backward(node, variable, nan, inf, source)
        node = variable._node
        if node is not None:
            entry = (node, finite, self.sources.get(variable._id))
            for arg in node.inputs:
                if isinstance(arg, Variable) and arg.requires_grad:
                    self.consumers.setdefault(arg._id, []).append(entry)

    def _raise_backward(
        self, node: Any, variable: Variable, nan: int, inf: int, source: str | None
    ) -> None:
        op = type(node).__name__
        operands = []
        slot = 0
        for index, arg in enumerate(node.inputs):
            if isinstance(arg, Variable):
                operands.append(Operand(index, arg.name or f"input {index}", arg._data, None))
                if arg is variable:
                    slot = index
            elif isinstance(arg, np.ndarray):
                operands.append(Operand(index, f"input {index}", arg, None))
        if any(any(_bad(o.array)) for o in operands):
            return  # a forward NaN travelling back, not a backward birth
        explanation = explain_backward(op, operands)
        raise AnomalyError(
            f"Function '{op}' returned {_counts(nan, inf)} values in its gradient for input "
            f"{slot} (backward) from a finite gradient; its forward ran at "
            f"{source or 'an unknown line'}: {explanation}",
            op,
            source,
            "backward",
            explanation,
        )


def _check_flag(where: str, name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise OperandError(f"{where}(): {name} must be a bool, got {type(value).__name__}")


#: The detector ``set_detect_anomaly(True)`` installed (None while the mode is off).
_global: detect_anomaly | None = None


def _set_global(detector: detect_anomaly | None) -> None:
    global _global
    if _global is not None:
        hooks.uninstall(_global)
    _global = detector
    if detector is not None:
        hooks.install(detector)


class set_detect_anomaly:  # named as PyTorch's: a call that is also a context manager
    """Turn anomaly mode on (``mode=True``) or off for the rest of the program, as
    ``torch.autograd.set_detect_anomaly``; used as a context manager, the mode it replaced comes
    back on exit. ``check_nan=False`` keeps the mode on without raising."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        _check_flag("set_detect_anomaly", "mode", mode)
        _check_flag("set_detect_anomaly", "check_nan", check_nan)
        self.previous = _global
        _set_global(detect_anomaly(check_nan) if mode else None)

    def __enter__(self) -> set_detect_anomaly:
        return self

    def __exit__(self, *exc: object) -> None:
        _set_global(self.previous)


def _detectors() -> list[detect_anomaly]:
    return [hook for hook in hooks.ACTIVE if isinstance(hook, detect_anomaly)]


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on (``detect_anomaly`` or ``set_detect_anomaly(True)``)."""
    return bool(_detectors())


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode is on and raises at a NaN (PyTorch's ``check_nan``)."""
    detectors = _detectors()
    return bool(detectors) and detectors[-1].check_nan
