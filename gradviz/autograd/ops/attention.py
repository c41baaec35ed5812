"""Embedding lookup (one op) and scaled dot-product attention (built from existing ops).

``scaled_dot_product_attention`` is composed of MatMul, Mul, MaskedFill/Add, Softmax, Dropout
and MatMul, so each step shows as its own node in the graph (the scores, the masked scores and
the attention weights can be inspected and checked on their own).
"""

from __future__ import annotations

import math
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
from gradviz.autograd.function import Function
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.ops.accumulate import add_rows
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.elementwise import Dropout
from gradviz.autograd.ops.scatter import put_in_zeros
from gradviz.autograd.variable import Variable, as_array


class Embedding(Function):
    """``weight[indices]``: rows of the table; a row picked twice gets both gradients.

    With ``padding_idx`` the padding row enters as a constant (``padding_row``, its value at
    call time), so it gets no gradient, as in PyTorch, and the backward rule is still the true
    derivative (the per-op check verifies it like any other op)."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx=None, padding_row=None):
        ctx.shape, ctx.indices, ctx.padding_idx = weight.shape, indices, padding_idx
        out = weight[indices]
        if padding_idx is not None:
            out[indices == padding_idx] = padding_row
        return out

    @staticmethod
    def backward(ctx, grad):
        indices, rows = ctx.indices.reshape(-1), grad.reshape(-1, ctx.shape[1])
        if ctx.shape[0] * len(indices) <= _ONE_HOT and np.isfinite(rows).all():
            out = _one_hot(indices, ctx.shape[0], rows.dtype) @ rows  # one BLAS call
        else:
            out = np.zeros(ctx.shape, dtype=grad.dtype)
            add_rows(out, indices, rows)
        if ctx.padding_idx is not None:
            out[ctx.padding_idx] = 0  # the padding row is a constant of the forward
        return (out, None) if ctx.padding_idx is None else (out, None, None, None)

    @staticmethod
    def backward_graph(ctx, grad, out):
        indices, rows = ctx.indices.reshape(-1), grad.reshape(-1, ctx.shape[1])
        if ctx.padding_idx is not None:  # (the padding row: a constant of the forward)
            rows = rows * (indices != ctx.padding_idx)[:, None]
        table = put_in_zeros(ctx.shape, (indices,), rows)
        return (table, None) if ctx.padding_idx is None else (table, None, None, None)


#: Up to this many table rows times indices, backward sums the picked rows as a product with
#: a one-hot matrix (finite gradients only: 0 * inf would spread to every row).
_ONE_HOT = 1 << 16


def _one_hot(indices: np.ndarray, classes: int, dtype: np.dtype) -> np.ndarray:
    """(classes, len(indices)): 1 at (indices[j], j), 0 elsewhere."""
    matrix = np.zeros((classes, len(indices)), dtype)
    matrix[indices, np.arange(len(indices))] = 1
    return matrix


def padding_index(padding_idx: int | None, num_embeddings: int, layer: str) -> int | None:
    """``padding_idx`` as a row number (negative counts from the end), checked."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, int | np.integer):
        raise OperandError(
            f"{layer}: padding_idx must be an integer, got {type(padding_idx).__name__} "
            f"{padding_idx!r}"
        )
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ArgumentError(
            f"{layer}: padding_idx must be within num_embeddings ({num_embeddings}), got "
            f"{padding_idx}"
        )
    return padding_idx % num_embeddings


