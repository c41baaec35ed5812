"""``Dataset``, ``TensorDataset`` and ``DataLoader``: batches of Variables (the samplers are
in ``sampler.py`` and re-exported here, as ``torch.utils.data`` does)."""

from __future__ import annotations

import bisect
import math
import multiprocessing
import multiprocessing.context
import operator
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice, pairwise
from typing import Any

import numpy as np

from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError, OperandError, ShapeError
from gradviz.autograd.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
    draw_from,
    numpy_generator,
)
from gradviz.autograd.variable import Variable, as_array

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]


class Dataset:
    """Something indexable with a length; ``__getitem__`` returns a tuple of arrays (or one
    array, which the DataLoader then batches into one Variable)."""

    def __getitem__(self, index: Any) -> tuple[np.ndarray, ...]:
        raise NotImplementedError(
            f"Subclasses of Dataset should implement __getitem__ ({type(self).__name__} does not)"
        )

    def __len__(self) -> int:
        raise NotImplementedError(
            f"Subclasses of Dataset should implement __len__ ({type(self).__name__} does not)"
        )

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of items (``__iter__``) rather than an indexed collection: a DataLoader batches
    them in the order they come (no ``shuffle`` or ``sampler``)."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(
            f"Subclasses of IterableDataset should implement __iter__ ({type(self).__name__} "
            "does not)"
        )

    def __len__(self) -> int:
        """A stream has no length unless the subclass gives one (a TypeError, as ``len()``)."""
        raise OperandError(f"object of type '{type(self).__name__}' has no len()")


class ConcatDataset(Dataset):
    """Several datasets one after the other (``ds1 + ds2`` makes one)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ArgumentError("datasets should not be an empty iterable")
        for dataset in self.datasets:
            if isinstance(dataset, IterableDataset):
                raise OperandError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        index = operator.index(index)
        if index < 0:
            if -index > len(self):
                raise ArgumentError("absolute value of index should not exceed dataset length")
            index += len(self)
        part = bisect.bisect_right(self.cumulative_sizes, index)
        if part == len(self.datasets):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self)} items")
        start = self.cumulative_sizes[part - 1] if part else 0
        return self.datasets[part][index - start]


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

    @property
    def tensors(self) -> tuple[np.ndarray, ...]:
        """The arrays (PyTorch's name)."""
        return self.arrays


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list | np.ndarray):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(
    dataset: Dataset,
    lengths: Sequence[int | float],
    generator: np.random.Generator | rng.Generator | None = None,
) -> list[Subset]:
    """``dataset`` split at random into Subsets of ``lengths``, or of fractions summing to 1
    (``[0.8, 0.2]``, remainders given out one by one from the first, as in PyTorch). The
    permutation comes from ``generator``, else from the generator ``gradviz.manual_seed`` set.
    """
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1 and n != 1:
        lengths = _fraction_lengths(lengths, n)
    if any(isinstance(k, bool) or not isinstance(k, int | np.integer) for k in lengths):
        raise ArgumentError(
            f"random_split: lengths must be integers or fractions summing to 1, got {lengths}"
        )
    if sum(lengths) != n:
        raise ArgumentError(
            "Sum of input lengths does not equal the length of the input dataset! "
            f"(lengths {lengths} sum to {sum(lengths)}, the dataset has {n} items)"
        )
    order = draw_from(numpy_generator(generator)).permutation(n).tolist()
    bounds = np.cumsum([0, *lengths]).tolist()
    return [Subset(dataset, order[a:b]) for a, b in pairwise(bounds)]


