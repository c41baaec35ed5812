"""In-place ops (``+=``, ``add_``, ``masked_fill_``, ``h[i] = v`` ...) against PyTorch's semantics.

One op table (``ROWS``) drives most tests. A row's ``write(lib, h, other)`` is run on gradviz and,
when it is installed, on torch (``lib`` makes leaves and constants for either), so the same script
is compared value for value: the result, the version counter, leaf status and every gradient.
Without torch, the rows are still checked against ``gradcheck`` (float64), against the no-grad path,
and for the object identity that PyTorch code relies on.
"""

from __future__ import annotations

import contextlib
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz import Variable

LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation"
VERSION_ERROR = "modified by an inplace operation"
VERSIONS = re.compile(r"is at version (\d+); expected version (\d+)")


@pytest.fixture
def torch():
    """torch, or skip: the comparisons need the pinned CPU build (``pip install torch==2.13.0``)."""
    return pytest.importorskip("torch")


# ------------------------------------------------------------------ the same script, two libraries


class GV:
    """gradviz's side of a script: leaves, constants (ndarrays), ``no_grad``, values back."""

    @staticmethod
    def leaf(array: Any, requires_grad: bool = True) -> Variable:
        return Variable(np.array(array, dtype=np.float64), requires_grad=requires_grad)

    @staticmethod
    def const(array: Any) -> Any:
        return np.asarray(array)

    @staticmethod
    def no_grad() -> Any:
        return gradviz.no_grad()

    @staticmethod
    def numpy(value: Any) -> np.ndarray:
        return np.array(value.numpy() if isinstance(value, Variable) else value)


