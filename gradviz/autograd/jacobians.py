"""PyTorch's ``torch.autograd.functional``: ``jacobian``, ``vjp`` and ``jvp`` of a function of
Variables, found by repeated backward passes (one per output element for a Jacobian), so every
value is exact; ``hessian``, ``vhp`` and ``hvp`` by differentiating gradients again
(``create_graph=True``, :mod:`gradviz.autograd.higher`: the ops on the way need graph rules).

With ``create_graph=True`` the results keep their graph, to be differentiated once more, and
inputs that require grad take part as themselves (PyTorch's ``view_as``); otherwise results
are detached. Tuples nest as PyTorch nests them: a tuple of inputs (or outputs) gives a tuple of
results, one Variable otherwise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd.errors import ArgumentError, BackwardError, OperandError, ShapeError
from gradviz.autograd.grad_mode import enable_grad
from gradviz.autograd.grads import grad
from gradviz.autograd.hooks import inner_passes
from gradviz.autograd.ops import stack
from gradviz.autograd.variable import Variable, from_op

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(value: Any, what: str, name: str) -> tuple[bool, tuple[Variable, ...]]:
    """Whether ``value`` is a tuple, and its Variables as one (PyTorch's ``_as_tuple``)."""
    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Variable):
            where = f"the value at index {i}" if is_tuple else f"the given {what}"
            raise OperandError(
                f"The {what} given to {name} must be either a Tensor or a tuple of Tensors but "
                f"{where} has type {type(item)}."
            )
    return is_tuple, items


def _unpack(result: tuple[Any, ...], is_tuple: bool) -> Any:
    return result if is_tuple else result[0]


def _prepared(values: tuple[Variable, ...], create_graph: bool, need_graph: bool) -> tuple:
    """PyTorch's ``_grad_preprocess``: a Variable that requires grad stays in the graph (a
    view) when ``create_graph``; anything else becomes a fresh leaf of its values."""
    return tuple(
        v.view_as(v) if create_graph and v.requires_grad else v.detach().requires_grad_(need_graph)
        for v in values
    )


def _check_outputs(outs: tuple[Variable, ...]) -> None:
    """``strict``: every output must require grad."""
    for i, out in enumerate(outs):
        if not out.requires_grad:
            raise BackwardError(
                f"Output {i} of the user-provided function does not require gradients. The "
                "outputs must be computed in a differentiable manner from the input when "
                "running in strict mode."
            )


def _call(
    func: Callable[..., Any], inputs: Any, name: str, strict: bool, create_graph: bool = False
) -> tuple[bool, tuple[Variable, ...], bool, tuple[Variable, ...]]:
    """Run ``func`` on the prepared inputs, with gradients on; the inputs and the outputs,
    each with whether it was a tuple."""
    is_inputs_tuple, given = _as_tuple(inputs, "inputs", name)
    leaves = _prepared(given, create_graph, True)
    with enable_grad():
        outputs = func(*leaves)
    is_outputs_tuple, outs = _as_tuple(outputs, "outputs of the user-provided function", name)
    if strict:
        _check_outputs(outs)
    return is_inputs_tuple, leaves, is_outputs_tuple, outs


def _pullback(
    outs: tuple[Any, ...], leaves: tuple[Variable, ...], weights: tuple[Any, ...], create: bool
) -> list[Variable | None]:
    """sum_i weights[i] . d outs[i] / d leaves, per leaf (None for a leaf nothing reaches);
    outputs that are None or need no grad are left out, as PyTorch's ``_autograd_grad``."""
    pairs = [
        (o, w) for o, w in zip(outs, weights, strict=True) if o is not None and o.requires_grad
    ]
    if not pairs:
        return [None] * len(leaves)
    with enable_grad():
        return list(
            grad(
                [o for o, _ in pairs],
                list(leaves),
                [w for _, w in pairs],
                retain_graph=True,
                create_graph=create,
                allow_unused=True,
            )
        )


