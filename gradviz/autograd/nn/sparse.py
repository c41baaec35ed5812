"""``nn.Embedding`` and ``nn.EmbeddingBag``: lookup tables with PyTorch's signatures,
parameter and init."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.errors import ArgumentError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.nn import init
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.layers import layer_index, layer_size
from gradviz.autograd.nn.module import LayerName, Module, Parameter
from gradviz.autograd.ops import attention, bags
from gradviz.autograd.variable import Variable, as_array, get_default_dtype


class _Table(Module):
    """The table of an embedding layer: ``weight`` (``num_embeddings, embedding_dim``),
    initialised N(0, 1), its ``padding_idx`` row at zero, and the options both layers take."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None,
        max_norm: float | None,
        norm_type: float,
        scale_grad_by_freq: bool,
        sparse: bool,
        _weight: Any,
        _freeze: bool,
    ) -> None:
        super().__init__()
        layer = type(self).__name__
        attention.check_embedding_options(layer, scale_grad_by_freq, sparse)
        num_embeddings = layer_size(layer, "num_embeddings", num_embeddings)
        embedding_dim = layer_size(layer, "embedding_dim", embedding_dim)
        if padding_idx is not None:  # 1.5 reached NumPy's indexing (an IndexError)
            padding_idx = layer_index(layer, "padding_idx", padding_idx)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = attention.padding_index(padding_idx, num_embeddings, layer)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        shape = (num_embeddings, embedding_dim)
        if _weight is None:
            self.weight = Parameter(np.empty(shape, dtype=get_default_dtype()), not _freeze)
            self.reset_parameters()
        else:
            array = np.array(as_array(_weight))
            if array.shape != shape:
                raise ArgumentError(f"{layer}: _weight must have shape {shape}, got {array.shape}")
            self.weight = Parameter(array, not _freeze)

    def reset_parameters(self) -> None:
        """N(0, 1), then the padding row set to zero (as PyTorch does)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight._data[self.padding_idx] = 0


def _pretrained_shape(cls: type, embeddings: Any) -> tuple[int, ...]:
    shape = np.shape(as_array(embeddings))
    if len(shape) != 2:
        raise ArgumentError(
            f"{cls.__name__}.from_pretrained: Embeddings parameter is expected to be "
            f"2-dimensional, got shape {shape}"
        )
    return shape


class Embedding(_Table):
    """Rows of ``weight`` (``num_embeddings, embedding_dim``), initialised N(0, 1); the
    ``padding_idx`` row starts at zero and never gets a gradient."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Any = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        options = (max_norm, norm_type, scale_grad_by_freq, sparse, _weight, _freeze)
        super().__init__(num_embeddings, embedding_dim, padding_idx, *options)
        place(self, device, dtype)

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Any,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose weight is (a copy of) the 2-d ``embeddings``, frozen (no
        gradient) unless ``freeze=False``."""
        return cls(
            *_pretrained_shape(cls, embeddings),
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
            _weight=embeddings,
            _freeze=freeze,
        )

    def forward(self, input: Any) -> Variable:
        layer = LayerName(self)
        return attention.embedding(
            input, self.weight, self.padding_idx, layer, self.max_norm, self.norm_type
        )

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        return text


class EmbeddingBag(_Table):
    """Sums, means or maxima (``mode``) of bags of embedding rows (PyTorch's
    text-classification layer): ``forward(input, offsets=None, per_sample_weights=None)`` with
    a 2-d input (one bag per row) or a 1-d input cut at ``offsets``. The ``padding_idx`` row
    starts at zero and its entries are left out of their bags."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Any = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        options = (max_norm, norm_type, scale_grad_by_freq, sparse, _weight, False)
        super().__init__(num_embeddings, embedding_dim, padding_idx, *options)
        self.mode, self.include_last_offset = mode, include_last_offset
        place(self, device, dtype)

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Any,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An EmbeddingBag whose weight is (a copy of) the 2-d ``embeddings``, frozen (no
        gradient) unless ``freeze=False``."""
        shape = _pretrained_shape(cls, embeddings)
        options = (max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings)
        layer = cls(*shape, *options, include_last_offset, padding_idx)
        layer.weight.requires_grad = not freeze
        return layer

    def forward(self, input: Any, offsets: Any = None, per_sample_weights: Any = None) -> Variable:
        return bags.embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.mode,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
            LayerName(self),
        )

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        text += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
