"""Differential test against PyTorch: the complex-number functions on real tensors (``real``,
``conj``, ``angle``, ``imag`` refused ...), the predicates ``is_complex``, ``is_signed``,
``is_nonzero`` ... and the window functions (values, dtypes, gradients and refusals).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch

import gradviz


def real_cases() -> Iterable[Case]:
    d = Draw(131)
    x = d.f((3, 4))
    for name in ("real", "conj", "resolve_conj", "resolve_neg", "conj_physical", "angle"):
        yield Case("top", name, (x,))
        yield Case("top", name, (d.i((3,)),))
    for name in ("conj", "resolve_conj", "resolve_neg", "conj_physical", "angle"):
        yield Case("method", name, (x,))
    yield Case("top", "angle", (Arr(np.array([-1.0, 0.0, 2.0, np.inf, -np.inf])),))
    yield Case("top", "conj_physical_", (Arr(x.value, clone=True),))
    yield Case("method", "conj_physical_", (Arr(x.value, clone=True),))
    yield Case("top", "imag", (x,))  # refused
    for name in ("is_complex", "is_conj", "is_neg", "is_inference", "is_signed"):
        for arg in (x, d.i((3,)), d.b((2,)), Arr(np.array([1], dtype=np.uint8))):
            yield Case("top", name, (arg,))
        yield Case("method", name, (x,))
    for arg in (Arr(np.array([0.0])), Arr(np.array(2)), Arr(np.array([[True]])), x):
        yield Case("top", "is_nonzero", (arg,))
    yield Case("method", "is_nonzero", (Arr(np.array([0.5])),))
    yield Case("top", "is_nonzero", (Arr(np.zeros(0)),))  # refused
    yield Case("top", "is_same_size", (x, d.f((3, 4))))
    yield Case("method", "is_same_size", (x, d.f((4, 3))))
    yield Case("method", "is_shared", (x,))
    yield Case("method", "share_memory_", (x,))


def window_cases() -> Iterable[Case]:
    for name in ("hann_window", "hamming_window", "blackman_window", "bartlett_window",
                 "kaiser_window"):  # fmt: skip
        for length in (0, 1, 2, 5, 8):
            yield Case("top", name, (length,))
            yield Case("top", name, (length, False), {"dtype": np.dtype(np.float64)})
        yield Case("top", name, (-1,))  # refused
        yield Case("top", name, (4,), {"dtype": np.dtype(np.int64)})  # refused
    yield Case("top", "hamming_window", (6, True, 0.5, 0.5))
    yield Case("top", "kaiser_window", (6, False, 5.0))


CASES = all_cases((real_cases, None), (window_cases, None))
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])


def test_real_is_the_tensor_and_imag_is_refused_as_properties():
    x = gradviz.tensor([1.0, -2.0], requires_grad=True)
    assert x.real is x
    with pytest.raises(RuntimeError, match="non-complex"):
        x.imag  # noqa: B018


def test_angle_has_a_zero_gradient_as_pytorch():
    x = gradviz.tensor([-1.0, 2.0], dtype=gradviz.float64, requires_grad=True)
    gradviz.angle(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_placement_properties_are_false_as_on_pytorchs_cpu():
    torch = pytest.importorskip("torch")
    x, t = gradviz.zeros(2), torch.zeros(2)
    for name in ("is_meta", "is_mps", "is_quantized", "is_nested", "is_xla", "is_sparse_csr"):
        assert getattr(x, name) is getattr(t, name) is False, name