class Torch:
    """torch's side of a script, with the same methods as ``GV``."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch

    def leaf(self, array: Any, requires_grad: bool = True) -> Any:
        data = np.array(array, dtype=np.float64)
        return self.torch.tensor(data, requires_grad=requires_grad)

    def const(self, array: Any) -> Any:
        return self.torch.as_tensor(np.asarray(array))

    def no_grad(self) -> Any:
        return self.torch.no_grad()

    @staticmethod
    def numpy(value: Any) -> np.ndarray:
        return value.detach().numpy().copy()


def _plain(lib: Any, value: Any) -> Any:
    """Python scalars and None stay; Variables, tensors and arrays become ndarrays."""
    if value is None or isinstance(value, bool | int | float | str | tuple | np.ndarray):
        return value
    return lib.numpy(value)


def compare(script: Callable[..., dict[str, Any]], torch: Any, *args: Any) -> dict[str, Any]:
    """Run ``script(lib, *args)`` with gradviz and with torch; every reported entry must agree."""
    ours = {k: _plain(GV, v) for k, v in script(GV, *args).items()}
    lib = Torch(torch)
    theirs = {k: _plain(lib, v) for k, v in script(lib, *args).items()}
    for key, mine in ours.items():
        if key not in theirs:
            continue
        other = theirs[key]
        if isinstance(mine, np.ndarray) or isinstance(other, np.ndarray):
            assert mine is not None, f"{key}: gradviz None, torch {other}"
            assert other is not None, f"{key}: gradviz {mine}, torch None"
            assert mine.shape == other.shape, f"{key}: shapes {mine.shape} vs {other.shape}"
            np.testing.assert_allclose(mine, other, rtol=1e-10, atol=1e-12, err_msg=key)
        else:
            assert mine == other, f"{key}: gradviz {mine!r}, torch {other!r}"
    assert ours.keys() == theirs.keys()
    return ours


# ---------------------------------------------------------------------------------- the op table


@dataclass(frozen=True)
class Row:
    """``h = x * w`` (leaves of shape ``shape``, or ``x = values`` and ``w = 1``), then ``write``.

    ``other`` is the shape of a second leaf passed to ``write`` (None: no such operand); ``node``
    is the op gradviz records (``method`` the name its errors use). Explicit ``values`` sit on
    kinks on purpose: those rows are compared with torch, not with gradcheck.
    """

    id: str
    node: str
    write: Callable[[Any, Any, Any], Any]
    other: tuple[int, ...] | None = None
    shape: tuple[int, ...] = (3, 4)
    values: tuple[float, ...] | None = None
    low: float = -2.0
    high: float = 2.0
    random: bool = False  # the new value is drawn: compare gradients, not values
    saves_output: bool = False  # PyTorch saves the result: a second write breaks backward

    @property
    def method(self) -> str:
        """``MaskedFill_`` -> ``masked_fill_``; ``IndexPut_`` -> ``__setitem__``."""
        if self.node == "IndexPut_":
            return "__setitem__"
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.node).lower()

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        rng = np.random.default_rng(sum(ord(c) * (i + 1) for i, c in enumerate(self.id)))
        if self.values is not None:
            x = np.array(self.values, dtype=np.float64)
            w = np.ones_like(x)
        else:
            x = rng.uniform(self.low, self.high, self.shape)
            w = rng.uniform(self.low, self.high, self.shape)
        o = None if self.other is None else rng.uniform(self.low, self.high, self.other)
        return x, w, o

    def returned_ok(self, out: Any, h: Any) -> bool:
        """In-place methods return the object itself; ``__setitem__`` returns None."""
        return out is None if self.method == "__setitem__" else out is h


MASK = np.array([[1, 0, 0, 1], [0, 0, 1, 0], [1, 1, 0, 0]], dtype=bool)
ROW = np.array([False, True, False, True])
KINKS = (-1.0, -0.5, 0.0, 0.5, 1.0)  # clamp_ bounds, where PyTorch's subgradient choice shows


def _setitem(index: Any, value: Any = None) -> Callable[[Any, Any, Any], None]:
    """``h[index] = value`` (``other`` when value is None); arrays in the index become constants."""

    def write(lib: Any, h: Any, o: Any) -> None:
        parts = index if isinstance(index, tuple) else (index,)
        lifted = tuple(lib.const(p) if isinstance(p, np.ndarray) else p for p in parts)
        h[lifted if isinstance(index, tuple) else lifted[0]] = o if value is None else value

    return write


ROWS = [
    Row("iadd", "Add_", lambda lib, h, o: operator.iadd(h, o), other=(3, 4)),
    Row("iadd_broadcast", "Add_", lambda lib, h, o: operator.iadd(h, o), other=(4,)),
    Row("iadd_number", "Add_", lambda lib, h, o: operator.iadd(h, 1.5)),
    Row("isub", "Sub_", lambda lib, h, o: operator.isub(h, o), other=(3, 1)),
    Row("imul", "Mul_", lambda lib, h, o: operator.imul(h, o), other=(3, 1)),
    Row("imul_number", "Mul_", lambda lib, h, o: operator.imul(h, -2.5)),
    Row("itruediv", "Div_", lambda lib, h, o: operator.itruediv(h, o), other=(4,), low=0.5),
    Row("ipow_number", "Pow_", lambda lib, h, o: operator.ipow(h, 3)),
    Row(
        "ipow_variable",
        "Pow_",
        lambda lib, h, o: operator.ipow(h, o),
        (3, 4),
        low=0.5,
        saves_output=True,
    ),
    Row("add_alpha", "Add_", lambda lib, h, o: h.add_(o, alpha=2.5), other=(3, 4)),
    Row("add_constant", "Add_", lambda lib, h, o: h.add_(lib.const(np.arange(4.0)), alpha=-0.5)),
    Row("sub_alpha", "Sub_", lambda lib, h, o: h.sub_(o, alpha=0.5), other=(4,)),
    Row("sub_", "Sub_", lambda lib, h, o: h.sub_(o), other=(3, 4)),
    Row("mul_", "Mul_", lambda lib, h, o: h.mul_(o), other=(3, 4)),
    Row("div_", "Div_", lambda lib, h, o: h.div_(o), other=(3, 4), low=0.5),
    Row("div_number", "Div_", lambda lib, h, o: h.div_(4.0)),
    Row("pow_", "Pow_", lambda lib, h, o: h.pow_(2)),
    Row(
        "pow_variable", "Pow_", lambda lib, h, o: h.pow_(o), other=(4,), low=0.5, saves_output=True
    ),
    Row("neg_", "Neg_", lambda lib, h, o: h.neg_()),
    Row("clamp_", "Clamp_", lambda lib, h, o: h.clamp_(-0.5, 0.5)),
    Row("clamp_min", "Clamp_", lambda lib, h, o: h.clamp_(min=0.0)),
    Row("clip_max", "Clamp_", lambda lib, h, o: h.clip_(max=0.3)),
    Row("clamp_at_bounds", "Clamp_", lambda lib, h, o: h.clamp_(-0.5, 0.5), values=KINKS),
    Row("zero_", "Zero_", lambda lib, h, o: h.zero_()),
    Row("fill_", "Fill_", lambda lib, h, o: h.fill_(2.5)),
    Row("fill_variable", "Fill_", lambda lib, h, o: h.fill_(o), other=()),
    Row("copy_", "Copy_", lambda lib, h, o: h.copy_(o), other=(3, 4)),
    Row("copy_broadcast", "Copy_", lambda lib, h, o: h.copy_(o), other=(4,)),
    Row("uniform_", "Uniform_", lambda lib, h, o: h.uniform_(-1.0, 1.0), random=True),
    Row("normal_", "Normal_", lambda lib, h, o: h.normal_(0.5, 2.0), random=True),
    Row("masked_fill_", "MaskedFill_", lambda lib, h, o: h.masked_fill_(lib.const(MASK), -1.5)),
    Row("masked_fill_row", "MaskedFill_", lambda lib, h, o: h.masked_fill_(lib.const(ROW), 0.0)),
    Row("setitem_int", "IndexPut_", _setitem(0, 5.0)),
    Row("setitem_slice", "IndexPut_", _setitem((slice(None), slice(1, 3))), other=(3, 2)),
    Row("setitem_row", "IndexPut_", _setitem(1), other=(4,)),
    Row("setitem_int_array", "IndexPut_", _setitem(np.array([0, 2])), other=(2, 4)),
    Row("setitem_mask_number", "IndexPut_", _setitem(MASK, 0.0)),
    Row("setitem_mask_variable", "IndexPut_", _setitem(MASK), other=()),
    Row("setitem_mask_values", "IndexPut_", _setitem(MASK), other=(int(MASK.sum()),)),
]
GRADCHECK_ROWS = [row for row in ROWS if row.values is None]  # gradcheck is wrong at kinks


def _ids(rows: list[Row]) -> list[str]:
    return [row.id for row in rows]


# ----------------------------------------------------------------- recorded (non-leaf) writes


THEN = ["alone", "then_add_"]  # the row's write alone, or followed by ``h.add_(1)``


def _recorded(lib: Any, row: Row, then: str) -> dict[str, Any]:
    ax, aw, ao = row.arrays()
    x, w = lib.leaf(ax), lib.leaf(aw)
    o = None if ao is None else lib.leaf(ao)
    h = x * w
    out = row.write(lib, h, o)
    if then == "then_add_":
        h.add_(1.0)
    seen = {
        "returned": row.returned_ok(out, h),
        "version": h._version,
        "is_leaf": h.is_leaf,
        "requires_grad": h.requires_grad,
    }
    if not row.random:
        seen["value"] = h
    try:
        ((h**2).sum() + h.sum()).backward()
    except RuntimeError as error:  # PyTorch's saved output overwritten by the second write
        versions = VERSIONS.search(str(error))
        return seen | {"raised": True, "versions": versions and tuple(map(int, versions.groups()))}
    grads = {"x.grad": x.grad, "w.grad": w.grad, "o.grad": None if o is None else o.grad}
    return seen | {"raised": False} | grads


@pytest.mark.parametrize("then", THEN)
@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_recorded_write_matches_torch(row: Row, then: str, torch):
    compare(_recorded, torch, row, then)


@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_recorded_write_keeps_the_object_and_records_the_op(row: Row):
    ax, aw, ao = row.arrays()
    x, w = GV.leaf(ax), GV.leaf(aw)
    o = None if ao is None else GV.leaf(ao)
    h = x * w
    data, before = h.numpy(), h.numpy().copy()
    out = row.write(GV, h, o)
    assert row.returned_ok(out, h)
    assert h.numpy() is data, "the write must go into the existing array"
    assert h.op == row.node
    assert type(h.grad_fn).__name__ == row.node
    assert (h.is_leaf, h.requires_grad, h._version) == (False, True, 1)
    assert not np.shares_memory(h.parents[0].numpy(), data), "the old value must be kept apart"
    np.testing.assert_array_equal(h.parents[0].numpy(), before)


@pytest.mark.parametrize("then", THEN)
@pytest.mark.parametrize("row", GRADCHECK_ROWS, ids=_ids(GRADCHECK_ROWS))
def test_recorded_write_passes_gradcheck(row: Row, then: str):
    ax, aw, ao = row.arrays()

    def fn(x: Variable, *other: Variable) -> Variable:
        h = x * 1.0
        if row.random:
            gradviz.manual_seed(0)  # the same draw in every evaluation
        row.write(GV, h, other[0] if other else None)
        if then == "then_add_":
            h.add_(1.0)
        return h

    inputs = [GV.leaf(ax * aw)] + ([] if ao is None else [GV.leaf(ao)])
    if then == "then_add_" and row.saves_output:
        with pytest.raises(gradviz.BackwardError, match=f"{VERSION_ERROR}.*{row.node}"):
            gradviz.gradcheck(fn, inputs)
        return
    assert gradviz.gradcheck(fn, inputs) is True


# ------------------------------------------------------------------------------- unrecorded writes

MODES = ["no_grad", "constant"]  # a leaf that requires grad under no_grad; nothing requires grad


def _unrecorded(lib: Any, row: Row, mode: str) -> dict[str, Any]:
    ax, aw, ao = row.arrays()
    tracked = mode == "no_grad"
    p = lib.leaf(ax * aw, requires_grad=tracked)
    o = None if ao is None else lib.leaf(ao, requires_grad=tracked)
    if tracked:
        p.grad = lib.const(np.full(ax.shape, 7.0))
    with lib.no_grad() if tracked else contextlib.nullcontext():
        out = row.write(lib, p, o)
    seen = {
        "returned": row.returned_ok(out, p),
        "version": p._version,
        "is_leaf": p.is_leaf,
        "requires_grad": p.requires_grad,
        "no grad_fn": p.grad_fn is None,
        "grad": p.grad,
        "o.grad": None if o is None else o.grad,
    }
    if not row.random:
        seen["value"] = p
    return seen


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_unrecorded_write_matches_torch(row: Row, mode: str, torch):
    compare(_unrecorded, torch, row, mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_unrecorded_write_keeps_identity_flags_and_grad(row: Row, mode: str):
    ax, aw, ao = row.arrays()
    tracked = mode == "no_grad"
    p = GV.leaf(ax * aw, requires_grad=tracked)
    o = None if ao is None else GV.leaf(ao, requires_grad=tracked)
    grad = np.full(ax.shape, 7.0)
    p.grad = grad
    data = p.numpy()
    with gradviz.no_grad() if tracked else contextlib.nullcontext():
        if row.random:
            gradviz.manual_seed(1)
        out = row.write(GV, p, o)
    assert row.returned_ok(out, p)
    assert p.numpy() is data
    assert p.grad.numpy() is grad
    np.testing.assert_array_equal(grad, 7.0)
    assert (p.is_leaf, p.requires_grad, p.grad_fn, p._version) == (True, tracked, None, 1)
    # the same write, recorded, computes the same value
    h = GV.leaf(ax) * GV.leaf(aw)
    if row.random:
        gradviz.manual_seed(1)
    row.write(GV, h, o)
    np.testing.assert_allclose(p.numpy(), h.numpy(), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------- leaves refuse while recording


@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_leaf_that_requires_grad_refuses(row: Row):
    ax, aw, ao = row.arrays()
    p = GV.leaf(ax * aw)
    o = None if ao is None else GV.leaf(ao)
    before = p.numpy().copy()
    with pytest.raises(gradviz.InplaceError, match=LEAF_ERROR) as info:
        row.write(GV, p, o)
    assert isinstance(info.value, RuntimeError)
    assert row.method in str(info.value)
    np.testing.assert_array_equal(p.numpy(), before)
    assert (p.is_leaf, p.requires_grad, p.grad_fn, p._version) == (True, True, None, 0)


@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_leaf_that_requires_grad_refuses_like_torch(row: Row, torch):
    ax, aw, ao = row.arrays()
    lib = Torch(torch)
    p = lib.leaf(ax * aw)
    o = None if ao is None else lib.leaf(ao)
    with pytest.raises(RuntimeError, match=LEAF_ERROR):
        row.write(lib, p, o)


# ------------------------------------------------------------------------------ scripts vs torch


def _chain(lib: Any) -> dict[str, Any]:
    """The chain from the spec: every kind of recorded write on one Variable."""
    rng = np.random.default_rng(7)
    x, w, b, c = (lib.leaf(rng.uniform(-2, 2, shape)) for shape in [(3, 4), (3, 4), (4,), (3, 1)])
    mask = lib.const(rng.uniform(size=(3, 4)) > 0.5)
    h = x * w
    h += b
    h *= c
    h[0] = 5.0
    h.masked_fill_(mask, 0)
    seen = {"value": h, "version": h._version, "is_leaf": h.is_leaf}
    (h**2).sum().backward()
    return seen | {"x.grad": x.grad, "w.grad": w.grad, "b.grad": b.grad, "c.grad": c.grad}


def test_chain_of_writes_matches_torch(torch):
    seen = compare(_chain, torch)
    assert seen["version"] == 4


def test_chain_of_writes_records_each_op():
    x, w, b = GV.leaf(np.ones((2, 3))), GV.leaf(np.ones((2, 3))), GV.leaf(np.ones(3))
    h = x * w
    ops = []
    for write in [
        lambda: operator.iadd(h, b),
        lambda: operator.imul(h, 2.0),
        lambda: operator.setitem(h, 0, 5.0),
        lambda: h.masked_fill_(np.eye(2, 3, dtype=bool), 0.0),
    ]:
        write()
        ops.append(h.op)
    assert ops == ["Add_", "Mul_", "IndexPut_", "MaskedFill_"]
    assert h._version == 4
    # the history is a chain: each write's first parent is the value before it
    walk, names = h, []
    while walk.grad_fn is not None:
        names.append(walk.op)
        walk = walk.parents[0]
    assert names == ["MaskedFill_", "IndexPut_", "Mul_", "Add_", "Mul"]


def _constant_target(lib: Any) -> dict[str, Any]:
    """A buffer that does not require grad, written with operands that do: recorded."""
    rng = np.random.default_rng(3)
    w, v, s = lib.leaf(rng.uniform(-2, 2, 4)), lib.leaf(rng.uniform(-2, 2, (3, 4))), lib.leaf(0.7)
    buf = lib.leaf(np.zeros((3, 4)), requires_grad=False)
    leaf_before = buf.is_leaf
    buf[1] = w
    buf += v
    buf.mul_(s)
    seen = {"leaf_before": leaf_before, "is_leaf": buf.is_leaf, "rg": buf.requires_grad}
    seen["version"] = buf._version
    (buf**3).sum().backward()
    return seen | {"value": buf, "w.grad": w.grad, "v.grad": v.grad, "s.grad": s.grad}


def test_buffer_written_with_operands_that_require_grad_matches_torch(torch):
    compare(_constant_target, torch)


def test_buffer_written_with_operands_that_require_grad_is_recorded():
    buf = Variable(np.zeros(3))
    w = GV.leaf(np.arange(3.0))
    data = buf.numpy()
    buf += w
    assert buf.numpy() is data
    assert (buf.op, buf.is_leaf, buf.requires_grad, buf._version) == ("Add_", False, True, 1)
    (buf * buf).sum().backward()
    np.testing.assert_allclose(w.grad, 2 * np.arange(3.0))


@dataclass(frozen=True)
class VersionCase:
    """``script(lib, a, b) -> loss`` on leaves ``A`` and ``B``, and the error gradviz must raise
    at backward: (node named, version now, version expected), or None for no error."""

    id: str
    script: Callable[[Any, Any, Any], Any]
    error: tuple[str, int, int] | None


A = [0.5, 1.0, 1.5]
B = [2.0, -1.0, 0.5]
VERSION_CASES: list[VersionCase] = []


def version_case(error: tuple[str, int, int] | None) -> Callable[[Callable], Callable]:
    def register(script: Callable[[Any, Any, Any], Any]) -> Callable[[Any, Any, Any], Any]:
        VERSION_CASES.append(VersionCase(script.__name__, script, error))
        return script

    return register


@version_case(("Exp", 1, 0))
def exp_output_written(lib, a, b):
    y = (a * b).exp()
    y.add_(1)
    return y.sum()


@version_case(("Exp", 2, 0))
def exp_output_written_twice(lib, a, b):
    y = (a * b).exp()
    y.add_(1)
    y.mul_(2)
    return y.sum()


@version_case(("Mul", 1, 0))
def mul_input_written_under_no_grad(lib, a, b):
    y = a * b
    with lib.no_grad():
        a.add_(1)
    return y.sum()


@version_case(None)
def add_input_written_under_no_grad(lib, a, b):  # Add saves nothing
    y = a + b
    with lib.no_grad():
        a.add_(1)
    return y.sum()


@version_case(("Pow", 1, 0))
def pow_input_written(lib, a, b):
    h = a * b
    y = h**2
    h.add_(1)
    return y.sum()


@version_case(("Mul", 1, 0))
def mul_by_variable_input_written(lib, a, b):
    h = a * b
    y = h * b
    h.add_(1)
    return y.sum() + h.sum()


@version_case(("Sigmoid", 1, 0))
def sigmoid_output_written_under_no_grad(lib, a, b):
    y = (a * b).sigmoid()
    with lib.no_grad():
        y.mul_(2)
    return y.sum()


@version_case(("Exp", 1, 0))
def detach_shares_the_counter(lib, a, b):
    h = (a * b).exp()
    d = h.detach()
    d.add_(1)
    return h.sum()


# No error below: nothing a consumer saved was overwritten; it must use h's old value.


@version_case(None)
def mul_by_number_then_iadd(lib, a, b):  # PyTorch's Mul saves h only if the number needed grad
    h = a * b
    y = h * 2
    h += 1
    return y.sum() + (h * h).sum()


@version_case(None)
def add_then_imul(lib, a, b):
    h = a * b
    y = h + 3.0
    h *= 3
    return (y * y).sum() + (h * h).sum()


@version_case(None)
def sum_then_write(lib, a, b):
    h = a * b
    y = h.sum()
    h.mul_(3)
    return y + (h * h).sum()


@version_case(None)
def exp_input_written(lib, a, b):  # Exp saves its output, not its input
    h = a * b
    y = h.exp()
    h.add_(1)
    return y.sum() + (h * h).sum()


@version_case(None)
def detached_unsaved(lib, a, b):
    h = a + b
    d = h.detach()
    d.mul_(2)
    return (h * b).sum()


@version_case(None)
def write_before_use(lib, a, b):
    h = a * b
    h.add_(1)
    return h.exp().sum()


def _backward_outcome(lib: Any, case: VersionCase) -> dict[str, Any]:
    a, b = lib.leaf(A), lib.leaf(B)
    loss = case.script(lib, a, b)
    try:
        loss.backward()
    except RuntimeError as error:
        versions = VERSIONS.search(str(error))
        return {"raised": True, "versions": versions and tuple(map(int, versions.groups()))}
    return {"raised": False, "a.grad": a.grad, "b.grad": b.grad}


@pytest.mark.parametrize("case", VERSION_CASES, ids=[case.id for case in VERSION_CASES])
def test_version_check_matches_torch(case: VersionCase, torch):
    compare(_backward_outcome, torch, case)


@pytest.mark.parametrize("case", VERSION_CASES, ids=[case.id for case in VERSION_CASES])
def test_version_check(case: VersionCase):
    a, b = GV.leaf(A), GV.leaf(B)
    loss = case.script(GV, a, b)
    if case.error is None:
        loss.backward()
        assert a.grad is not None
        return
    node, version, expected = case.error
    with pytest.raises(gradviz.BackwardError, match=VERSION_ERROR) as info:
        loss.backward()
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert node in message
    assert f"is at version {version}; expected version {expected}" in message


def test_old_value_feeds_earlier_consumers():
    """The spec's ``y = h * 2; h += 1``: the gradient through y is taken at h before the write."""
    a = GV.leaf([1.0, 2.0])
    h = a * a
    y = h * 2
    h += 1
    (y.sum() + h.sum()).backward()
    np.testing.assert_allclose(a.grad, 2 * 2 * a.numpy() + 2 * a.numpy())
    b = GV.leaf([0.5, -1.0])
    h = b * b
    y = h.exp()  # saves its output only: writing h later is allowed
    h.mul_(3)
    (y.sum() + h.sum()).backward()
    np.testing.assert_allclose(b.grad, 2 * b.numpy() * np.exp(b.numpy() ** 2) + 6 * b.numpy())


