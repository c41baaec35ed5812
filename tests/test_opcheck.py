"""The per-op check beside the engine (``gradviz.autograd.opcheck``): it passes every built-in
op, catches a backward off by 1%, finds kinks, and shares the engine's context constructor and
broadcast reduction."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import gradviz
from gradviz import Function, Variable
from gradviz.autograd import function, hooks
from gradviz.autograd.opcheck import check_call, summed_axes
from gradviz.autograd.ops import BUILTIN_OPS, Relu


class Scaled(Function):
    """x * w with the gradient of w off by ``factor``."""

    factor = 1.0

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return grad * w, grad * x * Scaled.factor


def check(cls, *values, needs=None, seed=0):
    needs = needs or tuple(isinstance(v, np.ndarray) for v in values)
    return check_call(cls, values, needs, np.random.default_rng(seed))


# ----------------------------------------------------------------------- the checker itself
@pytest.mark.parametrize(
    ("factor", "fails"), [(1.0, False), (1.01, True), (0.99, True), (0.5, True)]
)
def test_a_backward_off_by_one_percent_is_caught(factor, fails, monkeypatch, rng):
    monkeypatch.setattr(Scaled, "factor", factor)
    x, w = rng.standard_normal((8, 5)), rng.standard_normal((5,))
    result = check(Scaled, x, w)
    assert (result.status == "failed") is fails
    assert result.inputs[0].passed  # x's gradient is right either way
    assert result.inputs[1].passed is not fails
    assert result.inputs[1].summed_axes == (0,)  # the engine summed w's gradient over rows
    assert result.inputs[1].grad_shape == (8, 5)
    if fails:
        assert result.reason == result.inputs[1].reason
        assert result.reason.startswith(f"backward is {factor:.3g}x")


def test_the_result_is_the_same_for_the_same_seed_and_leaves_the_inputs_alone(rng):
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    before = x.copy(), w.copy()
    first, second = check(Scaled, x, w, seed=3), check(Scaled, x, w, seed=3)
    assert first == second
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(w, before[1])


def test_float32_inputs_are_checked_in_float64(rng):
    x, w = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3)
    result = check(Scaled, x, w.astype(np.float32))
    assert result.status == "passed"
    assert max(r.rel_error for r in result.inputs) < 1e-6  # float32 would give ~1e-3


def _recorded_calls(case) -> list[tuple[type, tuple, tuple[bool, ...]]]:
    """The op calls of one op-table row: (op class, arrays and options, needs_input_grad)."""

    class Calls(hooks.Hook):
        def __init__(self) -> None:
            self.calls = []

        def op(self, node, inputs, output):
            values = tuple(
                a.numpy().copy() if isinstance(a, Variable) else a for a in inputs
            )  # copied now: an in-place op writes into the array later
            self.calls.append((type(node), values, node.needs_input_grad))

    calls = Calls()
    hooks.install(calls)
    try:
        case.fn(*case.inputs())
    finally:
        hooks.uninstall(calls)
    return calls.calls


def test_every_builtin_op_passes_on_random_inputs():
    from test_ops import CASES

    failures, passed = [], set()
    for position, case in enumerate(CASES):
        for cls, values, needs in _recorded_calls(case):
            result = check_call(cls, values, needs, np.random.default_rng(position))
            if result.status == "failed":
                failures.append(f"{case.id}: {cls.__name__}: {result.reason} {result.inputs}")
            elif result.status == "passed":
                passed.add(cls)
    assert not failures
    assert set(BUILTIN_OPS) - passed == set()  # every one checked, none only skipped


# ----------------------------------------------------------------------- kinks and skips
def test_relu_near_zero_is_checked_on_the_smooth_elements():
    result = check(Relu, np.array([1e-12, -1e-12, 0.5, -0.5, 2.0]), seed=1)
    assert result.status == "passed"


def test_a_kink_at_every_output_is_skipped_not_failed():
    class Amax(Function):
        @staticmethod
        def forward(ctx, x):
            return np.asarray(x.max())

        @staticmethod
        def backward(ctx, grad):
            return np.full((3,), 123.0) * grad  # nonsense: no subgradient is checkable here

    result = check(Amax, np.array([2.0, 2.0, 2.0]))
    assert result.status == "skipped"
    assert "kink" in result.reason


@pytest.mark.parametrize(
    ("values", "needs", "reason"),
    [
        ((np.ones(3),), (False,), "no floating input requires grad"),
        ((np.arange(3),), (True,), "no floating input requires grad"),
        ((np.array([1.0, np.nan]),), (True,), "input 0 has NaN/Inf"),
    ],
)
def test_calls_that_cannot_be_checked_are_skipped_with_a_reason(values, needs, reason):
    result = check_call(Relu, values, needs, np.random.default_rng(0))
    assert result.status == "skipped"
    assert result.reason.startswith(reason)
    assert result.inputs == []
    assert result.rel_error is None


def test_a_forward_that_writes_into_its_input_fails_and_spoils_nothing():
    class DoubleInPlace(Function):
        @staticmethod
        def forward(ctx, x):
            x *= 2
            return x

        @staticmethod
        def backward(ctx, grad):
            return 2 * grad

    x = np.array([1.0, 2.0, 3.0])
    result = check(DoubleInPlace, x)
    assert result.status == "failed"
    assert result.reason == "forward wrote into its input 0 in place"
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_a_generator_argument_is_not_advanced():
    generator = np.random.default_rng(5)
    state = generator.bit_generator.state

    class Noisy(Function):
        @staticmethod
        def forward(ctx, x, gen):
            ctx.mask = gen.random(x.shape) > 0.3
            return x * ctx.mask

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.mask, None

    result = check(Noisy, np.linspace(-1, 1, 6), generator, needs=(True, False))
    assert result.status == "passed"
    assert generator.bit_generator.state == state


# ----------------------------------------------------------------------- the engine's parts
def test_contexts_come_from_the_one_constructor_apply_uses(monkeypatch, rng):
    made = []
    original = function.new_context

    def spy(cls, needs):
        made.append((cls, needs))
        return original(cls, needs)

    monkeypatch.setattr(function, "new_context", spy)
    Scaled.apply(Variable(rng.standard_normal(3), requires_grad=True), rng.standard_normal(3))
    assert made == [(Scaled, (True, False))]
    made.clear()
    check(Scaled, rng.standard_normal(3), rng.standard_normal(3), needs=(True, False))
    assert made
    assert all(entry == (Scaled, (True, False)) for entry in made)


def test_a_gradient_that_does_not_reduce_to_the_input_fails_with_the_engines_error():
    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, grad):
            return grad, np.ones((7,))

    result = check(WrongShape, np.ones((2, 3)), np.ones(3))
    assert result.status == "failed"
    first, second = result.inputs
    assert first.passed
    assert not second.passed
    assert second.reason == (
        "WrongShape.backward returned a gradient of shape (7,) for input 1 of shape (3,); "
        "it must have the input's shape or broadcast to it"
    )


@pytest.mark.parametrize(
    ("grad_shape", "shape", "axes"),
    [((4, 3), (3,), (0,)), ((4, 3), (4, 1), (1,)), ((2, 4, 3), (1, 3), (0, 1)), ((3,), (3,), ())],
)
def test_summed_axes_are_the_engines(grad_shape, shape, axes):
    assert summed_axes(grad_shape, shape) == axes
    grad = np.ones(grad_shape)
    reduced = gradviz.autograd.engine.unbroadcast(grad, shape, Scaled(), 0)
    assert reduced.shape == shape
    np.testing.assert_array_equal(reduced, grad.sum(axis=axes).reshape(shape))


class Composite(Function):
    """A user op whose forward runs other ops on Variables (events, if hooks were live)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (Variable(x) * 3.0).numpy()

    @staticmethod
    def backward(ctx, grad):
        return grad * 3.0


