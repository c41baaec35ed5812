"""PyTorch's ``torch.func`` derivative transforms: ``grad``, ``grad_and_value``, ``vjp``,
``jacrev``, ``jacfwd``, ``hessian`` and ``jvp``, built on ``gradviz.autograd.grad``.

Each takes a function of Variables and returns a function (or values) as PyTorch's does, with
results nested as PyTorch nests them. They compose (``grad(grad(f))``, ``jacrev(jacrev(f))``,
``vmap(grad(f))``): when a result will be differentiated again, it is found with
``create_graph=True`` (:mod:`gradviz.autograd.higher`), so every op on the way needs a
second-derivative rule; one without is refused by name.

Forward mode is computed by reverse mode here: ``jacfwd`` is ``jacrev``'s Jacobian, and ``jvp``
takes one backward pass per output element (exact values; slower than PyTorch's for large
outputs).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd import higher
from gradviz.autograd.errors import ArgumentError, InputError, ShapeError
from gradviz.autograd.func import pytree
from gradviz.autograd.func.common import (
    Differentiated,
    check_no_random,
    check_randomness,
    check_tensor_outputs,
    depends,
    detached,
    keeps_graph,
    outermost,
    prepared,
    pull,
    rng_state,
    running,
    split_aux,
    zeros,
)
from gradviz.autograd.grad_mode import enable_grad, is_grad_enabled
from gradviz.autograd.hooks import inner_passes
from gradviz.autograd.ops import stack
from gradviz.autograd.variable import Variable

__all__ = ["grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "vjp"]

_GRAD = "grad_and_value(f)(*args)"


def grad_and_value(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """PyTorch's ``torch.func.grad_and_value``: a function returning ``(gradient, value)`` of
    ``func`` (whose output must be a 0-d Variable) with respect to the arguments ``argnums``
    names; with ``has_aux``, ``func`` returns ``(value, aux)`` and so does the second entry."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        outer, lenient = is_grad_enabled(), outermost()
        with enable_grad(), running():
            diff = Differentiated(args, argnums, outer)
            output = func(*diff.args, **kwargs)
        output, aux = split_aux(output, has_aux, _GRAD)
        if not isinstance(output, Variable):
            raise InputError(f"{_GRAD}: Expected f(*args) to return a Tensor, got {type(output)}")
        if output.ndim != 0:
            raise InputError(
                f"{_GRAD}: Expected f(*args) to return a scalar Tensor, got tensor with "
                f"{output.ndim} dims. Maybe you wanted to use the vjp or jacrev APIs instead?"
            )
        keep = keeps_graph([output], diff.fresh, outer)
        grads = diff.nest(pull([output], [None], diff.fresh, keep, lenient))
        value = detached(output, keep)
        return grads, ((value, detached(aux, keep)) if has_aux else value)

    return wrapper


