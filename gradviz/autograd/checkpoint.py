"""PyTorch's ``torch.utils.checkpoint``: activation checkpointing, which trades memory for
compute by running a block's forward again during backward. gradviz keeps every activation
(its pictures show them), so ``checkpoint(fn, *args)`` runs ``fn`` once and records its ops as
usual: the values and gradients are PyTorch's, the memory is not saved. PyTorch's argument
checks and warnings are kept, and so is the reentrant variant's pitfall: with
``use_reentrant=True`` and no input that requires grad, the output does not require grad and
the block's parameters get no gradient."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

from gradviz.autograd.errors import ArgumentError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.variable import Variable

__all__ = ["checkpoint", "checkpoint_sequential"]


def _reentrant(use_reentrant: bool | None) -> bool:
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "use_reentrant=False is recommended, but if you need to preserve the current "
            "default behavior, you can pass use_reentrant=True.",
            stacklevel=3,
        )
        return True
    return bool(use_reentrant)


def checkpoint(
    function: Callable[..., Any],
    *args: Any,
    use_reentrant: bool | None = None,
    context_fn: Callable[[], Any] | None = None,
    determinism_check: str = "default",
    debug: bool = False,
    early_stop: bool = True,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Any:
    """``function(*args, **kwargs)``, as PyTorch's ``checkpoint`` computes it (once here: see
    the module docstring). Keyword arguments for ``function`` need ``use_reentrant=False``."""
    reentrant = _reentrant(use_reentrant)
    if reentrant and kwargs:
        raise ArgumentError(f"Unexpected keyword arguments: {','.join(kwargs)}")
    if not any(isinstance(a, Variable) and a.requires_grad for a in args):
        warnings.warn(
            "None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2
        )
        if reentrant:  # PyTorch's reentrant variant runs the block under no_grad
            with no_grad():
                return function(*args)
    return function(*args, **kwargs)


def checkpoint_sequential(
    functions: Iterable[Callable[[Any], Any]],
    segments: int,
    input: Any,
    use_reentrant: bool | None = None,
    **kwargs: Any,
) -> Any:
    """Run ``functions`` (a ``Sequential`` or a list of modules) one after the other on
    ``input``, in ``segments`` checkpointed pieces as PyTorch's (the last piece is not
    checkpointed)."""
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ArgumentError(f"Unexpected keyword arguments: {','.join(kwargs)}")
    children = getattr(functions, "children", None)
    functions = list(children() if callable(children) else functions)
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise ArgumentError(
            f"checkpoint_sequential(): segments must be a positive int, got {segments!r}"
        )
    size = len(functions) // segments
    if size == 0:
        raise ArgumentError(
            f"checkpoint_sequential(): {segments} segments of {len(functions)} functions leave "
            "a segment empty: give at most as many segments as functions"
        )
    reentrant = _reentrant(use_reentrant)
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        piece = functions[start : end + 1]
        input = checkpoint(_run(piece), input, use_reentrant=reentrant, preserve_rng_state=preserve)
    return _run(functions[end + 1 :])(input)


def _run(functions: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def forward(x: Any) -> Any:
        for function in functions:
            x = function(x)
        return x

    return forward
