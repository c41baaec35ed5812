"""``nn.TransformerEncoderLayer`` and ``nn.TransformerDecoderLayer`` with PyTorch's signatures,
defaults, sub-module names (``self_attn``, ``linear1``, ``norm1`` ...) and forward.

Each layer is built from ``MultiheadAttention``, ``Linear``, ``Dropout`` and ``LayerNorm``, so a
traced step shows every op of the attention, the feed-forward block and the residual adds, and
a PyTorch ``state_dict`` loads as it is.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd.errors import ArgumentError, InputError, OperandError, ShapeError
from gradviz.autograd.nn.attention import MultiheadAttention
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.layers import GELU, Dropout, Linear, ReLU, layer_size
from gradviz.autograd.nn.module import Module
from gradviz.autograd.nn.norm import LayerNorm
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable

Activation = str | Callable[[Variable], Variable]


def activation_fn(layer: str, activation: Any) -> tuple[Any, int]:
    """The activation (``"relu"``, ``"gelu"`` or a callable) and PyTorch's
    ``activation_relu_or_gelu`` code for it (1 relu, 2 gelu, 0 another)."""
    if isinstance(activation, str):
        named = {"relu": F.relu, "gelu": F.gelu}
        if activation not in named:
            raise ArgumentError(f"{layer}: activation should be relu/gelu, not {activation}")
        activation = named[activation]
    if not callable(activation):
        raise OperandError(
            f"{layer}: activation must be 'relu', 'gelu' or a callable, got "
            f"{type(activation).__name__}"
        )
    if activation is F.relu or isinstance(activation, ReLU):
        return activation, 1
    if activation is F.gelu or isinstance(activation, GELU):
        return activation, 2
    return activation, 0


def check_sizes(layer: str, d_model: Any, nhead: Any, dim_feedforward: Any) -> tuple[int, ...]:
    """``d_model``, ``nhead`` and ``dim_feedforward`` as sizes, ``d_model`` divisible by
    ``nhead``."""
    d_model = layer_size(layer, "d_model", d_model)
    nhead = layer_size(layer, "nhead", nhead)
    dim_feedforward = layer_size(layer, "dim_feedforward", dim_feedforward)
    if nhead == 0 or d_model % nhead:
        raise ArgumentError(
            f"{layer}: d_model ({d_model}) must be divisible by nhead ({nhead}), each head "
            "taking d_model // nhead features"
        )
    return d_model, nhead, dim_feedforward


def check_sequence(layer: str, name: str, x: Any, d_model: int, batch_first: bool) -> Variable:
    """``x`` as a Variable of shape ``(S, N, d_model)`` (batch_first: ``(N, S, d_model)``) or,
    unbatched, ``(S, d_model)``."""
    x = as_variable(x, layer)
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        batched = f"(N, S, {d_model})" if batch_first else f"(S, N, {d_model})"
        raise ShapeError(
            f"{layer}: expected {name} of shape {batched} (batch_first={batch_first}) or "
            f"(S, {d_model}), got {tuple(x.shape)}"
        )
    return x


def _mask_dtype(mask: Any) -> np.dtype | None:
    if mask is None:
        return None
    return mask.dtype if isinstance(mask, Variable | np.ndarray) else np.asarray(mask).dtype


def canonical_mask(
    layer: str, mask: Any, name: str, dtype: np.dtype, other: Any = None, other_name: str = ""
) -> np.ndarray | None:
    """PyTorch's ``_canonical_mask``: a bool mask (True: masked) as a float one of ``dtype``
    (``-inf`` where masked), a float mask as it is; a mask whose dtype differs from ``other``'s
    warns as PyTorch does."""
    if mask is None:
        return None
    try:
        array = mask._data if isinstance(mask, Variable) else np.asarray(mask)
    except ValueError:  # a ragged list
        array = np.asarray(None)
    if array.dtype != np.bool_ and array.dtype.kind != "f":
        raise InputError(
            f"{layer}: only bool and floating types of {name} are supported, got {array.dtype}"
        )
    if other is not None and _mask_dtype(other) != array.dtype:
        warnings.warn(
            f"Support for mismatched {name} and {other_name} is deprecated. Use same type for "
            "both instead.",
            UserWarning,
            stacklevel=3,
        )
    if array.dtype == np.bool_:
        return np.where(array, -np.inf, 0.0).astype(dtype)
    return array


class _TransformerLayer(Module):
    """What the encoder and decoder layers share: their constructor (PyTorch's signature and
    sub-modules, in PyTorch's order), the self-attention block and the feed-forward block.
    ``_attentions`` names the attention sub-modules, ``_blocks`` counts the residual blocks
    (one LayerNorm and one Dropout each)."""

    _attentions: tuple[str, ...] = ()
    _blocks = 0

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        d_model, nhead, dim_feedforward = check_sizes(name, d_model, nhead, dim_feedforward)
        for attention in self._attentions:
            module = MultiheadAttention(
                d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first
            )
            setattr(self, attention, module)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        for k in range(1, self._blocks + 1):
            setattr(self, f"norm{k}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        for k in range(1, self._blocks + 1):
            setattr(self, f"dropout{k}", Dropout(dropout))
        self.activation, self.activation_relu_or_gelu = activation_fn(name, activation)
        place(self, device, dtype)

    def _sa_block(self, x: Variable, attn_mask: Any, key_padding_mask: Any, is_causal: bool):
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x: Variable) -> Variable:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self._modules[f"dropout{self._blocks}"](x)


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention and a feed-forward block, each with a residual connection and a
    LayerNorm (after the residual add, or before the block when ``norm_first``)."""

    _attentions = ("self_attn",)
    _blocks = 2

    def forward(
        self,
        src: Any,
        src_mask: Any = None,
        src_key_padding_mask: Any = None,
        is_causal: bool = False,
    ) -> Variable:
        """``src`` of shape (S, N, E) (batch_first: (N, S, E)) or (S, E) through the layer;
        ``src_mask`` (S, S) or (N * nhead, S, S), ``src_key_padding_mask`` (N, S) or (S,),
        bool (True: not attended to) or float (added to the scores)."""
        name = type(self).__name__
        x = check_sequence(name, "src", src, self.self_attn.embed_dim, self.self_attn.batch_first)
        padding = canonical_mask(
            name, src_key_padding_mask, "src_key_padding_mask", x.dtype, src_mask, "src_mask"
        )
        src_mask = canonical_mask(name, src_mask, "src_mask", x.dtype)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, padding, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, padding, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention over the target, attention from the target to the encoder's output
    (``memory``) and a feed-forward block, each with a residual connection and a LayerNorm."""

    _attentions = ("self_attn", "multihead_attn")
    _blocks = 3

    def forward(
        self,
        tgt: Any,
        memory: Any,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Variable:
        """``tgt`` (T, N, E) and ``memory`` (S, N, E) (batch_first: N first; unbatched: no N)
        through the layer; ``tgt_mask`` (T, T), ``memory_mask`` (T, S) and the key padding
        masks (N, T) and (N, S) as in ``MultiheadAttention``."""
        name, attn = type(self).__name__, self.self_attn
        x = check_sequence(name, "tgt", tgt, attn.embed_dim, attn.batch_first)
        memory = check_sequence(name, "memory", memory, attn.embed_dim, attn.batch_first)
        if memory.ndim != x.ndim:
            raise ShapeError(
                f"{name}: expected memory batched as tgt {tuple(x.shape)} is, got "
                f"{tuple(memory.shape)}"
            )
        self_masks = (tgt_mask, tgt_key_padding_mask, tgt_is_causal)
        cross_masks = (memory_mask, memory_key_padding_mask, memory_is_causal)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), *self_masks)
            x = x + self._mha_block(self.norm2(x), memory, *cross_masks)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, *self_masks))
        x = self.norm2(x + self._mha_block(x, memory, *cross_masks))
        return self.norm3(x + self._ff_block(x))

    def _mha_block(
        self, x: Variable, mem: Variable, attn_mask: Any, key_padding_mask: Any, is_causal: bool
    ) -> Variable:
        x = self.multihead_attn(
            x,
            mem,
            mem,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(x)
