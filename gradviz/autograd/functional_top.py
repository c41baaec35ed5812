"""PyTorch's top-level forms of ``nn.functional`` (``torch.conv2d``, ``torch.dropout``,
``torch.layer_norm``, ``torch.embedding``, ``torch.batch_norm`` ...), with the top-level
signatures, which differ from ``F``'s: ``dropout(input, p, train)`` with no defaults,
``batch_norm`` and ``instance_norm`` take the weight and bias before the running statistics,
``embedding(weight, indices)`` the weight first, the losses an integer ``reduction``
(0 none, 1 mean, 2 sum; 0 by default, as PyTorch's top-level losses compute it),
``max_pool*d`` no ``return_indices`` and ``adaptive_max_pool1d`` both the values and the
indices. Each calls the ``F`` function.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd.errors import ArgumentError
from gradviz.autograd.variable import Variable

#: ``nn.functional`` functions whose top-level form takes the same arguments
SAME = (
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "cosine_similarity", "pairwise_distance", "pixel_shuffle", "pixel_unshuffle",
    "channel_shuffle", "bilinear", "adaptive_avg_pool1d", "hardshrink", "prelu", "selu", "celu",
    "rrelu", "threshold", "rms_norm",
)  # fmt: skip
globals().update({name: getattr(F, name) for name in SAME})

_REDUCTIONS = ("none", "mean", "sum")


def _reduction(op: str, reduction: Any) -> str:
    """PyTorch's integer reduction (its ``Reduction`` enum) as ``F``'s name."""
    if isinstance(reduction, bool) or reduction not in (0, 1, 2):
        raise ArgumentError(
            f"{op}(): expected reduction 0 (none), 1 (mean) or 2 (sum), got {reduction!r}"
        )
    return _REDUCTIONS[reduction]


def dropout(input: Any, p: float, train: bool) -> Variable:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` when
    ``train``."""
    return F.dropout(input, p, train)


def dropout_(input: Variable, p: float, train: bool) -> Variable:
    """``dropout`` in place."""
    return F.dropout(input, p, train, inplace=True)


def alpha_dropout(input: Any, p: float, train: bool) -> Variable:
    """SELU's dropout, keeping the mean and variance, when ``train``."""
    return F.alpha_dropout(input, p, train)


def feature_alpha_dropout(input: Any, p: float, train: bool) -> Variable:
    """``alpha_dropout`` of whole channels when ``train``."""
    return F.feature_alpha_dropout(input, p, train)


def alpha_dropout_(input: Variable, p: float, train: bool) -> Variable:
    """``alpha_dropout`` in place."""
    return F.alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout_(input: Variable, p: float, train: bool) -> Variable:
    """``feature_alpha_dropout`` in place."""
    return F.feature_alpha_dropout(input, p, train, inplace=True)


def feature_dropout(input: Any, p: float, train: bool) -> Variable:
    """Zero each channel (dim 1, for every sample) with probability ``p`` and scale the rest
    by ``1 / (1 - p)`` when ``train``."""
    from gradviz.autograd import rng  # (it imports the engine's Variable)
    from gradviz.autograd.ops.api import as_variable

    x = as_variable(input, "feature_dropout")
    if not 0 <= p <= 1:
        raise ArgumentError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not train or p == 0:
        return x
    shape = (*x.shape[:2], *(1,) * (x.ndim - 2))
    keep = rng.pick(None).random(shape) >= p
    scale = np.where(keep, 1 / (1 - p) if p < 1 else 0.0, 0.0).astype(x.dtype)
    return x * scale


def feature_dropout_(input: Variable, p: float, train: bool) -> Variable:
    """``feature_dropout`` written into ``input`` (``copy_``)."""
    return input.copy_(feature_dropout(input.clone(), p, train))


def rrelu_(
    input: Variable,
    lower: float = 1 / 8,
    upper: float = 1 / 3,
    training: bool = False,
    generator: Any = None,
) -> Variable:
    """``rrelu`` in place."""
    return F.rrelu(input, lower, upper, training, inplace=True)


