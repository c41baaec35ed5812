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


def _message(actual, expected, **kwargs) -> str:
    with pytest.raises(AssertionError) as caught:
        torch.testing.assert_close(actual, expected, **kwargs)
    return str(caught.value)


def test_assert_close_msg_may_be_a_function_of_the_message():
    said = _message(torch.tensor([1.0]), torch.tensor([2.0]), msg=lambda m: "mine: " + m)
    assert said.startswith("mine: Tensor-likes are not close!")


def test_assert_close_none_matches_none_only():
    torch.testing.assert_close(None, None)
    torch.testing.assert_close({"a": None}, {"a": None})
    assert _message(None, 1) == "None mismatch: None is not 1"


def test_assert_close_names_the_item_whose_dtype_or_type_differs():
    said = _message({"a": torch.tensor([1])}, {"a": torch.tensor([1.0])})
    assert said == (
        "The values for attribute 'dtype' do not match: int64 != float32.\n\n"
        "The failure occurred for item ['a']"
    )
    said = _message({"a": 1}, {"a": 1.0})
    assert said == (
        "The (d)types do not match: <class 'int'> != <class 'float'>.\n\n"
        "The failure occurred for item ['a']"
    )


def test_assert_close_says_which_keys_and_lengths_differ():
    said = _message({"a": 1, "c": 2}, {"a": 1, "b": 2})
    assert said == (
        "The keys of the mappings do not match:\n"
        "Missing keys in the actual mapping: ['b']\n"
        "Additional keys in the actual mapping: ['c']"
    )
    assert _message((1, 2), (1,)) == "The length of the sequences mismatch: 2 != 1"


@pytest.mark.parametrize("by", ["module", "optimizer"])
def test_zero_grad_in_place_under_a_graph_that_reads_the_gradient_is_refused(by):
    # PyTorch: zero_grad(set_to_none=False) detaches .grad in place; backward through a graph
    # that used the gradient then fails instead of reading zeros
    layer = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    y = (layer(torch.tensor([[1.0, 2.0]])) ** 2).sum()
    y.backward(create_graph=True)
    penalty = (layer.weight.grad**2).sum()
    (layer if by == "module" else opt).zero_grad(set_to_none=False)
    with pytest.raises(BackwardError, match=r"zero_grad\(set_to_none=False\)"):
        penalty.backward()


def test_zero_grad_to_none_keeps_the_graph_of_the_gradient_usable():
    layer = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -1.0]]))
    x = torch.tensor([[1.0, 2.0]])
    (layer(x) ** 2).sum().backward(create_graph=True)
    penalty = (layer.weight.grad**2).sum()  # |2 (w.x) x|^2 = 4 (w.x)^2 |x|^2
    layer.zero_grad()
    penalty.backward()
    # d/dw = 8 (w.x) |x|^2 x = 8 * -1.5 * 5 * x
    assert layer.weight.grad.tolist() == [[-60.0, -120.0]]


def test_create_graph_through_a_module_with_backward_hooks_says_what_to_do():
    layer = torch.nn.Linear(2, 1)
    layer.register_full_backward_hook(lambda module, grad_input, grad_output: None)
    x = torch.tensor([[1.0, 2.0]], requires_grad=True)
    y = layer(x).sum()
    with pytest.raises(BackwardError, match=r"module with backward hooks.*handle\.remove\(\)"):
        torch.autograd.grad(y, x, create_graph=True)


def test_create_graph_through_forward_hooks_matches_pytorch():
    real = pytest.importorskip("torch")
    weight, bias = [[0.5, -1.0], [0.25, 2.0]], [0.1, -0.2]
    results = []
    for lib in (torch, real):
        layer = lib.nn.Linear(2, 2).double()
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(weight, dtype=lib.float64))
            layer.bias.copy_(lib.tensor(bias, dtype=lib.float64))
        layer.register_forward_pre_hook(lambda module, args: (args[0] * 3,))
        layer.register_forward_hook(lambda module, args, out: out.tanh())
        x = lib.tensor([[1.0, -2.0]], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad((layer(x) ** 2).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad((g**2).sum(), x)
        results.append(h.tolist())
    torch.testing.assert_close(results[0], results[1])


def test_grad_is_grads_batched_gives_one_gradient_per_row_as_pytorch():
    real = pytest.importorskip("torch")
    results = []
    for lib in (torch, real):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([[1.0, 0.0], [0.5, 2.0], [0.0, -1.0]], dtype=lib.float64)
        (rows,) = lib.autograd.grad(x**3, x, grad_outputs=w, is_grads_batched=True,
                                    create_graph=True)  # fmt: skip
        (second,) = lib.autograd.grad((rows**2).sum(), x)
        results.append((rows.tolist(), second.tolist()))
    torch.testing.assert_close(results[0], results[1])
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(torch.autograd.errors.OperandError, match="is_grads_batched"):
        torch.autograd.grad((x**2).sum(), x, is_grads_batched=True)


def test_view_with_a_dtype_says_to_convert_instead_of_calling_it_a_bad_shape():
    with pytest.raises(torch.autograd.errors.OperandError, match=r"\.to\(torch\.int32\)"):
        torch.ones(2, 3).t().view(torch.int32)


def test_division_by_zero_without_grad_is_silent_as_pytorch(recwarn):
    # (gumbel_softmax(tau=0) divided by zero through this path and warned from NumPy)
    assert (torch.tensor([1.0]) / 0).item() == float("inf")
    assert (1 / torch.tensor([0.0])).item() == float("inf")
    assert torch.tensor([-1.0]).sqrt().isnan().item()
    assert torch.nn.functional.gumbel_softmax(torch.randn(3, 2), tau=0).isnan().all()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("make", [lambda s: s.sort(), lambda s: s.topk(1)], ids=["sort", "topk"])
def test_sort_of_a_0d_variable_draws_its_value_read_at_the_found_index(make):
    # the value was drawn as `Mul` by a constant 1, with no edge from the index op
    import networkx as nx

    s = torch.tensor(2.0, requires_grad=True)
    with torch.trace() as tr:
        values, _ = make(s * 3)
        (values**2).backward()
    graph = tr.graph
    ops = {n: d["op"] for n, d in graph.nodes(data=True)}
    (found,) = [n for n, op in ops.items() if op in ("Argsort", "TopkIndices")]
    readers = list(graph.successors(found))
    assert readers
    assert all(ops[n] == "Index" for n in readers)
    assert nx.has_path(graph, readers[0], next(n for n, op in ops.items() if op == "Pow"))
    assert s.grad.item() == 36.0  # d/ds (3s)^2


@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_of_an_unused_input_names_its_index_as_pytorch(create_graph):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    z = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(BackwardError, match="Tensor at index 1 appears to not have been used"):
        torch.autograd.grad((x**2).sum(), [x, z], create_graph=create_graph)
