"""``RMSprop`` and ``Adagrad``, in the order of operations of PyTorch's single-tensor path."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from gradviz.autograd.optim.optimizer import (
    Optimizer,
    _check,
    _check_numbers,
    add_scaled,
    addcdiv,
    implementation_flags,
    lerp_,
)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e) with PyTorch's ``momentum`` and ``centered`` variants."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
        **flags: Any,
    ) -> None:
        implementation_flags(type(self).__name__, flags)
        _check_numbers(
            type(self).__name__,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
        )
        _check(lr >= 0, f"Invalid learning rate: {lr}")
        _check(eps >= 0, f"Invalid epsilon value: {eps}")
        _check(momentum >= 0, f"Invalid momentum value: {momentum}")
        _check(weight_decay >= 0, f"Invalid weight_decay value: {weight_decay}")
        _check(alpha >= 0, f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        keys = ("step", "square_avg")
        keys += ("momentum_buffer",) if group["momentum"] > 0 else ()
        return (*keys, "grad_avg") if group["centered"] else keys

    def _update(self, p, grad, group, state):
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p._data)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p._data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p._data)
        state["step"] += 1
        if group.get("maximize"):
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p._data
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, grad, 1 - alpha)
            avg = np.sqrt(square_avg + -1 * grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += group["eps"]
        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += grad / avg
            add_scaled(p, -group["lr"], buffer)
        else:
            addcdiv(p, -group["lr"], grad, avg)


class Adagrad(Optimizer):
    """Adagrad with PyTorch's ``lr_decay`` (``lr / (1 + (step - 1) * lr_decay)``)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
        **flags: Any,
    ) -> None:
        implementation_flags(type(self).__name__, flags)
        _check_numbers(
            type(self).__name__,
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        _check(lr >= 0, f"Invalid learning rate: {lr}")
        _check(lr_decay >= 0, f"Invalid lr_decay value: {lr_decay}")
        _check(weight_decay >= 0, f"Invalid weight_decay value: {weight_decay}")
        _check(
            initial_accumulator_value >= 0,
            f"Invalid initial_accumulator_value value: {initial_accumulator_value}",
        )
        _check(eps >= 0, f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        # PyTorch fills the accumulators when a group is added, not at its first step.
        group = self.param_groups[-1]
        for p in group["params"]:
            self._init_state(self.state.setdefault(p._id, {}), p, group)

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "sum")

    @staticmethod
    def _init_state(state: dict[str, Any], p, group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p._data, group["initial_accumulator_value"])

    def _update(self, p, grad, group, state):
        self._init_state(state, p, group)
        state["step"] += 1
        if group.get("maximize"):
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p._data
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state_sum = state["sum"]
        state_sum += 1 * grad * grad
        std = np.sqrt(state_sum)
        std += group["eps"]
        addcdiv(p, -clr, grad, std)