def _versions(lib: Any) -> dict[str, Any]:
    """``_version`` after each write, recorded or not, and through ``detach``."""
    p = lib.leaf(np.arange(4.0))
    v = lib.leaf(np.arange(4.0), requires_grad=False)
    seen = {}
    with lib.no_grad():
        p.add_(1)
        seen["p1"] = p._version
        p -= 1
        p[0] = 3.0
        seen["p3"] = p._version
    for i, write in enumerate(
        [lambda: v.add_(1), lambda: v.mul_(2), lambda: v.__setitem__(1, 0.0), lambda: v.zero_()]
    ):
        write()
        seen[f"v{i}"] = v._version
    h = p * 2.0
    d = h.detach()
    d.add_(1)
    seen |= {"h": h._version, "d": d._version, "h value": h}
    h.mul_(3)
    seen |= {"h after": h._version, "d after": d._version, "d value": d}
    return seen


def test_version_counter_matches_torch(torch):
    compare(_versions, torch)


def test_detach_shares_data_and_version():
    h = GV.leaf(np.ones(3)) * 2.0
    d = h.detach()
    d.add_(1)
    assert (h._version, d._version) == (1, 1)
    assert np.shares_memory(h.numpy(), d.numpy())
    np.testing.assert_array_equal(h.numpy(), 3.0)
    h.mul_(2)
    assert d._version == 2