def grad(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """PyTorch's ``torch.func.grad``: a function returning the gradient of ``func`` (whose
    output must be a 0-d Variable) with respect to the arguments ``argnums`` names, nested as
    they are (a dict of parameters gives a dict of gradients); with ``has_aux``, ``func``
    returns ``(value, aux)`` and the result is ``(gradient, aux)``."""
    both = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        grads, value = both(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapper


def vjp(func: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """PyTorch's ``torch.func.vjp``: ``(func(*primals), vjp_fn)`` (and ``aux`` with
    ``has_aux``), where ``vjp_fn(cotangents)`` gives the vector-Jacobian product for each
    primal, as a tuple nested as ``primals``; it can be called again and again."""
    api = "vjp(f, *primals)"
    outer, lenient = is_grad_enabled(), outermost()
    leaves, spec = pytree.flatten(primals)
    with enable_grad(), running():
        fresh = [prepared(leaf, outer) for leaf in leaves]
        output = func(*pytree.unflatten(fresh, spec))
    output, aux = split_aux(output, has_aux, api)
    flat_out, out_spec = pytree.flatten(output)
    check_tensor_outputs(flat_out, api)
    for o in flat_out:
        if not np.issubdtype(o.dtype, np.inexact):
            raise InputError(
                "vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got "
                f"Tensor with dtype {o.dtype}"
            )
    keep = keeps_graph(flat_out, fresh, outer)

    def vjp_fn(cotangents: Any, retain_graph: bool = True, create_graph: bool | None = None) -> Any:
        flat_cot, cot_spec = pytree.flatten(cotangents)
        if cot_spec != out_spec:
            raise InputError(
                "Expected pytree structure of cotangents to be the same as pytree structure of "
                f"outputs to the function. cotangents: {cot_spec}, primal output: {out_spec}"
            )
        for i, (c, o) in enumerate(zip(flat_cot, flat_out, strict=True)):
            if tuple(np.shape(c._data if isinstance(c, Variable) else c)) != tuple(o.shape):
                raise ShapeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {np.shape(c)} and "
                    f"output[{i}] has a shape of {tuple(o.shape)}."
                )
        needed = any(isinstance(c, Variable) and c.requires_grad for c in flat_cot)
        grads = pull(flat_out, flat_cot, fresh, keep or needed, lenient and not needed)
        return pytree.unflatten(grads, spec)

    result = (pytree.unflatten(detached(flat_out, keep), out_spec), vjp_fn)
    return (*result, detached(aux, keep)) if has_aux else result


def _rows(
    output: Variable, fresh: list[Variable], keep: bool, lenient: bool
) -> list[list[Variable]]:
    """For each element of ``output`` (in order), its gradient with respect to each fresh
    leaf: one backward pass per element."""
    n = output.numel()
    if not depends(output, fresh):
        return [[zeros(x.shape, x) for x in fresh] for _ in range(n)]
    rows = []
    for k in range(n):
        onehot = np.zeros(n, dtype=output._data.dtype)
        onehot[k] = 1
        weight = Variable(onehot.reshape(output.shape))
        rows.append(pull([output], [weight], fresh, keep, lenient))
    return rows


def _jacobian(output: Variable, fresh: list[Variable], keep: bool, lenient: bool) -> list[Variable]:
    """d output / d x for each fresh leaf x, of shape ``output.shape + x.shape``."""
    rows = _rows(output, fresh, keep, lenient)
    if not rows:
        return [zeros(tuple(output.shape) + tuple(x.shape), x) for x in fresh]
    return [
        stack([row[i] for row in rows]).reshape(tuple(output.shape) + tuple(x.shape))
        for i, x in enumerate(fresh)
    ]


def _jac(func: Callable[..., Any], argnums: Any, has_aux: bool, randomness: str | None) -> Any:
    """The Jacobian transform behind ``jacrev`` and ``jacfwd`` (``randomness`` "error":
    ``func`` may not draw random numbers)."""

    @functools.wraps(func)
    @inner_passes()  # a Jacobian's rows are not backward calls of the script
    def wrapper(*args: Any) -> Any:
        outer, lenient = is_grad_enabled(), outermost()
        before = rng_state()
        with enable_grad(), running():
            diff = Differentiated(args, argnums, outer)
            output = func(*diff.args)
        if randomness == "error":
            check_no_random(before)
        output, aux = split_aux(output, has_aux, "vjp(f, *primals)")
        flat_out, out_spec = pytree.flatten(output)
        check_tensor_outputs(flat_out, "vjp(f, *primals)")
        keep = keeps_graph(flat_out, diff.fresh, outer)
        per_output = [diff.nest(_jacobian(o, diff.fresh, keep, lenient)) for o in flat_out]
        result = pytree.unflatten(per_output, out_spec)
        return (result, detached(aux, keep)) if has_aux else result

    return wrapper


def jacrev(
    func: Callable[..., Any],
    argnums: int | tuple[int, ...] = 0,
    *,
    has_aux: bool = False,
    chunk_size: int | None = None,
    _preallocate_and_copy: bool = False,
) -> Callable[..., Any]:
    """PyTorch's ``torch.func.jacrev``: a function returning the Jacobian of ``func`` with
    respect to the arguments ``argnums`` names, one backward pass per output element. Each
    output's Jacobian has shape ``output.shape + input.shape``; outputs and inputs nest as
    PyTorch nests them. ``chunk_size`` (how many rows PyTorch computes at once) is accepted and
    changes nothing here."""
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ArgumentError("jacrev: `chunk_size` should be greater than 0.")
    return _jac(func, argnums, has_aux, None)


def jacfwd(
    func: Callable[..., Any],
    argnums: int | tuple[int, ...] = 0,
    has_aux: bool = False,
    *,
    randomness: str = "error",
) -> Callable[..., Any]:
    """PyTorch's ``torch.func.jacfwd``: the same Jacobian as :func:`jacrev` (computed here by
    reverse mode too: the values are the same). With ``randomness="error"`` (PyTorch's
    default) a ``func`` that draws random numbers is refused, as PyTorch refuses it."""
    check_randomness(randomness)
    return _jac(func, argnums, has_aux, randomness)


def hessian(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """PyTorch's ``torch.func.hessian``: ``jacfwd(jacrev(func, argnums), argnums)``, the
    second derivatives (``func``'s ops need second-derivative rules)."""
    return jacfwd(jacrev(func, argnums), argnums)


_JVP = "jvp(f, primals, tangents)"


def _check_jvp_inputs(primals: Any, tangents: Any) -> tuple[list[Any], Any, list[Any]]:
    if not isinstance(primals, tuple):
        raise InputError(
            f"{_JVP}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals)."
        )
    flat_p, p_spec = pytree.flatten(primals)
    flat_t, t_spec = pytree.flatten(tangents)
    if p_spec != t_spec:
        raise InputError(
            f"{_JVP}: Expected primals and tangents to have the same python structure. For "
            "example, if primals is a tuple of 3 tensors, tangents also must be. Got primals "
            f"with structure {p_spec} and tangents with structure {t_spec}"
        )
    for flat, name in ((flat_p, "primals"), (flat_t, "tangents")):
        if not flat:
            raise InputError(f"{_JVP}: Expected {name} to contain at least one Tensor.")
        for item in flat:
            if not isinstance(item, Variable):
                raise InputError(
                    f"{_JVP}: Expected {name} to only contain Tensors, got {type(item)}"
                )
    for p, t in zip(flat_p, flat_t, strict=True):
        if p.shape != t.shape:
            raise ShapeError(
                "Trying to set a forward gradient that has a different size than that of the "
                f"original Tensor, this is not supported. Tensor is of size {list(p.shape)} "
                f"while the given forward gradient is of size {list(t.shape)}."
            )
    return flat_p, p_spec, flat_t


@inner_passes()
def jvp(
    func: Callable[..., Any],
    primals: Any,
    tangents: Any,
    *,
    strict: bool = False,
    has_aux: bool = False,
) -> tuple[Any, ...]:
    """PyTorch's ``torch.func.jvp``: ``(func(*primals), J @ tangents)`` (and ``aux`` with
    ``has_aux``), the Jacobian-vector product found here by reverse mode, one backward pass
    per output element. ``strict``: an output that does not depend on the primals is an
    error (else its product is zeros)."""
    flat_p, spec, flat_t = _check_jvp_inputs(primals, tangents)
    outer, lenient = is_grad_enabled(), outermost()
    with enable_grad(), running():
        fresh = [prepared(p, outer) for p in flat_p]
        output = func(*pytree.unflatten(fresh, spec))
    output, aux = split_aux(output, has_aux, _JVP)
    flat_out, out_spec = pytree.flatten(output)
    for o in flat_out:
        if not isinstance(o, Variable):
            raise InputError(
                f"{_JVP}: expected f(*args) to return only tensors, got unsupported type {type(o)}"
            )
    needed = any(t.requires_grad for t in flat_t)
    keep = keeps_graph(flat_out, fresh, outer) or needed
    products = []
    for o in flat_out:
        if strict and not depends(o, fresh):
            raise InputError(
                "jvp(f, primals, tangents, strict=True): The output of f is independent of the "
                "inputs. This is not allowed with strict=True."
            )
        products.append(_product(o, fresh, flat_t, keep, lenient and not needed))
    result = (
        pytree.unflatten(detached(flat_out, keep), out_spec),
        pytree.unflatten(products, out_spec),
    )
    return (*result, detached(aux, keep)) if has_aux else result


def _all_graph_rules(output: Variable) -> bool:
    """Whether every op ``output`` was computed by has a second-derivative rule."""
    seen: set[int] = set()
    stack = [output]
    while stack:
        v = stack.pop()
        if v._id in seen or v._node is None:
            continue
        seen.add(v._id)
        if higher.graph_rule(type(v._node)) is None:
            return False
        stack.extend(a for a in v._node.inputs if isinstance(a, Variable) and a.requires_grad)
    return True


def _product(
    output: Variable, fresh: list[Variable], tangents: list[Variable], keep: bool, lenient: bool
) -> Variable:
    """J @ tangents for one output. Where every op has a second-derivative rule, by the
    double-backward trick (two passes: J^T u is linear in u, and its gradient with respect to
    u, weighted by the tangents, is J @ tangents); otherwise each element's gradient row
    dotted with the tangents (one pass per element)."""
    if not depends(output, fresh):
        return zeros(tuple(output.shape), output)
    if _all_graph_rules(output):
        u = Variable(np.zeros(output.shape, dtype=output._data.dtype), requires_grad=True)
        return pull(pull([output], [u], fresh, True), tangents, [u], keep)[0]
    rows = _rows(output, fresh, keep, lenient)
    if not rows:
        return zeros(tuple(output.shape), output)
    with enable_grad():
        dots = [
            functools.reduce(
                lambda a, b: a + b, [(g * t).sum() for g, t in zip(row, tangents, strict=True)]
            )
            for row in rows
        ]
        return stack(dots).reshape(tuple(output.shape))
