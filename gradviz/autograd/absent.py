"""PyTorch's modules that gradviz has no counterpart of (``torch.hub``, ``torch.onnx`` ...):
each is a module whose every attribute raises ``UnsupportedError`` saying what to do instead.
And two that scripts mostly probe or log to: ``distributed`` (``is_available()`` is False, as
on a build without it) and ``utils.tensorboard`` (a ``SummaryWriter`` that writes nothing and
says so once)."""

from __future__ import annotations

import types
import warnings
from typing import Any

from gradviz.autograd.errors import UnsupportedError

#: PyTorch's module (below ``torch``) -> what gradviz says instead
ABSENT = {
    "hub": "gradviz downloads no pretrained models (torch.hub): build the model in your code "
    "and load weights saved with gradviz.save",
    "onnx": "gradviz exports no ONNX (torch.onnx): save model.state_dict() with gradviz.save",
    "export": "gradviz exports no programs (torch.export): save model.state_dict() with "
    "gradviz.save",
    "fx": "gradviz has no FX graphs (torch.fx): gradviz.trace() records the graph of a run",
    "quantization": "gradviz computes in float32 and float64 only (no torch.quantization)",
    "ao": "gradviz computes in float32 and float64 only (no torch.ao quantization)",
    "profiler": "gradviz has no profiler (torch.profiler): time the script with python -m "
    "cProfile, or see each step's statistics with gradviz timeline",
    "multiprocessing": "gradviz shares no tensors between processes (torch.multiprocessing): "
    "train in one process",
}


def _absent(name: str, message: str) -> types.ModuleType:
    module = types.ModuleType(name, f"Not in gradviz: {message}.")

    def missing(attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise UnsupportedError(f"{name}.{attribute}: {message}")

    module.__getattr__ = missing  # type: ignore[method-assign]
    return module


def _distributed(package: str) -> types.ModuleType:
    module = _absent(
        f"{package}.distributed",
        "gradviz trains in one process (no torch.distributed); "
        "is_available() is False, as on a PyTorch built without it",
    )
    module.is_available = lambda: False  # type: ignore[attr-defined]
    return module


class SummaryWriter:
    """PyTorch's ``torch.utils.tensorboard.SummaryWriter``, writing nothing: gradviz has no
    TensorBoard backend. It warns once when made, and every ``add_*`` call is accepted, so a
    script that logs runs on (``gradviz timeline`` records the loss and every parameter's
    statistics per step instead)."""

    _warned = False

    def __init__(self, log_dir: Any = None, *args: Any, **kwargs: Any) -> None:
        self.log_dir = log_dir
        if not SummaryWriter._warned:
            SummaryWriter._warned = True
            warnings.warn(
                "gradviz.utils.tensorboard.SummaryWriter writes no TensorBoard files (gradviz "
                "has no TensorBoard backend); `gradviz timeline SCRIPT` records the loss and "
                "every parameter's statistics per step",
                UserWarning,
                stacklevel=2,
            )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("add_") or name in ("flush", "close"):
            return lambda *args, **kwargs: None
        raise AttributeError(f"'SummaryWriter' object has no attribute {name!r}")

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def modules(package: str) -> dict[str, types.ModuleType]:
    """The namespaces under ``package`` (``"gradviz"``), by dotted name below it."""
    found = {name: _absent(f"{package}.{name}", text) for name, text in ABSENT.items()}
    found["distributed"] = _distributed(package)
    found["utils.tensorboard"] = types.ModuleType(
        f"{package}.utils.tensorboard", "PyTorch's SummaryWriter, writing nothing (see absent)."
    )
    found["utils.tensorboard"].SummaryWriter = SummaryWriter  # type: ignore[attr-defined]
    return found