# ------------------------------------------------------------------------ requires_grad_, detach_


def _flags(v: Any) -> tuple[bool, bool, bool]:
    return v.is_leaf, v.requires_grad, v.grad_fn is None


def _flag_script(lib: Any) -> dict[str, Any]:
    v = lib.leaf([1.0, 2.0], requires_grad=False)
    seen = {"same": v.requires_grad_() is v, "after": _flags(v)}
    seen["off"] = _flags(v.requires_grad_(False))
    v.requires_grad_()
    x, w = lib.leaf([1.0, 2.0]), lib.leaf([3.0, -1.0])
    h = x * w
    seen["non-leaf on"] = _flags(h.requires_grad_())
    try:
        h.requires_grad_(False)
        seen["non-leaf off raises"] = False
    except (RuntimeError, gradviz.GradvizError):
        seen["non-leaf off raises"] = True
    y = h * 2
    seen["detach_ same"] = h.detach_() is h
    seen["detached"] = _flags(h)
    y.sum().backward()  # an earlier consumer keeps the history h had
    seen |= {"x.grad": x.grad, "w.grad": w.grad}
    try:
        v.add_(1)
        seen["leaf refuses"] = False
    except RuntimeError:
        seen["leaf refuses"] = True
    with lib.no_grad():
        h.add_(1)  # a detached Variable is a plain leaf: writes are allowed
    seen["h"] = h
    return seen