def _fraction_lengths(fractions: list[Any], n: int) -> list[int]:
    if any(not 0 <= f <= 1 for f in fractions):
        raise ArgumentError(f"random_split: fractions must be between 0 and 1, got {fractions}")
    lengths = [math.floor(n * f) for f in fractions]
    for i in range(n - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, length in enumerate(lengths):
        if length == 0:
            warnings.warn(
                f"Length of split at index {i} is 0. This might result in an empty dataset.",
                stacklevel=3,
            )
    return lengths


class DataLoader:
    """Batches of a Dataset as Variables (which do not require grad), collated as PyTorch's
    ``default_collate``: tuples of items give tuples of batches, dicts give dicts, numbers
    give 1-d Variables, strings stay lists.

    ``shuffle`` draws a new order every epoch, from ``np.random.default_rng(seed)`` when a seed
    is given, else from the generator ``gradviz.manual_seed`` set. The last partial batch is kept
    unless ``drop_last``. ``batch_size=None`` turns batching off, as in PyTorch: one item at a
    time, as Variables without a batch axis. ``sampler`` (indices), ``batch_sampler`` (lists of
    indices), ``collate_fn`` and ``generator`` (a ``gradviz.Generator`` or a NumPy one) are
    PyTorch's. ``num_workers`` and the other worker options are checked as PyTorch checks them,
    but items are always loaded in this process (``worker_init_fn(0)`` runs at the start of
    each epoch); ``multiprocessing_context`` is checked and unused, ``pin_memory``,
    ``pin_memory_device`` and ``in_order`` are ignored (no GPU, one process).
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool = False,
        sampler: Iterable[int] | None = None,
        batch_sampler: Iterable[Sequence[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: np.random.Generator | rng.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        seed: int | None = None,
    ) -> None:
        if isinstance(dataset, IterableDataset):
            _check_stream(shuffle, sampler, batch_sampler)
        _check_batching(batch_size, shuffle, sampler, batch_sampler, drop_last)
        _check_workers(num_workers, timeout, prefetch_factor, persistent_workers)
        _check_context(multiprocessing_context, num_workers)
        self.worker_init_fn = worker_init_fn
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.drop_last = drop_last
        self._generator = (
            numpy_generator(generator) if seed is None else np.random.default_rng(seed)
        )

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)  # type: ignore[arg-type]
        n = len(self.sampler if self.sampler is not None else self.dataset)  # type: ignore[arg-type]
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers and self.worker_init_fn is not None:
            self.worker_init_fn(0)  # the one "worker" is this process
        if isinstance(self.dataset, IterableDataset):
            yield from self._stream()
            return
        if self.batch_size is None and self.batch_sampler is None:  # no batching
            for i in self._order():
                item = self.dataset[int(i)]
                yield self.collate_fn(item) if self.collate_fn else default_convert(item)
            return
        for index in self._batches():
            yield self._fetch(index)

    def _stream(self) -> Iterator[Any]:
        """The batches of an IterableDataset: its items in the order they come."""
        items = iter(self.dataset)  # type: ignore[call-overload]
        if self.batch_size is None:
            for item in items:
                yield self.collate_fn(item) if self.collate_fn else default_convert(item)
            return
        while batch := list(islice(items, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield (self.collate_fn or default_collate)(batch)

    def _order(self) -> Iterable[int]:
        """The indices of one epoch: the sampler's, shuffled or in order."""
        if self.sampler is not None:
            return self.sampler
        order = np.arange(len(self.dataset))
        if self.shuffle:
            draw_from(self._generator).shuffle(order)
        return order

    def _batches(self) -> Iterator[Sequence[int]]:
        if self.batch_sampler is not None:
            yield from self.batch_sampler
            return
        batch: list[int] = []
        for i in self._order():
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def _fetch(self, index: Sequence[int]) -> Any:
        """The items at ``index`` collated into one batch."""
        if self.collate_fn is None and isinstance(self.dataset, TensorDataset):
            return tuple(Variable(a) for a in self.dataset[np.asarray(index, dtype=np.intp)])
        items = [self.dataset[int(i)] for i in index]
        return (self.collate_fn or default_collate)(items)


def _check_workers(
    num_workers: Any, timeout: Any, prefetch_factor: Any, persistent_workers: bool
) -> None:
    """PyTorch's checks of the worker options (which then change nothing: items load here)."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ArgumentError(
            "num_workers option should be non-negative; use num_workers=0 to disable "
            f"multiprocessing (got {num_workers!r})"
        )
    if timeout < 0:
        raise ArgumentError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ArgumentError(
            "prefetch_factor option could only be specified in multiprocessing. let "
            "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
        )
    if persistent_workers and num_workers == 0:
        raise ArgumentError("persistent_workers option needs num_workers > 0")


def get_worker_info() -> None:
    """PyTorch's ``get_worker_info()`` as the main process gets it: None. Items always load in
    this process, so an IterableDataset that splits its stream by worker reads all of it."""
    return None


def _check_context(context: Any, num_workers: int) -> None:
    """PyTorch's checks of ``multiprocessing_context`` (a start method's name or a context;
    then unused: items load here)."""
    if context is None:
        return
    if num_workers == 0:
        raise ArgumentError(
            "multiprocessing_context can only be used with multi-process loading (num_workers "
            f"> 0), but got num_workers={num_workers}"
        )
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ArgumentError(
                f"multiprocessing_context option should specify a valid start method in "
                f"{methods!r}, but got multiprocessing_context={context!r}"
            )
    elif not isinstance(context, multiprocessing.context.BaseContext):
        raise OperandError(
            "multiprocessing_context option should be a valid context object or a string "
            f"specifying the start method, but got multiprocessing_context={context!r}"
        )


def _check_stream(shuffle: bool, sampler: Any, batch_sampler: Any) -> None:
    """An IterableDataset decides its own order, as PyTorch insists."""
    for name, value in (
        ("shuffle", shuffle),
        ("sampler", sampler),
        ("batch_sampler", batch_sampler),
    ):
        if value not in (None, False):
            raise ArgumentError(
                f"DataLoader with IterableDataset: expected unspecified {name} option, but got "
                f"{name}={value!r}"
            )


def _check_batching(
    batch_size: Any, shuffle: bool, sampler: Any, batch_sampler: Any, drop_last: bool
) -> None:
    """PyTorch's rules for combining the batching options."""
    if sampler is not None and shuffle:
        raise ArgumentError("sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None:
        if batch_size != 1 or shuffle or sampler is not None or drop_last:
            raise ArgumentError(
                "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                "and drop_last"
            )
        return
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


def default_collate(batch: list[Any], field: str = "") -> Any:
    """Items stacked into a batch as PyTorch's ``default_collate``: arrays, Variables and
    numbers to one Variable with a batch axis (Python floats as float64); tuples and lists
    field by field (a list; a named tuple stays one); dicts key by key; strings to a list."""
    first = batch[0]
    if isinstance(first, Mapping):
        for entry, item in enumerate(batch):
            if not isinstance(item, Mapping) or item.keys() != first.keys():
                raise ShapeError(
                    f"DataLoader: each item{field} of a batch must have the same keys, got "
                    f"{list(first)} at entry 0 and {_fields(item)} at entry {entry}"
                )
        return {
            key: default_collate([item[key] for item in batch], f"{field}[{key!r}]")
            for key in first
        }
    if isinstance(first, str | bytes):
        return list(batch)
    if isinstance(first, tuple | list):
        for entry, item in enumerate(batch):  # every item must have the same number of fields
            if not isinstance(item, tuple | list) or len(item) != len(first):
                raise ShapeError(
                    f"DataLoader: each item{field} of a batch must have the same number of "
                    f"fields, got {len(first)} at entry 0 and {_fields(item)} at entry {entry}"
                )
        columns = [
            default_collate(list(column), f"{field} field {i}")
            for i, column in enumerate(zip(*batch, strict=True))
        ]
        return type(first)(*columns) if hasattr(first, "_fields") else columns
    if all(type(value) is float for value in batch):  # Python floats: float64, as PyTorch's
        return Variable(np.array(batch, dtype=np.float64))
    return Variable(_stack(batch, field))


def default_convert(item: Any) -> Any:
    """One item without batching: arrays, Variables and numbers as Variables, inside tuples,
    lists and dicts; anything else (strings, None) as it is."""
    if isinstance(item, Mapping):
        return {key: default_convert(value) for key, value in item.items()}
    if isinstance(item, tuple | list):
        return tuple(default_convert(value) for value in item)
    if isinstance(item, Variable | np.ndarray | np.generic | int | float | complex):
        return Variable(item)
    return item


def _fields(row: Any) -> str:
    if isinstance(row, Mapping):
        return str(list(row))
    return str(len(row)) if isinstance(row, tuple | list) else f"one {type(row).__name__}"


def _stack(values: Any, field: str) -> np.ndarray:
    """``values`` stacked on a new first axis; items of unequal shapes are refused as PyTorch's
    ``default_collate`` refuses them (variable-length items need padding first)."""
    arrays = []
    for value in values:
        if not isinstance(value, Variable | np.ndarray | np.generic | int | float | complex):
            raise OperandError(
                f"default_collate: batch{field} must contain arrays, Variables, numbers, dicts "
                f"or lists; found {type(value).__name__}"
            )
        arrays.append(as_array(value))
    for entry, array in enumerate(arrays):
        if array.shape != arrays[0].shape:
            raise ShapeError(
                f"DataLoader: stack expects each item{field} to be equal size, but got "
                f"{arrays[0].shape} at entry 0 and {array.shape} at entry {entry}"
            )
    return np.stack(arrays)