#: PyTorch's words when a gradient is missing (None), and when it does not depend on the
#: inputs under ``create_graph`` (no graph), by stage.
_MISSING = {
    "back": "The output of the user-provided function is independent of input {i}. This is "
    "not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
    "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry "
    "{i} in the grad_jacobian. This is not allowed in strict mode as it prevents from using "
    "the double backward trick to replace forward mode AD.",
}
_CONSTANT = {
    "back": "The jacobian of the user-provided function is independent of input {i}. This is "
    "not allowed in strict mode when create_graph=True.",
    "double_back": "The hessian of the user-provided function is independent of input {i}. "
    "This is not allowed in strict mode when create_graph=True.",
}


def _filled(
    grads: list[Variable | None],
    leaves: tuple[Variable, ...],
    strict: bool,
    create_graph: bool = False,
    stage: str = "back",
) -> tuple[Variable, ...]:
    """PyTorch's ``_fill_in_zeros``: zeros for the leaves nothing reaches (refused under
    ``strict``, as is a gradient without a graph under ``strict`` and ``create_graph``)."""
    filled = []
    for i, (g, leaf) in enumerate(zip(grads, leaves, strict=True)):
        if g is None:
            if strict:
                raise BackwardError(_MISSING[stage].format(i=i))
            g = from_op(np.zeros_like(leaf._data), None)
        elif strict and create_graph and not g.requires_grad:
            raise BackwardError(
                _CONSTANT["double_back" if "double" in stage else stage].format(i=i)
            )
        filled.append(g if create_graph else g.detach())
    return tuple(filled)


def _rows(
    out: Variable, index: int, leaves: tuple[Variable, ...], strict: bool, create: bool
) -> list[Variable]:
    """d out / d leaf for each leaf, of shape ``out.shape + leaf.shape``: one backward pass per
    element of ``out`` with a one-hot weight (a row of the Jacobian each), stacked by a
    recorded op when ``create`` (the rows keep their graphs)."""
    rows: list[list[Any]] = [[] for _ in leaves]
    one_hot = np.zeros_like(out._data)
    flat = one_hot.reshape(-1)
    for j in range(out._data.size if out.requires_grad else 0):
        flat[j] = 1
        grads = _pullback((out,), leaves, (from_op(one_hot.copy(), None),), create)
        flat[j] = 0
        for k, (g, leaf) in enumerate(zip(grads, leaves, strict=True)):
            if g is None and strict:
                raise BackwardError(
                    f"Output {index} of the user-provided function is independent of input "
                    f"{k}. This is not allowed in strict mode."
                )
            if g is not None and strict and create and not g.requires_grad:
                raise BackwardError(_CONSTANT["back"].format(i=k))
            zero = g is None
            rows[k].append(np.zeros_like(leaf._data) if zero else g if create else g._data)
    blocks = []
    for row, leaf in zip(rows, leaves, strict=True):
        shape = out.shape + leaf.shape
        if not row:
            blocks.append(from_op(np.zeros(shape, dtype=leaf._data.dtype), None))
        elif create:
            blocks.append(stack([_variable(r) for r in row]).reshape(shape))
        else:
            blocks.append(from_op(np.stack(row).reshape(shape), None))
    return blocks


def _variable(value: Any) -> Variable:
    return value if isinstance(value, Variable) else from_op(value, None)


@inner_passes()
def jacobian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs``: for one output and one input a Variable of
    shape ``output.shape + input.shape``; ``jac[i][j]`` (output i, input j) when both are
    tuples, one level of tuple when one is. ``vectorize`` and ``strategy`` choose how PyTorch
    computes it; here every choice computes the same rows, one backward pass each."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ArgumentError(
            f'jacobian(): expected strategy to be either "forward-mode" or "reverse-mode", got '
            f"{strategy!r}"
        )
    if strategy == "forward-mode" and not vectorize:
        raise ArgumentError(
            'torch.autograd.functional.jacobian: `strategy="forward-mode"` requires '
            "`vectorize=True`"
        )
    if strict and vectorize:
        raise BackwardError(
            "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
            "supported together. Please either set `strict=False` or `vectorize=False`."
        )
    called = _call(func, inputs, "jacobian", strict, create_graph)
    is_inputs_tuple, leaves, is_outputs_tuple, outs = called
    result = tuple(
        _unpack(tuple(_rows(out, i, leaves, strict, create_graph)), is_inputs_tuple)
        for i, out in enumerate(outs)
    )
    return _unpack(result, is_outputs_tuple)