def test_requires_grad_and_detach_in_place_match_torch(torch):
    compare(_flag_script, torch)


def test_requires_grad_and_detach_in_place():
    v = Variable(np.array([1.0, 2.0]))
    assert v.requires_grad_() is v
    assert (v.is_leaf, v.requires_grad) == (True, True)
    h = v * 3.0
    with pytest.raises(gradviz.GradvizError, match="leaf variables"):
        h.requires_grad_(False)
    data = h.numpy()
    assert h.detach_() is h
    assert (h.is_leaf, h.requires_grad, h.grad_fn, h.op) == (True, False, None, None)
    assert h.numpy() is data
    with pytest.raises(gradviz.GradvizError, match="floating point"):
        Variable(np.arange(3)).requires_grad_()


def test_detach_in_place_keeps_history_of_earlier_consumers():
    x = GV.leaf([1.0, 2.0])
    h = x * x
    y = h * 3.0
    h.detach_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, 12.0])


# ----------------------------------------------------------------------------------------- errors


def test_int_variable_iadd_float_raises_cast():
    v = Variable(np.arange(3))
    with pytest.raises(gradviz.GradvizError, match="cast"):
        v += 0.5
    np.testing.assert_array_equal(v.numpy(), [0, 1, 2])
    assert v._version == 0
    v += 1  # an int operand is fine and keeps the dtype
    assert v.dtype == np.arange(3).dtype
    np.testing.assert_array_equal(v.numpy(), [1, 2, 3])


