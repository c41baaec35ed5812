"""``NAdam``, ``RAdam`` and ``Adamax``: Adam's relatives, in the order of operations of
PyTorch's single-tensor code path (so float64 runs agree with PyTorch to rounding)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from gradviz.autograd.inplace import bump
from gradviz.autograd.optim.adam import adam_defaults
from gradviz.autograd.optim.optimizer import (
    Optimizer,
    _check,
    _check_numbers,
    addcdiv,
    implementation_flags,
    lerp_,
)
from gradviz.autograd.variable import get_default_dtype


def scalar_dtype() -> type[np.floating]:
    """The dtype of PyTorch's one-number state tensors (``step``, NAdam's ``mu_product``,
    ASGD's ``eta`` and ``mu``): float32 unless the default dtype is float64."""
    return np.float64 if get_default_dtype() == np.float64 else np.float32


def _moments(p, grad, group, state, second: str = "exp_avg_sq") -> np.ndarray:
    """Start the state on the first step, count the step, apply ``maximize`` and L2 or
    decoupled weight decay, and move ``exp_avg`` towards the gradient; the gradient used."""
    if not state:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(p._data)
        state[second] = np.zeros_like(p._data)
    state["step"] += 1
    if group.get("maximize"):
        grad = -grad
    lr, weight_decay = group["lr"], group["weight_decay"]
    if weight_decay:
        if group.get("decoupled_weight_decay"):
            p._data *= 1 - lr * weight_decay
            bump(p, "optimizer.step")
        else:
            grad = grad + weight_decay * p._data
    lerp_(state["exp_avg"], grad, 1 - group["betas"][0])
    return grad


def _square_avg(state: dict[str, Any], grad: np.ndarray, beta2: float) -> np.ndarray:
    """``exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)``."""
    exp_avg_sq = state["exp_avg_sq"]
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    return exp_avg_sq


class NAdam(Optimizer):
    """Adam with Nesterov momentum (Dozat), PyTorch's ``momentum_decay`` schedule of the
    momentum and its ``decoupled_weight_decay`` (NAdamW)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
        **flags: Any,
    ) -> None:
        implementation_flags(type(self).__name__, flags)
        defaults = adam_defaults(type(self).__name__, lr, betas, eps, weight_decay)
        _check_numbers(type(self).__name__, momentum_decay=momentum_decay)
        _check(momentum_decay >= 0, f"Invalid momentum_decay value: {momentum_decay}")
        defaults["momentum_decay"] = momentum_decay
        defaults["decoupled_weight_decay"] = decoupled_weight_decay
        super().__init__(params, {**defaults, "maximize": maximize})

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "mu_product", "exp_avg", "exp_avg_sq")

    def _update(self, p, grad, group, state):
        grad = _moments(p, grad, group, state)
        state.setdefault("mu_product", scalar_dtype()(1.0))
        beta1, beta2 = group["betas"]
        lr, step, decay = group["lr"], state["step"], group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * decay)))
        # PyTorch keeps the product in a one-number tensor (float32 by default) and reads it
        # back as a Python float.
        product = state["mu_product"] = state["mu_product"] * type(state["mu_product"])(mu)
        denom = np.sqrt(_square_avg(state, grad, beta2) / (1 - beta2**step))
        denom += group["eps"]
        addcdiv(p, -lr * (1.0 - mu) / (1.0 - float(product)), grad, denom)
        addcdiv(p, (-lr * mu_next) / (1.0 - float(product) * mu_next), state["exp_avg"], denom)


class RAdam(Optimizer):
    """Rectified Adam (Liu et al.): plain momentum while the variance estimate is too young
    (rho_t <= 5), Adam with a rectification factor after."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
        **flags: Any,
    ) -> None:
        implementation_flags(type(self).__name__, flags)
        defaults = adam_defaults(type(self).__name__, lr, betas, eps, weight_decay)
        defaults["decoupled_weight_decay"] = decoupled_weight_decay
        super().__init__(params, {**defaults, "maximize": maximize})

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "exp_avg", "exp_avg_sq")

    def _update(self, p, grad, group, state):
        grad = _moments(p, grad, group, state)
        beta1, beta2 = group["betas"]
        step, lr = state["step"], group["lr"]
        exp_avg_sq = _square_avg(state, grad, beta2)
        bias_correction2 = 1 - beta2**step
        corrected = state["exp_avg"] / (1 - beta1**step)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = (
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            ) ** 0.5
            adaptive = (bias_correction2**0.5) / (np.sqrt(exp_avg_sq) + group["eps"])
            p._data -= corrected * lr * adaptive * rect
        else:
            p._data -= corrected * lr
        bump(p, "optimizer.step")


class Adamax(Optimizer):
    """Adam with the infinity norm (Kingma and Ba, section 7): ``exp_inf`` keeps a decaying
    maximum of ``|grad|``."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        **flags: Any,
    ) -> None:
        implementation_flags(type(self).__name__, flags)
        defaults = adam_defaults(type(self).__name__, lr, betas, eps, weight_decay)
        super().__init__(params, {**defaults, "maximize": maximize})

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "exp_avg", "exp_inf")

    def _update(self, p, grad, group, state):
        grad = _moments(p, grad, group, state, "exp_inf")
        beta1, beta2 = group["betas"]
        exp_inf = state["exp_inf"]
        exp_inf *= beta2
        np.maximum(exp_inf, np.abs(grad) + group["eps"], out=exp_inf)
        clr = group["lr"] / (1 - beta1 ** state["step"])
        addcdiv(p, -clr, state["exp_avg"], exp_inf)


__all__ = ["Adamax", "NAdam", "RAdam"]