def max_pool1d_with_indices(
    input: Any,
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> tuple[Variable, Variable]:
    """``max_pool1d`` with the indices of the maxima."""
    return _pool(F.max_pool1d, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def layer_norm(
    input: Any,
    normalized_shape: Any,
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
    cudnn_enable: bool = True,
) -> Variable:
    """Normalize over the last dims of ``normalized_shape`` (``cudnn_enable`` is ignored)."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(
    input: Any,
    num_groups: int,
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
    cudnn_enabled: bool = True,
) -> Variable:
    """Normalize each of ``num_groups`` groups of channels (``cudnn_enabled`` is ignored)."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(
    input: Any,
    weight: Any,
    bias: Any,
    running_mean: Any,
    running_var: Any,
    training: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
) -> Variable:
    """``F.batch_norm`` with the weight and bias first and every argument given."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(
    input: Any,
    weight: Any,
    bias: Any,
    running_mean: Any,
    running_var: Any,
    use_input_stats: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
) -> Variable:
    """``F.instance_norm`` with the weight and bias first and every argument given."""
    return F.instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )


def embedding(
    weight: Any,
    indices: Any,
    padding_idx: int = -1,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Variable:
    """The rows of ``weight`` at ``indices`` (weight first; a negative ``padding_idx`` is
    none)."""
    padding = None if padding_idx < 0 else padding_idx
    return F.embedding(indices, weight, padding, None, 2.0, scale_grad_by_freq, sparse)


def _pool(pool: Any, input: Any, kernel_size: Any, stride: Any, *rest: Any) -> Variable:
    return pool(input, kernel_size, None if stride in ((), []) else stride, *rest)


def _max_pool(pool: Any) -> Any:
    """``torch.max_pool{1,2,3}d``: ``pool`` with no ``return_indices`` and an empty ``stride``
    for the kernel's."""

    def max_pool(
        input: Any,
        kernel_size: Any,
        stride: Any = (),
        padding: Any = 0,
        dilation: Any = 1,
        ceil_mode: bool = False,
    ) -> Variable:
        """The largest value of each window (an empty ``stride`` is the kernel's)."""
        return _pool(pool, input, kernel_size, stride, padding, dilation, ceil_mode)

    max_pool.__name__ = max_pool.__qualname__ = pool.__name__
    return max_pool


max_pool1d, max_pool2d, max_pool3d = (
    _max_pool(pool) for pool in (F.max_pool1d, F.max_pool2d, F.max_pool3d)
)


def avg_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Variable:
    """The mean of each window (an empty ``stride`` is the kernel's)."""
    return _pool(F.avg_pool1d, input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def adaptive_max_pool1d(input: Any, output_size: Any) -> tuple[Variable, Variable]:
    """The largest value of each of ``output_size`` bins, and its index."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def celu_(input: Variable, alpha: float = 1.0) -> Variable:
    """``celu`` in place."""
    return F.celu(input, alpha, inplace=True)


def selu_(input: Variable) -> Variable:
    """``selu`` in place."""
    return F.selu(input, inplace=True)


def threshold_(input: Variable, threshold: float, value: float) -> Variable:
    """``threshold`` in place."""
    return F.threshold(input, threshold, value, inplace=True)


def constant_pad_nd(input: Any, pad: Any, value: float = 0) -> Variable:
    """``input`` padded with ``value`` (``F.pad``'s constant mode)."""
    return F.pad(input, pad, "constant", value)


def binary_cross_entropy_with_logits(
    input: Any, target: Any, weight: Any = None, pos_weight: Any = None, reduction: int = 0
) -> Variable:
    """``F.binary_cross_entropy_with_logits`` with an integer reduction."""
    how = _reduction("binary_cross_entropy_with_logits", reduction)
    return F.binary_cross_entropy_with_logits(
        input, target, how, weight=weight, pos_weight=pos_weight
    )


def cosine_embedding_loss(
    input1: Any, input2: Any, target: Any, margin: float = 0.0, reduction: int = 0
) -> Variable:
    """``F.cosine_embedding_loss`` with an integer reduction."""
    how = _reduction("cosine_embedding_loss", reduction)
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=how)


def hinge_embedding_loss(
    input: Any, target: Any, margin: float = 1.0, reduction: int = 0
) -> Variable:
    """``F.hinge_embedding_loss`` with an integer reduction."""
    how = _reduction("hinge_embedding_loss", reduction)
    return F.hinge_embedding_loss(input, target, margin, reduction=how)


def margin_ranking_loss(
    input1: Any, input2: Any, target: Any, margin: float = 0.0, reduction: int = 0
) -> Variable:
    """``F.margin_ranking_loss`` with an integer reduction."""
    how = _reduction("margin_ranking_loss", reduction)
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=how)


def poisson_nll_loss(
    input: Any, target: Any, log_input: bool, full: bool, eps: float, reduction: int
) -> Variable:
    """``F.poisson_nll_loss`` with every argument given and an integer reduction."""
    how = _reduction("poisson_nll_loss", reduction)
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=how)


def triplet_margin_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: int = 0,
) -> Variable:
    """``F.triplet_margin_loss`` with an integer reduction."""
    how = _reduction("triplet_margin_loss", reduction)
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=how)


#: the names this module adds to the top-level package
NAMES = [
    *SAME,
    *(
        name
        for name, value in list(globals().items())
        if callable(value)
        and not name.startswith("_")
        and getattr(value, "__module__", "") == __name__
    ),
]
