"""``nn.functional``'s bag-of-embeddings, unpooling, power-average pooling, channel shuffle,
alpha dropout and the CTC loss, with PyTorch's signatures and checks (re-exported by
``functional``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import rng
from gradviz.autograd.errors import (
    ArgumentError,
    IndexRangeError,
    InputError,
    OperandError,
    ShapeError,
)
from gradviz.autograd.functional import check_dropout_probability
from gradviz.autograd.functional_pool import avg_pool1d, avg_pool2d
from gradviz.autograd.ops import attention, bags, conv, ctc, unpool
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable, as_array


def embedding_bag(
    input: Any,
    weight: Variable,
    offsets: Any = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Any = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Variable:
    """Sums, means or maxima (``mode``) of bags of rows of ``weight``: the rows of a 2-d
    ``input``, or the pieces of a 1-d ``input`` starting at ``offsets``. ``per_sample_weights``
    scales each row (``mode="sum"`` only); ``padding_idx`` entries are left out of their bag."""
    attention.check_embedding_options("embedding_bag", scale_grad_by_freq, sparse)
    return bags.embedding_bag(
        input,
        weight,
        offsets,
        max_norm,
        norm_type,
        mode,
        per_sample_weights,
        include_last_offset,
        padding_idx,
    )


def max_unpool1d(
    input: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Variable:
    """The partial inverse of ``max_pool1d``: each value of (N, C, L) put back where
    ``indices`` say, zeros elsewhere."""
    args = (kernel_size, stride, padding, output_size)
    return unpool.max_unpool("max_unpool1d", 1, input, indices, *args)


def max_unpool2d(
    input: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Variable:
    """The partial inverse of ``max_pool2d``: each value of (N, C, H, W) put back where
    ``indices`` (flat into H * W of the output) say, zeros elsewhere."""
    args = (kernel_size, stride, padding, output_size)
    return unpool.max_unpool("max_unpool2d", 2, input, indices, *args)


def max_unpool3d(
    input: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Variable:
    """The partial inverse of ``max_pool3d``: each value of (N, C, D, H, W) put back where
    ``indices`` (flat into D * H * W of the output) say, zeros elsewhere."""
    args = (kernel_size, stride, padding, output_size)
    return unpool.max_unpool("max_unpool3d", 3, input, indices, *args)


def lp_pool1d(
    input: Any, norm_type: float, kernel_size: int, stride: Any = None, ceil_mode: bool = False
) -> Variable:
    """The power-average pool ``(sum of x**p over each window) ** (1/p)`` of (N, C, L)."""
    return _lp_pool(avg_pool1d, 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(
    input: Any, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Variable:
    """The power-average pool ``(sum of x**p over each window) ** (1/p)`` of (N, C, H, W)."""
    return _lp_pool(avg_pool2d, 2, input, norm_type, kernel_size, stride, ceil_mode)


def _lp_pool(average, dims, input, norm_type, kernel_size, stride, ceil_mode) -> Variable:
    """PyTorch's composition: an average pool of ``x**p`` times the window size, to ``1/p``."""
    layer = f"lp_pool{dims}d"
    x = as_variable(input, layer)
    kernel = conv.tuple_of(kernel_size, dims, layer, "kernel_size")
    if isinstance(norm_type, bool) or not isinstance(norm_type, int | float | np.number):
        raise OperandError(f"{layer}: norm_type must be a number, got {norm_type!r}")
    pooled = average(x.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    window = int(np.prod(kernel))
    return (pooled.sign() * pooled.abs().relu()).mul(window).pow(1.0 / norm_type)


def channel_shuffle(input: Any, groups: int) -> Variable:
    """The channels of (N, C, *) regrouped: ``groups`` groups of ``C / groups`` channels are
    interleaved (ShuffleNet's shuffle), a reshape, a transpose and a reshape."""
    x = as_variable(input, "channel_shuffle")
    if isinstance(groups, bool) or not isinstance(groups, int | np.integer):
        raise OperandError(f"channel_shuffle: groups must be an integer, got {groups!r}")
    if x.ndim <= 2:
        raise InputError(
            f"channel_shuffle expects input with > 2 dims, but got input with sizes {list(x.shape)}"
        )
    if groups <= 0:
        raise InputError(
            f"channel_shuffle: Number of groups to divide channels in must be positive. Value "
            f"of groups:{groups}"
        )
    n, channels, *rest = x.shape
    if channels % groups:
        raise InputError(
            f"channel_shuffle: Number of channels must be divisible by groups. Got {channels} "
            f"channels and {groups} groups."
        )
    grouped = x.reshape(n, groups, channels // groups, *rest)
    return grouped.transpose(1, 2).reshape(n, channels, *rest)


#: SELU's negative saturation value, ``-scale * alpha`` (the value dropped units take).
_ALPHA = 1.7580993408473766


def alpha_dropout(
    input: Any, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Variable:
    """Dropout for self-normalising (SELU) networks: dropped units take SELU's saturation
    value and the result is scaled and shifted to keep mean 0 and variance 1 (training only;
    note the default ``training=False``, as PyTorch's)."""
    return _alpha_dropout("alpha_dropout", input, p, training, inplace, feature=False)


def feature_alpha_dropout(
    input: Any, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Variable:
    """``alpha_dropout`` of whole channels of (N, C, *) (training only)."""
    return _alpha_dropout("feature_alpha_dropout", input, p, training, inplace, feature=True)


def _alpha_dropout(layer, input, p, training, inplace, feature: bool) -> Variable:
    check_dropout_probability(p)
    x = as_variable(input, layer)
    if feature and x.ndim < 2:
        raise InputError(f"{layer}: Feature dropout requires at least 2 dimensions in the input")
    if not training or p == 0:
        return x
    if p == 1:
        out = x * 0
    else:
        shape = x.shape[:2] + (1,) * (x.ndim - 2) if feature else x.shape
        keep = (rng.default_generator().random(shape) >= p).astype(x.dtype)
        a = 1 / np.sqrt((_ALPHA**2 * p + 1) * (1 - p))
        shift = ((keep - 1) * _ALPHA * a + _ALPHA * a * p).astype(x.dtype)
        out = x * (keep * a).astype(x.dtype) + shift
    return x.copy_(out) if inplace else out


def ctc_loss(
    log_probs: Any,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Variable:
    """The connectionist temporal classification loss of (T, N, C) ``log_probs`` (or (T, C))
    against ``targets``, padded (N, S) or concatenated: ``reduction="mean"`` divides each loss
    by its target length, then averages over the batch."""
    x = as_variable(log_probs, "ctc_loss")
    if x.ndim not in (2, 3):
        raise ShapeError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape {x.shape}")
    if reduction not in ("none", "mean", "sum"):
        raise ArgumentError(f"ctc_loss: {reduction} is not a valid value for reduction")
    batched = x.ndim == 3
    if not batched:
        x = x.unsqueeze(1)
    steps, batch, classes = x.shape
    if isinstance(blank, bool) or not isinstance(blank, int | np.integer):
        raise OperandError(f"ctc_loss: blank must be an integer, got {blank!r}")
    if not 0 <= blank < classes:
        raise InputError(f"ctc_loss: blank must be in label range [0, {classes}), got {blank}")
    lengths = ctc.check_lengths("input_lengths", input_lengths, batch, steps)
    sizes = ctc.check_lengths("target_lengths", target_lengths, batch, None)
    labels = np.asarray(as_array(targets))
    rows = ctc.target_rows(labels.astype(np.int64), sizes)  # unbatched: (S,), concatenated
    for row, size in zip(rows, sizes, strict=True):
        if size and (row[:size].min() < 0 or row[:size].max() >= classes):
            raise IndexRangeError(f"ctc_loss: targets must be class indices in [0, {classes})")
        if np.any(row[:size] == blank):
            raise InputError(f"ctc_loss: targets must not contain the blank index {blank}")
    losses = ctc.CtcLoss.apply(x, ctc.extend(rows, sizes, blank), lengths, sizes, zero_infinity)
    if reduction == "sum":
        losses = losses.sum()
    elif reduction == "mean":
        losses = (losses / np.maximum(sizes, 1)).mean()
    return losses if batched or reduction != "none" else losses.squeeze(0)
