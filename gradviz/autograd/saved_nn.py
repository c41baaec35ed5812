"""PyTorch's ``grad_fn._saved_*`` of the layers' ops (convolution, max pooling, class losses
and MSE, layer and batch norm, embedding, GELU, dropout), added to
:data:`gradviz.autograd.saved.TABLE` and set by its ``install``.

A fused op answers with the names of PyTorch's outermost node (``F.cross_entropy`` is
``NllLossBackward0`` over ``LogSoftmaxBackward0``: its ``_saved_self`` is the log-softmax of
the logits). An int64 option PyTorch keeps as unsigned reads as it does there
(``ignore_index=-100`` is ``2**64 - 100``, no ``padding_idx`` is ``2**64 - 1``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.ops import attention, conv, elementwise, losses, pooling
from gradviz.autograd.ops.norm import BatchNorm, LayerNorm, axes_sum
from gradviz.autograd.saved import (
    TABLE,
    Recipe,
    argument,
    constant,
    install,
    read_only,
    saved_input,
    sizes_of,
)
from gradviz.autograd.variable import Variable, from_op

#: PyTorch's enum value of each reduction.
_REDUCTION = {"none": 0, "mean": 1, "sum": 2}


def _unsigned(value: int) -> int:
    """An int64 as PyTorch's ``_saved_*`` reads it: as unsigned 64 bits."""
    return int(value) % (1 << 64)


def _option(index: int, default: Any) -> Recipe:
    return lambda node: argument(node, index, default)


# -- ConvolutionBackward0 --------------------------------------------------------------------


def _conv_padding(node: Function) -> tuple[int, ...]:
    """The padding on both sides of each dim (uneven padding: the smaller side's)."""
    return tuple(int(min(pair)) for pair in node.inputs[4])


def _conv_input(node: Function) -> Any:
    """The input itself; with uneven padding (``padding="same"``, an even kernel), as
    PyTorch, a new read-only copy padded by what one side has more than the other."""
    pairs, x = node.inputs[4], node.inputs[0]
    if all(a == b for a, b in pairs):
        return x
    extra = [(a - min(a, b), b - min(a, b)) for a, b in pairs]
    data = x._data
    lead = [(0, 0)] * (data.ndim - len(extra))
    return read_only(np.pad(data, lead + extra))


def _conv_option(index: int) -> Recipe:
    """A tuple option of input ``index`` (a convolution's stride, 3, or dilation, 5): the
    inputs stay after backward, where what forward stored on the node does not."""
    return lambda node: tuple(int(n) for n in node.inputs[index])


def _bias_sizes(node: Function) -> tuple[int, ...]:
    bias = argument(node, 2)
    return (0,) if bias is None else sizes_of(bias)


def _conv_output_padding(node: Function) -> tuple[int, ...]:
    return (0,) * len(node.inputs[3])


CONVOLUTION: dict[str, tuple[Recipe, bool]] = {
    "input": (_conv_input, True),
    "weight": (saved_input(1), True),
    "bias_sym_sizes_opt": (_bias_sizes, False),
    "stride": (_conv_option(3), False),
    "padding": (_conv_padding, False),
    "dilation": (_conv_option(5), False),
    "transposed": (constant(False), False),
    "output_padding": (_conv_output_padding, False),
    "groups": (lambda node: int(node.inputs[6]), False),
}

# -- NllLossBackward0 (of nll_loss, and of cross_entropy's outermost node) --------------------


