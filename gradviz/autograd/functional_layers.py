"""``nn.functional``'s bag-of-embeddings, unpooling, power-average pooling, channel shuffle and
alpha dropout, with PyTorch's signatures and checks (re-exported by ``functional``)."""

from __future__ import annotations

from typing import Any

from gradviz.autograd.ops import attention, bags
from gradviz.autograd.variable import Variable


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
