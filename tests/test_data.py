"""gradviz.data: TensorDataset and DataLoader (batching, drop_last, shuffling, seeding)."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable, data


def dataset(n: int = 10) -> data.TensorDataset:
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)  # integer labels
    return data.TensorDataset(x, y)


def labels_in_order(loader: data.DataLoader) -> list[int]:
    return [int(label) for _, y in loader for label in y.numpy()]


# -------------------------------------------------------------------------------- datasets


def test_tensor_dataset_rows_and_length():
    ds = dataset(4)
    assert len(ds) == 4
    x, y = ds[2]
    np.testing.assert_array_equal(x, [4.0, 5.0])
    assert y == 2


def test_tensor_dataset_accepts_variables_and_lists():
    ds = data.TensorDataset(Variable(np.ones((3, 2), np.float32)), [0, 1, 2])
    assert len(ds) == 3
    assert ds[1][1] == 1


def test_tensor_dataset_length_mismatch():
    with pytest.raises(ValueError, match=r"size mismatch.*3, 4"):
        data.TensorDataset(np.zeros((3, 2)), np.zeros(4))


def test_tensor_dataset_needs_an_array():
    with pytest.raises(ValueError, match="at least one"):
        data.TensorDataset()


def test_dataset_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        len(data.Dataset())
    with pytest.raises(NotImplementedError):
        data.Dataset()[0]


# ------------------------------------------------------------------------------- batching


def test_batches_keep_the_last_partial_batch():
    loader = data.DataLoader(dataset(10), batch_size=4)
    assert [len(x) for x, _ in loader] == [4, 4, 2]
    assert len(loader) == 3


def test_drop_last_drops_the_partial_batch():
    loader = data.DataLoader(dataset(10), batch_size=4, drop_last=True)
    assert [len(x) for x, _ in loader] == [4, 4]
    assert len(loader) == 2


@pytest.mark.parametrize(("n", "batch_size"), [(10, 5), (10, 1), (3, 10), (1, 1)])
def test_len_equals_number_of_batches(n, batch_size):
    for drop_last in (False, True):
        loader = data.DataLoader(dataset(n), batch_size=batch_size, drop_last=drop_last)
        assert len(loader) == len(list(loader))


def test_default_batch_size_is_one_with_a_batch_axis():
    batches = list(data.DataLoader(dataset(3)))
    assert len(batches) == 3
    x, y = batches[0]
    assert x.shape == (1, 2)
    assert y.shape == (1,)


def test_without_shuffle_order_is_kept():
    loader = data.DataLoader(dataset(10), batch_size=3)
    assert labels_in_order(loader) == list(range(10))
    x = np.concatenate([x.numpy() for x, _ in loader])
    np.testing.assert_array_equal(x, dataset(10).arrays[0])


def test_batches_are_variables_that_do_not_require_grad_and_keep_dtypes():
    for x, y in data.DataLoader(dataset(6), batch_size=4):
        assert isinstance(x, Variable)
        assert isinstance(y, Variable)
        assert not x.requires_grad
        assert not y.requires_grad
        assert x.dtype == np.float32
        assert y.dtype.kind == "i"


def test_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        data.DataLoader(dataset(), batch_size=0)


def test_custom_dataset_rows_are_stacked():
    class Squares(data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i], np.float32), np.array(i * i)

    batches = list(data.DataLoader(Squares(), batch_size=2))
    assert [tuple(x.shape) for x, _ in batches] == [(2, 1), (2, 1), (1, 1)]
    np.testing.assert_array_equal(batches[1][1].numpy(), [4, 9])
    assert batches[0][0].dtype == np.float32


def test_custom_dataset_of_single_arrays_yields_one_variable_per_batch():
    """Like PyTorch's default collate: items that are one array batch into one Variable."""

    class Rows(data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.array([i, 10 * i], np.float32)

    batches = list(data.DataLoader(Rows(), batch_size=2))
    assert all(isinstance(b, Variable) for b in batches)
    np.testing.assert_array_equal(batches[0].numpy(), [[0, 0], [1, 10]])
    assert batches[1].shape == (1, 2)


def test_custom_dataset_items_may_hold_variables_and_numbers():
    class Mixed(data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return Variable([float(i)]), i

    (x, y), _ = data.DataLoader(Mixed(), batch_size=2)
    np.testing.assert_array_equal(x.numpy(), [[0.0], [1.0]])
    assert x.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), [0, 1])