def _log_softmax(node: Function) -> Any:
    """The log-softmax of CrossEntropy's logits (NllLoss's input in PyTorch), no grad."""
    logits = node.inputs[0]._data
    rows = logits.reshape(-1, logits.shape[-1])
    shifted = rows - rows.max(axis=1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return read_only(shifted.reshape(logits.shape))


def _total_weight(node: Function) -> Any:
    """The number of targets not ignored (every class weighs 1; 0 unreduced), as a 0-d
    tensor."""
    classes = node.classes
    count = len(classes.rows) if classes.keep is None else classes.count
    count = 0 if argument(node, 2, "mean") == "none" else count
    return from_op(np.asarray(count, dtype=node.inputs[0]._data.dtype), None)


def _int_input(index: int) -> Recipe:
    """An integer input (targets, indices): the Variable itself, or a read-only view of the
    array given."""

    def read(node: Function) -> Any:
        value = node.inputs[index]
        return value if isinstance(value, Variable) else read_only(np.asarray(value))

    return read


NLL: dict[str, tuple[Recipe, bool]] = {
    "target": (_int_input(1), True),
    "weight": (constant(None), False),
    "total_weight": (_total_weight, True),
    "reduction": (lambda node: _REDUCTION[argument(node, 2, "mean")], False),
    "ignore_index": (lambda node: _unsigned(argument(node, 3, -100)), False),
}

# -- NativeLayerNormBackward0 -----------------------------------------------------------------


def _normalized_shape(node: Function) -> tuple[int, ...]:
    """The last ``ndim`` sizes of the input (layer norm's inputs: x, weight, bias, ndim, eps)."""
    shape = sizes_of(node.inputs[0])
    return shape[len(shape) - node.inputs[3] :]


def _stat_shape(node: Function) -> tuple[int, ...]:
    shape, ndim = sizes_of(node.inputs[0]), node.inputs[3]
    return (*shape[: len(shape) - ndim], *(1,) * ndim)


def _layer_mean(node: Function) -> Any:
    """Each row's mean (``result1``), summed as forward sums it, shaped (*lead, 1, ...)."""
    x = node.inputs[0]._data
    x = x if x.dtype.kind == "f" else x.astype(np.float64)
    m = math.prod(_normalized_shape(node))
    rows = x.reshape(-1, m)
    mean = rows @ np.ones(m, rows.dtype)
    mean /= max(m, 1)
    return read_only(mean.reshape(_stat_shape(node)))


def _layer_rstd(node: Function) -> Any:
    """Each row's ``1 / sqrt(var + eps)`` (``result2``), as forward kept it."""
    return read_only(node.saved_tensors[1].reshape(_stat_shape(node)))


LAYER_NORM: dict[str, tuple[Recipe, bool]] = {
    "input": (saved_input(0), True),
    "weight": (saved_input(1), True),
    "bias": (saved_input(2), True),
    "normalized_shape": (_normalized_shape, False),
    "result1": (_layer_mean, True),
    "result2": (_layer_rstd, True),
}

# -- EmbeddingBackward0 -------------------------------------------------------------------------


def _padding_idx(node: Function) -> int:
    return _unsigned(argument(node, 2, -1))


EMBEDDING: dict[str, tuple[Recipe, bool]] = {
    "indices": (_int_input(1), True),
    "weight_sym_argsize_0": (lambda node: sizes_of(node.inputs[0])[0], False),
    "padding_idx": (_padding_idx, False),
    "scale_grad_by_freq": (constant(False), False),
    "sparse": (constant(False), False),
}

# -- MaxPool2DWithIndicesBackward0 (and its 1-d, 3-d twins) -------------------------------------


def _pool_indices(node: Function) -> Any:
    """Where each window's maximum is (``result1``): a flat int64 index into the input's
    spatial dims, as ``return_indices=True`` gives it, read-only."""
    x, kernel, stride, padding, dilation = node.inputs[:5]
    sizes = sizes_of(x)[len(sizes_of(x)) - len(kernel) :]
    index = pooling._places(node.argmax, sizes, kernel, stride, padding, dilation)
    return read_only(index[0] if node.one_sample else index)


MAX_POOL: dict[str, tuple[Recipe, bool]] = {
    "self": (saved_input(0), True),
    "kernel_size": (lambda node: tuple(int(n) for n in node.inputs[1]), False),
    "padding": (lambda node: tuple(int(a) for a, _ in node.inputs[3]), False),
    "dilation": (_conv_option(4), False),
    "result1": (_pool_indices, True),
}

# -- NativeBatchNormBackward0 (batch_norm's inputs: x, weight, bias, running_mean, running_var,
# training, eps) ---------------------------------------------------------------------------------


def _batch_mean(node: Function) -> Any:
    """Each channel's batch mean (``result1``), summed as forward sums it; empty in
    evaluation, as in PyTorch."""
    x = node.inputs[0]._data
    if not node.inputs[5]:
        return read_only(np.empty(0, x.dtype))
    axes = (0, *range(2, x.ndim))
    return read_only((axes_sum(x, axes) / math.prod(x.shape[a] for a in axes)).reshape(-1))


def _batch_invstd(node: Function) -> Any:
    """Each channel's ``1 / sqrt(var + eps)`` (``result2``) forward kept; empty in evaluation."""
    invstd = node.saved_tensors[1]
    return read_only(invstd.reshape(-1) if node.inputs[5] else np.empty(0, invstd.dtype))


BATCH_NORM: dict[str, tuple[Recipe, bool]] = {
    "input": (saved_input(0), True),
    "weight": (saved_input(1), True),
    "running_mean": (saved_input(3), True),
    "running_var": (saved_input(4), True),
    "training": (lambda node: bool(node.inputs[5]), False),
    "eps": (lambda node: float(node.inputs[6]), False),
    "result1": (_batch_mean, True),
    "result2": (_batch_invstd, True),
}

TABLE.update(
    {
        conv.Conv1d: CONVOLUTION,
        conv.Conv2d: CONVOLUTION,
        conv.Conv3d: CONVOLUTION,
        pooling.MaxPool1d: MAX_POOL,
        pooling.MaxPool2d: MAX_POOL,
        pooling.MaxPool3d: MAX_POOL,
        losses.NllLoss: {"self": (saved_input(0), True), **NLL},
        losses.CrossEntropy: {"self": (_log_softmax, True), **NLL},
        losses.MseLoss: {
            "self": (saved_input(0), True),
            "target": (saved_input(1), True),
            "reduction": (lambda node: _REDUCTION[argument(node, 2, "mean")], False),
        },
        LayerNorm: LAYER_NORM,
        BatchNorm: BATCH_NORM,
        elementwise.Dropout: {  # MulBackward0's names: x times the scaled mask
            "self": (constant(None), True),
            "other": (lambda node: read_only(node.mask), True),
        },
        attention.Embedding: EMBEDDING,
        elementwise.Gelu: {
            "self": (saved_input(0), True),
            "approximate": (_option(1, "none"), False),
        },
    }
)
install()