def test_the_checks_ops_reach_no_hook(rng):
    class Seen(hooks.Hook):
        def __init__(self) -> None:
            self.events = []

        def op(self, node, inputs, output):
            self.events.append(type(node).__name__)

        def backward_begin(self, root, grad):
            self.events.append("backward")

    seen = Seen()
    hooks.install(seen)
    try:
        assert check(Composite, rng.standard_normal(4)).status == "passed"
        assert gradviz.gradcheck(lambda v: (v * v).sum(), Variable(np.ones(2), requires_grad=True))
        assert seen.events == []
        assert hooks.ACTIVE == (seen,)
        Composite.apply(Variable(np.ones(2)))
        assert seen.events == ["Mul", "Composite"]
    finally:
        hooks.uninstall(seen)


def test_opcheck_imports_nothing_of_viz():
    script = (
        "import json, sys\n"
        "import gradviz.autograd.opcheck\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    modules = json.loads(out.strip().splitlines()[-1])
    assert "gradviz.autograd.opcheck" in modules
    assert [m for m in modules if m.startswith(("gradviz.viz", "networkx", "click"))] == []


def _identity_grid(n: int, size: int) -> np.ndarray:
    theta = gradviz.tensor(np.tile(np.eye(2, 3), (n, 1, 1)).astype(np.float32))
    grid = gradviz.nn.functional.affine_grid(theta, (n, 1, size, size), align_corners=False)
    return grid.numpy()


def test_grid_sample_at_an_identity_transform_passes_and_a_wrong_grid_gradient_fails():
    """Was: `gradviz check` of the spatial transformer tutorial failed its GridSample (0.99x,
    0.96x the numeric gradient): an identity transform puts every grid point on a pixel line,
    where two kinks (in x and in y) cancel in the second difference; GridSample now lists its
    kinks (``check_kinks``)."""
    from gradviz.autograd.ops.grid import GridSample

    x = np.random.default_rng(0).normal(size=(8, 1, 28, 28)).astype(np.float32)
    args = [x, _identity_grid(8, 28), "bilinear", "zeros", False]
    for seed in range(40):
        result = check_call(GridSample, args, (True, True), np.random.default_rng([seed, 3]))
        assert result.status == "passed", (seed, result)

    class OffGrid(GridSample):
        @staticmethod
        def backward(ctx, grad):
            grad_input, grad_grid = GridSample.backward(ctx, grad)
            return grad_input, grad_grid * 1.05

    grid = np.random.default_rng(1).uniform(-0.9, 0.9, (2, 3, 3, 2))
    result = check_call(OffGrid, [x[:2], grid, "bilinear", "border", True], (True, True),
                        np.random.default_rng(0))  # fmt: skip
    assert result.status == "failed"
    assert not result.inputs[1].passed
    assert result.inputs[0].passed
