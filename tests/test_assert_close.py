"""``gradviz.testing.assert_close`` passes and fails where PyTorch's ``torch.testing.assert_close``
does, with its messages (the first line, the numbers and where)."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz.testing import assert_close

NAN = float("nan")
#: (actual, expected, options): plain Python data, made into Variables / tensors by the test
CASES = [
    ([1.0, 2.0], [1.0, 2.00001], {}),
    ([1.0, 2.0], [1.0, 2.1], {}),
    ([1.0, 2.0], [1.0, 2.1], {"rtol": 0.1, "atol": 0.0}),
    ([1.0, 2.0], [1.0, 2.0, 3.0], {}),
    ([NAN], [NAN], {}),
    ([NAN], [NAN], {"equal_nan": True}),
    ([float("inf")], [float("inf")], {}),
    ([[1.0, 5.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]], {}),
    (1.0, 1.5, {}),
]


def _make(value, lib, dtype):
    return lib.tensor(value, dtype=getattr(lib, dtype))


def _outcome(call):
    try:
        call()
    except AssertionError as error:
        return "AssertionError", str(error).split("\n")
    return "ok", []


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("actual", "expected", "options"), CASES)
def test_passes_and_fails_as_pytorch_with_its_message(actual, expected, options, dtype):
    torch = pytest.importorskip("torch")
    ours = _outcome(
        lambda: assert_close(
            _make(actual, gradviz, dtype), _make(expected, gradviz, dtype), **options
        )
    )
    theirs = _outcome(
        lambda: torch.testing.assert_close(
            _make(actual, torch, dtype), _make(expected, torch, dtype), **options
        )
    )
    assert ours[0] == theirs[0]
    if ours[0] != "ok":
        assert ours[1][0].split(":")[0] == theirs[1][0].split(":")[0]  # the kind of failure
        for ours_line, theirs_line in zip(ours[1][2:], theirs[1][2:], strict=False):
            assert ours_line.split(":")[0] == theirs_line.split(":")[0]  # the same report lines


def test_dtype_shape_and_types_are_checked_and_containers_name_the_item():
    with pytest.raises(AssertionError, match="attribute 'dtype' do not match: float32 != float64"):
        assert_close(gradviz.ones(2), gradviz.ones(2, dtype=gradviz.float64))
    assert_close(gradviz.ones(2), gradviz.ones(2, dtype=gradviz.float64), check_dtype=False)
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(gradviz.tensor(1.0), 1.0)
    with pytest.raises(AssertionError, match=r"(?s)Scalars are not close.*item \['a'\]\[1\]"):
        assert_close({"a": [1.0, 2.0]}, {"a": [1.0, 2.5]})
    with pytest.raises(AssertionError, match="Tensor-likes are not equal"):
        assert_close(gradviz.tensor([1, 2]), gradviz.tensor([1, 3]))
    with pytest.raises(gradviz.GradvizError, match="Both 'rtol' and 'atol'"):
        assert_close(gradviz.ones(1), gradviz.ones(1), rtol=1e-3)
    with pytest.raises(AssertionError, match=r"^custom$"):
        assert_close(gradviz.ones(1), gradviz.zeros(1), msg="custom")
    assert_close(np.ones(3), gradviz.ones(3, dtype=gradviz.float64))  # NumPy arrays too


def test_it_is_reached_as_torch_testing_assert_close():
    assert gradviz.testing.assert_close is assert_close
