"""Arithmetic and elementwise ops that record nothing (under ``no_grad``, or of Variables that
do not require grad) take a shorter way to NumPy: they must give exactly what the op's
``Function`` gives (values, dtype, shape, errors), and a listening tracer must still see them."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import gradviz
from gradviz.autograd import inplace, ops
from gradviz.autograd.errors import GradvizError
from gradviz.autograd.variable import _operand

BINARY = [
    (operator.add, ops.Add),
    (operator.sub, ops.Sub),
    (operator.mul, ops.Mul),
    (operator.truediv, ops.Div),
]
UNARY = [
    (gradviz.Variable.tanh, ops.Tanh),
    (gradviz.Variable.exp, ops.Exp),
    (gradviz.Variable.sin, ops.Sin),
    (gradviz.Variable.cos, ops.Cos),
    (gradviz.Variable.abs, ops.Abs),
    (operator.neg, ops.Neg),
]

rng = np.random.default_rng(0)


def _array(dtype, shape=(3, 4)):
    return (rng.standard_normal(shape) + 2).astype(dtype)


OTHERS = {
    "same float32": lambda: _array(np.float32),
    "float64 array": lambda: _array(np.float64),
    "int array": lambda: np.arange(1, 13).reshape(3, 4),
    "0-d float64": lambda: np.array(1.5),
    "row": lambda: _array(np.float32, (4,)),
    "python float": lambda: 0.75,
    "python int": lambda: 3,
    "huge int": lambda: 10**400,
    "bool": lambda: True,
    "variable": lambda: gradviz.Variable(_array(np.float32)),
    "float64 variable": lambda: gradviz.Variable(_array(np.float64)),
    "list": lambda: [1.0, 2.0, 3.0, 4.0],
    "bad shape": lambda: _array(np.float32, (5,)),
}


def _outcome(compute):
    """(dtype, shape, values) of what ``compute()`` gives, or the error's type and message."""
    try:
        out = compute()
    except (GradvizError, TypeError, OverflowError) as error:
        return type(error), str(error)
    assert isinstance(out, gradviz.Variable)
    assert not out.requires_grad
    assert out.grad_fn is None
    return out.dtype, out.shape, out.numpy().tolist()


@pytest.mark.parametrize("reflected", [False, True], ids=["x op y", "y op x"])
@pytest.mark.parametrize("other", list(OTHERS), ids=list(OTHERS))
@pytest.mark.parametrize(("operator_", "op"), BINARY, ids=[op.__name__ for _, op in BINARY])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_an_unrecorded_binary_op_gives_what_its_function_gives(
    operator_, op, other, reflected, dtype
):
    x = gradviz.Variable(_array(dtype))
    y = OTHERS[other]()
    pair = (y, x) if reflected else (x, y)
    with np.errstate(all="ignore"):
        fast = _outcome(lambda: operator_(*pair))
        try:
            y = _operand("+", y)  # what the operator passes its op: lists as arrays, ...
        except GradvizError:
            pass
        through = _outcome(lambda: op.apply(*((y, x) if reflected else (x, y))))
    assert fast == through


@pytest.mark.parametrize(("method", "op"), UNARY, ids=[op.__name__ for _, op in UNARY])
@pytest.mark.parametrize("shape", [(3, 4), ()], ids=["matrix", "0-d"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_an_unrecorded_unary_op_gives_what_its_function_gives(method, op, shape, dtype):
    if dtype is np.bool_ and op is ops.Neg:
        pytest.skip("negating a bool is an error either way")
    x = gradviz.Variable(_array(np.float64, shape).astype(dtype))
    assert _outcome(lambda: method(x)) == _outcome(lambda: op.apply(x))


def test_no_grad_ops_of_parameters_give_plain_variables():
    w = gradviz.nn.Parameter(_array(np.float32))
    with gradviz.no_grad():
        out = w * 2.0 - w / 4 + w.tanh()
    assert type(out) is gradviz.Variable
    assert not out.requires_grad
    assert out.dtype == np.float32
    np.testing.assert_allclose(
        out.numpy(), w.numpy() * 2 - w.numpy() / 4 + np.tanh(w.numpy()), rtol=1e-6
    )


def test_ops_that_require_grad_still_record():
    x = gradviz.Variable(_array(np.float32), requires_grad=True)
    out = ((x * 2 + 1) / 3 - x).tanh().exp()
    assert out.grad_fn is not None
    out.sum().backward()
    assert x.grad is not None
    assert x.grad.shape == (3, 4)


def test_a_tracer_still_sees_unrecorded_ops():
    x = gradviz.Variable(_array(np.float32))
    with gradviz.trace() as tr:
        with gradviz.no_grad():
            y = (x * 2).tanh()
        (y.sum() * gradviz.Variable(np.ones((), np.float32), requires_grad=True)).backward()
    ops_seen = {node["op"] for _, node in tr.graph.nodes(data=True)}
    assert {"Mul", "Tanh"} <= ops_seen


INPLACE = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "sub_(alpha=1)": lambda w, y: w.sub_(y),
    "add_(alpha=-1)": lambda w, y: w.add_(y, alpha=-1),
}


def _write_outcome(write, w, y):
    """What ``write(w, y)`` under no_grad gives: (same object, dtype, values, version count), or
    the error's type and message."""
    before = w._vc.version if w._vc is not None else 0
    try:
        with gradviz.no_grad():
            out = write(w, y)
    except (GradvizError, TypeError, OverflowError) as error:
        return type(error), str(error)
    return out is w, w.dtype, w.numpy().tolist(), w._vc.version - before


@pytest.mark.parametrize("other", list(OTHERS), ids=list(OTHERS))
@pytest.mark.parametrize("write", list(INPLACE.values()), ids=list(INPLACE))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_an_unrecorded_inplace_write_gives_what_the_general_way_gives(
    write, other, dtype, monkeypatch
):
    data, y = _array(dtype), OTHERS[other]()
    floats = data.dtype.kind == "f"  # a parameter, as an optimizer updates; ints cannot be one
    with np.errstate(all="ignore"):
        fast = _write_outcome(write, gradviz.Variable(data.copy(), requires_grad=floats), y)
        monkeypatch.setattr(inplace, "numpy_operand", lambda x, other: None)
        general = _write_outcome(write, gradviz.Variable(data.copy(), requires_grad=floats), y)
    assert fast == general