def test_int_variable_iadd_variable_that_requires_grad_raises_cast():
    v = Variable(np.arange(3))
    with pytest.raises(gradviz.GradvizError, match="cast"):
        v += GV.leaf([0.5, 0.5, 0.5])
    np.testing.assert_array_equal(v.numpy(), [0, 1, 2])
    assert (v._version, v.is_leaf, v.requires_grad) == (0, True, False)


def test_int_variable_iadd_float_raises_in_torch(torch):
    v = torch.arange(3)
    with pytest.raises(RuntimeError, match="can't be cast"):
        v += 0.5


@pytest.mark.parametrize("recorded", [False, True])
def test_broadcast_shape_bigger_than_target_raises(recorded: bool):
    x = GV.leaf(np.ones(3)) * 1.0 if recorded else Variable(np.ones(3))
    other = GV.leaf(np.ones((2, 3)), requires_grad=recorded)
    node = x.grad_fn
    with pytest.raises(gradviz.ShapeError, match="doesn't match the broadcast shape"):
        x += other
    np.testing.assert_array_equal(x.numpy(), 1.0)
    assert (x._version, x.grad_fn) == (0, node)


def test_broadcast_shape_bigger_than_target_raises_in_torch(torch):
    x = torch.ones(3)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        x += torch.ones(2, 3)