# ------------------------------------------------------------------------------ shuffling


def test_shuffle_is_a_permutation_that_reorders():
    loader = data.DataLoader(dataset(50), batch_size=8, shuffle=True, seed=0)
    order = labels_in_order(loader)
    assert sorted(order) == list(range(50))
    assert order != list(range(50))


def test_shuffle_keeps_rows_together():
    for x, y in data.DataLoader(dataset(20), batch_size=6, shuffle=True, seed=3):
        np.testing.assert_array_equal(x.numpy()[:, 0], 2 * y.numpy())


def test_same_seed_same_order_and_each_epoch_reshuffles():
    first = data.DataLoader(dataset(30), batch_size=4, shuffle=True, seed=1)
    second = data.DataLoader(dataset(30), batch_size=4, shuffle=True, seed=1)
    epochs_first = [labels_in_order(first) for _ in range(2)]
    epochs_second = [labels_in_order(second) for _ in range(2)]
    assert epochs_first == epochs_second
    assert epochs_first[0] != epochs_first[1]
    other = data.DataLoader(dataset(30), batch_size=4, shuffle=True, seed=2)
    assert labels_in_order(other) != epochs_first[0]


def test_manual_seed_makes_unseeded_shuffling_reproducible():
    loader = data.DataLoader(dataset(30), batch_size=4, shuffle=True)
    gradviz.manual_seed(5)
    first = [labels_in_order(loader) for _ in range(2)]
    gradviz.manual_seed(5)
    second = [labels_in_order(loader) for _ in range(2)]
    assert first == second
    assert first[0] != first[1]


def test_shuffle_with_drop_last():
    loader = data.DataLoader(dataset(10), batch_size=4, shuffle=True, seed=0, drop_last=True)
    order = labels_in_order(loader)
    assert len(order) == 8
    assert len(set(order)) == 8


def test_torch_utils_data_submodules_import_as_in_pytorch():
    """Tutorials import from `torch.utils.data.dataloader`, `.dataset` and `.sampler`."""
    from gradviz.utils.data.dataloader import DataLoader, default_collate
    from gradviz.utils.data.dataset import Dataset, Subset, random_split
    from gradviz.utils.data.sampler import SubsetRandomSampler, WeightedRandomSampler

    assert DataLoader is data.DataLoader
    assert default_collate is data.default_collate
    assert (Dataset, Subset, random_split) == (data.Dataset, data.Subset, data.random_split)
    assert SubsetRandomSampler is data.SubsetRandomSampler
    assert WeightedRandomSampler is data.WeightedRandomSampler
    import gradviz.utils.data.dataloader

    assert gradviz.utils.data.dataloader.default_collate is data.default_collate
    assert gradviz.utils.data.sampler.RandomSampler is data.RandomSampler


def test_default_collate_gives_pytorchs_containers_and_dtypes():
    """Was: a tuple of fields where PyTorch gives a list, and Python floats as float32 where
    PyTorch's default_collate makes float64 (a dataset returning ``(x, float(label))``)."""
    torch = pytest.importorskip("torch")
    from collections import namedtuple

    Pair = namedtuple("Pair", "x y")
    batches = [
        [(1, 2.0), (3, 4.0)],
        [[np.float32(1.0), [1, 2]], [np.float32(2.0), [3, 4]]],
        [Pair(1.5, True), Pair(2.5, False)],
    ]
    for batch in batches:
        ours = data.default_collate(batch)
        theirs = torch.utils.data.default_collate(batch)
        assert type(ours) is type(theirs)
        for a, b in zip(ours, theirs, strict=True):
            a, b = (a, b) if isinstance(b, torch.Tensor) else (a[0], b[0])
            assert str(a.dtype) == str(b.dtype).removeprefix("torch.")
            np.testing.assert_array_equal(a.numpy(), b.numpy())
