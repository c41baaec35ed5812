"""Exceptions raised by gradviz.

Each subclass also inherits the builtin exception PyTorch raises in the same situation, so
``except RuntimeError`` or ``except ValueError`` written for PyTorch keeps working.
"""

from __future__ import annotations


class GradvizError(Exception):
    """Base class of every error gradviz raises on purpose."""


class ShapeError(GradvizError, ValueError, RuntimeError):
    """Shapes that cannot be combined (matmul, broadcasting, a gradient of the wrong shape): a
    RuntimeError, as PyTorch raises, and a ValueError, as NumPy raises."""


class OperandError(GradvizError, TypeError):
    """An operand that is not a number, an array or a Variable; integer data that requires grad."""


class RequiresGradError(OperandError, RuntimeError):
    """``requires_grad`` asked of integer data or changed on a non-leaf: PyTorch's RuntimeError."""


class BackwardError(GradvizError, RuntimeError):
    """Backward cannot run: non-scalar output without ``grad``, no grad required, a freed graph."""


class DerivativeNotImplementedError(BackwardError, NotImplementedError):
    """A derivative PyTorch does not implement either (``igamma`` in its first argument): a
    NotImplementedError, as PyTorch raises."""


class LayoutError(GradvizError, NotImplementedError):
    """A factory asked for a layout other than ``torch.strided`` (a sparse one): gradviz's
    Variables are dense. A NotImplementedError, so a RuntimeError, as PyTorch's factories
    raise for a sparse layout they cannot fill."""


class GradcheckError(GradvizError, RuntimeError):
    """An analytic gradient disagrees with its finite-difference estimate."""


class ArgumentError(GradvizError, ValueError):
    """An option out of its range: a dropout probability, a reduction name, BCE inputs."""


class OptimizerError(GradvizError, ValueError):
    """A bad optimizer setting or parameter list (a ValueError, as PyTorch raises)."""


class StateDictError(GradvizError, RuntimeError):
    """Missing, unexpected or mis-shaped entries in ``load_state_dict`` (a RuntimeError)."""


class InplaceError(GradvizError, RuntimeError):
    """An in-place op that PyTorch refuses: on a leaf that requires grad, on a view, read-only."""


class LinAlgError(GradvizError, RuntimeError):
    """A matrix the factorization cannot take: singular, not positive-definite (PyTorch's
    ``torch.linalg.LinAlgError``, a RuntimeError)."""


class IndexRangeError(GradvizError, IndexError):
    """A dim or a class index out of its range (an IndexError, as PyTorch raises)."""


class InputError(ArgumentError, RuntimeError):
    """A value PyTorch rejects with a RuntimeError: BCE probabilities outside [0, 1], a zero
    ``arange`` step, a negative layer size, a dim listed twice (also an ``ArgumentError``)."""


class ScalerError(GradvizError, AssertionError):
    """A ``GradScaler`` call out of order (``step`` before any ``scale``, ``update`` with no
    step): an AssertionError, as PyTorch raises."""


class RegistrationError(GradvizError, KeyError):
    """A module or parameter name that cannot be registered: empty, or containing a dot."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else ""


class UnsupportedError(GradvizError, AttributeError):
    """A part of PyTorch gradviz has no counterpart of (``torch.hub``, ``torch.onnx``, forward-
    mode AD ...): the message says what to do instead. An AttributeError, so ``hasattr`` probes
    find nothing."""


class AbsentError(UnsupportedError):
    """A name of PyTorch's top level that gradviz has not (quantization, sparse and complex
    tensors, backend kernels ...): an ``UnsupportedError`` for one name, saying what to use
    instead; an AttributeError, so ``hasattr`` stays False."""
