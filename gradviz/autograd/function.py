"""``Function``: the one way ops are defined and the only place graph edges are created.

An op is a subclass with two static methods side by side::

    class Swish(Function):
        @staticmethod
        def forward(ctx, x):
            s = 1 / (1 + np.exp(-x))
            ctx.save_for_backward(x, s)
            return x * s

        @staticmethod
        def backward(ctx, grad):
            x, s = ctx.saved_tensors
            return grad * (s + x * s * (1 - s))

    y = Swish.apply(x)        # the class name, "Swish", is the op name in graphs

``forward`` receives ndarrays for Variable arguments and every other argument as given; it
returns one ndarray, or a tuple of them (several outputs: ``apply`` then returns a tuple of
Variables and ``backward`` gets one gradient per output, see ``gradviz.autograd.outputs``).
``backward`` returns one gradient per argument (a tuple, or a bare array for one argument;
``None`` for "no gradient"), each in the shape of the output's broadcast: the engine reduces it
to the argument's shape. The instance passed as ``ctx`` becomes the graph node (made
by ``cls()``: an op defines no ``__init__``).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np

from gradviz.autograd import grad_mode, hooks
from gradviz.autograd.errors import GradvizError, OperandError, ShapeError
from gradviz.autograd.grad_mode import _OFF
from gradviz.autograd.variable import Variable, _ids, from_op

_new = object.__new__

#: ``np.ndarray`` as a module global: NumPy's module defines ``__getattr__``, so ``np.ndarray``
#: is a full attribute lookup each time, this a cached global read (the hot paths' type tests).
_ndarray = np.ndarray

#: This thread's grad mode (``grad_mode._state``, one object for the process: read per op).
_grad_mode = grad_mode._state


#: ``needs_input_grad`` of one- and two-argument ops, made once (a tuple less per op). A dict:
#: ``requires_grad`` may have been set to a NumPy bool, which indexes no tuple.
_NEEDS = {
    False: (False,),
    True: (True,),
    **{(a, b): (a, b) for a in (False, True) for b in (False, True)},
}
#: ``needs_input_grad`` of a two-argument op whose first argument records, by the second's.
_NEEDS_B = {b: (True, b) for b in (False, True)}


class Function:
    """Base class of every op, built-in or user-defined. The instance is the graph node."""

    # Structural fields are slots; whatever forward stores on ``ctx`` goes to ``__dict__``,
    # which the engine clears after backward (unless retain_graph) to free memory.
    __slots__ = ("__dict__", "_parents", "inputs", "needs_input_grad", "saved_tensors")

    inputs: tuple[Any, ...]
    needs_input_grad: tuple[bool, ...]

    #: Whether ``backward`` may return an input's (saved) array, which the engine then copies
    #: before it becomes a leaf's ``.grad``. True for every subclass; the built-in ops, whose
    #: rules return fresh arrays or views of ``grad``, set it False.
    _may_alias = True

    #: Whether ``forward`` may store attributes on ``ctx`` (the engine drops them after the
    #: node's backward, unless ``retain_graph``); False on the hot built-in ops that store
    #: none, so the engine skips the deletion (the op table checks each such op stores none).
    _stores_attributes = True

    #: Whether the per-op check (``gradviz check``) checks this node's calls on their own:
    #: False for the output nodes of an op with several outputs, checked with the op.
    _own_check = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._may_alias = True
        if "_stores_attributes" not in cls.__dict__:  # (not inherited: a subclass may store)
            cls._stores_attributes = True
        if not cls.__module__.startswith("gradviz."):  # a user's op: PyTorch's ctx API, hints
            _as_user_op(cls)

    @staticmethod
    def forward(ctx: Any, *args: Any) -> np.ndarray:
        """Compute the output from ndarrays (and non-Variable arguments as given)."""
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> Any:
        """Return the gradient for each argument of forward, given the output's gradient."""
        raise NotImplementedError

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays for backward (read them back from ``saved_tensors``)."""
        self.saved_tensors = arrays

    def mark_non_differentiable(self, *outputs: Any) -> None:
        """PyTorch's ``ctx.mark_non_differentiable``: the outputs given (an index, a mask; the
        arrays forward returns) need no gradient, whatever the inputs."""
        self.__dict__["_non_differentiable"] = {
            id(a._data if isinstance(a, Variable) else a) for a in outputs
        }

    def mark_dirty(self, *arrays: Any) -> None:
        """PyTorch's ``ctx.mark_dirty`` (forward wrote into an input) is refused: ``forward``
        gets NumPy arrays, and a write into one would reach the input Variable unrecorded."""
        raise OperandError(
            f"{type(self).__name__}.forward called ctx.mark_dirty: gradviz records no in-place "
            "custom op; return a new array (x * 2, not x *= 2) and assign it to the Variable "
            "(y = Op.apply(y))"
        )

    def set_materialize_grads(self, value: bool) -> None:
        """PyTorch's ``ctx.set_materialize_grads``: with False, ``backward`` gets None rather
        than zeros for an output that took no part in the loss (or one that is not
        differentiable) of a Function with several outputs."""
        self.__dict__["_materialize"] = bool(value)

    @classmethod
    def apply(cls, *args: Any, _into: Variable | None = None) -> Variable:
        """Run the op on Variables (and other arguments); record the graph when needed.

        ``_into`` is for in-place ops (``gradviz.autograd.inplace``): the result is written into
        that Variable, which then stands for the op's output.
        """
        n = len(args)
        if _into is None:
            if n == 2:
                return apply2(cls, args[0], args[1])
            if n == 1:
                return apply1(cls, args[0])
            if n == 3 and not hooks.ACTIVE:
                return _apply3(cls, args)
        return _apply(cls, args, _into)

    @property
    def parents(self) -> tuple[Variable, ...]:
        """The Variables among ``inputs``, in argument order (made when first read unless
        ``apply`` had them at hand: an op with a constant operand makes no tuple for them)."""
        try:
            return self._parents
        except AttributeError:
            self._parents = tuple(a for a in self.inputs if isinstance(a, Variable))
            return self._parents

    @parents.setter
    def parents(self, parents: tuple[Variable, ...]) -> None:
        self._parents = parents

    def name(self) -> str:
        """The op name shown in graphs and errors: the class name (PyTorch's ``grad_fn.name()``,
        without its ``Backward0``)."""
        return type(self).__name__

    @property
    def metadata(self) -> dict[str, Any]:
        """PyTorch's ``grad_fn.metadata``: a dict of the user's own, empty until written."""
        return self.__dict__.setdefault("metadata", {})

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """PyTorch's ``grad_fn.next_functions``: for each array input, where its gradient goes
        next: ``(the op that made it, 0)``, ``(AccumulateGrad, 0)`` for a leaf that requires
        grad (its ``.variable``), ``(None, 0)`` for one that takes no gradient."""
        found = [_next_function(a) for a in self.inputs if isinstance(a, Variable | np.ndarray)]
        number = _NUMBER_OPERAND.get(type(self).__name__)
        if (
            number
            and len(found) == 1
            and any(_is_number(self.inputs[i]) for i in number if i < len(self.inputs))
        ):
            found.append((None, 0))  # `x * 2`: PyTorch wraps the number, an input of no grad
        return tuple(found)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} node>"


class AccumulateGrad:
    """Where a leaf's gradient ends up, as PyTorch's node of that name: ``variable`` is the
    leaf whose ``.grad`` it fills; nothing comes after it."""

    __slots__ = ("__weakref__", "metadata", "variable")
    next_functions: tuple[tuple[Any, int], ...] = ()

    def __init__(self, variable: Variable) -> None:
        self.variable = variable
        self.metadata: dict[str, Any] = {}

    def name(self) -> str:
        """``"AccumulateGrad"``, as :meth:`Function.name` names an op."""
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad node>"


#: The ops whose Python-number operand PyTorch lists in ``next_functions`` as ``(None, 0)``, by
#: the argument slots it counts in (``1 - x`` is PyTorch's rsub, of x alone).
_NUMBER_OPERAND = {"Add": (0, 1), "Mul": (0, 1), "Sub": (1,), "Div": (1,)}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.generic)


_ACCUMULATORS: weakref.WeakValueDictionary[int, AccumulateGrad] = weakref.WeakValueDictionary()


def _next_function(arg: Any) -> tuple[Any, int]:
    """One entry of ``next_functions``: a leaf has one AccumulateGrad while anyone holds it."""
    if not isinstance(arg, Variable) or not arg.requires_grad:
        return None, 0
    if arg._node is not None:
        return arg._node, 0
    node = _ACCUMULATORS.get(arg._id)
    if node is None or node.variable is not arg:
        node = _ACCUMULATORS[arg._id] = AccumulateGrad(arg)
    return node, 0


def _apply(cls: type[Function], args: tuple[Any, ...], into: Variable | None) -> Any:
    """:meth:`Function.apply` for any number of arguments, in place, or with hooks watching;
    a tuple of Variables when forward returned a tuple of arrays."""
    arrays = []
    needs = []
    parents = []
    enabled = _grad_mode.enabled
    for arg in args:
        if isinstance(arg, Variable):
            arrays.append(arg._data)
            needs.append(arg.requires_grad and enabled)
            parents.append(arg)
        else:
            arrays.append(arg)
            needs.append(False)
    ctx = new_context(cls, needs := tuple(needs))
    try:
        data = cls.forward(ctx, *arrays)
    except ValueError as error:
        _shape_error(cls, error, args)
    if type(data) is not np.ndarray:
        if returns_several(data) and into is None:
            from gradviz.autograd.outputs import several  # (it imports this module)

            return several(cls, ctx, args, tuple(parents), data)
        data = _as_output(cls, data)
    active = hooks.ACTIVE
    record = True in needs
    if record and id(data) in ctx.__dict__.get("_non_differentiable", ()):
        record = False  # ctx.mark_non_differentiable(output)
    if not (record or active or into is not None):
        return from_op(data, None)
    ctx.inputs = args
    ctx._parents = args if len(parents) == len(args) else tuple(parents)  # one tuple less
    out = from_op(data, ctx if record else None) if into is None else into._commit(data, ctx)
    for hook in active:
        hook.op(ctx, args, out)
    return out


def apply1(cls: type[Function], a: Any, a_records: bool = False) -> Variable:
    """``cls.apply(a)``, the path of nearly every one-argument op (Variable's methods call it
    directly, with ``a_records`` when ``a`` is a Variable known to record: no argument tuple
    to build and count, no thread-local read unless ``a`` requires grad)."""
    if hooks.ACTIVE:
        return _apply(cls, (a,), None)
    if a_records:
        x, need = a._data, True
    elif isinstance(a, Variable):
        x, need = a._data, a.requires_grad and (not _OFF or _grad_mode.enabled)
    else:
        x, need = a, False
    ctx = cls()  # new_context written out here and below (a Python call less per op); a
    # built-in op defines no __init__, so its call is object's construction at its cheapest
    ctx.needs_input_grad = _NEEDS[need]
    ctx.saved_tensors = ()
    try:
        data = cls.forward(ctx, x)
    except ValueError as error:
        _shape_error(cls, error, (a,))
    if type(data) is not _ndarray:
        data = _as_output(cls, data)
    if not need:
        return from_op(data, None)
    ctx.inputs = ctx._parents = (a,)
    out = _new(Variable)  # from_op written out
    out._data = data
    out._grad = None
    out.requires_grad = True
    out.name = None
    out._node = ctx
    out._retains_grad = False
    out._vc = None
    out._id = next(_ids)
    return out


def apply2(cls: type[Function], a: Any, b: Any, a_records: bool = False) -> Variable:
    """``cls.apply(a, b)``, the path of nearly every two-argument op (Variable's operators
    call it directly, with ``a_records`` when ``a`` is a Variable known to record), as
    :func:`apply1`."""
    if hooks.ACTIVE:
        return _apply(cls, (a, b), None)
    if a_records:
        x, need_x = a._data, True
    elif isinstance(a, Variable):
        x, need_x = a._data, a.requires_grad and (not _OFF or _grad_mode.enabled)
    else:
        x, need_x = a, False
    if isinstance(b, Variable):
        y, need_y = b._data, b.requires_grad and (not _OFF or _grad_mode.enabled)
    else:
        y, need_y = b, False
    ctx = cls()
    ctx.needs_input_grad = _NEEDS_B[need_y] if a_records else _NEEDS[need_x, need_y]
    ctx.saved_tensors = ()
    try:
        data = cls.forward(ctx, x, y)
    except ValueError as error:
        _shape_error(cls, error, (a, b))
    if type(data) is not _ndarray:
        data = _as_output(cls, data)
    if not (need_x or need_y):
        return from_op(data, None)
    ctx.inputs = args = (a, b)
    if x is not a and y is not b:  # (with a constant operand, parents are made when read)
        ctx._parents = args
    out = _new(Variable)
    out._data = data
    out._grad = None
    out.requires_grad = True
    out.name = None
    out._node = ctx
    out._retains_grad = False
    out._vc = None
    out._id = next(_ids)
    return out


def _apply3(cls: type[Function], args: tuple[Any, ...]) -> Variable:
    """:meth:`Function.apply`'s written-out path for a third argument (Linear's bias, a
    reduction's options, a loss's reduction), nobody watching."""
    a, b, c = args
    if isinstance(a, Variable):
        x, need_x = a._data, a.requires_grad and (not _OFF or _grad_mode.enabled)
    else:
        x, need_x = a, False
    if isinstance(b, Variable):
        y, need_y = b._data, b.requires_grad and (not _OFF or _grad_mode.enabled)
    else:
        y, need_y = b, False
    if isinstance(c, Variable):
        z, need_z = c._data, c.requires_grad and (not _OFF or _grad_mode.enabled)
    else:
        z, need_z = c, False
    ctx = new_context(cls, (need_x, need_y, need_z))
    try:
        data = cls.forward(ctx, x, y, z)
    except ValueError as error:
        _shape_error(cls, error, args)
    if type(data) is not np.ndarray:
        data = _as_output(cls, data)
    if not (need_x or need_y or need_z):
        return from_op(data, None)
    if x is not a and y is not b and z is not c:  # (else parents are made when read)
        ctx._parents = args
    ctx.inputs = args
    return from_op(data, ctx)


def new_context(cls: type[Function], needs: tuple[bool, ...]) -> Function:
    """A fresh node of op ``cls`` for its ``forward``: the one place contexts are made, by
    :meth:`Function.apply` and by the per-op check (``gradviz.autograd.opcheck``).

    A module function, not a classmethod: ``apply`` calls it once per op, and a plain call is
    about half the cost of a classmethod's."""
    ctx = _new(cls)  # ops define no __init__: the cheapest construction (object's __new__ in C)
    ctx.needs_input_grad = needs
    ctx.saved_tensors = ()
    return ctx


