"""Differential test against PyTorch: seeded random calls through both libraries.

Each case names a function (a Variable method, a top-level function or one of
``nn.functional``) and its arguments; array arguments are drawn once from a fixed seed and
handed to both libraries as leaves. The case then compares what a user sees: the output's
values (tolerance by dtype), dtype, shape and ``requires_grad``; the gradient of every float
input (backward of a random weighted sum of the outputs); and errors (when PyTorch raises,
gradviz raises a ``GradvizError``; when PyTorch succeeds, so does gradviz).

This file holds the harness and the tables of known differences; the cases are in the
``test_differential_*.py`` files beside it (math, shape, functional, tensor, nn).
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError, Variable
from gradviz import functional as GF

torch = pytest.importorskip("torch")
TF = torch.nn.functional

#: (rtol, atol) of values and gradients by dtype
TOLERANCE = {"float32": (2e-4, 2e-5), "float64": (1e-6, 1e-9)}


@dataclass(frozen=True)
class Arr:
    """An array argument: a leaf (requiring grad when float and ``grad``) in each library;
    ``nc`` hands the op a transposed, non-contiguous view of a leaf instead, ``clone`` a copy
    made by an op (which in-place ops may change)."""

    value: np.ndarray
    grad: bool = True
    nc: bool = False
    clone: bool = False

    def label(self) -> str:
        shape = "x".join(map(str, self.value.shape)) or "0d"
        return f"{self.value.dtype}[{shape}]{'T' if self.nc else ''}{'C' if self.clone else ''}"


@dataclass(frozen=True)
class Case:
    """One call: ``kind`` is "method" (``args[0].name(*args[1:])``), "top", "F", a namespace
    ("linalg", "special") or "setitem" (``args[0][args[1]] = args[2]``, then ``args[0]``)."""

    kind: str
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        parts = [_label(a) for a in self.args]
        parts += [f"{k}={_label(v)}" for k, v in self.kwargs.items()]
        return f"{self.kind}.{self.name}({','.join(parts)})"


def _label(value: Any) -> str:
    if isinstance(value, Arr):
        return value.label()
    if isinstance(value, list | tuple) and any(isinstance(v, Arr) for v in value):
        return "[" + ",".join(_label(v) for v in value) + "]"
    return repr(value)


class Lib:
    """One library's view of a case: how it makes tensors and where its functions live."""

    def __init__(self, module: Any, functional: Any) -> None:
        self.module, self.functional = module, functional
        self.leaves: list[Any] = []

    def tensor(self, spec: Arr) -> Any:
        value = spec.value
        floating = value.dtype.kind == "f"
        base = np.ascontiguousarray(np.swapaxes(value, -1, -2)) if spec.nc else value
        leaf = self.module.tensor(base, requires_grad=spec.grad and floating)
        self.leaves.append(leaf if spec.grad and floating else None)
        if spec.clone:
            return leaf.clone()
        return leaf.transpose(-1, -2) if spec.nc else leaf

    def convert(self, value: Any) -> Any:
        if isinstance(value, Arr):
            return self.tensor(value)
        if isinstance(value, list | tuple):
            return type(value)(self.convert(v) for v in value)
        if isinstance(value, np.dtype) and self.module is torch:
            return getattr(torch, str(value))
        return value

    def call(self, case: Case) -> Any:
        args = [self.convert(a) for a in case.args]
        kwargs = {k: self.convert(v) for k, v in case.kwargs.items()}
        if case.kind == "method":
            return getattr(args[0], case.name)(*args[1:], **kwargs)
        if case.kind == "setitem":
            args[0][args[1]] = args[2]
            return args[0]
        home = {"F": self.functional, "top": self.module}.get(case.kind)
        if home is None:  # a namespace of the top package: "linalg", "special"
            home = getattr(self.module, case.kind)
        return getattr(home, case.name)(*args, **kwargs)


def _flat(out: Any) -> list[Any]:
    if isinstance(out, list | tuple):
        return [leaf for item in out for leaf in _flat(item)]
    return [out]


def _is_tensor(value: Any) -> bool:
    return isinstance(value, Variable | torch.Tensor)


def _numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):  # (force: PyTorch's zero gradients may be ZeroTensors)
        return value.detach().numpy(force=True)
    return np.asarray(value.data if isinstance(value, Variable) else value)


