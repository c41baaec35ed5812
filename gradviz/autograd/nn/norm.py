"""Normalisation layers with PyTorch's signatures, defaults, parameters and buffers."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd.errors import ArgumentError, ShapeError
from gradviz.autograd.functional_more import _group_norm
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.nn import init
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.layers import layer_size
from gradviz.autograd.nn.module import LayerName, Module, Parameter
from gradviz.autograd.ops import normalization
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable, get_default_dtype


class _BatchNorm(Module):
    _dims: tuple[int, ...] = ()
    _expected = ""
    _optional_state = ("num_batches_tracked",)  # older checkpoints lack it, as PyTorch allows

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        num_features = layer_size(type(self).__name__, "num_features", num_features)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        made = get_default_dtype()
        if affine:
            self.weight = Parameter(np.empty((num_features,), dtype=made))
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = Parameter(np.empty((num_features,), dtype=made))
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Variable(np.zeros(num_features, dtype=made)))
            self.register_buffer("running_var", Variable(np.ones(num_features, dtype=made)))
            self.register_buffer("num_batches_tracked", Variable(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()
        place(self, device, dtype)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """PyTorch's init: the running statistics reset, weight 1, bias 0."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Variable) -> Variable:
        layer = LayerName(self)
        input = as_variable(input, type(self).__name__)
        if input.ndim not in self._dims:
            raise ShapeError(
                f"{layer}: expected {self._expected} input (got {input.ndim}D input of shape "
                f"{tuple(input.shape)})"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # the cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        training = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F._batch_norm(
            layer,
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            training,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) per channel (the C features)."""

    _dims = (2, 3)
    _expected = "2D or 3D"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) per channel."""

    _dims = (4,)
    _expected = "4D"


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) per channel."""

    _dims = (5,)
    _expected = "5D"


class LayerNorm(Module):
    """Normalisation over the trailing ``normalized_shape`` dims of each sample, with an
    elementwise weight (1) and bias (0) of that shape."""

    def __init__(
        self,
        normalized_shape: Any,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = normalization.normalized_shape_of("LayerNorm", normalized_shape)
        for size in self.normalized_shape:
            layer_size("LayerNorm", "normalized_shape", size)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        made = get_default_dtype()
        if elementwise_affine:
            self.weight = Parameter(np.empty(self.normalized_shape, dtype=made))
            if bias:
                self.bias = Parameter(np.empty(self.normalized_shape, dtype=made))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()
        place(self, device, dtype)

    def reset_parameters(self) -> None:
        """PyTorch's init: weight 1, bias 0."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Variable) -> Variable:
        layer = LayerName(self)
        return F._layer_norm(layer, input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Normalisation of (N, C, *) over groups of ``num_channels / num_groups`` channels, with
    a per-channel weight (1) and bias (0) when ``affine`` (the bias unless ``bias=False``)."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        layer_size("GroupNorm", "num_groups", num_groups)
        layer_size("GroupNorm", "num_channels", num_channels)
        if num_groups == 0 or num_channels % num_groups:
            raise ArgumentError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"
            )
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        made = get_default_dtype()
        self.weight = Parameter(np.ones(num_channels, dtype=made)) if affine else None
        self.bias = Parameter(np.zeros(num_channels, dtype=made)) if affine and bias else None
        for name in ("weight", "bias"):
            if getattr(self, name) is None:
                self.register_parameter(name, None)
        place(self, device, dtype)

    def forward(self, input: Variable) -> Variable:
        layer = LayerName(self)
        return _group_norm(layer, input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )
