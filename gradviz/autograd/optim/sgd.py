"""``SGD`` with PyTorch's momentum, dampening and Nesterov rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gradviz.autograd.optim.optimizer import (
    Optimizer,
    _check,
    _check_numbers,
    add_scaled,
    implementation_flags,
)


class SGD(Optimizer):
    """Stochastic gradient descent with PyTorch's momentum, dampening and Nesterov rules."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        **flags: Any,
    ) -> None:
        implementation_flags(type(self).__name__, flags)
        _check_numbers(
            type(self).__name__,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
        )
        _check(lr >= 0, f"Invalid learning rate: {lr}")
        _check(momentum >= 0, f"Invalid momentum value: {momentum}")
        _check(weight_decay >= 0, f"Invalid weight_decay value: {weight_decay}")
        _check(
            not nesterov or (momentum > 0 and dampening == 0),
            "Nesterov momentum requires a momentum and zero dampening",
        )
        super().__init__(
            params,
            {
                "lr": lr,
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
                "maximize": maximize,
            },
        )

    def _update_group(self, group):
        if group["momentum"] or group["weight_decay"]:
            super()._update_group(group)
            return
        # Plain SGD keeps no state: one loop, no call per parameter (~0.3 us per parameter).
        lr = -group["lr"] if not group.get("maximize") else group["lr"]
        for p in group["params"]:
            if p._grad is not None:
                add_scaled(p, lr, p._grad)

    def _update(self, p, grad, group, state):
        if group.get("maximize"):
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p._data
        momentum = group["momentum"]
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        add_scaled(p, -group["lr"], grad)
