"""PyTorch's questions about accelerators, answered for a framework that runs on the CPU only:
``cuda.is_available()``, ``backends.mps.is_available()`` and ``accelerator.is_available()``
are False, so the tutorials' ``device = "cuda" if torch.cuda.is_available() else "cpu"`` picks
the CPU; ``cuda.manual_seed`` is ignored as PyTorch ignores it without a GPU; the
``backends.cudnn`` flags can be set and change nothing. The top package exposes them as
``gradviz.cuda``, ``gradviz.backends`` and ``gradviz.accelerator``."""

from __future__ import annotations

import types
from typing import Any


def _false() -> bool:
    return False


def _no_op(*args: Any, **kwargs: Any) -> None:
    """Ignored: there is no GPU to seed or synchronise (PyTorch ignores it then too)."""


def _count() -> int:
    return 0


def _none() -> None:
    return None


def _namespace(name: str, doc: str, **members: Any) -> types.ModuleType:
    module = types.ModuleType(name, doc)
    for key, value in members.items():
        setattr(module, key, value)
    return module


def modules(package: str) -> dict[str, types.ModuleType]:
    """The namespaces under ``package`` (``"gradviz"``), by dotted name below it."""
    cuda = _namespace(
        f"{package}.cuda",
        "PyTorch's `torch.cuda` without a GPU: is_available() is False.",
        is_available=_false,
        device_count=_count,
        manual_seed=_no_op,
        manual_seed_all=_no_op,
        synchronize=_no_op,
        empty_cache=_no_op,
        is_bf16_supported=_false,
    )
    mps = _namespace(
        f"{package}.backends.mps",
        "PyTorch's `torch.backends.mps`: not available.",
        is_available=_false,
        is_built=_false,
    )
    cudnn = _namespace(
        f"{package}.backends.cudnn",
        "PyTorch's `torch.backends.cudnn` flags: they can be set and change nothing.",
        is_available=_false,
        enabled=True,
        benchmark=False,
        deterministic=False,
        allow_tf32=True,
    )
    backends = _namespace(
        f"{package}.backends", "PyTorch's `torch.backends`: mps and cudnn.", mps=mps, cudnn=cudnn
    )
    accelerator = _namespace(
        f"{package}.accelerator",
        "PyTorch's `torch.accelerator`: none; current_accelerator() is None.",
        is_available=_false,
        current_accelerator=_none,
        device_count=_count,
    )
    return {
        "cuda": cuda,
        "backends": backends,
        "backends.mps": mps,
        "backends.cudnn": cudnn,
        "accelerator": accelerator,
    }
