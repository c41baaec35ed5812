"""Walking ``loss.grad_fn`` as torchviz and the tutorials do: ``name()``, ``next_functions``,
``metadata`` and ``AccumulateGrad.variable``."""

import numpy as np

import gradviz as torch


def _walk(fn, out):
    out.append(fn.name())
    for nxt, _ in fn.next_functions:
        if nxt is not None:
            _walk(nxt, out)
    return out


def test_grad_fn_name_is_a_method_as_in_pytorch():
    x = torch.randn(3, requires_grad=True)
    w = torch.ones(3, requires_grad=True)
    loss = torch.sigmoid((x * w).sum()) ** 2
    assert loss.grad_fn.name() == "Pow"
    assert _walk(loss.grad_fn, []) == [
        "Pow",
        "Sigmoid",
        "Sum",
        "Mul",
        "AccumulateGrad",
        "AccumulateGrad",
    ]


def test_accumulate_grad_is_one_node_per_leaf_with_metadata():
    x = torch.tensor(np.ones(2), requires_grad=True)
    y = x * x
    first, second = (f for f, _ in y.grad_fn.next_functions)
    assert first is second
    assert first.variable is x
    assert first.metadata == {}
    assert y.grad_fn.metadata == {}
    y.grad_fn.metadata["note"] = "square"
    assert y.grad_fn.metadata == {"note": "square"}


def test_a_python_number_operand_is_a_none_entry_as_in_pytorch():
    """``x * 2`` has two ``next_functions`` in PyTorch, ``(None, 0)`` for the number; ``1 - x``
    (PyTorch's rsub) only x's."""
    x = torch.ones(2, requires_grad=True)
    for y in (x * 2, 2 * x, x + 1, 1 + x, x - 1, x / 2):
        nxt = y.grad_fn.next_functions
        assert [f is None for f, _ in nxt] == [False, True], y.grad_fn.name()
        assert nxt[0][0].variable is x
    assert len((1 - x).grad_fn.next_functions) == 1
    assert len(x.sum(0).grad_fn.next_functions) == 1  # a dim is no operand
