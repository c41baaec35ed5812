"""Differential test against PyTorch: creation functions, in-place ops, ``new_*`` and layout
methods, and a check that every public function with a PyTorch twin has cases (or a reason).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all, twins

import gradviz


def creation_cases() -> Iterable[Case]:
    for name in ("zeros", "ones", "empty", "rand", "randn"):
        for args, kwargs in (((2, 3), {}), (((2, 3),), {}), ((), {}), ((0,), {})):
            yield Case("top", name, args, kwargs)
        yield Case("top", name, (2,), {"dtype": gradviz.float64})
        yield Case("top", name, (-1,))
    for value in (1.5, 2, True):
        yield Case("top", "full", ((2, 3), value))
    yield Case("top", "full", ((2,), 1), {"dtype": gradviz.float32})
    for args in ((5,), (1, 4, 0.5), (5.0,), (0, 1, 0), (3, 0), (-2, 2), (0, 10, 3)):
        yield Case("top", "arange", args)
    yield Case("top", "arange", (4,), {"dtype": gradviz.float64})
    for args in ((0, 1, 5), (2, -1, 4), (0, 1, 1), (0, 1, 0), (0, 1, -1)):
        yield Case("top", "linspace", args)
    for args in ((3,), (2, 3), (0,)):
        yield Case("top", "eye", args)
    for data in ([1, 2], [1.0, 2], [True, False], [[1, 2], [3, 4]], 3.5, 7, [], [[1, 2], [3]]):
        yield Case("top", "tensor", (data,))
    yield Case("top", "tensor", ([1, 2],), {"dtype": gradviz.float64})
    yield Case("top", "tensor", ([1.5, 2.5],), {"dtype": gradviz.int64})
    for array in (np.arange(3), np.ones((2, 2), np.float32), np.array(True)):
        yield Case("top", "from_numpy", (array,))
    d = Draw(41)
    for x in (d.f((2, 3)), d.f((2, 3), "float32"), d.i((2, 3)), d.b((3,))):
        for name in ("zeros_like", "ones_like", "rand_like", "randn_like"):
            yield Case("top", name, (x,))
        yield Case("top", "full_like", (x, 7))
        yield Case("top", "full_like", (x, 0.5))
        yield Case("top", "numel", (x,))
        yield Case("top", "is_tensor", (x,))
        for name in ("new_zeros", "new_ones", "new_empty"):
            yield Case("method", name, (x, (2,)))
            yield Case("method", name, (x, 2, 1))
        yield Case("method", "new_full", (x, (2,), 3))
        yield Case("method", "new_tensor", (x, [1, 2]))
        yield Case("method", "new_tensor", (x, [1.5]))
        for name in ("half", "type", "stride", "cpu", "numpy"):
            yield Case("method", name, (x,))
    yield Case("top", "is_tensor", (3,))
    yield Case("method", "stride", (d.f((4, 3), nc=True),))
    yield Case("method", "stride", (d.f((2, 3, 4)), 1))
    yield Case("method", "type", (d.f((2,)), "torch.DoubleTensor"))
    for n, k in ((5, 3), (1, 1), (4, 0)):
        yield Case("top", "randint", (0, n, (k,)))
        yield Case("top", "randperm", (n,))
    yield Case("top", "multinomial", (Arr(np.array([0.2, 0.3, 0.5])), 2))


def query_cases() -> Iterable[Case]:
    d = Draw(42)
    a, b = d.f((3, 4)), d.f((3, 4))
    ints = Arr(np.array([[0, 2, 0], [3, 0, 1]]))
    for x in (a, ints, d.b((2, 3)), d.f(()), Arr(np.zeros((0, 3)))):
        yield Case("top", "nonzero", (x,))
        yield Case("method", "nonzero", (x,))
        yield Case("top", "nonzero", (x,), {"as_tuple": True})
    for name in ("equal", "allclose"):
        for other in (a, b, d.f((4,)), Arr(a.value.astype(np.float32))):
            yield Case("top", name, (a, other))
            yield Case("method", name, (a, other))
    yield Case("top", "allclose", (a, b), {"atol": 10.0})
    for x in (d.f((2,)), d.f((1, 1)), d.i(()), d.b((3,))):
        for name in ("__float__", "__int__", "__bool__", "__len__", "is_floating_point"):
            yield Case("method", name, (x,))
    values = Arr(np.array([3, 1, 3, 2, 1, 3]))
    for kwargs in ({}, {"return_counts": True}, {"return_inverse": True}, {"sorted": True}):
        yield Case("top", "unique", (values,), kwargs)
        yield Case("method", "unique", (values,), kwargs)
    yield Case("top", "unique", (Arr(np.array([[1, 2], [1, 2]])),), {"dim": 0})
    for x, kwargs in ((values, {}), (values, {"minlength": 6}), (Arr(np.array([-1, 2])), {})):
        yield Case("top", "bincount", (x,), kwargs)
        yield Case("method", "bincount", (x,), kwargs)
    yield Case("top", "bincount", (values,), {"weights": d.f((6,), grad=False)})
    for indexing in ("ij", "xy"):
        yield Case("top", "meshgrid", (d.f((3,)), d.f((2,))), {"indexing": indexing})
    mask = d.b((3, 4))
    yield Case("top", "masked_select", (a, mask))
    yield Case("top", "repeat_interleave", (a, 2), {"dim": 1})
    yield Case("top", "triu", (a, 1))
    for low, high in ((-0.5, 0.5), (None, 0.0)):
        yield Case("top", "clamp", (a, low, high))
        yield Case("method", "clip", (a, low, high))


INPLACE = {
    "add_": (1.5,),
    "sub_": (0.5,),
    "mul_": (2.0,),
    "div_": (4.0,),
    "pow_": (2,),
    "clamp_": (-0.5, 0.5),
    "clip_": (-0.5, 0.5),
    "masked_fill_": ("mask", 0.0),
    "abs_": (),
    "neg_": (),
    "exp_": (),
    "log_": (),
    "sqrt_": (),
    "relu_": (),
    "sigmoid_": (),
    "tanh_": (),
    "zero_": (),
    "fill_": (3.0,),
    "copy_": ("other",),
}


def inplace_cases() -> Iterable[Case]:
    """In-place ops on a copy made by an op (the gradient flows back through them), on a leaf
    that requires grad (refused) and on integers (no float result written into them)."""
    d = Draw(43)
    for name, extra in INPLACE.items():
        for x in (
            d.f((3, 4), low=0.2, high=2, clone=True),
            d.f((3, 4), "float32", low=0.2, high=2, clone=True),
            d.f((3, 4), low=0.2, high=2),
            d.f((3, 4), low=0.2, high=2, grad=False),
            d.i((3, 4), 1, 4),
        ):
            args = tuple(
                d.b((4,)) if a == "mask" else d.f((4,)) if a == "other" else a for a in extra
            )
            yield Case("method", name, (x, *args))
    yield Case("method", "add_", (d.f((3, 1), clone=True), d.f((3, 4))))  # cannot broadcast self
    yield Case("method", "add_", (d.f((3, 4), clone=True), d.f((4,))))
    yield Case("method", "add_", (d.i((3, 4)), d.i((4,))))
    yield Case("method", "add_", (d.f((3, 4), clone=True), d.f((4,)), 3))  # alpha=3
    yield Case("method", "mul_", (d.f((3, 4), "float32", clone=True), d.f((4,))))
    yield Case("method", "copy_", (d.f((3, 4), clone=True), d.i((3, 4))))


def keyword_cases() -> Iterable[Case]:
    """PyTorch's keyword arguments and alternative forms, which ported code uses."""
    d = Draw(44)
    x, y = d.f((3, 4)), d.f((3, 4))
    f64 = gradviz.float64
    yield Case("F", "softmax", (d.f((3, 4), "float32"),), {"dim": 1, "dtype": f64})
    yield Case("F", "log_softmax", (d.f((3, 4), "float32"),), {"dim": 1, "dtype": f64})
    yield Case("method", "softmax", (d.f((3, 4), "float32"), 1), {"dtype": f64})
    yield Case("method", "mean", (d.i((3, 4)),), {"dtype": gradviz.float32})
    yield Case("method", "cumsum", (d.i((3, 4)), 0), {"dtype": f64})
    yield Case("method", "prod", (x, 1), {"dtype": gradviz.float32})
    for name in ("max", "min"):
        yield Case("top", name, (x, y))  # the elementwise form
        yield Case("top", name, (x,), {"dim": 1, "keepdim": True})
    yield Case("top", "where", (d.b((3, 4)),))  # the one-argument form: nonzero
    yield Case("method", "clamp", (x,), {"min": d.f((4,), grad=False)})
    yield Case("method", "clamp", (x,), {"max": 0.5})
    yield Case("method", "permute", (d.f((2, 3, 4)),), {"dims": (2, 0, 1)})
    yield Case("method", "unsqueeze", (x,), {"dim": 1})
    yield Case("method", "squeeze", (d.f((1, 3, 1)),), {"dim": (0, 2)})
    yield Case("method", "split", (x,), {"split_size": 2, "dim": 1})
    yield Case("method", "repeat", (x, (2, 1)))
    yield Case("method", "expand", (d.f((3, 1)), (3, 4)))
    yield Case("method", "transpose", (x,), {"dim0": 0, "dim1": 1})
    yield Case("method", "flatten", (d.f((2, 3, 4)),), {"start_dim": 1})
    yield Case("method", "argmax", (x,), {"dim": 1, "keepdim": True})
    yield Case("method", "std", (x,), {"dim": (0, 1), "correction": 0, "keepdim": True})
    yield Case("method", "var", (x, 1, True))  # unbiased by position
    yield Case("method", "norm", (x,), {"dim": (0, 1)})
    yield Case("method", "to", (x,), {"dtype": gradviz.float32})
    yield Case("method", "to", (x, "cpu"))
    yield Case("method", "type", (x, gradviz.float32))
    yield Case("top", "cat", ((x, y),), {"dim": 1})
    yield Case("top", "stack", ((x, y),), {"dim": -1})
    yield Case("method", "gather", (x,), {"dim": 1, "index": d.i((3, 2), 0, 4)})
    yield Case("method", "masked_fill", (x,), {"mask": d.b((3, 4)), "value": 0.0})
    yield Case("method", "pow", (x,), {"exponent": 2})
    yield Case("method", "add", (x,), {"other": y, "alpha": -1})
    yield Case("method", "sum", (x,), {"dim": [0, 1]})
    yield Case("method", "logsumexp", (x,), {"dim": 1, "keepdim": True})
    yield Case("method", "topk", (x,), {"k": 2, "dim": 0, "largest": False, "sorted": True})
    yield Case("method", "sort", (x,), {"stable": True, "dim": 0})


