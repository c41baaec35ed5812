"""``Adadelta``, ``Rprop`` and ``ASGD``, in the order of operations of PyTorch's single-tensor
code path."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from gradviz.autograd.inplace import bump
from gradviz.autograd.optim.adam_variants import scalar_dtype
from gradviz.autograd.optim.optimizer import (
    Optimizer,
    _check,
    _check_numbers,
    _check_pair,
    add_scaled,
    implementation_flags,
)


def _gradient(p, grad, group, state) -> np.ndarray:
    """Count the step, apply ``maximize`` and L2 ``weight_decay``; the gradient to use."""
    state["step"] += 1
    if group.get("maximize"):
        grad = -grad
    if group.get("weight_decay"):
        grad = grad + group["weight_decay"] * p._data
    return grad


class Adadelta(Optimizer):
    """Adadelta (Zeiler): steps of the size of recent steps, ``lr`` scaling them."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        **flags: Any,
    ) -> None:
        implementation_flags(type(self).__name__, flags)
        _check_numbers(type(self).__name__, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        _check(lr >= 0, f"Invalid learning rate: {lr}")
        _check(0 <= rho <= 1, f"Invalid rho value: {rho}")
        _check(eps >= 0, f"Invalid epsilon value: {eps}")
        _check(weight_decay >= 0, f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "square_avg", "acc_delta")

    def _update(self, p, grad, group, state):
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p._data)
            state["acc_delta"] = np.zeros_like(p._data)
        grad = _gradient(p, grad, group, state)
        rho, eps = group["rho"], group["eps"]
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        add_scaled(p, -group["lr"], delta)


class Rprop(Optimizer):
    """Resilient backpropagation: each weight's own step size grows by ``etas[1]`` while its
    gradient keeps its sign and shrinks by ``etas[0]`` when it flips (that step is skipped)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        maximize: bool = False,
        **flags: Any,
    ) -> None:
        implementation_flags(type(self).__name__, flags)
        _check_numbers(type(self).__name__, lr=lr)
        _check(lr >= 0, f"Invalid learning rate: {lr}")
        _check_pair(etas, "etas")
        _check_pair(step_sizes, "step_sizes")
        _check(0.0 < etas[0] < 1.0 < etas[1], f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr,
            "etas": tuple(etas),
            "step_sizes": tuple(step_sizes),
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "prev", "step_size")

    def _update(self, p, grad, group, state):
        if not state:
            state["step"] = 0
            state["prev"] = np.zeros_like(p._data)
            state["step_size"] = np.full_like(grad, group["lr"])
        grad = _gradient(p, grad, group, state)
        etaminus, etaplus = group["etas"]
        low, high = group["step_sizes"]
        sign = np.sign(grad * state["prev"])
        factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus, 1)).astype(grad.dtype)
        step_size = state["step_size"]
        step_size *= factor
        np.clip(step_size, low, high, out=step_size)
        grad = np.where(factor == etaminus, 0, grad).astype(grad.dtype)
        p._data += -1 * np.sign(grad) * step_size
        bump(p, "optimizer.step")
        state["prev"][...] = grad


class ASGD(Optimizer):
    """Averaged SGD (Polyak and Juditsky): SGD with a decaying rate ``eta``, keeping in
    ``ax`` the average of the weights from step ``t0`` on."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        **flags: Any,
    ) -> None:
        implementation_flags(type(self).__name__, flags)
        _check_numbers(
            type(self).__name__, lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay
        )
        _check(lr >= 0, f"Invalid learning rate: {lr}")
        _check(weight_decay >= 0, f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "eta", "mu", "ax")

    def _update(self, p, grad, group, state):
        number = scalar_dtype()  # PyTorch keeps eta and mu in one-number tensors
        if not state:
            state["step"] = 0
            state["eta"] = number(group["lr"])
            state["mu"] = number(1.0)
            state["ax"] = np.zeros_like(p._data)
        grad = _gradient(p, grad, group, state)
        lr, lambd, eta = group["lr"], group["lambd"], float(state["eta"])
        p._data *= 1 - lambd * eta
        bump(p, "optimizer.step")
        add_scaled(p, -eta, grad)
        ax = state["ax"]
        if float(state["mu"]) != 1:
            ax += (p._data - ax) * p._data.dtype.type(state["mu"])
        else:
            ax[...] = p._data
        step = state["step"]
        state["eta"] = number(lr / ((1 + lambd * lr * step) ** group["alpha"]))
        state["mu"] = number(1 / max(1, step - group["t0"]))


__all__ = ["ASGD", "Adadelta", "Rprop"]