def _close(where: str, ours: Any, theirs: Any, dtype: str) -> None:
    rtol, atol = TOLERANCE.get(dtype, (0, 0))
    a, b = _numpy(ours), _numpy(theirs)
    assert a.shape == b.shape, f"{where}: shape {a.shape} != torch {b.shape}"
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=where, equal_nan=True)
    else:
        np.testing.assert_array_equal(a, b, err_msg=where)


def _tdtype(value: torch.Tensor) -> str:
    return str(value.dtype).removeprefix("torch.")


def compare_outputs(ours: Any, theirs: Any, values: bool = True) -> None:
    """Same structure, and per tensor: dtype, shape, values (unless random) and
    ``requires_grad``."""
    a, b = _flat(ours), _flat(theirs)
    assert len(a) == len(b), f"{len(a)} outputs != torch {len(b)}"
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        where = f"output {i}"
        if isinstance(y, torch.Tensor):
            assert isinstance(x, Variable), f"{where}: {type(x).__name__} != torch Tensor"
            assert str(x.dtype) == _tdtype(y), f"{where}: dtype {x.dtype} != torch {y.dtype}"
            assert tuple(x.shape) == tuple(y.shape), f"{where}: {x.shape} != torch {y.shape}"
            assert x.requires_grad == y.requires_grad, f"{where}: requires_grad differs"
            if values:
                _close(where, x, y, _tdtype(y))
        else:
            assert type(x) is type(y) or (_number(x) and _number(y)), (
                f"{where}: {type(x).__name__} != torch {type(y).__name__}"
            )
            _close(where, x, y, "float64")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _weighted_loss(outputs: Sequence[Any], weights: list[np.ndarray], make: Callable) -> Any:
    total = None
    with np.errstate(all="ignore"):  # (inf * w - inf * w: NaN, silently in both)
        for out, w in zip(outputs, weights, strict=True):
            term = (out * make(w)).sum()
            total = term if total is None else total + term
    return total


def compare_gradients(case: Case, ours: Any, theirs: Any, g: Lib, t: Lib) -> None:
    """Backward of the same random weighted sum of the float outputs; every leaf's grad."""
    if _listed(TORCH_GRAD_BUGS, case):
        return
    pairs = [
        (x, y)
        for x, y in zip(_flat(ours), _flat(theirs), strict=True)
        if isinstance(y, torch.Tensor) and y.requires_grad
    ]
    if not pairs:
        return
    rng = np.random.default_rng(len(case.id))
    weights = [rng.uniform(-1, 1, tuple(y.shape)).astype(_tdtype(y)) for _, y in pairs]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _weighted_loss([y for _, y in pairs], weights, torch.from_numpy).backward()
    except RuntimeError:  # PyTorch has no derivative: nor has gradviz, unless it defines one
        loss = _weighted_loss([x for x, _ in pairs], weights, gradviz.tensor)
        if _listed(GRAD_EXTENSIONS, case):
            loss.backward()
            return
        with pytest.raises(GradvizError):
            loss.backward()
        return
    _weighted_loss([x for x, _ in pairs], weights, gradviz.tensor).backward()
    # a float32 output carries its precision into every input's gradient
    single = any(y.dtype == torch.float32 for _, y in pairs)
    for i, (x, y) in enumerate(zip(g.leaves, t.leaves, strict=True)):
        if y is None:
            continue
        if y.grad is None:  # PyTorch's undefined gradient: none or zeros in gradviz
            assert x.grad is None or not np.any(x.grad), f"input {i}: torch has no gradient"
            continue
        assert x.grad is not None, f"input {i}: no gradient, torch has one"
        grad = x.grad
        assert str(grad.dtype) == _tdtype(y.grad), f"input {i}: grad dtype {grad.dtype}"
        _close(f"grad of input {i}", grad, y.grad, "float32" if single else _tdtype(y))


def _listed(table: dict[str, str], case: Case) -> bool:
    return any(re.match(pattern, case.id) for pattern in table)


