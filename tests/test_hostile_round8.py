"""Round 8 of hostile probing: second derivatives, assert_close, gumbel_softmax, indices."""

import pytest

import gradviz as torch
from gradviz.autograd.errors import BackwardError


def test_backward_create_graph_under_no_grad_records_the_gradient():
    # PyTorch: create_graph=True turns recording on for the pass, no_grad or not
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x**3).sum()
    with torch.no_grad():
        y.backward(create_graph=True)
    assert x.grad.requires_grad
    x.grad.sum().backward()
    assert x.grad.tolist() == [9.0, 24.0]  # 3x^2 + 6x
