"""``Dataset``, ``TensorDataset`` and ``DataLoader``: batches of Variables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError, ShapeError
from gradviz.autograd.variable import Variable, as_array


class Dataset:
    """Something indexable with a length; ``__getitem__`` returns a tuple of arrays (or one
    array, which the DataLoader then batches into one Variable)."""

    def __getitem__(self, index: Any) -> tuple[np.ndarray, ...]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class TensorDataset(Dataset):
    """Rows of equally long arrays (or Variables): ``dataset[i] == (a[i], b[i], ...)``."""

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ShapeError("TensorDataset needs at least one array")
        self.arrays = tuple(as_array(a) for a in arrays)
        if any(a.ndim == 0 for a in self.arrays):  # no rows to index (len() would fail)
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ShapeError(f"TensorDataset: every array needs a first dim of rows, got {shapes}")
        lengths = {len(a) for a in self.arrays}
        if len(lengths) != 1:
            raise ShapeError(
                "TensorDataset: size mismatch between arrays: lengths "
                + ", ".join(str(len(a)) for a in self.arrays)
            )

    def __getitem__(self, index: Any) -> tuple[np.ndarray, ...]:
        return tuple(a[index] for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])


class DataLoader:
    """Batches of a Dataset as tuples of Variables (which do not require grad).

    ``shuffle`` draws a new order every epoch, from ``np.random.default_rng(seed)`` when a seed
    is given, else from the generator ``gradviz.manual_seed`` set. The last partial batch is kept
    unless ``drop_last``. ``batch_size=None`` turns batching off, as in PyTorch: one item at a
    time, as Variables without a batch axis.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
    ) -> None:
        if batch_size is None:
            if drop_last:
                raise ArgumentError(
                    "batch_size=None option disables auto-batching and is mutually exclusive "
                    "with drop_last"
                )
        elif isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise ArgumentError(
                f"batch_size should be a positive integer value (or None), but got "
                f"batch_size={batch_size!r} of type {type(batch_size).__name__}"
            )
        elif batch_size < 1:
            raise ArgumentError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._generator = None if seed is None else np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Variable, ...] | Variable]:
        n = len(self.dataset)
        order = np.arange(n)
        if self.shuffle:
            (self._generator or rng.default_generator()).shuffle(order)
        if self.batch_size is None:  # no batching: each item as it is
            for i in order:
                yield _variables(self.dataset[int(i)])
            return
        for start in range(0, n, self.batch_size):
            index = order[start : start + self.batch_size]
            if self.drop_last and len(index) < self.batch_size:
                return
            yield _variables(self._fetch(index))

    def _fetch(self, index: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        """Rows ``index`` stacked: a tuple of arrays, or one array if items are single arrays."""
        if isinstance(self.dataset, TensorDataset):
            return self.dataset[index]
        rows = [self.dataset[int(i)] for i in index]
        if not isinstance(rows[0], tuple | list):
            return _stack(rows, "")
        for entry, row in enumerate(rows):  # every item must have the same number of fields
            if not isinstance(row, tuple | list) or len(row) != len(rows[0]):
                raise ShapeError(
                    f"DataLoader: each item of a batch must have the same number of fields, "
                    f"got {len(rows[0])} at entry 0 and {_fields(row)} at entry {entry}"
                )
        return tuple(
            _stack(column, f" field {i}") for i, column in enumerate(zip(*rows, strict=True))
        )


def _fields(row: Any) -> str:
    return str(len(row)) if isinstance(row, tuple | list) else f"one {type(row).__name__}"


def _stack(values: Any, field: str) -> np.ndarray:
    """``values`` stacked on a new first axis; items of unequal shapes are refused as PyTorch's
    ``default_collate`` refuses them (variable-length items need padding first)."""
    arrays = [as_array(value) for value in values]
    for entry, array in enumerate(arrays):
        if array.shape != arrays[0].shape:
            raise ShapeError(
                f"DataLoader: stack expects each item{field} to be equal size, but got "
                f"{arrays[0].shape} at entry 0 and {array.shape} at entry {entry}"
            )
    return np.stack(arrays)


def _variables(item: Any) -> tuple[Variable, ...] | Variable:
    """An item or a batch (one array, or a tuple or list of them) as Variables."""
    if isinstance(item, tuple | list):
        return tuple(Variable(a) for a in item)
    return Variable(item)
