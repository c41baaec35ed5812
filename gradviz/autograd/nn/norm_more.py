"""RMS, instance and local response normalisation as Modules, with PyTorch's signatures,
defaults, parameters and buffers."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd.errors import ArgumentError, ShapeError
from gradviz.autograd.functional_acts import _instance_norm, _rms_norm
from gradviz.autograd.nn import init
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.layers import layer_size
from gradviz.autograd.nn.module import LayerName, Module, Parameter
from gradviz.autograd.nn.norm import _BatchNorm
from gradviz.autograd.ops import normalization
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable, get_default_dtype


class RMSNorm(Module):
    """Division of the trailing ``normalized_shape`` dims by their root mean square (plus
    ``eps``; None: the input dtype's machine epsilon), times an elementwise weight (1)."""

    def __init__(
        self,
        normalized_shape: Any,
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = normalization.normalized_shape_of("RMSNorm", normalized_shape)
        for size in self.normalized_shape:
            layer_size("RMSNorm", "normalized_shape", size)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.empty(self.normalized_shape, get_default_dtype()))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()
        place(self, device, dtype)

    def reset_parameters(self) -> None:
        """PyTorch's init: weight 1."""
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input: Variable) -> Variable:
        layer = LayerName(self)
        return _rms_norm(layer, input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class _InstanceNorm(_BatchNorm):
    """Instance normalisation: each channel of each sample over its own positions. No
    weight, bias or running statistics by default (``affine``, ``track_running_stats``)."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        args = (num_features, eps, momentum, affine, track_running_stats, device, dtype)
        super().__init__(*args, bias=bias)

    def forward(self, input: Variable) -> Variable:
        layer = LayerName(self)
        x = as_variable(input, type(self).__name__)
        batched = self._dims[1]
        if x.ndim not in self._dims:
            raise ShapeError(
                f"{layer}: expected {self._expected} input (got {x.ndim}D input of shape "
                f"{tuple(x.shape)})"
            )
        channel = x.ndim - (batched - 1)
        if x.shape[channel] != self.num_features:
            if self.affine:
                raise ArgumentError(
                    f"{layer}: expected input's size at dim={channel} to match num_features "
                    f"({self.num_features}), but got: {x.shape[channel]}."
                )
            warnings.warn(
                f"input's size at dim={channel} does not match num_features. You can silence "
                "this warning by not passing in num_features, which is not used because "
                "affine=False",
                UserWarning,
                stacklevel=3,
            )
        one = x.ndim < batched  # a single sample: a batch of one
        out = _instance_norm(
            layer,
            x.unsqueeze(0) if one else x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            0.0 if self.momentum is None else self.momentum,
            self.eps,
        )
        return out.squeeze(0) if one else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L)."""

    _dims = (2, 3)
    _expected = "2D or 3D"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W)."""

    _dims = (3, 4)
    _expected = "3D or 4D"


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or (C, D, H, W)."""

    _dims = (4, 5)
    _expected = "4D or 5D"


class LocalResponseNorm(Module):
    """Each element divided by ``(k + alpha * mean of squares over size channels) ** beta``."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Variable) -> Variable:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