#: What ``v=None`` needs, by function: one element in the outputs (vjp) or the inputs (others).
_ONE_ELEMENT = {
    "vjp": "the user-provided function returns a single Tensor with a single element.",
    "jvp": "the input to the user-provided function is a single Tensor with a single element.",
}


def _vectors(
    v: Any, refs: tuple[Variable, ...], is_tuple: bool, name: str, create_graph: bool = False
) -> tuple[Variable, ...]:
    """``v`` as a tuple of Variables of the shapes of ``refs`` (PyTorch's ``_validate_v``),
    kept in the graph under ``create_graph``; None is a 1 for a single one-element ``refs``."""
    if v is None:
        if len(refs) != 1 or refs[0]._data.size != 1:
            raise BackwardError(
                f"The vector v can only be None if {_ONE_ELEMENT.get(name, _ONE_ELEMENT['jvp'])}"
            )
        return (from_op(np.ones_like(refs[0]._data), None),)
    _, vs = _as_tuple(v, "v", name)
    if len(vs) != len(refs):
        raise ShapeError(
            f"v is a tuple of invalid length: should be {len(refs)} but got {len(vs)}."
            if is_tuple
            else "The given v should contain a single Tensor."
        )
    for i, (a, ref) in enumerate(zip(vs, refs, strict=True)):
        if a.shape != ref.shape:
            where = f"Entry {i} in " if is_tuple else ""
            raise ShapeError(
                f"{where}v has invalid size: should be {tuple(ref.shape)} but got {tuple(a.shape)}."
            )
    return _prepared(vs, create_graph, False)


def _results(outs: tuple[Variable, ...], is_tuple: bool, create_graph: bool) -> Any:
    """The outputs as returned: detached, unless ``create_graph`` (PyTorch's
    ``_grad_postprocess``)."""
    return _unpack(outs if create_graph else tuple(o.detach() for o in outs), is_tuple)


def vjp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), v^T J)``: the outputs and the vector-Jacobian product, one backward
    pass weighted by ``v`` (which may be None only for a one-element output)."""
    called = _call(func, inputs, "vjp", strict, create_graph)
    is_inputs_tuple, leaves, is_outputs_tuple, outs = called
    weights = _vectors(v, outs, is_outputs_tuple, "vjp", create_graph)
    found = _pullback(outs, leaves, weights, create_graph)
    products = _filled(found, leaves, strict, create_graph)
    return _results(outs, is_outputs_tuple, create_graph), _unpack(products, is_inputs_tuple)


@inner_passes()
def jvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), J v)``: the outputs and the Jacobian-vector product, each output's
    rows found by backward and contracted with ``v`` (which may be None only for a
    one-element input)."""
    is_inputs_tuple, given = _as_tuple(inputs, "inputs", "jvp")
    vs = _vectors(v, given, is_inputs_tuple, "jvp", create_graph)
    _, leaves, is_outputs_tuple, outs = _call(func, inputs, "jvp", strict, create_graph)
    products = []
    for i, out in enumerate(outs):
        total: Any = from_op(np.zeros(out.shape, dtype=out._data.dtype), None)
        with enable_grad() if create_graph else contextlib.nullcontext():
            for block, a in zip(_rows(out, i, leaves, strict, create_graph), vs, strict=True):
                dims = tuple(range(out.ndim, block.ndim))
                total = total + ((block * a).sum(dim=dims) if dims else block * a)
        products.append(total if create_graph else total.detach())
    return _results(outs, is_outputs_tuple, create_graph), _unpack(
        tuple(products), is_outputs_tuple
    )


def _single(name: str, outs: tuple[Variable, ...], is_tuple: bool) -> None:
    """The function given to ``name`` (hessian, vhp, hvp) must return one one-element Tensor."""
    if is_tuple:
        raise BackwardError(f"The function given to {name} should return a single Tensor")
    if outs[0]._data.size != 1:
        raise BackwardError(
            f"The Tensor returned by the function given to {name} should contain a single element"
        )


