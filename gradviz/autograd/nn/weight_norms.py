"""The older ``nn.utils.weight_norm`` and ``spectral_norm`` (with their ``remove_*``): a
forward pre-hook recomputes ``module.<name>`` from ``<name>_g`` and ``<name>_v`` (weight
norm) or from ``<name>_orig`` with the power-iteration vectors ``<name>_u`` and ``<name>_v``
(spectral norm) before every forward, as ops the graph shows; PyTorch's names and state dict
keys. ``nn.utils.parametrizations`` holds the newer forms."""

from __future__ import annotations

import warnings
from typing import Any

from gradviz.autograd.errors import ArgumentError, RegistrationError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.nn.conv_transpose import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from gradviz.autograd.nn.module import Module, Parameter
from gradviz.autograd.nn.parametrizations import (
    as_matrix,
    check_iterations,
    norm_except_dim,
    normalized,
    random_unit,
    sigma_of,
    weight_of,
)

__all__ = ["remove_spectral_norm", "remove_weight_norm", "spectral_norm", "weight_norm"]


def _hooks(module: Module) -> dict[tuple[str, str], Any]:
    """The weight and spectral norm hooks of ``module``, by (kind, name): each a (compute,
    handle) pair."""
    return module.__dict__.setdefault("_weight_norm_hooks", {})


def _refuse_twice(module: Module, kind: str, name: str) -> None:
    if (kind, name) in _hooks(module):
        raise RegistrationError(f"Cannot register two {kind} hooks on the same parameter {name}")


def _install(module: Module, kind: str, name: str, compute: Any) -> None:
    def hook(module: Module, args: Any) -> None:
        setattr(module, name, compute(module, module.training))

    _hooks(module)[kind, name] = (compute, module.register_forward_pre_hook(hook))


def _uninstall(module: Module, kind: str, name: str) -> Any:
    """Take the hook off; its compute function, to compute the weight one last time."""
    found = _hooks(module).pop((kind, name), None)
    if found is None:
        raise ArgumentError(f"{kind} of '{name}' not found in {type(module).__name__}")
    found[1].remove()
    return found[0]


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Split ``module.<name>`` into ``<name>_g`` (its norm over every dim but ``dim``) and
    ``<name>_v`` (its direction), both trained; before every forward ``<name> = v * g /
    ||v||``. Deprecated in PyTorch for ``nn.utils.parametrizations.weight_norm``."""
    warnings.warn(
        "`torch.nn.utils.weight_norm` is deprecated in favor of "
        "`torch.nn.utils.parametrizations.weight_norm`.",
        FutureWarning,
        stacklevel=2,
    )
    dim = -1 if dim is None else dim
    _refuse_twice(module, "weight_norm", name)
    weight = getattr(module, name)
    with no_grad():
        g = norm_except_dim(weight, dim)
    del module._parameters[name]
    delattr(module, name)
    module.register_parameter(f"{name}_g", Parameter(g.numpy().copy()))
    module.register_parameter(f"{name}_v", Parameter(weight.numpy()))

    def compute(module: Module, training: bool) -> Any:
        return weight_of(getattr(module, f"{name}_g"), getattr(module, f"{name}_v"), dim)

    setattr(module, name, compute(module, module.training))
    _install(module, "weight_norm", name, compute)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``weight_norm``: ``<name>`` a plain parameter again, holding the current weight."""
    compute = _uninstall(module, "weight_norm", name)
    with no_grad():
        weight = compute(module, False)
    for suffix in ("", "_g", "_v"):
        delattr(module, name + suffix)
    module.register_parameter(name, Parameter(weight.numpy().copy()))
    return module


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Divide ``module.<name>`` by its spectral norm before every forward: ``<name>_orig`` is
    the weight trained, ``<name>_u`` and ``<name>_v`` the power-iteration vectors (buffers,
    ``n_power_iterations`` steps per forward in training mode)."""
    check_iterations(n_power_iterations)
    _refuse_twice(module, "spectral_norm", name)
    if dim is None:
        dim = 1 if isinstance(module, ConvTranspose1d | ConvTranspose2d | ConvTranspose3d) else 0
    weight = module._parameters[name]
    h, w = as_matrix(weight.detach(), dim).shape
    u, v = random_unit(h, weight.dtype, eps), random_unit(w, weight.dtype, eps)
    delattr(module, name)
    module.register_parameter(f"{name}_orig", weight)
    setattr(module, name, weight.detach())
    module.register_buffer(f"{name}_u", u)
    module.register_buffer(f"{name}_v", v)

    def compute(module: Module, training: bool) -> Any:
        weight = getattr(module, f"{name}_orig")
        u, v = getattr(module, f"{name}_u"), getattr(module, f"{name}_v")
        matrix = as_matrix(weight, dim)
        if training:  # v first, then u (the newer spectral_norm goes the other way)
            m = matrix.numpy()
            with no_grad():
                for _ in range(n_power_iterations):
                    v.copy_(normalized(m.T @ u.numpy(), eps))
                    u.copy_(normalized(m @ v.numpy(), eps))
        return weight / sigma_of(matrix, u, v)

    _install(module, "spectral_norm", name, compute)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``spectral_norm``: ``<name>`` a plain parameter again, holding the normalised
    weight (no power iteration)."""
    compute = _uninstall(module, "spectral_norm", name)
    with no_grad():
        weight = compute(module, False)
    for suffix in ("", "_u", "_v", "_orig"):
        delattr(module, name + suffix)
    module.register_parameter(name, Parameter(weight.numpy().copy()))
    return module
