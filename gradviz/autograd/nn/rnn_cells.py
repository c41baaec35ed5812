"""``nn.RNNCell``, ``nn.LSTMCell`` and ``nn.GRUCell``: one time step, as PyTorch's.

Each step is written out op by op (Linear, Add, Split, Sigmoid, Tanh, Mul) so the graph shows
the gates; the multi-layer ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (``rnn.py``) run the same steps.
Gate order is PyTorch's: i, f, g, o for the LSTM and r, z, n for the GRU.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError, InputError, OperandError, ShapeError
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.layers import layer_size
from gradviz.autograd.nn.module import Module, Parameter, new_parameter
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable

State = Variable | tuple[Variable, Variable]

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _named(gates: tuple[Variable, ...], names: str) -> tuple[Variable, ...]:
    """The gates named (``i``, ``f`` ...) so the graph labels each by its gate."""
    for gate, name in zip(gates, names, strict=True):
        gate.name = name
    return gates


def rnn_step(gi, h, w_hh, b_hh, nonlinearity: str = "tanh") -> Variable:
    """``act(x W_ih^T + b_ih + h W_hh^T + b_hh)``; ``gi`` is the input part."""
    pre = F.linear(h, w_hh, b_hh) + gi
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def lstm_step(gi, state, w_hh, b_hh, w_hr=None) -> tuple[Variable, Variable]:
    """``(h', c')``: gates i, f, g, o; ``c' = f c + i g``, ``h' = o tanh(c')`` (then
    ``h' W_hr^T`` with a projection)."""
    h, c = state
    i, f, g, o = (F.linear(h, w_hh, b_hh) + gi).chunk(4, -1)
    i, f, g, o = _named((i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()), "ifgo")
    c = f * c + i * g
    h = o * c.tanh()
    return (h if w_hr is None else F.linear(h, w_hr)), c


def gru_step(gi, h, w_hh, b_hh) -> Variable:
    """``h' = (1 - z) n + z h`` with ``n = tanh(W_in x + b_in + r (W_hn h + b_hn))``."""
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r, z = _named(((i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()), "rz")
    (n,) = _named(((i_n + r * h_n).tanh(),), "n")
    return (h - n) * z + n  # PyTorch's order of the same sum


def step(mode: str, gi, state, w_hh, b_hh, w_hr=None) -> State:
    """One time step of ``mode`` (``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"``, ``"GRU"``)."""
    if mode == "LSTM":
        return lstm_step(gi, state, w_hh, b_hh, w_hr)
    if mode == "GRU":
        return gru_step(gi, state, w_hh, b_hh)
    return rnn_step(gi, state, w_hh, b_hh, nonlinearity="tanh" if mode == "RNN_TANH" else "relu")


def hidden_size_of(layer: str, hidden_size: Any) -> int:
    """A hidden size: an integer > 0."""
    hidden_size = layer_size(layer, "hidden_size", hidden_size)
    if hidden_size == 0:
        raise ArgumentError(f"{layer}: hidden_size must be greater than zero, got 0")
    return hidden_size


def check_nonlinearity(layer: str, nonlinearity: Any) -> str:
    """``"tanh"`` or ``"relu"``, else PyTorch's error."""
    if nonlinearity not in ("tanh", "relu"):
        raise ArgumentError(
            f"{layer}: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
        )
    return nonlinearity


def zeros_like_state(x: Variable, shape: tuple[int, ...], name: str) -> Variable:
    """The zero state PyTorch starts from when none is given, named for the graph."""
    return Variable(np.zeros(shape, dtype=x.dtype), name=name)


class RNNCellBase(Module):
    """The weights of one cell: ``weight_ih`` (gates * hidden, input), ``weight_hh``
    (gates * hidden, hidden) and the biases, uniform in ``±1/sqrt(hidden_size)``."""

    _mode = "RNN_TANH"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        layer = type(self).__name__
        self.input_size = layer_size(layer, "input_size", input_size)
        self.hidden_size = hidden_size_of(layer, hidden_size)
        self.bias = bias
        rows = GATES[self._mode] * self.hidden_size
        bound, generator = 1 / math.sqrt(self.hidden_size), rng.default_generator()
        self.weight_ih = new_parameter((rows, self.input_size), bound, generator)
        self.weight_hh = new_parameter((rows, self.hidden_size), bound, generator)
        if bias:
            self.bias_ih: Parameter | None = new_parameter((rows,), bound, generator)
            self.bias_hh: Parameter | None = new_parameter((rows,), bound, generator)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        place(self, device, dtype)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text

    def _input(self, input: Any) -> tuple[Variable, bool]:
        """The input as (N, input_size), checked as PyTorch checks it, and whether batched."""
        layer = type(self).__name__
        x = as_variable(input, layer)
        if x.ndim not in (1, 2):
            raise ShapeError(
                f"{layer}: Expected input to be 1D or 2D, got {x.ndim}D instead (input of shape "
                f"{x.shape}; expected (N, {self.input_size}) or ({self.input_size},))"
            )
        if x.shape[-1] != self.input_size:
            raise InputError(
                f"{layer}: input has inconsistent input_size: got {x.shape[-1]} expected "
                f"{self.input_size} (input of shape {x.shape})"
            )
        return (x, True) if x.ndim == 2 else (x.unsqueeze(0), False)

    def _hidden(self, x: Variable, hx: Any, label: str, batched: bool) -> Variable:
        """``hx`` as (N, hidden_size) for the (N, input_size) input ``x`` (zeros if None)."""
        if hx is None:
            name = "cx" if label == "hidden1" else "hx"
            return zeros_like_state(x, (x.shape[0], self.hidden_size), name)
        layer = type(self).__name__
        hx = as_variable(hx, layer)
        expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        if hx.ndim not in (1, 2):
            raise ShapeError(
                f"{layer}: Expected hidden to be 1D or 2D, got {hx.ndim}D instead ({label} of "
                f"shape {hx.shape}; expected {expected})"
            )
        if hx.shape == expected:
            return hx if batched else hx.unsqueeze(0)
        if hx.shape[-1] != self.hidden_size:
            reason = (
                f"{label} has inconsistent hidden_size: got {hx.shape[-1]}, expected "
                f"{self.hidden_size}"
            )
        elif hx.ndim == 2 and batched:
            reason = f"Input batch size {x.shape[0]} doesn't match {label} batch size {hx.shape[0]}"
        else:
            reason = f"{label} must have as many dims as the input"
        raise InputError(f"{layer}: {reason} ({label} of shape {hx.shape}; expected {expected})")

    def _step(self, input: Any, hx: Any) -> tuple[State, bool]:
        """The next state for (N, input_size) or (input_size,) input, and whether batched."""
        x, batched = self._input(input)
        if self._mode == "LSTM":
            if hx is not None and not (isinstance(hx, tuple | list) and len(hx) == 2):
                raise OperandError(
                    f"LSTMCell: hx must be a tuple (h_0, c_0), got {type(hx).__name__}"
                )
            h0, c0 = (None, None) if hx is None else hx
            state: State = (
                self._hidden(x, h0, "hidden0", batched),
                self._hidden(x, c0, "hidden1", batched),
            )
        else:
            state = self._hidden(x, hx, "hidden0", batched)
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        return step(self._mode, gi, state, self.weight_hh, self.bias_hh), batched


class RNNCell(RNNCellBase):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity
        self._mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, input: Any, hx: Any = None) -> Variable:
        """``h'`` of shape (N, hidden_size), or (hidden_size,) for a 1-D input."""
        h, batched = self._step(input, hx)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """An LSTM step: gates i, f, g, o; ``c' = f c + i g``, ``h' = o tanh(c')``."""

    _mode = "LSTM"

    def forward(self, input: Any, hx: Any = None) -> tuple[Variable, Variable]:
        """``(h', c')``, each (N, hidden_size) or, for a 1-D input, (hidden_size,)."""
        (h, c), batched = self._step(input, hx)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """A GRU step: gates r, z, n; ``h' = (1 - z) n + z h``."""

    _mode = "GRU"

    def forward(self, input: Any, hx: Any = None) -> Variable:
        """``h'`` of shape (N, hidden_size), or (hidden_size,) for a 1-D input."""
        h, batched = self._step(input, hx)
        return h if batched else h.squeeze(0)
