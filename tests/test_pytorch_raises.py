"""Where PyTorch raises, gradviz raises too: no silent wrong answers.

Each error is a ``GradvizError`` subclass that also inherits the builtin PyTorch raises, and its
message names the op or argument, what was given and what was expected. The values PyTorch
computes instead of raising (0-d reductions, ``dim=()``, ``ignore_index``) are compared against
PyTorch in ``test_torch_oracle.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn, optim
from gradviz import functional as F
from gradviz.data import DataLoader, TensorDataset


def var(*shape: int) -> Variable:
    return Variable(np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape), requires_grad=True)


# ---------------------------------------------------------------------------------------- dims

DIM_OUT_OF_RANGE = [
    ("max", lambda v: v.max(dim=5), 5),
    ("min", lambda v: v.min(dim=-3), -3),
    ("sum", lambda v: v.sum(dim=2), 2),
    ("mean", lambda v: v.mean(dim=(0, 2)), 2),
    ("amax", lambda v: v.amax(dim=-3), -3),
    ("amin", lambda v: v.amin(dim=[2]), 2),
    ("argmax", lambda v: v.argmax(dim=2), 2),
    ("argmin", lambda v: v.argmin(dim=-3), -3),
    ("cat", lambda v: gradviz.cat([v, v], dim=5), 5),
    ("softmax", lambda v: F.softmax(v, dim=2), 2),
    ("log_softmax", lambda v: F.log_softmax(v, dim=-3), -3),
    ("transpose", lambda v: v.transpose(0, 2), 2),
    ("permute", lambda v: v.permute(0, 2), 2),
    ("flatten", lambda v: v.flatten(3), 3),
    ("squeeze", lambda v: v.squeeze(2), 2),
]


@pytest.mark.parametrize(
    ("op", "call", "given"), DIM_OUT_OF_RANGE, ids=[c[0] for c in DIM_OUT_OF_RANGE]
)
def test_dim_out_of_range_raises_pytorchs_index_error(op, call, given):
    # Was: max(dim=5) and min(dim=-3) reduced a wrapped axis; cat raised a bare IndexError.
    with pytest.raises(gradviz.IndexRangeError) as info:
        call(var(2, 3))
    assert isinstance(info.value, IndexError)
    message = str(info.value)
    assert message.startswith(f"{op}(): Dimension out of range")
    assert f"expected to be in range of [-2, 1], but got {given})" in message


def test_stack_and_unsqueeze_take_one_more_dim():
    v = var(2, 3)
    assert gradviz.stack([v, v], dim=2).shape == (2, 3, 2)
    assert gradviz.stack([v, v], dim=-3).shape == (2, 2, 3)
    with pytest.raises(gradviz.IndexRangeError, match=r"stack\(\).*\[-3, 2\], but got 3"):
        gradviz.stack([v, v], dim=3)
    with pytest.raises(gradviz.IndexRangeError, match=r"unsqueeze\(\).*\[-3, 2\], but got -4"):
        v.unsqueeze(-4)


def test_a_dim_listed_twice_raises():
    with pytest.raises(gradviz.InputError, match=r"sum\(\): dim 0 appears multiple times") as info:
        var(2, 3).sum(dim=(0, -2))
    assert isinstance(info.value, RuntimeError)


def test_a_dim_must_be_an_integer():
    with pytest.raises(gradviz.OperandError, match=r"sum\(\): dim must be an integer.*1.5"):
        var(2, 3).sum(dim=1.5)


def test_zero_d_variables_take_dim_0_and_minus_1():
    # Was: ZeroDivisionError (sum, amax) or a ShapeError (max); PyTorch returns the value.
    s = Variable(np.array(3.0), requires_grad=True)
    for dim in (0, -1):
        for reduce in (s.sum, s.mean, s.amax, s.amin):
            assert reduce(dim=dim).item() == 3.0
        assert s.max(dim=dim).values.item() == 3.0
        assert s.max(dim=dim).indices == 0
        assert s.argmin(dim=dim) == 0
        assert s.transpose(dim, 0).item() == 3.0
        assert F.softmax(s, dim=dim).item() == 1.0
        assert s.squeeze(dim).shape == ()
    with pytest.raises(gradviz.IndexRangeError, match=r"\[-1, 0\], but got 1"):
        s.sum(dim=1)
    s.sum(dim=0).backward()
    assert s.grad == 1.0


def test_empty_dim_reduces_every_axis():
    # Was: sum(dim=()) returned its input; PyTorch (2.13) reduces all dims.
    v = var(2, 3)
    assert v.sum(dim=()).item() == 21.0
    assert v.sum(axis=[]).item() == 21.0
    assert v.amax(dim=()).item() == 6.0
    assert v.mean(dim=()).shape == ()


# -------------------------------------------------------------------------------------- losses


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
@pytest.mark.parametrize("target", [-1, 3])
def test_class_target_out_of_bounds(loss, target):
    # Was: -1 picked the last class silently; 3 raised NumPy's bare IndexError.
    with pytest.raises(gradviz.IndexRangeError, match=f"Target {target} is out of bounds") as info:
        loss(var(2, 3), np.array([0, target]))
    assert isinstance(info.value, IndexError)
    assert "[0, 2]" in str(info.value)


def test_ignored_targets_add_nothing():
    x = var(3, 4)
    kept = F.cross_entropy(x[1:], np.array([1, 3]))
    with_ignored = F.cross_entropy(x, np.array([-100, 1, 3]))
    np.testing.assert_allclose(with_ignored.numpy(), kept.numpy())
    assert F.nll_loss(x, np.array([0, 1, 2]), ignore_index=1).item() == pytest.approx(-(1 + 11) / 2)
    all_ignored = F.cross_entropy(x, np.full(3, -100))
    assert np.isnan(all_ignored.item())
    all_ignored.backward()
    np.testing.assert_array_equal(x.grad, np.zeros((3, 4)))
    assert np.isnan(nn.CrossEntropyLoss(ignore_index=0)(x, np.zeros(3, dtype=int)).item())


@pytest.mark.parametrize(
    ("probabilities", "target", "name"),
    [
        ([0.5, 0.2], [0.0, 2.0], "target"),
        ([0.5, 0.2], [-0.5, 1.0], "target"),
        ([np.nan, 0.2], [0.0, 1.0], "input"),
        ([1.5, 0.2], [0.0, 1.0], "input"),
        ([0.5, 0.2], [np.nan, 1.0], "target"),
    ],
)
def test_binary_cross_entropy_outside_0_1_raises(probabilities, target, name):
    # Was: targets outside [0, 1] and NaN inputs gave a number silently.
    p = Variable(np.array(probabilities), requires_grad=True)
    with pytest.raises(
        gradviz.InputError, match=f"all elements of {name} should be between 0 and 1"
    ):
        F.binary_cross_entropy(p, np.array(target))
    with pytest.raises(RuntimeError):  # PyTorch raises RuntimeError
        F.binary_cross_entropy(p, np.array(target))


# ----------------------------------------------------------------------------------- optimizers


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Adam(p)])
def test_optimizer_given_one_parameter_says_iterable(make):
    # Was: "can't optimize a non-leaf Variable (output of Index)".
    with pytest.raises(
        gradviz.OperandError, match="iterable of Variables or dicts, but got Parameter"
    ):
        make(nn.Parameter(np.ones(2)))


@pytest.mark.parametrize("optimizer", [optim.SGD, optim.Adam])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_gradient_of_the_wrong_shape_is_not_applied(optimizer, momentum):
    # Was: a broadcastable gradient was added to every row silently.
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones((3, 2)))
    opt = (
        optimizer([a, b], lr=0.1, momentum=momentum)
        if optimizer is optim.SGD
        else optimizer([{"params": [a]}, {"params": [b]}], lr=0.1)
    )
    a.grad = np.ones(2)
    with pytest.raises(
        gradviz.ShapeError, match=r"assign a gradient of shape \(2,\) for shape \(3, 2"
    ):
        b.grad = np.ones(2)  # refused when assigned, as PyTorch refuses it
    b.grad = np.ones((3, 2))
    b.data = np.ones((4, 2))  # replaced after its gradient was set: step() names it
    with pytest.raises(gradviz.ShapeError, match=r"parameter 1 has a gradient of shape \(3, 2\)"):
        opt.step()
    np.testing.assert_array_equal(b.numpy(), np.ones((4, 2)))
    np.testing.assert_array_equal(a.numpy(), np.ones(2))  # checked before any update


@pytest.mark.parametrize("betas", [0.9, (0.9,), ("a", 0.999)])
def test_adam_betas_must_be_a_pair(betas):
    with pytest.raises(gradviz.OperandError, match="Invalid betas: expected a pair"):
        optim.Adam([nn.Parameter(np.ones(2))], betas=betas)


# ---------------------------------------------------------------------- inputs of the wrong kind


@pytest.mark.parametrize(
    ("op", "call"),
    [
        ("linear", lambda: nn.Linear(3, 2)(None)),
        ("linear", lambda: nn.Linear(3, 2)("abc")),
        ("relu", lambda: F.relu("abc")),
        ("softmax", lambda: F.softmax(None)),
        ("sigmoid", lambda: F.sigmoid({})),
        ("cross_entropy", lambda: F.cross_entropy(None, np.array([0]))),
    ],
)
def test_functional_input_of_the_wrong_kind(op, call):
    # Was: a ShapeError about shape () (Linear), NumPy's UFuncTypeError, an AttributeError.
    with pytest.raises(gradviz.OperandError, match=rf"{op}\(\): argument 'input'.*not "):
        call()


def test_functional_lists_take_the_default_dtype():
    # Was float64 (the README promises float32, the default dtype).
    assert F.relu([1.0, -1.0]).dtype == np.float32
    assert F.softmax([1.0, 2.0], 0).dtype == np.float32


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: nn.Linear(-1, 2), gradviz.InputError, "in_features must be >= 0, got -1"),
        (lambda: nn.Linear(3, -2), gradviz.InputError, "out_features must be >= 0, got -2"),
        (lambda: nn.Linear(2.5, 2), gradviz.OperandError, "in_features must be an integer"),
    ],
)
def test_linear_sizes(make, error, match):
    # Was: math domain error (a bare ValueError) for -1; a float size reached NumPy.
    with pytest.raises(error, match=match):
        make()
    assert nn.Linear(3, 0)(var(2, 3).float()).shape == (2, 0)


# ------------------------------------------------------------------------- data, seeds, arange


@pytest.mark.parametrize("batch_size", [2.5, 0, -1, True, "2"])
def test_dataloader_batch_size_must_be_a_positive_integer(batch_size):
    # Was: 2.5 accepted (then a TypeError mid-epoch); None a bare TypeError.
    dataset = TensorDataset(np.ones(3))
    with pytest.raises(gradviz.ArgumentError, match="batch_size should be a positive integer"):
        DataLoader(dataset, batch_size=batch_size)


def test_dataloader_batch_size_none_turns_batching_off():
    # As in PyTorch: each item on its own, without a batch axis.
    dataset = TensorDataset(np.arange(3.0), np.arange(3))
    loader = DataLoader(dataset, batch_size=None)
    items = list(loader)
    assert len(loader) == len(items) == 3
    assert [(x.item(), y.item()) for x, y in items] == [(0.0, 0), (1.0, 1), (2.0, 2)]
    assert items[0][0].shape == ()
    with pytest.raises(gradviz.ArgumentError, match="mutually exclusive with drop_last"):
        DataLoader(dataset, batch_size=None, drop_last=True)


def test_manual_seed_accepts_negative_seeds_as_pytorch():
    # Was: NumPy's bare "expected non-negative integer". PyTorch reads seeds modulo 2**64.
    first = gradviz.manual_seed(-1).random()
    assert gradviz.manual_seed(2**64 - 1).random() == first
    assert gradviz.manual_seed(1.5).random() == gradviz.manual_seed(1).random()
    with pytest.raises(gradviz.ArgumentError, match=r"manual_seed: seed must be in"):
        gradviz.manual_seed(2**64)
    with pytest.raises(gradviz.OperandError, match="manual_seed: seed must be an integer"):
        gradviz.manual_seed(None)


@pytest.mark.parametrize(
    ("args", "match"),
    [((0, 1, 0), "step must be nonzero"), ((0, -1), "inconsistent with step sign")],
)
def test_arange_bad_step(args, match):
    # Was: ZeroDivisionError (step 0) and an empty Variable (wrong sign); PyTorch raises.
    with pytest.raises(gradviz.InputError, match=match) as info:
        gradviz.arange(*args)
    assert isinstance(info.value, RuntimeError)


def test_ragged_index_list():
    # Was NumPy's bare "inhomogeneous shape" ValueError.
    with pytest.raises(gradviz.ShapeError, match=r"Index: an index list must be rectangular"):
        var(2, 3)[[[0, 1], [0]]]
    with pytest.raises(gradviz.ShapeError, match="rectangular"):
        var(2, 3)[[0, 1], [[0], [1, 2]]]


# ---------------------------------------------------------------------------------- module names


@pytest.mark.parametrize(
    ("name", "match"), [("", "can't be empty string"), ("a.b", r"can't contain \".\"")]
)
def test_module_and_parameter_names(name, match):
    # Was: registered, so that state_dict keys could not be loaded back.
    module = nn.Module()
    with pytest.raises(gradviz.RegistrationError, match=f"module name {match}") as info:
        module.add_module(name, nn.Linear(1, 1))
    assert isinstance(info.value, KeyError)
    with pytest.raises(KeyError, match=f"parameter name {match}"):
        module.register_parameter(name, nn.Parameter(np.ones(1)))
    assert list(module.named_parameters()) == []


def test_registered_names_follow_pytorchs_other_rules():
    module = nn.Module()
    module.scale = 2.0
    with pytest.raises(gradviz.RegistrationError, match="attribute 'scale' already exists"):
        module.add_module("scale", nn.Linear(1, 1))
    with pytest.raises(gradviz.OperandError, match=r"module name should be a string\. Got int"):
        module.add_module(3, nn.Linear(1, 1))
    with pytest.raises(gradviz.OperandError, match="int is not a Module subclass"):
        module.add_module("layer", 3)
    with pytest.raises(gradviz.OperandError, match="cannot assign ndarray object to parameter"):
        module.register_parameter("w", np.ones(1))
    module.register_parameter("w", None)  # an empty slot can be filled
    module.register_parameter("w", nn.Parameter(np.ones(1)))
    assert [name for name, _ in module.named_parameters()] == ["w"]


# --------------------------------------------------------------------------------------- engine


def test_custom_backward_returning_saved_inputs_does_not_alias_leaf_grads():
    class ReturnsInputs(gradviz.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(b, a)  # d(ab)/da = b, d(ab)/db = a
            return np.multiply(a, b)

        @staticmethod
        def backward(ctx, grad):
            return ctx.saved_tensors  # correct for grad == 1, but the arrays are the inputs' data

    class Identity(gradviz.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a.copy()

        @staticmethod
        def backward(ctx, grad):
            return ctx.saved_tensors[0]

    # Arrays that own their memory (a view's gradient was always copied)
    x = Variable(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = Variable(np.array([4.0, 5.0, 6.0]), requires_grad=True)
    ReturnsInputs.apply(x, y).sum().backward()
    Identity.apply(x).sum().backward()
    for v in (x, y):
        for data in (x.numpy(), y.numpy()):
            assert not np.shares_memory(v.grad, data)
    np.testing.assert_array_equal(x.grad, y.numpy() + x.numpy())
    before = y.numpy().copy()
    x.grad += 1  # in place: must not reach y
    np.testing.assert_array_equal(y.numpy(), before)


# --------------------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize(
    "scalar", [np.sqrt(2.0), np.float64(2.0), np.array(2.0), np.int64(2), np.float16(2.0)]
)
def test_numpy_scalars_do_not_widen_a_variable(scalar):
    # Was float64 for NumPy float64/int64 scalars and 0-d arrays (a Python float kept float32).
    x = Variable(np.ones(2, dtype=np.float32), requires_grad=True)
    for out in (x * scalar, scalar * x, x / scalar, scalar - x, x + scalar, x**scalar):
        assert out.dtype == np.float32
    (x * scalar).sum().backward()
    assert x.grad.dtype == np.float32
    assert (x * np.ones(2)).dtype == np.float64  # ndarrays keep NumPy's promotion (documented)


def test_true_division_of_integers_gives_the_default_dtype():
    # Was float64; PyTorch gives the default float dtype.
    i = Variable(np.array([1, 2, 3]))
    assert (i / i).dtype == np.float32
    assert (i / 2).dtype == np.float32
    assert (i / np.float64(2.5)).dtype == np.float32
    np.testing.assert_allclose((i / 2).numpy(), [0.5, 1.0, 1.5])
    assert (i / Variable(np.ones(3))).dtype == np.float64  # a float64 operand decides


def test_an_index_out_of_range_is_an_index_error_as_in_pytorch():
    v = gradviz.Variable([1.0, 2.0, 3.0])
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        v[5]
    with pytest.raises(gradviz.IndexRangeError):
        v[[0, 3]]


# ------------------------------------------------------------------------------ requires_grad

REQUIRES_GRAD_REFUSED = [
    ("int requires_grad_", lambda: gradviz.tensor([1, 2]).requires_grad_(), "floating point"),
    ("int tensor(requires_grad)", lambda: gradviz.tensor([1, 2], requires_grad=True), "floating"),
    ("non-leaf requires_grad_(False)", lambda: (var(2) * 2).requires_grad_(False), "leaf"),
    ("retain_grad without grad", lambda: gradviz.ones(2).retain_grad(), "requires_grad=False"),
]


@pytest.mark.parametrize(
    ("call", "words"),
    [r[1:] for r in REQUIRES_GRAD_REFUSED],
    ids=[r[0] for r in REQUIRES_GRAD_REFUSED],
)
def test_requires_grad_refusals_are_runtime_errors_as_in_pytorch(call, words):
    """``except RuntimeError`` (what PyTorch raises) catches them."""
    with pytest.raises(RuntimeError, match=words) as info:
        call()
    assert isinstance(info.value, gradviz.GradvizError)


def test_item_of_many_elements_is_pytorch_s_runtime_error():
    with pytest.raises(RuntimeError, match="2 elements cannot be converted") as info:
        gradviz.ones(2).item()
    assert isinstance(info.value, gradviz.GradvizError)


def test_integer_data_given_requires_grad_by_assignment_gets_no_integer_gradient():
    """PyTorch refuses ``x.requires_grad = True`` on integer data at once; gradviz refuses at
    the backward that would fill its ``.grad`` (it gave an int64 gradient before)."""
    x = gradviz.tensor([1, 2])
    x.requires_grad = True
    with pytest.raises(RuntimeError, match="only floating point Variables can require gradients"):
        (x * 2).sum().backward()
    assert x.grad is None
