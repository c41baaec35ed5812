"""Activations and losses with PyTorch's names (``gradviz.functional``, ``gradviz.nn.functional``).

Each is one op of ``ops``, fused where numerics or speed call for it (softmax, log_softmax and
the losses), so graphs show one meaningful node per call.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from gradviz.autograd import ops, rng
from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import ArgumentError, InputError, OperandError, ShapeError
from gradviz.autograd.functional_losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from gradviz.autograd.ops import conv
from gradviz.autograd.ops.api import as_variable as as_input
from gradviz.autograd.variable import Variable, as_array


def relu(x: Variable, inplace: bool = False) -> Variable:
    """max(x, 0); the gradient at 0 is 0."""
    if inplace:
        return _activation(ops.Relu, "relu", x, inplace=True)
    return ops.Relu.apply(x if isinstance(x, Variable) else as_input(x, "relu"))


def sigmoid(x: Variable) -> Variable:
    """1 / (1 + exp(-x)), stable for large |x|."""
    return ops.Sigmoid.apply(x if isinstance(x, Variable) else as_input(x, "sigmoid"))


def tanh(x: Variable) -> Variable:
    """Elementwise hyperbolic tangent."""
    return ops.Tanh.apply(x if isinstance(x, Variable) else as_input(x, "tanh"))


def leaky_relu(x: Variable, negative_slope: float = 0.01, inplace: bool = False) -> Variable:
    """x where x > 0, else ``negative_slope * x``."""
    if inplace:
        return _activation(ops.LeakyRelu, "leaky_relu", x, negative_slope, inplace=True)
    return ops.LeakyRelu.apply(as_input(x, "leaky_relu"), negative_slope)


def gelu(x: Variable, approximate: str = "none") -> Variable:
    """x * Phi(x) (``approximate="tanh"`` for the tanh formula)."""
    return ops.Gelu.apply(as_input(x, "gelu"), approximate)


def softmax(
    x: Variable,
    axis: int | None = None,
    _stacklevel: int = 3,
    *,
    dim: int | None = None,
    dtype: Any = None,
) -> Variable:
    """exp(x) normalised along ``axis`` (or ``dim``), computed stably (in ``dtype``, when
    given: the input is converted first, as PyTorch does). Without a dim, PyTorch's legacy
    choice (0 for 0-, 1- and 3-d inputs, else 1) and its warning."""
    x = as_input(x, "softmax")
    axis = _softmax_dim(x, dim if dim is not None else axis, "softmax", _stacklevel)
    x = x if dtype is None else x.to(dtype)
    return ops.Softmax.apply(x, axis)


def log_softmax(
    x: Variable,
    axis: int | None = None,
    _stacklevel: int = 3,
    *,
    dim: int | None = None,
    dtype: Any = None,
) -> Variable:
    """log(softmax(x)) computed stably (no log of 0, no exp overflow), in ``dtype`` if given;
    without a dim, PyTorch's legacy choice and warning, as :func:`softmax`."""
    x = as_input(x, "log_softmax")
    axis = _softmax_dim(x, dim if dim is not None else axis, "log_softmax", _stacklevel)
    x = x if dtype is None else x.to(dtype)
    return ops.LogSoftmax.apply(x, axis)


def _softmax_dim(x: Variable, axis: int | None, op: str, stacklevel: int) -> int | None:
    """The checked axis (None, all elements, for 0-d inputs); without one, PyTorch's legacy
    choice, with its warning (``nn.LogSoftmax()`` written without ``dim=1``)."""
    if axis is None:
        warnings.warn(
            f"Implicit dimension choice for {op} has been deprecated. Change the call to "
            "include dim=X as an argument.",
            UserWarning,
            stacklevel=stacklevel,
        )
        axis = 0 if x.ndim in (0, 1, 3) else 1
    axis = dim_index(axis, x.ndim, op)
    return axis if x.ndim else None