def embedding(
    input: Any,
    weight: Variable,
    padding_idx: int | None = None,
    layer: str = "embedding()",
    max_norm: float | None = None,
    norm_type: float = 2.0,
) -> Variable:
    """Rows of ``weight`` (``num_embeddings, embedding_dim``) at the integer ``input``; with
    ``max_norm``, the rows picked whose ``norm_type``-norm is larger are first scaled down to
    it, in place (PyTorch's ``embedding_renorm_``)."""
    indices = as_array(input)
    if indices.dtype.kind not in "iu":
        raise InputError(
            f"{layer}: expected an integer (int64) index tensor as input, got dtype {indices.dtype}"
        )
    weight = as_variable(weight, "embedding")
    if weight.ndim != 2:
        raise ShapeError(f"{layer}: weight must be 2-D, got shape {weight.shape}")
    num = weight.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= num):
        bad = int(indices.min() if indices.min() < 0 else indices.max())
        raise IndexRangeError(
            f"{layer}: index out of range: index {bad} is not in [0, {num}) for "
            f"num_embeddings={num}; check the vocabulary size"
        )
    padding_idx = padding_index(padding_idx, num, layer)
    if max_norm is not None:
        renorm_rows(weight, indices, max_norm, norm_type, layer)
    # an int64 Variable goes in as itself, so a trace draws where the indices came from
    index = input if indices is getattr(input, "_data", None) else indices
    index = index if indices.dtype == np.int64 else indices.astype(np.int64)
    if padding_idx is None:
        return Embedding.apply(weight, index)
    padding_row = weight._data[padding_idx].copy()
    return Embedding.apply(weight, index, padding_idx, padding_row)


def renorm_rows(weight: Variable, indices: np.ndarray, max_norm, norm_type, layer: str) -> None:
    """Scale the rows of ``weight`` at ``indices`` whose norm exceeds ``max_norm`` down to it,
    in place and outside the graph, as PyTorch does before the lookup."""
    for name, number in (("max_norm", max_norm), ("norm_type", norm_type)):
        if isinstance(number, bool) or not isinstance(number, int | float | np.number):
            raise OperandError(f"{layer}: {name} must be a number, got {number!r}")
    rows = np.unique(indices)
    norms = np.linalg.norm(weight._data[rows], ord=norm_type, axis=1)
    over = norms > max_norm
    if over.any():
        scale = (max_norm / (norms[over] + 1e-7)).astype(weight.dtype)
        with no_grad():
            weight[rows[over]] = weight._data[rows[over]] * scale[:, None]


def check_embedding_options(layer: str, scale_grad_by_freq: bool, sparse: bool) -> None:
    """Refuse the options gradviz has not: gradients scaled by frequency, sparse gradients."""
    if scale_grad_by_freq or sparse:
        raise ArgumentError(
            f"{layer}: scale_grad_by_freq=True and sparse=True are not supported (got "
            f"scale_grad_by_freq={scale_grad_by_freq}, sparse={sparse})"
        )


#: The name of the mask of rows a mask leaves with no key to attend to (they give zeros).
EMPTY_ROWS = "rows_masked_whole"


def named_mask(mask: np.ndarray, name: str) -> Variable:
    """A mask made inside an attention op, as an input named after the argument it comes from
    (``~attn_mask``), not an unnamed input of the graph."""
    return Variable(mask, name=name)


def _attention_mask(
    scores: Variable, attn_mask: Any, is_causal: bool
) -> tuple[Variable, Variable | None]:
    """The scores with a bool mask (True = take part) or a float mask (added) applied, and
    the rows a bool mask leaves empty (None when there are none)."""
    length, source = scores.shape[-2], scores.shape[-1]
    if is_causal:
        if attn_mask is not None:
            raise InputError(
                "scaled_dot_product_attention(): explicit attn_mask should not be set when "
                "is_causal=True"
            )
        attn_mask = np.tril(np.ones((length, source), dtype=bool))
    if attn_mask is None:
        return scores, None
    try:
        mask = attn_mask._data if isinstance(attn_mask, Variable) else np.asarray(attn_mask)
    except ValueError:  # a ragged list: the dtype check below says what is wrong
        mask = np.asarray(None)
    if mask.dtype.kind in "bf":
        try:
            np.broadcast_shapes(mask.shape, scores.shape)
        except ValueError:
            raise ShapeError(
                f"scaled_dot_product_attention(): attn_mask of shape {mask.shape} does not "
                f"broadcast to the attention weights' shape {scores.shape} (..., L, S)"
            ) from None
    name = "causal_mask" if is_causal else "attn_mask"
    if mask.dtype == np.bool_:
        empty = ~mask.any(axis=-1, keepdims=True)
        if not empty.any():
            return scores.masked_fill(named_mask(~mask, f"~{name}"), float("-inf")), None
        # a row with nothing to attend to gives zeros, as PyTorch's safe softmax does
        blocked = named_mask(~(mask | empty), f"~{name}")
        return scores.masked_fill(blocked, float("-inf")), named_mask(empty, EMPTY_ROWS)
    if mask.dtype.kind != "f":
        raise InputError(
            f"scaled_dot_product_attention(): attn_mask must be bool or float, got {mask.dtype}"
        )
    scores = scores + (attn_mask if isinstance(attn_mask, Variable) else named_mask(mask, name))
    empty = np.isneginf(mask).all(axis=-1, keepdims=True)
    if not empty.any():
        return scores, None
    # a row of -inf only gives zeros too (PyTorch's safe softmax), with no NaN gradient
    empty_rows = named_mask(empty, EMPTY_ROWS)
    return scores.masked_fill(empty_rows, 0.0), empty_rows