def _check_jacobian(jac: tuple[Any, ...]) -> None:
    """``strict``: each gradient of the gradient pass must depend on the inputs."""
    for i, g in enumerate(jac):
        if g is None:
            raise BackwardError(
                f"The output of the user-provided function is independent of input {i}. This "
                "is not allowed in strict mode."
            )
        if not g.requires_grad:
            raise BackwardError(
                "While computing the hessian, found that the jacobian of the user-provided "
                f"function with respect to input {i} is independent of the input. This is not "
                "allowed in strict mode. You should ensure that your function is twice "
                "differentiable and that the jacobian depends on the inputs (this would be "
                "violated by a linear function for example)."
            )


@inner_passes()
def hessian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of a scalar ``func`` at ``inputs``, as PyTorch computes it: the Jacobian of
    its gradient (``create_graph=True`` inside). One input of shape ``s``: a Variable of shape
    ``s + s``; a tuple of inputs: ``H[i][j]``, a tuple of tuples."""
    is_inputs_tuple, given = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise ArgumentError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def single_output(*inp: Variable) -> Variable:
        out = func(*inp)
        is_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if strict:
            _check_outputs(outs)
        _single("hessian", outs, is_tuple)
        return out.squeeze()

    def gradient(*inp: Variable) -> Any:
        jac = jacobian(single_output, inp, create_graph=True)
        if strict:
            _check_jacobian(jac if isinstance(jac, tuple) else (jac,))
        return jac

    rows = jacobian(
        gradient,
        given,
        create_graph=create_graph,
        strict=strict,
        vectorize=vectorize,
        strategy=outer_jacobian_strategy,
    )  # H[i][j], as tuples: the inputs are given as one to both Jacobians
    return _unpack(tuple(_unpack(row, is_inputs_tuple) for row in rows), is_inputs_tuple)


def _hessian_product(
    name: str, func: Callable[..., Any], inputs: Any, v: Any, create_graph: bool, strict: bool
) -> tuple[Any, Any]:
    """``vhp`` and ``hvp``: the gradient with its graph, then a second backward pass weighted
    by ``v`` (for ``hvp`` through PyTorch's double-backward trick, as PyTorch computes it)."""
    is_inputs_tuple, given = _as_tuple(inputs, "inputs", name)
    leaves = _prepared(given, create_graph, True)
    vs: tuple[Any, ...] | None = None
    if v is not None:
        vs = _vectors(v, leaves, is_inputs_tuple, name, create_graph)
    elif len(leaves) != 1 or leaves[0]._data.size != 1:
        raise BackwardError(f"The vector v can only be None if {_ONE_ELEMENT['jvp']}")
    with enable_grad():
        outputs = func(*leaves)
    is_outputs_tuple, outs = _as_tuple(outputs, "outputs of the user-provided function", name)
    if strict:
        _check_outputs(outs)
    _single(name, outs, is_outputs_tuple)
    jac = tuple(_pullback(outs, leaves, (None,), True))
    if strict:
        _check_jacobian(jac)
    firsts, wrt, stage = jac, leaves, "double_back"
    if name == "hvp":  # d/du (J^T u) . v: the Hessian times v, by reverse passes only
        wrt = tuple(from_op(np.zeros_like(x._data), None).requires_grad_() for x in leaves)
        firsts = tuple(_pullback(jac, leaves, wrt, True))
        stage = "double_back_trick"
    weights = vs if vs is not None else (None,) * len(firsts)
    found = _pullback(firsts, wrt, weights, create_graph)
    products = _filled(found, leaves, strict, create_graph, stage)
    return _results(outs, is_outputs_tuple, create_graph), _unpack(products, is_inputs_tuple)


@inner_passes()
def vhp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), v^T H)``: a scalar ``func``'s output and the vector-Hessian product
    (``v`` may be None only for a one-element input)."""
    return _hessian_product("vhp", func, inputs, v, create_graph, strict)


@inner_passes()
def hvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), H v)``: a scalar ``func``'s output and the Hessian-vector product
    (``v`` may be None only for a one-element input)."""
    return _hessian_product("hvp", func, inputs, v, create_graph, strict)
