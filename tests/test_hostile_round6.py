"""Hostile input, round 6: what landed with several-output Functions, the new optimizers and
schedulers, weight parametrizations and anomaly mode, used as users break things (an added param
group, a deep copy, ``backward(inputs=...)``, a masked NaN); each case ends in PyTorch's result
or a GradvizError that says what to do."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.autograd.errors import BackwardError, OptimizerError


def _quadratic_closure(opt, *params):
    def closure():
        opt.zero_grad()
        loss = sum((p * p).sum() for p in params)
        loss.backward()
        return loss

    return closure


def test_lbfgs_refuses_to_step_with_a_second_param_group_instead_of_ignoring_it():
    w = nn.Parameter(np.ones(3, dtype=np.float32))
    b = nn.Parameter(np.ones(2, dtype=np.float32))
    opt = gradviz.optim.LBFGS([w])
    opt.add_param_group({"params": [b]})  # PyTorch accepts it, and refuses at step
    with pytest.raises(OptimizerError, match="got 2"):
        opt.step(_quadratic_closure(opt, w, b))
    np.testing.assert_array_equal(b.numpy(), 1.0)  # nothing moved half-way


def _weight_normed() -> nn.Module:
    gradviz.manual_seed(0)
    return nn.utils.parametrizations.weight_norm(nn.Linear(3, 4))


def test_removing_the_parametrization_of_a_deep_copy_leaves_the_original_working():
    model = _weight_normed()
    x = gradviz.randn(2, 3)
    before = model(x).numpy()
    exported = copy.deepcopy(model)
    nn.utils.parametrize.remove_parametrizations(exported, "weight")
    np.testing.assert_array_equal(model(x).numpy(), before)  # AttributeError: no 'weight' before
    np.testing.assert_allclose(exported(x).numpy(), before, rtol=1e-6)
    assert type(exported) is nn.Linear
    assert type(model).__name__ == "ParametrizedLinear"


def test_a_parametrization_added_to_a_deep_copy_is_not_added_to_the_original():
    model = _weight_normed()
    twin = copy.deepcopy(model)
    nn.utils.parametrize.register_parametrization(twin, "bias", nn.Identity())
    assert not nn.utils.parametrize.is_parametrized(model, "bias")
    assert model.bias is model._parameters["bias"]  # KeyError 'bias' before
    assert sorted(twin.state_dict()) == [
        "parametrizations.bias.original",
        "parametrizations.weight.original0",
        "parametrizations.weight.original1",
    ]


X = np.linspace(-1, 1, 8).reshape(4, 2)


def _gan_like(lib):
    lib.manual_seed(0)
    generator, critic = lib.nn.Linear(2, 3).double(), lib.nn.Linear(3, 1).double()
    with lib.no_grad():  # the same numbers in both libraries
        for layer, n in ((generator, 6), (critic, 3)):
            layer.weight.copy_(lib.tensor(np.linspace(-0.5, 0.7, n).reshape(layer.weight.shape)))
            layer.bias.fill_(0.1)
    loss = critic(generator(lib.tensor(X)).tanh()).pow(2).mean()
    return generator, critic, loss


def test_backward_inputs_accumulates_only_into_the_given_parameters_as_pytorch():
    torch = pytest.importorskip("torch")
    generator, critic, loss = _gan_like(gradviz)
    loss.backward(inputs=list(generator.parameters()))  # BackwardError before
    t_generator, _, t_loss = _gan_like(torch)
    t_loss.backward(inputs=list(t_generator.parameters()))
    assert critic.weight.grad is None
    assert critic.bias.grad is None
    for mine, theirs in zip(generator.parameters(), t_generator.parameters(), strict=True):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def test_backward_inputs_accumulates_over_calls_and_takes_a_non_leaf():
    generator, _, _ = _gan_like(gradviz)
    hidden = generator(gradviz.tensor(X))
    out = (hidden * hidden).sum()
    out.backward(inputs=hidden, retain_graph=True)
    np.testing.assert_allclose(hidden.grad.numpy(), 2 * hidden.numpy())
    gradviz.autograd.backward(out, inputs=[hidden])
    np.testing.assert_allclose(hidden.grad.numpy(), 4 * hidden.numpy())
    assert generator.weight.grad is None


def test_backward_of_a_leaf_with_inputs_elsewhere_adds_nothing_as_pytorch():
    x = gradviz.tensor(2.0, requires_grad=True)
    y = gradviz.ones(2, requires_grad=True)
    x.backward(inputs=[y])  # BackwardError 'does not require grad' before
    assert x.grad is None
    assert y.grad is None
    assert x.requires_grad


def test_backward_inputs_empty_is_refused_with_pytorchs_words():
    _, _, loss = _gan_like(gradviz)
    with pytest.raises(
        BackwardError, match="`inputs` argument to `backward\\(\\)` cannot be empty"
    ):
        loss.backward(inputs=[])


FACTORY_LAYERS = [
    ("Linear", (3, 2)),
    ("Bilinear", (3, 2, 4)),
    ("Conv1d", (2, 4, 3)),
    ("Conv3d", (2, 4, 3)),
    ("ConvTranspose3d", (2, 4, 3)),
    ("BatchNorm3d", (4,)),
    ("InstanceNorm3d", (4, 1e-5, 0.1, True, True)),
    ("LayerNorm", (5,)),
    ("GroupNorm", (2, 4)),
    ("RMSNorm", (5,)),
    ("Embedding", (10, 3)),
    ("EmbeddingBag", (10, 3)),
    ("PReLU", ()),
    ("RNN", (3, 4, 2)),
    ("LSTM", (3, 4)),
    ("GRU", (3, 4)),
    ("RNNCell", (3, 4)),
    ("LSTMCell", (3, 4)),
    ("GRUCell", (3, 4)),
    ("MultiheadAttention", (4, 2)),
]


@pytest.mark.parametrize(("name", "args"), FACTORY_LAYERS, ids=[n for n, _ in FACTORY_LAYERS])
def test_layers_take_pytorchs_device_and_dtype_arguments(name, args):
    """``nn.Conv3d(1, 8, 3, device=device, dtype=torch.float64)``: Python's TypeError
    'unexpected keyword argument' before."""
    layer = getattr(nn, name)(*args, device="cpu", dtype=gradviz.float64)
    tensors = [*layer.parameters(), *layer.buffers()]
    assert {t.dtype for t in tensors if t.is_floating_point()} == {np.dtype(np.float64)}
    assert getattr(nn, name)(*args, dtype=None).state_dict().keys() == layer.state_dict().keys()
    with pytest.raises(gradviz.GradvizError, match="cuda"):
        getattr(nn, name)(*args, device="cuda")


def test_lazy_linear_makes_its_parameters_with_the_dtype_it_was_given():
    layer = nn.LazyLinear(2, device="cpu", dtype=gradviz.float64)
    layer(gradviz.randn(4, 3, dtype=gradviz.float64))
    assert {p.dtype for p in layer.parameters()} == {np.dtype(np.float64)}
    with pytest.raises(gradviz.GradvizError, match="cuda"):
        nn.LazyLinear(2, device="cuda")


def test_backward_inputs_runs_no_hook_and_draws_no_gradient_for_the_parameters_left_out():
    """As PyTorch's: a parameter not in ``inputs`` gets no AccumulateGrad, so its hooks do not
    run, and the picture of the generator's step shows no gradient reaching the critic."""
    generator, critic, loss = _gan_like(gradviz)
    seen = []
    critic.weight.register_hook(lambda grad: seen.append("critic"))
    generator.weight.register_hook(lambda grad: seen.append("generator"))
    with gradviz.trace() as tr:
        loss = critic(generator(gradviz.tensor(X)).tanh()).pow(2).mean()
        loss.backward(inputs=list(generator.parameters()))
    assert seen == ["generator"]
    done = tr.get_pass()
    reached = [step.node for step in done.steps if done.graph.nodes[step.node]["kind"] == "param"]
    assert len(reached) == 2  # the generator's weight and bias; the critic's two before