def _shape_error(cls: type[Function], error: ValueError, args: tuple[Any, ...]) -> NoReturn:
    """Raise NumPy's shape errors rephrased to name the op (gradviz's own errors as they are)."""
    if isinstance(error, GradvizError):
        raise error
    shapes = ", ".join(str(tuple(a.shape)) for a in args if isinstance(a, Variable | np.ndarray))
    raise ShapeError(f"{cls.__name__}: {error} (input shapes: {shapes or 'none'})") from None


def once_differentiable(backward: Callable[..., Any]) -> Callable[..., Any]:
    """PyTorch's ``torch.autograd.function.once_differentiable``: backward runs on NumPy arrays
    and records nothing, so every gradviz ``Function`` is differentiable once; returned as is."""
    return backward


def _as_user_op(cls: type[Function]) -> None:
    """Give a user-defined op ``ctx.mark_non_differentiable`` (through the general ``apply``)
    and a hint when forward or backward calls a tensor method on the NumPy arrays it gets."""
    if "apply" not in cls.__dict__:  # (an op that defines its own apply keeps it)
        cls.apply = classmethod(_user_apply)  # type: ignore[method-assign,assignment]
    for name in ("forward", "backward"):
        rule = cls.__dict__.get(name)
        if isinstance(rule, staticmethod):
            function = rule.__func__
            setup = cls.__dict__.get("setup_context")
            if name == "forward" and isinstance(setup, staticmethod):
                function = _with_setup_context(function, setup.__func__)
            setattr(cls, name, staticmethod(_on_tensors(cls, name, function)))


