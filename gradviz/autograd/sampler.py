"""Samplers: the order in which a ``DataLoader`` visits a dataset (PyTorch's
``torch.utils.data`` samplers, drawing from gradviz's NumPy generators)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np

from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError, OperandError


def numpy_generator(generator: Any) -> np.random.Generator | rng.Generator | None:
    """``generator`` checked to be a ``gradviz.Generator`` (PyTorch's
    ``torch.Generator().manual_seed(42)``), a NumPy one, or None (the generator
    ``gradviz.manual_seed`` sets); kept as given, read by :func:`draw_from` at each draw."""
    if generator is None or isinstance(generator, np.random.Generator | rng.Generator):
        return generator
    raise OperandError(
        "generator must be a gradviz.Generator (gradviz.Generator().manual_seed(42)) or a "
        "numpy.random.Generator, such as np.random.default_rng(42) (or None, to draw from the "
        "generator gradviz.manual_seed sets), got "
        f"{type(generator).__module__.split('.')[0]}.{type(generator).__name__}"
    )


def draw_from(generator: np.random.Generator | rng.Generator | None) -> np.random.Generator:
    """The NumPy generator to draw from now (a ``gradviz.Generator`` reseeded since is read
    afresh, as PyTorch's sampler sees its generator reseeded)."""
    if isinstance(generator, rng.Generator):
        return generator.generator
    return generator or rng.default_generator()


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ArgumentError(f"{name} should be a positive integer value, but got {name}={value}")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ArgumentError(f"{name} should be a boolean value, but got {name}={value}")


class Sampler:
    """Base class: an iterable of dataset indices (or of lists of them, for batch samplers)."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order every epoch (or ``num_samples`` draws with ``replacement``), from
    ``generator``, else from the generator ``gradviz.manual_seed`` set."""

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: np.random.Generator | rng.Generator | None = None,
    ) -> None:
        _check_bool("replacement", replacement)
        if num_samples is not None:
            _check_positive("num_samples", num_samples)
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = numpy_generator(generator)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        generator = draw_from(self.generator)
        n = len(self.data_source)
        if self.replacement:
            return iter(generator.integers(0, n, size=self.num_samples).tolist())
        order: list[int] = []
        while len(order) < self.num_samples:
            order.extend(generator.permutation(n).tolist())
        return iter(order[: self.num_samples])

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a new random order every epoch."""

    def __init__(
        self, indices: Sequence[int], generator: np.random.Generator | rng.Generator | None = None
    ) -> None:
        self.indices = indices
        self.generator = numpy_generator(generator)

    def __iter__(self) -> Iterator[int]:
        order = draw_from(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (with
    ``replacement``, the default, an index may come again), as PyTorch's: the usual way to
    balance classes."""

    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator: np.random.Generator | rng.Generator | None = None,
    ) -> None:
        _check_positive("num_samples", num_samples)
        _check_bool("replacement", replacement)
        w = np.asarray(getattr(weights, "_data", weights), dtype=np.float64)
        if w.ndim != 1 or not w.size or not np.isfinite(w).all() or (w < 0).any() or not w.sum():
            raise ArgumentError(
                "weights should be a 1-d sequence of finite, non-negative numbers that are not "
                f"all zero, got shape {w.shape}"
            )
        if not replacement and num_samples > np.count_nonzero(w):
            raise ArgumentError(
                f"cannot draw {num_samples} samples without replacement from "
                f"{np.count_nonzero(w)} indices of non-zero weight"
            )
        self.weights, self.num_samples, self.replacement = w, num_samples, replacement
        self.generator = numpy_generator(generator)

    def __iter__(self) -> Iterator[int]:
        p = self.weights / self.weights.sum()
        draws = draw_from(self.generator).choice(
            len(p), size=self.num_samples, replace=self.replacement, p=p
        )
        return iter(draws.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """The indices of ``sampler`` in lists of ``batch_size`` (the last one shorter unless
    ``drop_last``); a DataLoader takes it as ``batch_sampler``."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        _check_positive("batch_size", batch_size)
        _check_bool("drop_last", drop_last)
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