def test_type_before_parametrizations_names_the_class_a_user_wrote():
    model = _weight_normed()
    assert nn.utils.parametrize.type_before_parametrizations(model) is nn.Linear
    assert nn.utils.parametrize.type_before_parametrizations(nn.ReLU()) is nn.ReLU
    copied = copy.deepcopy(model)
    assert nn.utils.parametrize.type_before_parametrizations(copied) is nn.Linear


class _DoubleInPlace(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        x *= 2
        ctx.mark_dirty(x)  # PyTorch's docs' in-place custom op
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


def test_mark_dirty_says_how_to_write_the_op_instead_of_an_attribute_error():
    x = gradviz.ones(3, requires_grad=True) * 1
    with pytest.raises(gradviz.GradvizError, match=r"mark_dirty.*return a new array"):
        _DoubleInPlace.apply(x)


def test_pickling_a_parametrized_module_points_to_state_dict_as_pytorch():
    with pytest.raises(gradviz.GradvizError, match=r"only supported through state_dict\(\)"):
        pickle.dumps(_weight_normed())  # PicklingError 'attribute lookup failed' before
    assert copy.deepcopy(_weight_normed()).parametrizations.weight.original0.shape == (4, 1)


def test_backward_and_grad_take_inputs_as_model_parameters_generator():
    generator, critic, loss = _gan_like(gradviz)
    loss.backward(inputs=generator.parameters(), retain_graph=True)  # OperandError before
    assert generator.weight.grad is not None
    assert critic.weight.grad is None
    (weight, _) = gradviz.autograd.grad(loss, critic.parameters())
    assert weight.shape == critic.weight.shape


def test_contiguous_of_a_transposed_view_is_a_copy_that_takes_in_place_writes():
    """As PyTorch's: ``contiguous()`` copies a non-contiguous Variable, so an in-place op
    after ``x.transpose(1, 2).contiguous()`` (an inplace ReLU) works and leaves x alone."""
    x = gradviz.arange(6.0).reshape(2, 3).requires_grad_()
    z = x * 1 - 2
    y = z.t().contiguous()
    assert y.is_contiguous()  # False before
    assert y.stride() == (2, 1)
    nn.ReLU(inplace=True)(y)  # InplaceError 'a view (output of Transpose)' before
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 0], [1, 1, 1]])
    np.testing.assert_array_equal(z.detach().numpy(), [[-2, -1, 0], [1, 2, 3]])
    assert z.contiguous() is z  # already contiguous: the same Variable