def _with_setup_context(forward: Callable[..., Any], setup: Callable[..., Any]) -> Any:
    """PyTorch 2's form, ``forward(*inputs)`` without ``ctx`` and ``setup_context(ctx, inputs,
    output)`` to save what backward needs, as one ``forward(ctx, *inputs)``."""

    @functools.wraps(forward)
    def run(ctx: Any, *inputs: Any) -> Any:
        output = forward(*inputs)
        setup(ctx, inputs, output)
        return output

    return run


def _user_apply(cls: type[Function], *args: Any) -> Any:
    return _apply(cls, args, None)


def _on_tensors(cls: type[Function], name: str, rule: Callable[..., Any]) -> Callable[..., Any]:
    """A user's ``forward`` or ``backward`` that also runs as PyTorch's: it gets NumPy arrays
    until it calls a tensor method on one (``input.mm(weight.t())``, ``grad.clone()``, the
    PyTorch tutorials' way); from then on both rules of the op get Variables that record
    nothing (no graph, no trace events), and what they return is taken as arrays."""

    @functools.wraps(rule)
    def run(*args: Any) -> Any:
        if cls.__dict__.get("_on_variables"):
            return _run_on_variables(cls, name, rule, args)
        try:
            return _arrays_of(rule(*args))
        except AttributeError as error:
            if "'numpy.ndarray' object has no attribute" not in str(error):
                raise
        cls._on_variables = True  # type: ignore[attr-defined]
        return _run_on_variables(cls, name, rule, args)

    return run