#: PyTorch's bugs and deprecated readings: the case only checks that gradviz returns
NOT_COMPARED = {
    r"(method\.copy_|setitem\.__setitem__)\(int64\[3x4\],(.*,)?float(32|64)\[(3|4|0d)\]\)": (
        "writing a float that requires grad into integers: gradviz's result keeps "
        "requires_grad (the in-place write is recorded), PyTorch's drops it"
    ),
    r"method\.__getitem__\(.*,\[\[0, 1\], \[1, 2\]\]\)": "a list of lists is one index "
    "array in gradviz, PyTorch's announced reading (2.13 still reads it as a tuple of "
    "indices, with a deprecation warning)",
    r"(method|top)\.logsumexp\(.*dim=\(\),keepdim=False": "output with shape [] doesn't match the "
    "broadcast shape [1, 1]: dim=() reduces every dim, as keepdim=True shows",
    r"linalg\.eigh\(float(32|64)\[(\dx)?(\d)x\3\](,UPLO='[LU]')?\)": "the signs of "
    "eigenvectors are free and NumPy's LAPACK picks others than PyTorch's "
    "(test_differential_apimath compares them with the signs fixed)",
    r"linalg\.svd\(float(32|64)": "the signs of singular vectors are free (as for eigh)",
    r"top\.detach_copy\(": "PyTorch's result requires grad but has no derivative (its "
    "backward raises); gradviz's is detached, as the name says",
    r"(top|method)\.svd\(float(32|64)": "the signs of singular vectors are free (as for eigh; "
    "tests/test_differential_legacy.py compares the product)",
}

#: PyTorch's gradient bugs: only the forward is compared
TORCH_GRAD_BUGS = {
    r"method\.(logical_(and|or|xor|not)|nextafter)_\(": "the in-place write records no node, "
    "so the gradient passes through as if nothing had been written; gradviz's is 0 (copy_)",
    r"top\.dist\(.*,0\)": "p=0 counts the nonzero differences: the backward fails on an "
    "undefined tensor (gradviz's gradient is 0, the count's)",
    r"top\.vander\(float": "the backward fails ('modified by an inplace operation'); "
    "tests/test_api_extra.py checks gradviz's by finite differences",
    r"(method|top)\.(std|var)\(.*dim=\(\)": "dim=() reduces every dim, as dim=None, but the "
    "backward divides by zero: inf everywhere",
    r"(method|top)\.(atan2|arctan2)\(bool": "the backward negates the bool input and raises",
    r"linalg\.cond\(float\w+\[[0-9x]+\],(p=)?('fro'|'nuc'|-?1|-?inf)\)": "the backward of "
    "norm(A) * norm(inv(A)) raises ('modified by an inplace operation', its inverse)",
    r"linalg\.det\(float64\[2x2\]\)": "a singular matrix of rank 1: PyTorch's gradient is 0, "
    "gradviz's the cofactor matrix (the derivative of det, which gradcheck confirms)",
    r"F\.binary_cross_entropy\(float64\[4\]": "the target's gradient takes the unclamped "
    "logs: inf at probabilities 0 and 1, where the forward clamps them at -100 (gradviz's "
    "gradient is the clamped forward's)",
}

#: Where PyTorch's backward raises and gradviz defines a gradient (pattern -> which)
GRAD_EXTENSIONS = {
    r"method\.__r?floordiv__\(": "floor's gradient, 0 (PyTorch's floor_divide has no derivative)",
    r"(method|top)\.floor_divide\(": "floor's gradient, 0 (as ``//``)",
    r"method\.floor_divide_\(": "floor's gradient, 0 (as ``//``)",
    r"(method|top)\.bernoulli\(float64\[3x4\],0\.3\)": "a zero gradient, as bernoulli(input)'s",
    r"method\.__rmod__\(": "``n % x``'s gradient -floor(n / x) (PyTorch has no derivative "
    "for a number's remainder by a tensor)",
}

#: Where PyTorch raises and gradviz returns on purpose (pattern -> what gradviz returns)
EXTENSIONS = {
    r"(method|top)\.sum\(float.*dtype=dtype\('int64'\)": "the integer sum, without a gradient "
    "(PyTorch refuses an integer dtype on an input that requires grad)",
    r"method\.numpy\(float": "the array, for a Variable that requires grad too (PyTorch asks "
    "for .detach().numpy() first)",
    r"method\.add_\(float64\[3x4\]C,float64\[4\],3\)": "alpha given by position (PyTorch "
    "takes it by keyword only)",
    r"method\.__getitem__\(.*slice\(None, None, -1\)": "the reversed view: a negative step, "
    "as NumPy (PyTorch refuses it)",
}