def scaled_dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Variable:
    """softmax(q @ k^T * scale + mask) @ v over the last two axes, as PyTorch computes it;
    ``enable_gqa`` repeats each head of key and value for its group of query heads."""
    op = "scaled_dot_product_attention()"
    query, key, value = (as_variable(t, op[:-2]) for t in (query, key, value))
    for name, number in (("dropout_p", dropout_p), ("scale", 1.0 if scale is None else scale)):
        if isinstance(number, bool) or not isinstance(number, int | float | np.floating):
            raise OperandError(
                f"{op}: argument '{name}' must be float, not {type(number).__name__}"
            )
    if enable_gqa:
        key, value = _repeat_heads(query, key, op), _repeat_heads(query, value, op)
    _check_inputs(op, query, key, value)
    if not 0 <= dropout_p <= 1:
        raise InputError(f"{op}: dropout_p must be in [0, 1], got {dropout_p}")
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores, empty = _attention_mask((query @ key.transpose(-2, -1)) * scale, attn_mask, is_causal)
    weights = scores.softmax(-1)
    if empty is not None:
        weights = weights.masked_fill(empty, 0.0)
    if dropout_p == 1:
        weights = weights * 0
    elif dropout_p > 0:
        weights = Dropout.apply(weights, dropout_p, rng.default_generator())
    return weights @ value


def _check_inputs(op: str, query: Variable, key: Variable, value: Variable) -> None:
    """PyTorch's checks of query (..., L, E), key (..., S, E) and value (..., S, Ev): their
    shapes, batch dims that broadcast, one dtype."""
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise ShapeError(
            f"{op}: Expected query, key, and value to all be at least 2 dimensional, but got "
            f"query {query.shape}, key {key.shape} and value {value.shape}"
        )
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(
            f"{op}: expected query (..., L, E), key (..., S, E) and value (..., S, Ev), got "
            f"{query.shape}, {key.shape} and {value.shape}"
        )
    try:
        np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        grouped = min(query.ndim, key.ndim) >= 3 and query.shape[-3] % key.shape[-3] == 0
        hint = (
            "; for key and value heads shared by groups of query heads pass enable_gqa=True"
            if grouped
            else ""
        )
        raise ShapeError(
            f"{op}: the batch dims of query {query.shape}, key {key.shape} and value "
            f"{value.shape} do not broadcast{hint}"
        ) from None
    if not query.dtype == key.dtype == value.dtype:
        raise InputError(
            f"{op}: Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{query.dtype} key.dtype: {key.dtype} and value.dtype: {value.dtype} instead."
        )


def _repeat_heads(query: Variable, kv: Variable, op: str) -> Variable:
    """Key or value (..., Hk, S, E) with each head repeated for Hq / Hk query heads in turn
    (PyTorch's ``repeat_interleave`` on dim -3): grouped-query attention."""
    if query.ndim < 3 or kv.ndim < 3 or query.shape[-3] % kv.shape[-3]:
        raise ShapeError(
            f"{op}: with enable_gqa=True, the number of heads (dim -3) of key and value must "
            f"divide the number of heads in query: query {query.shape}, key/value {kv.shape}"
        )
    groups = query.shape[-3] // kv.shape[-3]
    if groups == 1:
        return kv
    *batch, heads, source, features = kv.shape
    grouped = kv.unsqueeze(-3).expand(*batch, heads, groups, source, features)
    return grouped.reshape(*batch, heads * groups, source, features)