BAD_CALLS = [
    # (id, call, words both gradviz's and torch's messages contain)
    ("masked_fill_int_mask", lambda lib, v: v.masked_fill_(lib.const([1, 0, 1]), 0.0), "boolean"),
    (
        "masked_fill_float_mask",
        lambda lib, v: v.masked_fill_(lib.const(np.ones(3)), 0.0),
        "boolean",
    ),
    ("normal_negative_std", lambda lib, v: v.normal_(0.0, -1.0), "std >= 0"),
    ("clamp_without_bounds", lambda lib, v: v.clamp_(), "must not be None"),
    ("fill_with_a_vector", lambda lib, v: v.fill_(lib.const(np.ones(3))), "0-dimension"),
]


@pytest.mark.parametrize(("name", "call", "words"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_call_raises(name: str, call: Callable[[Any, Any], Any], words: str):
    v = GV.leaf([1.0, 2.0, 3.0], requires_grad=False)
    with pytest.raises(gradviz.GradvizError, match=words):
        call(GV, v)
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0, 3.0])
    assert v._version == 0


@pytest.mark.parametrize(("name", "call", "words"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_call_raises_in_torch(name: str, call: Callable[[Any, Any], Any], words: str, torch):
    lib = Torch(torch)
    v = lib.leaf([1.0, 2.0, 3.0], requires_grad=False)
    with pytest.raises(RuntimeError, match=words):
        call(lib, v)


INDICES = [0, slice(0, 2)]


@pytest.mark.parametrize("index", INDICES, ids=["int", "slice"])
def test_augmented_assignment_through_an_index_matches_torch(index: Any, torch):
    """``h[i] += 1`` is ``t = h[i]; t += 1; h[i] = t``: the write goes through a view of h."""

    def script(lib: Any) -> dict[str, Any]:
        x, w = lib.leaf([1.0, 2.0, 3.0]), lib.leaf([2.0, 2.0, 2.0])
        h = x * w
        h[index] += 1
        (h * h).sum().backward()
        return {"value": h, "x.grad": x.grad, "w.grad": w.grad}

    compare(script, torch)


@pytest.mark.parametrize("index", INDICES, ids=["int", "slice"])
def test_a_write_through_a_named_view_matches_torch(index: Any, torch):
    """``v = h[i]; v *= 3``: the write lands in h, and both histories say so."""

    def script(lib: Any) -> dict[str, Any]:
        x, w = lib.leaf([1.0, 2.0, 3.0]), lib.leaf([2.0, 2.0, 2.0])
        h = x * w
        v = h[index]
        v *= 3
        (h * h).sum().backward()
        return {"h": h, "v": v, "x.grad": x.grad, "w.grad": w.grad}

    compare(script, torch)


@pytest.mark.parametrize("index", INDICES, ids=["int", "slice"])
def test_a_view_read_before_its_base_is_written_is_a_clear_error(index: Any):
    """``y = h[i]; h *= 2; y.sum().backward()``: y's value changed under it. PyTorch rebuilds
    y's history; gradviz refuses with a clear error instead of a wrong gradient."""
    x, w = GV.leaf([1.0, 2.0, 3.0]), GV.leaf([2.0, 2.0, 2.0])
    h = x * w
    y = h[index]
    h *= 2
    np.testing.assert_allclose(np.ravel(y.numpy()), [4.0, 8.0][: np.size(y.numpy())])  # a view
    with pytest.raises(gradviz.BackwardError, match=r"a view .* was used by Sum after"):
        y.sum().backward()


def test_a_write_through_nested_index_views_matches_torch(torch):
    def script(lib: Any) -> dict[str, Any]:
        x = lib.leaf([[1.0, 2.0], [3.0, 4.0]])
        h = x * 2
        h[0][1] += 5  # t = h[0]; u = t[1]; u += 5; t[1] = u; h[0] = t
        (h * h).sum().backward()
        return {"h": h, "x.grad": x.grad, "h.version": h._version}

    compare(script, torch)


def test_views_share_the_version_counter_as_in_pytorch(torch):
    def script(lib: Any) -> dict[str, Any]:
        h = lib.leaf([1.0, 2.0, 3.0, 4.0], requires_grad=False)
        v, r = h[1:3], h.reshape(2, 2)
        with lib.no_grad():
            v.add_(1)
        return {"h": h, "h.version": h._version, "r.version": r._version}

    compare(script, torch)


def test_a_write_into_a_view_of_a_leaf_that_requires_grad_refuses():
    w = GV.leaf([1.0, 2.0, 3.0])
    with pytest.raises(gradviz.InplaceError, match="a view of a leaf Variable"):
        w[0:2] += 1


# ----------------------------------------------------------------------------------------- random


@pytest.mark.parametrize(
    ("method", "args"), [("uniform_", (-2.0, 3.0)), ("uniform_", ()), ("normal_", (1.0, 2.0))]
)
def test_random_fill_is_seeded_by_manual_seed(method: str, args: tuple[float, ...]):
    draws = []
    for seed in [5, 5, 6]:
        gradviz.manual_seed(seed)
        v = Variable(np.zeros(50))
        assert getattr(v, method)(*args) is v
        draws.append(v.numpy().copy())
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.array_equal(draws[0], draws[2])


def test_uniform_stays_in_range_with_the_right_moments():
    gradviz.manual_seed(0)
    v = Variable(np.zeros(200_000, dtype=np.float32))
    data = v.numpy()
    v.uniform_(-2.0, 3.0)
    assert v.numpy() is data
    assert v.dtype == np.float32
    assert v.numpy().min() >= -2.0
    assert v.numpy().max() < 3.0
    assert abs(v.numpy().mean() - 0.5) < 0.02
    assert abs(v.numpy().var() - 25 / 12) < 0.03
    v.uniform_()
    assert v.numpy().min() >= 0.0
    assert v.numpy().max() < 1.0
    assert abs(v.numpy().mean() - 0.5) < 0.01


def test_normal_has_the_right_moments():
    gradviz.manual_seed(0)
    v = Variable(np.zeros(200_000))
    v.normal_(1.0, 2.0)
    assert abs(v.numpy().mean() - 1.0) < 0.02
    assert abs(v.numpy().std() - 2.0) < 0.02
    v.normal_(-3.0, 0.0)
    np.testing.assert_array_equal(v.numpy(), -3.0)


# -------------------------------------------------------------------------- training by hand


def _train(lib: Any, steps: int = 25, lr: float = 0.1) -> dict[str, Any]:
    """Linear least squares with ``with no_grad(): w -= lr * w.grad``."""
    rng = np.random.default_rng(11)
    xs = rng.normal(size=(32, 3))
    ys = xs @ np.array([[1.5], [-2.0], [0.5]]) + 0.3 + 0.01 * rng.normal(size=(32, 1))
    x, y = lib.const(xs), lib.const(ys)
    w, b = lib.leaf(rng.normal(size=(3, 1))), lib.leaf(np.zeros(1))
    losses = []
    for _ in range(steps):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with lib.no_grad():
            w -= lr * w.grad
            b.sub_(b.grad, alpha=lr)
        w.grad = None
        b.grad = None
        losses.append(loss.item())
    return {"losses": np.array(losses), "w": w, "b": b, "flags": _flags(w) + _flags(b)}


def test_manual_sgd_matches_torch(torch):
    compare(_train, torch)


def test_manual_sgd_trains_and_keeps_the_parameters():
    seen = _train(GV)
    losses = seen["losses"]
    assert np.all(np.diff(losses) < 0)
    assert losses[-1] < 0.01 * losses[0]
    assert seen["flags"] == (True, True, True) * 2
    w = GV.leaf(np.zeros(3))
    data = w.numpy()
    for _ in range(3):
        (w * w - w).sum().backward()
        with gradviz.no_grad():
            w -= 0.5 * w.grad
        w.grad = None
    assert w.numpy() is data
    assert w.is_leaf
    assert w.requires_grad
    assert w._version == 3
