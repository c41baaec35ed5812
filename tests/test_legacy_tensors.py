"""Old tutorials' typed constructors, ``torch.FloatTensor([...])``, ``torch.LongTensor(...)``:
PyTorch's dtypes, values and refusals, and ``isinstance`` as a dtype test."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError

NAMES = (
    "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
    "CharTensor", "ByteTensor", "BoolTensor",
)  # fmt: skip
DATA = ([1.7, -2.5, 0.0], [[1, 2], [3, 4]], [True, False], (0.25,), [], range(3))


@pytest.mark.parametrize("name", NAMES)
def test_typed_constructors_build_as_torch(name):
    torch = pytest.importorskip("torch")
    for data in DATA:
        ours, theirs = getattr(gradviz, name), getattr(torch, name)
        try:
            expected = theirs(data)
        except RuntimeError:
            with pytest.raises(GradvizError, match="overflow"):
                ours(data)
            continue
        made = ours(data)
        assert str(made.dtype) == str(expected.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(made.numpy(), expected.numpy())
        assert isinstance(made, ours)
        assert isinstance(expected, theirs)
    assert tuple(getattr(gradviz, name)(2, 3).shape) == tuple(getattr(torch, name)(2, 3).shape)


def test_isinstance_tests_the_dtype_and_a_number_is_refused():
    x = gradviz.FloatTensor([1.0, 2.0])
    assert isinstance(x, gradviz.FloatTensor)
    assert isinstance(x, gradviz.Tensor)
    assert not isinstance(x, gradviz.LongTensor)
    assert not isinstance(np.zeros(2, np.float32), gradviz.FloatTensor)
    with pytest.raises(GradvizError, match="sequence"):
        gradviz.LongTensor(3.5)
    with pytest.raises(GradvizError, match="CPU"):
        gradviz.FloatTensor([1.0], device="cuda")