#: gradviz's error is of another builtin class than PyTorch's (pattern -> why)
ERROR_CLASSES = {
    r"(method\.__r?(and|or|xor)__|(method|top)\.bitwise_(and|or|xor|not))\(": "bitwise ops of "
    "floats: an OperandError (TypeError, NumPy's class), where PyTorch's NotImplementedError is "
    "a RuntimeError",
    r"(method|top)\.topk\(.*,5,": "k beyond the dim: an IndexRangeError (IndexError), where "
    "PyTorch raises a RuntimeError",
    r"(method|top)\.median\(float64\[0x3\],dim=0": "an empty dim: an InputError (ValueError and "
    "RuntimeError), where PyTorch raises an IndexError",
    r"method\.masked_select\(float64\[3x4\],int64": "an integer mask: an OperandError "
    "(TypeError), where PyTorch raises a RuntimeError",
    r"method\.dot\(float64\[4\],float32": "dtypes that differ: an OperandError (TypeError), "
    "where PyTorch raises a RuntimeError",
    r"method\.mv\(float(32|64)\[0d\]": "a 0-d matrix: a ShapeError (ValueError and "
    "RuntimeError), where PyTorch raises an IndexError",
    r"F\.nll_loss\(float64\[4x5\],float64": "float targets: an OperandError (TypeError), "
    "where PyTorch raises a RuntimeError",
    r"method\.(add|sub|mul|div|clamp|clip|exp|log|sqrt|sigmoid|tanh)_\(int64": "a float result "
    "written into integers: an OperandError (TypeError), where PyTorch raises a RuntimeError",
    r"top\.tensor\(\[\[1, 2\], \[3\]\]\)": "a ragged list: an OperandError (TypeError), "
    "where PyTorch raises a ValueError",
    r"setitem\.__setitem__\(float64\[3x4\],5,": "two errors (a leaf that requires grad, an "
    "index out of range): gradviz reports the leaf first",
    r"method\.item\(": "item() of many elements: an OperandError (TypeError, as float() of a "
    "NumPy array), where PyTorch raises a RuntimeError",
    r"(method|top)\.am(ax|in)\(float64\[0x3\],dim=\(0, 0\)": "two errors (an empty dim, a dim "
    "listed twice): gradviz reports the other one first",
}

#: What gradviz does not support (pattern -> the feature): it raises a GradvizError naming it
UNSUPPORTED: dict[str, str] = {}

#: functions whose values are random (or uninitialised): only dtype and shape are compared
RANDOM = {
    *("rand", "randn", "randint", "randperm", "rand_like", "randn_like", "multinomial"),
    *("empty", "new_empty", "normal_", "uniform_", "normal", "bernoulli", "poisson"),
    *("empty_like", "randint_like", "binomial", "cauchy_", "geometric_", "log_normal_"),
}

#: Python's own complaint about a call's arguments (PyTorch's argument parser says the same)
_BINDING = re.compile(r"unexpected keyword argument|required positional argument|positional arg")

#: the builtin class a user catches, by PyTorch's error class
_BUILTIN = (IndexError, TypeError, ValueError, RuntimeError)


def _raises_as_torch(case: Case, g: Lib, theirs: Exception) -> None:
    """PyTorch refused ``case``: gradviz refuses it too, with a GradvizError that is also the
    builtin class PyTorch raised (or, for a call whose arguments do not bind, Python's
    TypeError)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (a warning before the error, as PyTorch's)
        with pytest.raises((GradvizError, TypeError)) as caught:
            g.call(case)
    error = caught.value
    if not isinstance(error, GradvizError):
        assert _BINDING.search(str(error)), f"a TypeError that is no GradvizError: {error}"
        return
    builtin = next((c for c in _BUILTIN if isinstance(theirs, c)), RuntimeError)
    assert isinstance(error, builtin) or _listed(ERROR_CLASSES, case), (
        f"{type(error).__name__} is no {builtin.__name__}, as PyTorch's {theirs!r}"
    )


def _call_warned(case: Case, lib: Lib) -> tuple[Any, list[type[Warning]]]:
    """``lib``'s result of ``case`` and the classes of the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = lib.call(case)
    return out, [w.category for w in caught]