def dropout(x: Variable, p: float = 0.5, training: bool = True, inplace: bool = False) -> Variable:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only);
    ``inplace`` writes the result into ``x`` and returns it."""
    return _dropout("dropout", x, p, training, inplace)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Variable:
    """Zero whole channels of (N, C, L) or (C, L) with probability ``p`` (see ``dropout``)."""
    return _dropout("dropout1d", input, p, training, inplace, (2, 3))


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Variable:
    """Zero whole channels of (N, C, H, W) with probability ``p``; a 3-d input is read as
    (N, C, L), with PyTorch's warning."""
    return _dropout("dropout2d", input, p, training, inplace, (3, 4))


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Variable:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) with probability ``p``."""
    return _dropout("dropout3d", input, p, training, inplace, (4, 5))


def _dropout(name, x, p, training, inplace, ranks: tuple[int, int] | None = None) -> Variable:
    """Element dropout, or (``ranks``: the unbatched and batched ranks) channel dropout."""
    check_dropout_probability(p)
    x = as_input(x, name)
    if not isinstance(training, bool | np.bool_):  # a string would be true
        kind = type(training).__name__
        raise OperandError(f"{name}(): argument 'training' must be bool, not {kind}")
    if ranks is not None and x.ndim not in ranks:
        raise ShapeError(
            f"{name}: Expected {ranks[0]}D or {ranks[1]}D input, but received a {x.ndim}D input "
            f"of shape {x.shape} ((C, ...) or (N, C, ...): whole channels are dropped)"
        )
    if not training or p == 0:
        return x
    if p == 1 or ranks is None:
        out = x * 0 if p == 1 else ops.Dropout.apply(x, p, rng.default_generator())
    else:
        if name == "dropout2d" and x.ndim == 3:
            warnings.warn(
                "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
                "dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
                "is the channel dim. To maintain the 1D channel-wise dropout behavior, please "
                "switch to using dropout1d instead.",
                UserWarning,
                stacklevel=3,
            )
        kept = x.shape[:2] if x.ndim == ranks[1] or name == "dropout2d" else x.shape[:1]
        keep = rng.default_generator().random(kept) >= p
        out = x * (keep / (1 - p)).astype(x.dtype).reshape(kept + (1,) * (x.ndim - len(kept)))
    return x.copy_(out) if inplace else out


def check_dropout_probability(p: float) -> None:
    """Raise ``ArgumentError`` unless ``0 <= p <= 1`` (shared with ``nn.Dropout``)."""
    one = isinstance(p, numbers.Real) or (isinstance(p, np.ndarray | Variable) and not p.ndim)
    if not one or not 0 <= p <= 1:  # not a string "0.1", nor several numbers
        raise ArgumentError(f"dropout probability has to be between 0 and 1, but got {p!r}")


def linear(input: Variable, weight: Variable, bias: Variable | None = None) -> Variable:
    """``input @ weight.T + bias`` as one op."""
    if not isinstance(input, Variable):
        input = as_input(input, "linear")
    if bias is None:
        return ops.Linear.apply(input, weight)
    return ops.Linear.apply(input, weight, bias)


# ------------------------------------------------------------ smooth activations (one op each)
def silu(input: Variable, inplace: bool = False) -> Variable:
    """x * sigmoid(x)."""
    if inplace:
        return _activation(ops.Silu, "silu", input, inplace=True)
    return ops.Silu.apply(as_input(input, "silu"))


def elu(input: Variable, alpha: float = 1.0, inplace: bool = False) -> Variable:
    """x where x > 0, else alpha * (exp(x) - 1)."""
    if inplace:
        return _activation(ops.Elu, "elu", input, alpha, inplace=True)
    return ops.Elu.apply(as_input(input, "elu"), alpha)


def softplus(input: Variable, beta: float = 1.0, threshold: float = 20.0) -> Variable:
    """log(1 + exp(beta * x)) / beta; x itself where beta * x > threshold."""
    return ops.Softplus.apply(as_input(input, "softplus"), beta, threshold)


def mish(input: Variable, inplace: bool = False) -> Variable:
    """x * tanh(softplus(x))."""
    if inplace:
        return _activation(ops.Mish, "mish", input, inplace=True)
    return ops.Mish.apply(as_input(input, "mish"))


# ------------------------------------------------------------------------------- distances
def cosine_similarity(x1: Variable, x2: Any, dim: int = 1, eps: float = 1e-8) -> Variable:
    """x1 . x2 / (max(|x1|, eps) * max(|x2|, eps)) along ``dim`` (inputs broadcast)."""
    x1 = as_input(x1, "cosine_similarity")
    ndim = max(x1.ndim, np.ndim(as_array(x2)))
    return ops.CosineSimilarity.apply(x1, x2, dim_index(dim, ndim, "cosine_similarity"), eps)


# ------------------------------------------------------------------- convolution, padding
_CONV = {1: ops.Conv1d, 2: ops.Conv2d, 3: ops.Conv3d}
_KERNEL = {1: "kL", 2: "kH, kW", 3: "kD, kH, kW"}


def _convolution(layer, input, weight, bias, stride, padding, dilation, groups, dims):
    input = as_input(input, layer)
    if not isinstance(weight, Variable):  # a list or an array (a Parameter passes as it is)
        weight = as_input(weight, layer)
    if bias is not None and not isinstance(bias, Variable):
        bias = as_input(bias, layer)
    if weight.ndim != dims + 2:
        raise ShapeError(
            f"{layer}: expected a {dims + 2}-d weight (out_channels, in_channels / groups, "
            f"{_KERNEL[dims]}), got weight of shape {weight.shape}"
        )
    kernel = tuple(weight.shape[2:])
    stride = conv.tuple_of(stride, dims, layer, "stride")
    dilation = conv.tuple_of(dilation, dims, layer, "dilation")
    pairs = conv.conv_padding(padding, kernel, stride, dilation, layer)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ArgumentError(f"{layer}: groups must be a positive integer, got {groups!r}")
    bias_shape = None if bias is None else np.shape(as_array(bias))
    shape = (1, *input.shape) if input.ndim == dims + 1 else input.shape  # one sample: a batch
    conv.check_conv(layer, shape, weight.shape, bias_shape, pairs, dilation, groups)
    return _CONV[dims].apply(input, weight, bias, stride, pairs, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Variable:
    """2-d convolution of (N, C, H, W) (or (C, H, W)) with weight (O, C/groups, KH, KW);
    ``padding`` is an int, a pair, ``"valid"`` or ``"same"`` (stride 1). One ``Conv2d`` node."""
    return _convolution("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Variable:
    """1-d convolution of (N, C, L) (or (C, L)) with weight (O, C/groups, K). One ``Conv1d``
    node."""
    return _convolution("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Variable:
    """3-d convolution of (N, C, D, H, W) (or (C, D, H, W)) with weight (O, C/groups, KD, KH,
    KW); ``padding`` is an int, three ints, ``"valid"`` or ``"same"`` (stride 1). One
    ``Conv3d`` node."""
    return _convolution("conv3d", input, weight, bias, stride, padding, dilation, groups, 3)


def pad(input, pad, mode: str = "constant", value: float | None = None) -> Variable:
    """Pad the last ``len(pad) // 2`` dims, the last dim first: ``(left, right, top, bottom,
    ...)`` as PyTorch orders them; negative amounts crop. ``mode`` is ``"constant"`` (with
    ``value``, default 0), ``"reflect"``, ``"replicate"`` or ``"circular"`` (these pad the last
    1, 2 or 3 dims of an input with one or two dims more)."""
    input = as_input(input, "pad")
    if not isinstance(pad, tuple | list | np.ndarray) or np.ndim(pad) != 1:  # else len() fails
        raise OperandError(
            f"pad(): argument 'pad' must be a tuple of ints, not {type(pad).__name__} ({pad!r})"
        )
    if mode not in ("constant", *ops.padding.PAD_OPS):
        raise ArgumentError(
            f"pad: Unrecognised padding mode {mode!r} (expected 'constant', 'reflect', "
            "'replicate' or 'circular')"
        )
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ArgumentError(
            f"pad: Padding length must be divisible by 2 and at most twice the input's dims "
            f"({input.ndim}), got {len(pad)} for input of shape {input.shape}"
        )
    if not all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in pad):
        raise OperandError(f"pad(): argument 'pad' must be a tuple of ints, got {tuple(pad)!r}")
    if isinstance(value, Variable | np.ndarray) and not value.ndim:  # a 0-d tensor
        value = value.item()
    if value is not None and not isinstance(value, int | float | np.number):
        raise OperandError(
            f"pad(): argument 'value' must be a number, not {type(value).__name__} ({value!r})"
        )
    given = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)][::-1]
    pairs = ((0, 0),) * (input.ndim - len(given)) + tuple(given)
    for size, (a, b) in zip(input.shape, pairs, strict=True):
        if mode == "constant" and size + min(a, 0) + min(b, 0) < 0:  # PyTorch crops first
            raise ShapeError(
                f"pad: cropping a dim of {size} by {-min(a, 0) - min(b, 0)} leaves "
                f"{size + min(a, 0) + min(b, 0)} elements (pad {tuple(pad)}, input {input.shape})"
            )
    if mode != "constant":
        return ops.padding.pad_by_mode(input, pad, mode, value, pairs)
    return ops.ConstantPadNd.apply(input, pairs, 0.0 if value is None else value)


def one_hot(tensor: Any, num_classes: int = -1) -> Variable:
    """Class indices (int64) as one-hot rows: int64 of shape ``(*tensor.shape, num_classes)``;
    ``num_classes=-1`` takes the largest index plus one."""
    indices = as_array(tensor)
    if indices.dtype != np.int64:
        raise InputError(
            f"one_hot(): one_hot is only applicable to index tensors of dtype int64, got "
            f"{indices.dtype}"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer):
        raise OperandError(  # 1.5 went into np.arange: 2 classes
            f"one_hot(): num_classes must be an int, got {type(num_classes).__name__} "
            f"{num_classes!r}"
        )
    if num_classes == -1:
        if not indices.size:
            raise InputError("one_hot(): can not infer the number of classes from an empty input")
        num_classes = int(indices.max()) + 1
    if indices.size and indices.min() < 0:
        raise InputError(f"one_hot(): class values must be non-negative, got {indices.min()}")
    if indices.size and indices.max() >= num_classes:
        raise InputError(
            f"one_hot(): class values must be smaller than num_classes ({num_classes}), got "
            f"{indices.max()}"
        )
    rows = Variable((indices[..., None] == np.arange(num_classes)).astype(np.int64))
    return ops.nodiff.announce(ops.nodiff.OneHot, (tensor, num_classes), rows)


def _optional(value, layer):
    return None if value is None else as_input(value, layer)


def batch_norm(
    input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5
) -> Variable:
    """Normalise (N, C, *) per channel, then ``* weight + bias``. Training uses the batch's
    mean and biased variance and moves the running statistics (when given) towards the batch's
    mean and unbiased variance by ``momentum``, in place; evaluation uses the running
    statistics. One ``BatchNorm`` node."""
    args = (running_mean, running_var, weight, bias, training, momentum, eps)
    return _batch_norm("batch_norm", input, *args)


def _batch_norm(layer, input, running_mean, running_var, weight, bias, training, momentum, eps):
    input = as_input(input, layer)
    running_mean, running_var = _optional(running_mean, layer), _optional(running_var, layer)
    weight, bias = _optional(weight, layer), _optional(bias, layer)
    ops.normalization.check_batch_norm(
        layer, input.shape, running_mean, running_var, weight, bias, training
    )
    ops.normalization.check_floats(layer, momentum=momentum, eps=eps)
    if not (eps > 0 if training else eps >= 0):  # else 0 / 0: NaN where PyTorch refuses
        when = "positive during training" if training else "non-negative"
        raise ArgumentError(f"{layer}: eps must be {when}, but got {eps}")
    if training and input.size:  # an empty batch leaves the running statistics (PyTorch)
        ops.normalization.update_running_stats(input._data, running_mean, running_var, momentum)
    return ops.BatchNorm.apply(input, weight, bias, running_mean, running_var, training, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5) -> Variable:
    """Normalise over the trailing ``normalized_shape`` dims with their mean and biased
    variance, then ``* weight + bias`` (each of ``normalized_shape``). One ``LayerNorm`` node."""
    return _layer_norm("layer_norm", input, normalized_shape, weight, bias, eps)


def _layer_norm(layer, input, normalized_shape, weight, bias, eps):
    input = as_input(input, layer)
    normalized = ops.normalization.normalized_shape_of(layer, normalized_shape)
    weight, bias = _optional(weight, layer), _optional(bias, layer)
    ops.normalization.check_layer_norm(layer, input.shape, normalized, weight, bias)
    ops.normalization.check_floats(layer, eps=eps)
    return ops.LayerNorm.apply(input, weight, bias, len(normalized), eps)


__all__ = [
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "conv3d",
    "cosine_similarity",
    "cross_entropy",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "elu",
    "gelu",
    "glu",
    "group_norm",
    "gumbel_softmax",
    "hardtanh",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "logsigmoid",
    "mish",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "relu",
    "relu6",
    "scaled_dot_product_attention",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "softsign",
    "tanh",
]


# ------------------------------------------------------------------ embedding and attention
def embedding(
    input: Any,
    weight: Variable,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Variable:
    """Rows of ``weight`` at the integer ``input`` (one ``Embedding`` op); the
    ``padding_idx`` row gets no gradient; ``max_norm`` first renormalises the rows picked, in
    place. An index outside ``[0, num_embeddings)`` raises ``IndexRangeError``."""
    ops.attention.check_embedding_options("embedding()", scale_grad_by_freq, sparse)
    return ops.embedding(input, weight, padding_idx, "embedding()", max_norm, norm_type)


from gradviz.autograd.functional_acts import (  # noqa: E402
    _unary as _activation,
)
from gradviz.autograd.functional_acts import (  # noqa: E402
    bilinear,
    celu,
    elu_,
    hardshrink,
    hardsigmoid,
    hardswish,
    instance_norm,
    leaky_relu_,
    local_response_norm,
    pairwise_distance,
    prelu,
    relu_,
    rms_norm,
    rrelu,
    selu,
    softmin,
    softshrink,
    tanhshrink,
    threshold,
)
from gradviz.autograd.functional_losses_more import (  # noqa: E402
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from gradviz.autograd.functional_more import (  # noqa: E402  (they import this module's deps)
    group_norm,
    gumbel_softmax,
    hardtanh,
    logsigmoid,
    normalize,
    relu6,
    scaled_dot_product_attention,
    softsign,
)

__all__ += [
    "bilinear",
    "celu",
    "cosine_embedding_loss",
    "elu_",
    "gaussian_nll_loss",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hinge_embedding_loss",
    "instance_norm",
    "leaky_relu_",
    "local_response_norm",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_soft_margin_loss",
    "pairwise_distance",
    "poisson_nll_loss",
    "prelu",
    "relu_",
    "rms_norm",
    "rrelu",
    "selu",
    "soft_margin_loss",
    "softmin",
    "softshrink",
    "tanhshrink",
    "threshold",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]
from gradviz.autograd.functional_pool import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)
from gradviz.autograd.functional_resample import (  # noqa: E402
    affine_grid,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    grid_sample,
    interpolate,
    pixel_shuffle,
    pixel_unshuffle,
)

__all__ += [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "affine_grid",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "grid_sample",
    "interpolate",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "pixel_shuffle",
    "pixel_unshuffle",
]
from gradviz.autograd.functional_fold import fold, glu, unfold  # noqa: E402
from gradviz.autograd.functional_layers import (  # noqa: E402
    alpha_dropout,
    channel_shuffle,
    ctc_loss,
    embedding_bag,
    feature_alpha_dropout,
    lp_pool1d,
    lp_pool2d,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)

# torch.autograd.functional: gradviz.autograd.functional is this module (not in __all__)
from gradviz.autograd.jacobians import hessian, hvp, jacobian, jvp, vhp, vjp  # noqa: E402, F401

__all__ += [
    "alpha_dropout",
    "channel_shuffle",
    "ctc_loss",
    "embedding_bag",
    "feature_alpha_dropout",
    "fold",
    "lp_pool1d",
    "lp_pool2d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "unfold",
]
