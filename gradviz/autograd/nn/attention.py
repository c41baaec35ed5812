"""``nn.MultiheadAttention`` with PyTorch's signature, parameter names and init.

The attention is written out op by op (Linear, Split, Reshape, Transpose, MatMul, Mul,
MaskedFill (the mask), Softmax, MatMul, Linear) so the graph shows every step, and the weights
PyTorch returns with ``need_weights=True`` are the Softmax (after dropout) node itself.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd.errors import ArgumentError, InputError, ShapeError
from gradviz.autograd.grad_mode import is_grad_enabled
from gradviz.autograd.nn import init
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.layers import Linear, layer_size
from gradviz.autograd.nn.module import Module, Parameter
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.attention import EMPTY_ROWS, named_mask
from gradviz.autograd.ops.shape import concatenate
from gradviz.autograd.variable import Variable, get_default_dtype


def _mask_array(mask: Any, name: str) -> np.ndarray:
    try:
        array = mask._data if isinstance(mask, Variable) else np.asarray(mask)
    except ValueError:  # a ragged list
        array = np.asarray(None)
    if array.dtype != np.bool_ and array.dtype.kind != "f":
        raise InputError(f"MultiheadAttention: only bool and float {name} are supported")
    return array


def _apply_mask(scores: Variable, mask: np.ndarray, name: str, safe: bool) -> Variable:
    """A float mask (``-inf``: not allowed to attend) applied to the scores, drawn as an input
    called ``name``. Its ``-inf`` entries are a masked_fill (a check reads it as a mask, not as
    Inf in the data), the rest is added; unless ``safe``, a row with nothing to attend to keeps
    the add of ``-inf``, so it sends NaN back, as in PyTorch."""
    blocked = np.isneginf(mask)
    if not blocked.any() or (not safe and blocked.all(axis=-1).any()):
        return scores + named_mask(mask.astype(scores.dtype), name)
    if np.any(mask[~blocked]):
        scores = scores + named_mask(np.where(blocked, 0.0, mask).astype(scores.dtype), name)
    return scores.masked_fill(named_mask(blocked, name), float("-inf"))


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of ``embed_dim // num_heads`` features each."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        embed_dim = layer_size("MultiheadAttention", "embed_dim", embed_dim)
        num_heads = layer_size("MultiheadAttention", "num_heads", num_heads)
        kdim = embed_dim if kdim is None else layer_size("MultiheadAttention", "kdim", kdim)
        vdim = embed_dim if vdim is None else layer_size("MultiheadAttention", "vdim", vdim)
        if embed_dim <= 0 or num_heads <= 0:
            raise ArgumentError(
                f"MultiheadAttention: embed_dim and num_heads must be greater than 0, got "
                f"embed_dim={embed_dim} and num_heads={num_heads} instead"
            )
        if embed_dim % num_heads:
            raise ArgumentError(
                f"MultiheadAttention: embed_dim must be divisible by num_heads, got "
                f"embed_dim ({embed_dim}) and num_heads ({num_heads})"
            )
        F.check_dropout_probability(dropout)
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        self.kdim, self.vdim = kdim, vdim
        self._qkv_same_embed_dim = kdim == embed_dim and vdim == embed_dim
        made = get_default_dtype()
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=made))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:  # separate projections from key and value of other sizes (PyTorch's names)
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dtype=made))
            self.k_proj_weight = Parameter(np.empty((embed_dim, kdim), dtype=made))
            self.v_proj_weight = Parameter(np.empty((embed_dim, vdim), dtype=made))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(np.zeros((3 * embed_dim,), dtype=made))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        if add_bias_kv:  # one learned key and value appended to every sequence
            self.bias_k = Parameter(np.empty((1, 1, embed_dim), dtype=made))
            self.bias_v = Parameter(np.empty((1, 1, embed_dim), dtype=made))
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self.add_zero_attn = add_zero_attn  # a zero key and value appended after the heads
        self._reset_parameters()
        place(self, device, dtype)

    def _reset_parameters(self) -> None:
        """xavier_uniform_ projection weights, zero biases (out_proj.weight keeps Linear's
        init)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _heads(self, x: Variable, batch: int) -> Variable:
        """(N, L, E) -> (N, H, L, E / H)."""
        return x.reshape(batch, x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        query: Any,
        key: Any,
        value: Any,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Variable, Variable | None]:
        query, key, value = (as_variable(t, "MultiheadAttention") for t in (query, key, value))
        if is_causal and attn_mask is None:
            raise InputError("MultiheadAttention: need attn_mask if specifying the is_causal hint")
        unbatched = query.ndim == 2
        # rows with nothing to attend to: zeros where PyTorch's slow path gives them, NaN with
        # the weights and on its inference fast path
        safe = not need_weights and not self._fast_path(query, key, value)
        self._check_key_value(query, key, value, None if unbatched else int(not self.batch_first))
        self._check_masks(query, key, key_padding_mask, attn_mask)
        if unbatched:
            query, key, value = (t.unsqueeze(0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(_mask_array(key_padding_mask, "key_padding_mask"))[
                    None
                ]
        if query.ndim != 3 or query.shape[-1] != self.embed_dim:
            raise ShapeError(
                f"MultiheadAttention: expected query of shape (L, N, {self.embed_dim}) "
                f"(batch_first: (N, L, {self.embed_dim})) or (L, {self.embed_dim}), got "
                f"{query.shape}"
            )
        if not self.batch_first and not unbatched:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        output, weights = self._attend(
            query,
            key,
            value,
            (key_padding_mask, attn_mask),
            need_weights,
            average_attn_weights,
            safe,
        )
        if unbatched:
            return output.squeeze(0), None if weights is None else weights.squeeze(0)
        if not self.batch_first:
            output = output.transpose(0, 1)
        return output, weights

    def _check_key_value(
        self, query: Variable, key: Variable, value: Variable, batch: int | None
    ) -> None:
        """PyTorch's checks: key and value of one shape (S, N, E) or (S, E) as the query, of its
        batch size (dim ``batch``; None: unbatched)."""
        if query.ndim not in (2, 3) or query.shape[-1] != self.embed_dim:
            return  # the query's own check says what is wrong with it
        if key.shape[:-1] != value.shape[:-1]:
            raise ShapeError(
                f"MultiheadAttention: key shape {key.shape} does not match value shape "
                f"{value.shape}"
            )
        if key.ndim != query.ndim or (key.shape[-1], value.shape[-1]) != (self.kdim, self.vdim):
            ending = (
                f"embed_dim {self.embed_dim}"
                if self._qkv_same_embed_dim
                else f"kdim {self.kdim} and vdim {self.vdim}"
            )
            raise ShapeError(
                f"MultiheadAttention: expected key and value of {query.ndim} dims ending in "
                f"{ending} like the query {query.shape}, got {key.shape} (key) and "
                f"{value.shape} (value)"
            )
        if batch is not None and key.shape[batch] != query.shape[batch]:
            raise ShapeError(
                f"MultiheadAttention: the batch size of key and value ({key.shape[batch]}) "
                f"does not match the query's ({query.shape[batch]}), dim {batch} of "
                f"{key.shape} and {query.shape}"
            )

    def _check_masks(
        self, query: Variable, key: Variable, key_padding_mask: Any, attn_mask: Any
    ) -> None:
        """PyTorch's mask shapes: key_padding_mask (N, S) or, unbatched, (S,); attn_mask (L, S)
        or (N * num_heads, L, S), unbatched (num_heads, L, S)."""
        if query.ndim not in (2, 3) or query.shape[-1] != self.embed_dim:
            return  # the query's own check says what is wrong with it
        if query.ndim == 2:
            length, source = query.shape[0], key.shape[0]
            heads, padding = self.num_heads, (source,)
        else:
            seq = 1 if self.batch_first else 0  # the dim of the sequence; the batch is the other
            length, source, batch = query.shape[seq], key.shape[seq], query.shape[1 - seq]
            heads, padding = batch * self.num_heads, (batch, source)
        expected = {
            "key_padding_mask": (padding,),
            "attn_mask": ((length, source), (heads, length, source)),
        }
        for name, mask in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
            if mask is None:
                continue
            shape = tuple(_mask_array(mask, name).shape)
            if shape not in expected[name]:
                wanted = " or ".join(str(s) for s in expected[name])
                raise ShapeError(
                    f"MultiheadAttention: expected {name} of shape {wanted} for query "
                    f"{query.shape} and key {key.shape}, got {shape}"
                )

    def _masked(self, scores, attn_mask, key_padding_mask, safe: bool):
        """The scores with the masks applied and, when ``safe``, the rows they leave with
        nothing to attend to (None if none): those give zeros, not NaN, as PyTorch's
        scaled_dot_product_attention path (``need_weights=False``) does."""
        merged = None  # one float mask, as PyTorch merges them: True (bool) = -inf
        names = []
        for name, mask in (("attn_mask", attn_mask), ("key_padding_mask", key_padding_mask)):
            if mask is None:
                continue
            names.append(name)
            mask = _mask_array(mask, name)
            if mask.dtype == np.bool_:
                mask = np.where(mask, -np.inf, 0.0)
            extra = (self.bias_k is not None) + self.add_zero_attn  # keys no mask covers
            if extra:
                mask = np.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, extra)])
            if name == "key_padding_mask":
                mask = mask[:, None, None, :]
            elif mask.ndim == 3:  # (N * H, L, S)
                mask = mask.reshape(scores.shape[0], self.num_heads, *mask.shape[1:])
            merged = mask if merged is None else merged + mask
        if merged is None:
            return scores, None
        scores = _apply_mask(scores, merged, " + ".join(names), safe)
        empty = np.isneginf(merged).all(axis=-1, keepdims=True) if safe else None
        if empty is None or not empty.any():
            return scores, None
        empty_rows = named_mask(empty, EMPTY_ROWS)
        return scores.masked_fill(empty_rows, 0.0), empty_rows

    def _fast_path(self, query: Variable, key: Variable, value: Variable) -> bool:
        """Whether PyTorch would take its fused inference path (which gives NaN, not zeros, for
        a row with nothing to attend to): eval mode, batch_first self-attention of a batch, an
        even number of heads, one in_proj_weight, nothing that needs a gradient."""
        if self.training or not self.batch_first or query.ndim != 3 or self.num_heads % 2:
            return False
        if not (query is key is value) or not self._qkv_same_embed_dim:
            return False
        if self.bias_k is not None or self.add_zero_attn:
            return False
        needs = (query, self.in_proj_weight, self.in_proj_bias, *self.out_proj.parameters())
        return not is_grad_enabled() or not any(t is not None and t.requires_grad for t in needs)

    def _attend(self, query, key, value, masks, need_weights, average, safe):
        batch, length = query.shape[0], query.shape[1]
        if self._qkv_same_embed_dim:
            w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        b_q = b_k = b_v = None
        if self.in_proj_bias is not None:
            b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = self._heads(F.linear(query, w_q, b_q), batch)
        k, v = F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)
        if self.bias_k is not None:
            k = concatenate([k, self.bias_k.expand(batch, 1, self.embed_dim)], axis=1)
            v = concatenate([v, self.bias_v.expand(batch, 1, self.embed_dim)], axis=1)
        k, v = self._heads(k, batch), self._heads(v, batch)
        if self.add_zero_attn:
            zeros = Variable(np.zeros((*k.shape[:2], 1, self.head_dim), k.dtype), name="zero_attn")
            k, v = concatenate([k, zeros], axis=2), concatenate([v, zeros], axis=2)
        scores = (q @ k.transpose(-2, -1)) * (1 / math.sqrt(self.head_dim))
        scores, empty = self._masked(scores, masks[1], masks[0], safe)
        weights = scores.softmax(-1)
        if empty is not None:
            weights = weights.masked_fill(empty, 0.0)
        weights = F.dropout(weights, self.dropout, self.training)
        output = (weights @ v).transpose(1, 2).reshape(batch, length, self.embed_dim)
        output = self.out_proj(output)
        if not need_weights:
            return output, None
        return output, weights.mean(1) if average else weights