def _run_on_variables(
    cls: type[Function], name: str, rule: Callable[..., Any], args: tuple[Any, ...]
) -> Any:
    ctx, rest = args[0], args[1:]
    ctx.saved_tensors = tuple(_as_variable(a) for a in ctx.saved_tensors)
    with grad_mode.no_grad(), hooks.paused():
        try:
            result = rule(ctx, *(_as_variable(a) for a in rest))
        except AttributeError as error:
            text = str(error)
            if "'Variable' object has no attribute" in text:
                hint = "gradviz has no tensor method of that name; NumPy's function does it"
            elif "'numpy.ndarray' object has no attribute" in text:
                hint = "a NumPy function made an array: use tensor methods throughout, or NumPy"
            else:
                raise
            raise OperandError(
                f"{cls.__name__}.{name}: {error}: {hint} (forward and backward may take and "
                "return NumPy arrays: np.clip for clamp, .copy() for clone, np.exp(x) for "
                "x.exp() ...)"
            ) from error
    return _arrays_of(result)


def _as_variable(value: Any) -> Any:
    return Variable(value) if type(value) is _ndarray else value


def _arrays_of(result: Any) -> Any:
    """A rule's result with each Variable as its array (the engine's currency)."""
    if isinstance(result, Variable):
        return result._data
    if type(result) is tuple or type(result) is list:
        return type(result)(r._data if isinstance(r, Variable) else r for r in result)
    return result


def returns_several(data: Any) -> bool:
    """Whether forward returned several outputs (a tuple or list holding an array): the
    general ``apply`` and the per-op check then take them apart."""
    return isinstance(data, tuple | list) and any(isinstance(d, np.ndarray) for d in data)


def _as_output(cls: type[Function], data: Any) -> np.ndarray:
    """Forward's result as an ndarray: one array (a scalar too). Several outputs are taken by
    the general ``apply`` (:mod:`gradviz.autograd.outputs`), which every user's op has; here
    (a built-in op, or an op with its own ``apply`` calling ``Function.apply``) they are
    refused rather than stacked."""
    if returns_several(data):
        raise OperandError(
            f"{cls.__name__}.forward returned {len(data)} outputs (a {type(data).__name__}) "
            "through Function.apply's one-output path: a Function with several outputs keeps "
            f"the apply it inherits (call it as {cls.__name__}.apply(...))"
        )
    return np.asarray(data)
