"""Round 8 of hostile probing: second derivatives, assert_close, gumbel_softmax, indices."""

import pytest

import gradviz as torch


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