def run_case(case: Case) -> None:
    """Run ``case`` through both libraries and compare everything a user can see."""
    g, t = Lib(gradviz, GF), Lib(torch, TF)
    feature = next((f for p, f in UNSUPPORTED.items() if re.match(p, case.id)), None)
    if feature is not None:
        with pytest.raises(GradvizError, match=re.escape(feature)):
            g.call(case)
        return
    try:
        theirs, warned = _call_warned(case, t)
    except Exception as error:  # any PyTorch error: gradviz must raise too
        if _listed(NOT_COMPARED, case) or _listed(EXTENSIONS, case):
            g.call(case)
        else:
            _raises_as_torch(case, g, error)
        return
    if _listed(NOT_COMPARED, case):
        g.call(case)
        return
    ours, ours_warned = _call_warned(case, g)
    assert set(ours_warned) <= {*warned, UserWarning} if warned else not ours_warned, (
        f"gradviz warns {ours_warned}, PyTorch {warned}"
    )
    compare_outputs(ours, theirs, values=case.name not in RANDOM)
    compare_gradients(case, ours, theirs, g, t)


# ---------------------------------------------------------------- inputs


class Draw:
    """Seeded array arguments: floats in a range, integers, bools, odd shapes."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def f(self, shape: tuple[int, ...], dtype: str = "float64", low=-2.0, high=2.0, **kw) -> Arr:
        return Arr(self.rng.uniform(low, high, shape).astype(dtype), **kw)

    def i(self, shape: tuple[int, ...], low: int = -3, high: int = 4, dtype="int64") -> Arr:
        return Arr(self.rng.integers(low, high, shape).astype(dtype))

    def b(self, shape: tuple[int, ...]) -> Arr:
        return Arr(self.rng.random(shape) < 0.5)

    def like(self, spec: Arr, dtype: str) -> Arr:
        """An array of ``spec``'s shape in another dtype."""
        if dtype == "bool":
            return self.b(spec.value.shape)
        if dtype.startswith("int"):
            return self.i(spec.value.shape, dtype=dtype)
        return self.f(spec.value.shape, dtype)


def all_cases(*families: tuple[Callable[[], Iterable[Case]], int | None]) -> list[Case]:
    """Cases of each ``(family, limit)`` with unique ids (the first of equal ids kept): at most
    ``limit`` of a family's, drawn with a fixed seed, so the file stays fast."""
    chosen: dict[str, Case] = {}
    for number, (family, limit) in enumerate(families):
        cases = {case.id: case for case in reversed(list(family()))}
        ids = sorted(cases)
        if limit is not None and limit < len(ids):
            picked = np.random.default_rng(number).choice(len(ids), limit, replace=False)
            ids = [ids[i] for i in sorted(picked)]
        for key in ids:
            chosen.setdefault(key, cases[key])
    return list(chosen.values())


def by_op(cases: list[Case]) -> dict[str, list[Case]]:
    """``cases`` grouped by function (one test each: a test per case costs more than it runs)."""
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(f"{case.kind}.{case.name}", []).append(case)
    return groups


def run_all(cases: list[Case]) -> None:
    """Run every case; fail listing each case that differs and how."""
    failures = []
    for case in cases:
        try:
            run_case(case)
        except (Exception, pytest.fail.Exception) as error:  # one report of all
            failures.append(f"{case.id}: {type(error).__name__}: {error}".splitlines()[0])
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(failures)


def twins() -> dict[str, list[str]]:
    """Public gradviz names with a PyTorch twin of the same name, by where they live."""
    found = {}
    for kind, ours, theirs in (
        ("method", Variable, torch.Tensor),
        ("top", gradviz, torch),
        ("F", GF, TF),
    ):
        found[kind] = sorted(
            n
            for n in dir(ours)
            if not n.startswith("_")
            and hasattr(ours, n)  # (not a name refused by name: Variable.to_sparse_csr)
            and callable(getattr(ours, n))
            and not inspect.isclass(getattr(ours, n))
            and hasattr(theirs, n)
        )
    return found