CASES = all_cases(
    (creation_cases, None), (query_cases, None), (inplace_cases, None), (keyword_cases, None)
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])


#: twins without differential cases, and where they are tested instead (any
#: ``test_differential_*.py`` may have such a table)
NOT_HERE = {
    "backward": "the engine itself: tests/test_engine.py, and every case's gradients",
    "register_hook": "hooks: tests/test_grad_hooks.py",
    "retain_grad": "non-leaf gradients: tests/test_engine.py",
    "requires_grad_": "a flag, not a function of values: tests/test_engine.py",
    "detach_": "a flag, not a function of values: tests/test_inplace.py",
    "normal_": "random: tests/test_creation.py (the distribution)",
    "uniform_": "random: tests/test_creation.py (the distribution)",
    "manual_seed": "the generator: tests/test_creation.py",
    "get_default_dtype": "global state: tests/test_creation.py",
    "set_default_dtype": "global state: tests/test_creation.py",
    "is_grad_enabled": "global state: tests/test_engine.py",
    "is_inference_mode_enabled": "global state: tests/test_engine.py",
    "set_grad_enabled": "global state: tests/test_engine.py",
    "save": "files: tests/test_hostile_persist.py",
    "load": "files: tests/test_hostile_persist.py",
    "dropout1d": "random in training: the nn.Dropout1d row of test_differential_nn.py",
    "dropout2d": "random in training: the nn.Dropout2d row of test_differential_nn.py",
    "dropout3d": "random in training: the nn.Dropout3d row of test_differential_nn.py",
    "cuda": "no GPU: an error saying gradviz runs on the CPU, tests/test_hostile_round3*.py",
    **dict.fromkeys(
        ("initial_seed", "seed", "get_rng_state", "set_rng_state"),
        "the generator's state: tests/test_hostile_round4.py",
    ),
    **dict.fromkeys(
        ("use_deterministic_algorithms", "are_deterministic_algorithms_enabled"),
        "global state: tests/test_hostile_round4.py",
    ),
}


def test_every_twin_has_cases():
    """Each public method, top-level function and ``nn.functional`` function with a PyTorch
    twin of its name is called by some case, or says above where it is tested."""
    here = Path(__file__).parent
    modules = [importlib.import_module(p.stem) for p in here.glob("test_differential_*.py")]
    called = {(c.kind, c.name) for m in modules if hasattr(m, "CASES") for c in m.CASES}
    elsewhere = {name for m in modules for name in getattr(m, "NOT_HERE", {})}
    missing = [
        f"{kind}.{name}"
        for kind, names in twins().items()
        for name in names
        if (kind, name) not in called and name not in elsewhere
    ]
    assert not missing, f"twins without cases: {missing}"
