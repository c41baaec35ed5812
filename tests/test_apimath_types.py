"""``gradviz.Size``, ``gradviz.dtype``, ``set_printoptions``, the seeded draws (``normal``,
``bernoulli``, ``poisson``) and the linalg idioms and refusals a ported script meets."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import gradviz as torch  # as a ported script reads it
from gradviz.autograd import torch_types


@pytest.fixture
def print_options() -> Iterator[None]:
    """Print options set by a test are put back afterwards (they are process-wide)."""
    saved = dict(torch_types.PRINT_OPTIONS)
    try:
        yield
    finally:
        torch_types.PRINT_OPTIONS.update(saved)


def test_size_is_a_tuple_of_ints_that_counts_its_elements():
    x = torch.zeros(2, 3)
    assert x.shape == torch.Size([2, 3])
    assert x.size() == torch.Size((2, 3))
    assert isinstance(x.size(), torch.Size)
    assert torch.Size([2, 3]).numel() == 6
    assert torch.Size().numel() == 1
    assert isinstance(torch.Size([2, 3, 4])[1:], torch.Size)
    assert isinstance(torch.Size([2]).__add__((3,)), torch.Size)  # (torch.Size([2]) + (3,))
    assert repr(torch.Size([2, 3])) == "gradviz.Size([2, 3])"
    with pytest.raises(TypeError, match="iterable of 'int'"):
        torch.Size([2.0])


def test_dtype_is_the_class_of_every_dtype():
    assert isinstance(torch.randn(2).dtype, torch.dtype)
    assert isinstance(torch.int64, torch.dtype)
    assert not isinstance("float32", torch.dtype)


@pytest.mark.usefixtures("print_options")
def test_set_printoptions_changes_how_variables_print():
    x = torch.tensor([1.23456789, 2.5])
    default = repr(x)
    torch.set_printoptions(precision=2)
    assert repr(x) == "Variable([1.23, 2.5 ])"
    torch.set_printoptions(precision=2, sci_mode=True)
    assert "1.23e+00" in repr(x)
    torch.set_printoptions(threshold=4, edgeitems=1)
    assert repr(torch.arange(10.0)) == "Variable([0., ..., 9.])"
    torch.set_printoptions(profile="full")
    assert "..." not in repr(torch.arange(2000.0))
    torch_types.PRINT_OPTIONS.update(dict.fromkeys(torch_types.PRINT_OPTIONS))
    assert repr(x) == default
    with pytest.raises(ValueError, match="profile"):
        torch.set_printoptions(profile="long")


def test_draws_follow_manual_seed_and_their_distribution():
    torch.manual_seed(3)
    first = torch.normal(1.0, 2.0, (4000,))
    torch.manual_seed(3)
    assert np.array_equal(first.numpy(), torch.normal(1.0, 2.0, (4000,)).numpy())
    assert abs(float(first.mean()) - 1.0) < 0.1
    assert abs(float(first.std()) - 2.0) < 0.1
    flips = torch.bernoulli(torch.full((4000,), 0.25))
    assert set(np.unique(flips.numpy())) <= {0.0, 1.0}
    assert abs(float(flips.mean()) - 0.25) < 0.03
    counts = torch.poisson(torch.full((4000,), 3.0))
    assert np.all(counts.numpy() == np.round(counts.numpy()))
    assert abs(float(counts.mean()) - 3.0) < 0.1


def test_draws_of_variables_take_a_zero_gradient():
    mean = torch.zeros(3, requires_grad=True)
    std = torch.ones(3, requires_grad=True)
    torch.normal(mean, std).sum().backward()
    assert not mean.grad.numpy().any()
    assert not std.grad.numpy().any()


def test_grad_norm_logging_idioms():
    layer = torch.nn.Linear(3, 2)
    layer(torch.randn(4, 3)).pow(2).sum().backward()
    grads = [p.grad for p in layer.parameters()]
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    flat = np.concatenate([g.numpy().ravel() for g in grads])
    assert float(total) == pytest.approx(float(np.linalg.norm(flat)), rel=1e-5)
    assert float(torch.linalg.norm(grads[0].detach(), 2)) == pytest.approx(
        float(np.linalg.norm(grads[0].numpy(), 2)), rel=1e-5
    )


def test_linalg_refusals_name_the_function_and_are_runtime_errors():
    with pytest.raises(torch.linalg.LinAlgError, match=r"linalg\.inv: .*singular"):
        torch.linalg.inv(torch.zeros(3, 3))
    with pytest.raises(RuntimeError, match=r"linalg\.cholesky: .*positive-definite"):
        torch.linalg.cholesky(-torch.eye(2))
    with pytest.raises(RuntimeError, match="must be batches of square matrices"):
        torch.linalg.det(torch.zeros(2, 3))


def test_backward_through_qr_without_q_is_refused_clearly():
    a = torch.randn(3, 3, requires_grad=True)
    _, r = torch.linalg.qr(a, mode="r")
    with pytest.raises(torch.BackwardError, match="mode='r'"):
        r.sum().backward()


def test_a_decomposition_is_one_node_with_an_output_node_per_factor():
    a = torch.randn(4, 3, requires_grad=True)
    u, s, vh = torch.linalg.svd(a, full_matrices=False)
    assert [t.grad_fn.name() for t in (u, s, vh)] == [
        "LinalgSvd[0]",
        "LinalgSvd[1]",
        "LinalgSvd[2]",
    ]
    (node,) = {
        id(t.grad_fn.next_functions[0][0]): t.grad_fn.next_functions[0][0] for t in (u, s, vh)
    }.values()
    assert node.name() == "LinalgSvd"
    assert torch.linalg.svdvals(a).grad_fn.name() == "LinalgSvd[1]"
