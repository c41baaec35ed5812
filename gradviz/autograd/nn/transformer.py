"""``nn.TransformerEncoder``, ``nn.TransformerDecoder`` and ``nn.Transformer`` with PyTorch's
signatures, defaults and ``state_dict`` keys (``encoder.layers.0.self_attn.in_proj_weight``).

A stack deep-copies the layer it is given ``num_layers`` times into a ``ModuleList`` named
``layers``, as PyTorch does, so a traced step shows ``layers.0``, ``layers.1`` ... as module
clusters, folded into one when they are identical.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd.dtypes import cpu_only
from gradviz.autograd.errors import OperandError, ShapeError
from gradviz.autograd.grad_mode import is_grad_enabled
from gradviz.autograd.nn import init
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.containers import ModuleList
from gradviz.autograd.nn.layers import layer_size
from gradviz.autograd.nn.module import Module
from gradviz.autograd.nn.norm import LayerNorm
from gradviz.autograd.nn.transformer_layers import (
    Activation,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    canonical_mask,
)
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable, as_dtype, get_default_dtype


def _clones(layer: str, module: Any, num_layers: Any) -> ModuleList:
    """``num_layers`` deep copies of ``module`` (each with parameters of its own)."""
    if not isinstance(module, Module):
        raise OperandError(f"{layer}: expected a Module to repeat, got {type(module).__name__}")
    return ModuleList(
        [copy.deepcopy(module) for _ in range(layer_size(layer, "num_layers", num_layers))]
    )


def _nested_capable(layer: Module) -> bool:
    """Whether PyTorch's encoder would set ``use_nested_tensor`` for a stack of ``layer``: a
    post-norm, batch_first TransformerEncoderLayer with biases, relu or gelu, one LayerNorm eps
    and an even number of heads."""
    if not isinstance(layer, TransformerEncoderLayer) or layer.norm_first:
        return False
    attn = layer.self_attn
    return bool(
        attn.batch_first
        and attn._qkv_same_embed_dim
        and attn.in_proj_bias is not None
        and layer.activation_relu_or_gelu
        and layer.norm1.eps == layer.norm2.eps
        and attn.num_heads % 2 == 0
    )


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` applied in turn, then ``norm`` if given.

    ``enable_nested_tensor`` and ``mask_check`` are kept as PyTorch keeps them. In eval mode,
    with nothing needing a gradient and a left-aligned ``src_key_padding_mask``, PyTorch runs a
    batch_first stack on nested tensors, which leaves the padded positions 0 before ``norm``:
    the output here does the same, so it equals PyTorch's in both modes.
    """

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(type(self).__name__, encoder_layer, num_layers)
        self.num_layers = len(self.layers)
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = enable_nested_tensor and _nested_capable(encoder_layer)
        self.mask_check = mask_check

    def forward(
        self,
        src: Any,
        mask: Any = None,
        src_key_padding_mask: Any = None,
        is_causal: bool | None = None,
    ) -> Variable:
        """``src`` through every layer with ``mask`` (S, S) and ``src_key_padding_mask``
        (N, S), bool (True: not attended to) or float; ``is_causal`` hints that ``mask`` is
        the causal mask."""
        name = type(self).__name__
        src = as_variable(src, name)
        padding = canonical_mask(
            name, src_key_padding_mask, "src_key_padding_mask", src.dtype, mask, "mask"
        )
        mask = canonical_mask(name, mask, "mask", src.dtype)
        output = src
        for layer in self.layers:
            output = layer(
                output, src_mask=mask, is_causal=bool(is_causal), src_key_padding_mask=padding
            )
        kept = self._nested_kept(src, mask, padding)
        if kept is not None:
            output = output.masked_fill(~kept[:, :, None], 0.0)
        if self.norm is not None:
            output = self.norm(output)
        return output

    def _nested_kept(self, src: Variable, mask: Any, padding: Any) -> np.ndarray | None:
        """The positions PyTorch's nested-tensor path keeps (N, S), or None when it would not
        take that path."""
        first = self.layers[0]
        if not self.use_nested_tensor or first.training or src.ndim != 3:
            return None
        if padding is None or mask is not None:
            return None
        kept = padding == 0
        if (kept[:, 1:] > kept[:, :-1]).any():
            return None  # not left aligned
        needs = (src, *first.parameters())
        if is_grad_enabled() and any(t.requires_grad for t in needs):
            return None
        return kept


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` applied in turn to the target, each
    attending to ``memory``, then ``norm`` if given."""

    def __init__(
        self,
        decoder_layer: TransformerDecoderLayer,
        num_layers: int,
        norm: Module | None = None,
    ) -> None:
        super().__init__()
        self.layers = _clones(type(self).__name__, decoder_layer, num_layers)
        self.num_layers = len(self.layers)
        self.norm = norm

    def forward(
        self,
        tgt: Any,
        memory: Any,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Variable:
        """``tgt`` through every layer, attending to ``memory``; the masks as in
        ``TransformerDecoderLayer``."""
        output = tgt
        for layer in self.layers:
            output = layer(
                output,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=bool(tgt_is_causal),
                memory_is_causal=memory_is_causal,
            )
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need": an ``encoder`` of
    ``num_encoder_layers`` TransformerEncoderLayers and a ``decoder`` of
    ``num_decoder_layers`` TransformerDecoderLayers, each ending in a LayerNorm; every weight
    matrix xavier_uniform_ initialised."""

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        custom_encoder: Any = None,
        custom_decoder: Any = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        options = (dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, *options, bias)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, *options, bias)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        place(self, device, dtype)

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(
        self,
        src: Any,
        tgt: Any,
        src_mask: Any = None,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        src_key_padding_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Variable:
        """``src`` (S, N, E) through the encoder and ``tgt`` (T, N, E) through the decoder
        attending to its output (batch_first: N first; unbatched: no N)."""
        src, tgt = as_variable(src, "Transformer"), as_variable(tgt, "Transformer")
        batch = 0 if self.batch_first else 1
        if src.ndim == 3 and (tgt.ndim != 3 or src.shape[batch] != tgt.shape[batch]):
            raise ShapeError(
                f"Transformer: the batch number of src and tgt must be equal (dim {batch}), "
                f"got src {tuple(src.shape)} and tgt {tuple(tgt.shape)}"
            )
        if src.shape[-1:] != (self.d_model,) or tgt.shape[-1:] != (self.d_model,):
            raise ShapeError(
                f"Transformer: the feature number of src and tgt must be equal to d_model "
                f"({self.d_model}), got src {tuple(src.shape)} and tgt {tuple(tgt.shape)}"
            )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Variable:
        """The causal mask (sz, sz): ``-inf`` above the diagonal (a position may not attend to
        a later one), 0 elsewhere; of the default dtype unless ``dtype``."""
        cpu_only(device, "generate_square_subsequent_mask")
        sz = layer_size("Transformer.generate_square_subsequent_mask", "sz", sz)
        dtype = get_default_dtype() if dtype is None else as_dtype(dtype, "full")
        return Variable(np.triu(np.full((sz, sz), -np.inf, dtype=dtype), 1))
