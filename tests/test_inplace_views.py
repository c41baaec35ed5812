"""In-place writes through views other than indexing (a transpose, a diagonal, a reshape):
the values and gradients PyTorch gives, and its refusals."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz.autograd import gradcheck
from gradviz.autograd.errors import InplaceError

WRITES = {
    "t()[0] = 0": lambda b: b.t().__setitem__(0, 0),
    "T.mul_": lambda b: b.T.mul_(3),
    "transpose[1:].zero_": lambda b: b.transpose(0, 1)[1:].zero_(),
    "permute.diagonal.fill_": lambda b: b.permute(1, 0).diagonal().fill_(0),
    "view[:, 1].add_": lambda b: b.view(2, 6)[:, 1].add_(b.view(2, 6)[:, 0]),
    "diagonal(1).mul_": lambda b: b.diagonal(offset=1).mul_(10),
    "unsqueeze[0, 1].mul_": lambda b: b.unsqueeze(0)[0, 1].mul_(10),
    "T.div_(T + 3)": lambda b: b.T.div_(b.T + 3),
}
START = np.arange(12.0).reshape(3, 4) / 5 + 0.1


def _step(lib, write, start=START):
    a = lib.tensor(start, requires_grad=True)
    b = a * 2
    write(b)
    (b * lib.tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
    return np.asarray(b.detach()), np.asarray(a.grad)


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_write_through_a_view_differentiates(write):
    """Was: refused ("gradviz records in-place writes through index views only")."""

    def loss(a):
        b = a * 2
        write(b)
        return (b * b).sum()

    assert gradcheck(loss, (gradviz.tensor(START, requires_grad=True),))


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_write_through_a_view_matches_pytorch(write):
    torch = pytest.importorskip("torch")
    for ours, theirs in zip(_step(gradviz, write), _step(torch, write), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


ALIASED = {
    "h[0].mul_(h[0])": lambda b: b[0].mul_(b[0]),
    "h[:, 1].mul_(h[:, 1])": lambda b: b[:, 1].mul_(b[:, 1]),
    "reshape.mul_(reshape)": lambda b: b.reshape(12).mul_(b.reshape(12)),
}


@pytest.mark.parametrize("write", ALIASED.values(), ids=ALIASED.keys())
def test_an_operand_that_is_another_view_of_the_target_is_read_before_the_write(write):
    """Was: a wrong gradient, silently: the op's saved operand (a second view of the written
    memory) was overwritten by the write itself (PyTorch refuses its backward)."""

    def loss(a):
        b = a * 2
        write(b)
        return (b * b).sum()

    assert gradcheck(loss, (gradviz.tensor(START, requires_grad=True),))


def test_the_base_of_a_written_view_is_drawn_as_an_index_put():
    a = gradviz.tensor(START, requires_grad=True)
    with gradviz.trace() as tr:
        b = a * 2
        b.t()[0] = 0
        b.sum().backward()
    ops = [d.get("op") for _, d in tr.graph.nodes(data=True)]
    assert "IndexPut_" in ops
    np.testing.assert_array_equal(a.grad.numpy()[:, 0], 0)
    np.testing.assert_array_equal(a.grad.numpy()[:, 1:], 2)


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda b: b.chunk(2, dim=1)[1].mul_(5), "output of Split is a view"),
        (lambda b: b.split(2, 1)[0].zero_(), "output of Split is a view"),
        (lambda b: b[:1].expand(3, 4).mul_(2), "more than one element of the written-to tensor"),
        (lambda b: b.detach()[:1].expand(3, 4).add_(1), "more than one element of the written"),
        (lambda b: b.unfold(1, 2, 1).mul_(2), "more than one element of the written-to tensor"),
    ],
    ids=["chunk", "split", "expand", "expand unrecorded", "unfold"],
)
def test_writes_pytorch_refuses_or_that_are_ambiguous_are_refused_clearly(write, message):
    b = gradviz.tensor(START, requires_grad=True) * 2
    with pytest.raises(InplaceError, match=message):
        write(b)


def test_second_derivatives_through_writes_into_views_match_pytorch():
    torch = pytest.importorskip("torch")

    def run(lib):
        a = lib.tensor(np.arange(6.0).reshape(2, 3) / 3 + 0.2, requires_grad=True)
        b = a.sin()
        b.T[1:].mul_(3)
        b.diagonal().add_(a[0, :2] * a[1, :2])
        (g,) = lib.autograd.grad((b**3).sum(), a, create_graph=True)
        g.sum().backward()
        return np.asarray(g.detach()), np.asarray(a.grad)

    for ours, theirs in zip(run(gradviz), run(torch), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
