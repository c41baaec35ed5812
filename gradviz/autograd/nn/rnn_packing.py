"""``nn.utils.rnn``: batches of sequences of different lengths, with PyTorch's names.

:func:`pad_sequence` stacks sequences into one padded batch; :func:`pack_padded_sequence` packs a
padded batch into a :class:`PackedSequence` (time step by time step, the sequences still running
at each step, longest first), which ``nn.RNN``/``LSTM``/``GRU`` take as PyTorch's do;
:func:`pad_packed_sequence` pads it back. Packing and padding are each one indexing op, so
gradients flow through them and a trace draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gradviz.autograd.errors import ArgumentError, InputError, OperandError, ShapeError
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.shape import concatenate, stack
from gradviz.autograd.variable import Variable, as_array

__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
]


class PackedSequence(NamedTuple):
    """Sequences packed time step by time step: ``data`` (the sum of the lengths, *),
    ``batch_sizes`` (how many sequences are still running at each step, an int64 Variable),
    and the order the sequences were sorted in, longest first (None when they came sorted)."""

    data: Variable
    batch_sizes: Variable
    sorted_indices: Variable | None = None
    unsorted_indices: Variable | None = None


def _lengths(lengths: Any, batch: int) -> np.ndarray:
    """``lengths`` as an int64 array of one positive length per sequence."""
    array = as_array(lengths)
    if array.ndim != 1 or array.dtype.kind not in "iu" or len(array) != batch:
        raise InputError(
            f"pack_padded_sequence: expected lengths to be a 1-D sequence of {batch} integers "
            f"(one per sequence of the batch), got {array.dtype} of shape {array.shape}"
        )
    if batch and array.min() <= 0:
        raise InputError(
            "pack_padded_sequence: Length of all samples has to be greater than 0, but found "
            f"an element in 'lengths' that is <= 0 (lengths {array.tolist()})"
        )
    return array.astype(np.int64)


def _order(lengths: np.ndarray, enforce_sorted: bool) -> np.ndarray | None:
    """The sorting permutation, longest first (None when ``enforce_sorted`` and sorted)."""
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise InputError(
                "pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                "pack_padded_sequence and/or pack_sequence to sidestep this requirement if you "
                f"do not need ONNX exportability (lengths {lengths.tolist()})"
            )
        return None
    return np.argsort(-lengths, kind="stable")


def _packed_index(lengths: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(time, batch)`` index arrays of the packed rows: step by step, the running sequences
    in ``order``."""
    steps = int(lengths.max()) if len(lengths) else 0
    time = [np.full(int((lengths > t).sum()), t) for t in range(steps)]
    batch = [order[: len(t_rows)] for t_rows in time]
    return np.concatenate(time or [np.zeros(0, np.int64)]), np.concatenate(
        batch or [np.zeros(0, np.int64)]
    )


def pack_padded_sequence(
    input: Any, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch (T, B, *) ((B, T, *) with ``batch_first``) of sequences of the
    given ``lengths``: longest first, sorted here unless ``enforce_sorted`` (then they must
    come sorted)."""
    x = as_variable(input, "pack_padded_sequence")
    if x.ndim < 2:
        raise ShapeError(
            f"pack_padded_sequence: expected an input of at least 2 dims (T, B, *), got shape "
            f"{x.shape}"
        )
    padded = x.transpose(0, 1) if batch_first else x
    lengths = _lengths(lengths, padded.shape[1])
    if len(lengths) and lengths.max() > padded.shape[0]:
        raise InputError(
            f"pack_padded_sequence: a length {int(lengths.max())} is longer than the "
            f"{padded.shape[0]} time steps of the input (shape {x.shape}, "
            f"batch_first={batch_first})"
        )
    order = _order(lengths, enforce_sorted)
    running = order if order is not None else np.arange(len(lengths))
    time, batch = _packed_index(lengths, running)
    sizes = np.array([(lengths > t).sum() for t in range(int(lengths.max(initial=0)))], np.int64)
    if order is None:
        return PackedSequence(padded[time, batch], Variable(sizes))
    return PackedSequence(
        padded[time, batch], Variable(sizes), Variable(order), Variable(np.argsort(order))
    )


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Variable, Variable]:
    """``(padded, lengths)``: the packed sequences padded to (T, B, *) ((B, T, *) with
    ``batch_first``) with ``padding_value``, in their original order, and their lengths."""
    if not isinstance(sequence, PackedSequence):
        raise OperandError(
            f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}"
        )
    sizes = as_array(sequence.batch_sizes).astype(np.int64)
    batch = int(sizes[0]) if len(sizes) else 0
    steps = len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ArgumentError(
                "pad_packed_sequence: Expected total_length to be at least the length of the "
                f"longest sequence in input, but got total_length={total_length} and max "
                f"sequence length being {steps}"
            )
        steps = total_length
    order = (
        as_array(sequence.sorted_indices).astype(np.int64)
        if sequence.sorted_indices is not None
        else np.arange(batch)
    )
    lengths_sorted = (sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    lengths = np.empty(batch, np.int64)
    lengths[order] = lengths_sorted
    # row of data for each (t, b) of the padded batch; one past the end is the padding row
    rows = np.full((steps, batch), len(sequence.data), np.int64)
    time, running = _packed_index(lengths, order)
    rows[time, running] = np.arange(len(time))
    data = sequence.data
    pad = Variable(np.full((1, *data.shape[1:]), padding_value, dtype=data.dtype), name="padding")
    padded = concatenate([data, pad], axis=0)[rows]
    return (padded.transpose(0, 1) if batch_first else padded), Variable(lengths)


def pad_sequence(
    sequences: Sequence[Any],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Variable:
    """Stack sequences (L_i, *) into one batch (T, B, *) ((B, T, *) with ``batch_first``),
    each padded with ``padding_value`` to the longest (after it, or before it with
    ``padding_side="left"``)."""
    if padding_side not in ("left", "right"):
        raise ArgumentError(
            f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}"
        )
    items = [as_variable(s, "pad_sequence") for s in sequences]
    if not items:
        raise InputError("pad_sequence: received an empty list of sequences")
    tail = items[0].shape[1:]
    if any(s.ndim == 0 or s.shape[1:] != tail for s in items):
        raise ShapeError(
            "pad_sequence: every sequence must be (L, *) with the same trailing dims, got "
            f"shapes {[s.shape for s in items]}"
        )
    longest = max(s.shape[0] for s in items)
    padded = []
    for s in items:
        missing = longest - s.shape[0]
        if missing:
            # named, or the picture calls it after the user's line (`padded = pad_sequence(...)`)
            fill = Variable(np.full((missing, *tail), padding_value, dtype=s.dtype), name="padding")
            s = concatenate([s, fill] if padding_side == "right" else [fill, s], axis=0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Any], enforce_sorted: bool = True) -> PackedSequence:
    """Pack sequences (L_i, *) of different lengths (longest first unless not
    ``enforce_sorted``)."""
    items = [as_variable(s, "pack_sequence") for s in sequences]
    lengths = [s.shape[0] if s.ndim else 0 for s in items]
    return pack_padded_sequence(pad_sequence(items), lengths, enforce_sorted=enforce_sorted)
