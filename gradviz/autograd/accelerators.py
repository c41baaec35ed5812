"""PyTorch's questions about accelerators, answered for a framework that runs on the CPU only:
``cuda.is_available()``, ``backends.mps.is_available()`` and ``accelerator.is_available()``
are False, so the tutorials' ``device = "cuda" if torch.cuda.is_available() else "cpu"`` picks
the CPU; ``cuda.manual_seed`` is ignored as PyTorch ignores it without a GPU, and its memory
counters (``cuda.max_memory_allocated()``) are 0; the
``backends.cudnn`` flags can be set and change nothing. The top package exposes them as
``gradviz.cuda``, ``gradviz.backends``, ``gradviz.accelerator``, ``gradviz.cpu`` and
``gradviz.amp`` (mixed precision: :mod:`gradviz.autograd.amp`)."""

from __future__ import annotations

import types
from typing import Any

from gradviz.autograd import amp


def _false() -> bool:
    return False


def _no_op(*args: Any, **kwargs: Any) -> None:
    """Ignored: there is no GPU to seed or synchronise (PyTorch ignores it then too)."""


def _count() -> int:
    return 0


def _no_bytes(device: Any = None) -> int:
    """0: no GPU memory was allocated (PyTorch without a GPU answers 0 too)."""
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
        memory_allocated=_no_bytes,
        max_memory_allocated=_no_bytes,
        memory_reserved=_no_bytes,
        max_memory_reserved=_no_bytes,
    )
    cuda.amp = _namespace(
        f"{package}.cuda.amp",
        "PyTorch's deprecated `torch.cuda.amp`: autocast and GradScaler, disabled without a GPU.",
        autocast=amp.cuda_autocast,
        GradScaler=amp.CudaGradScaler,
    )
    cpu = _namespace(f"{package}.cpu", "PyTorch's `torch.cpu`: `cpu.amp.autocast`.")
    cpu.amp = _namespace(
        f"{package}.cpu.amp",
        "PyTorch's deprecated `torch.cpu.amp`: autocast (full precision here).",
        autocast=amp.cpu_autocast,
    )
    amp_module = _namespace(
        f"{package}.amp",
        "PyTorch's `torch.amp`: autocast (full precision here) and GradScaler.",
        autocast=amp.autocast,
        GradScaler=amp.GradScaler,
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
    cuda_backend = _namespace(
        f"{package}.backends.cuda",
        "PyTorch's `torch.backends.cuda` flags: they can be set and change nothing.",
        is_built=_false,
        matmul=_namespace(f"{package}.backends.cuda.matmul", "TF32 flags.", allow_tf32=False),
        enable_flash_sdp=_no_op,
        enable_mem_efficient_sdp=_no_op,
        enable_math_sdp=_no_op,
    )
    backends = _namespace(
        f"{package}.backends",
        "PyTorch's `torch.backends`: mps, cudnn and cuda.",
        mps=mps,
        cudnn=cudnn,
        cuda=cuda_backend,
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
        "cuda.amp": cuda.amp,
        "cpu": cpu,
        "cpu.amp": cpu.amp,
        "amp": amp_module,
        "backends.cuda": cuda_backend,
    }
