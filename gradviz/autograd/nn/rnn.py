"""``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` with PyTorch's signatures, parameter names and init.

Per layer and direction, one Linear projects the whole sequence (``x W_ih^T + b_ih``), then a
Python loop over the time steps runs the recurrent part (the steps of ``rnn_cells.py``), as
PyTorch's CPU path does; gradients come from the recorded ops, and the graph shows them inside
the layer's module box.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError, InputError, OperandError, ShapeError
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.layers import layer_index, layer_size
from gradviz.autograd.nn.module import Module, new_parameter
from gradviz.autograd.nn.rnn_cells import (
    GATES,
    State,
    check_nonlinearity,
    hidden_size_of,
    step,
    zeros_like_state,
)
from gradviz.autograd.nn.rnn_packing import (
    PackedSequence,
    pack_padded_sequence,
    pad_packed_sequence,
)
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.indexing import where
from gradviz.autograd.ops.promotion import same_float_dtype
from gradviz.autograd.ops.shape import concatenate, stack
from gradviz.autograd.variable import Variable


def _check_dropout(dropout: Any, num_layers: int) -> float:
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number):
        ok = False
    else:
        ok = 0 <= dropout <= 1
    if not ok:
        raise ArgumentError(
            "dropout should be a number in range [0, 1] representing the probability of an "
            f"element being zeroed, got {dropout!r}"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
            f"expects num_layers greater than 1, but got dropout={dropout} and "
            f"num_layers={num_layers}",
            UserWarning,
            stacklevel=3,
        )
    return float(dropout)


class RNNBase(Module):
    """The weights of every layer and direction (``weight_ih_l{k}``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}`` for a projected LSTM, ``_reverse``
    for the backward direction), uniform in ``±1/sqrt(hidden_size)``, and the forward pass."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.mode = mode
        layer = self._get_name()
        self.input_size = layer_size(layer, "input_size", input_size)
        self.hidden_size = hidden_size_of(layer, hidden_size)
        self.num_layers = layer_index(layer, "num_layers", num_layers)
        if self.num_layers <= 0:
            raise ArgumentError(f"{layer}: num_layers must be greater than zero, got {num_layers}")
        self.proj_size = self._check_proj_size(layer, proj_size)
        self.dropout = _check_dropout(dropout, self.num_layers)
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self._make_weights()
        place(self, device, dtype)

    def _check_proj_size(self, layer: str, proj_size: Any) -> int:
        proj_size = layer_index(layer, "proj_size", proj_size)
        if proj_size < 0:
            raise ArgumentError(
                f"{layer}: proj_size should be a positive integer or zero to disable "
                f"projections, got {proj_size}"
            )
        if proj_size and self.mode != "LSTM":
            raise ArgumentError(f"{layer}: proj_size argument is only supported for LSTM")
        if proj_size >= self.hidden_size:
            raise ArgumentError(
                f"{layer}: proj_size has to be smaller than hidden_size, got proj_size="
                f"{proj_size} and hidden_size={self.hidden_size}"
            )
        return proj_size

    def _make_weights(self) -> None:
        rows, out = GATES[self.mode] * self.hidden_size, self.proj_size or self.hidden_size
        bound, generator = 1 / math.sqrt(self.hidden_size), rng.default_generator()
        directions = 2 if self.bidirectional else 1
        for layer in range(self.num_layers):
            inputs = self.input_size if layer == 0 else out * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = {"weight_ih": (rows, inputs), "weight_hh": (rows, out)}
                if self.bias:
                    shapes.update(bias_ih=(rows,), bias_hh=(rows,))
                if self.proj_size:
                    shapes["weight_hr"] = (self.proj_size, self.hidden_size)
                for name, shape in shapes.items():
                    setattr(self, name + suffix, new_parameter(shape, bound, generator))

    def flatten_parameters(self) -> None:
        """Nothing to do: the weights are separate arrays (kept so scripts calling it run)."""

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text

    # ------------------------------------------------------------------ checks of the inputs
    def _input(self, input: Any) -> tuple[Variable, bool]:
        """The input as (L, N, input_size), checked as PyTorch checks it, and whether batched."""
        layer = self._get_name()
        x = as_variable(input, layer)
        if x.ndim not in (2, 3):
            raise ShapeError(
                f"{layer}: Expected input to be 2D or 3D, got {x.ndim}D tensor instead (input "
                f"of shape {x.shape})"
            )
        if x.shape[-1] != self.input_size:
            raise InputError(
                f"{layer}: input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {x.shape[-1]} (input of shape {x.shape})"
            )
        if x.dtype.kind != "f":  # PyTorch: "RNN input dtype (torch.int64) does not match ..."
            raise InputError(
                f"{layer}: input dtype {x.dtype} does not match the weight's "
                f"{self.weight_ih_l0.dtype}: integer inputs (token ids?) go through an "
                "nn.Embedding first; features read as integers convert with x.float()"
            )
        same_float_dtype(layer, x._data, self.weight_ih_l0._data)
        if x.shape[1 if x.ndim == 3 and self.batch_first else 0] == 0:
            raise InputError(
                f"{layer}: Expected sequence length to be larger than 0 in RNN (input of shape "
                f"{x.shape})"
            )
        if x.ndim == 2:
            return x.unsqueeze(1), False
        return (x.transpose(0, 1) if self.batch_first else x), True

    def _hidden(self, hx: Any, label: str, size: int, x: Variable, batched: bool) -> Variable:
        """``hx`` as (layers * directions, N, size) for the (L, N, input_size) ``x``, checked."""
        layers, batch = self.num_layers * (2 if self.bidirectional else 1), x.shape[1]
        layer = self._get_name()
        hx = as_variable(hx, layer)
        if hx.ndim != (3 if batched else 2):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise InputError(
                f"{layer}: For {kind} input, hx should also be {3 if batched else 2}-D but got "
                f"{hx.ndim}-D tensor ({label} of shape {hx.shape})"
            )
        expected = (layers, batch, size) if batched else (layers, size)
        if hx.shape != expected:
            raise InputError(f"{layer}: Expected {label} size {expected}, got {hx.shape}")
        return hx if batched else hx.unsqueeze(1)

    def _states(self, hx: Any, x: Variable, batched: bool) -> list[State]:
        """The initial state of every layer and direction, from ``hx`` or zeros."""
        out = self.proj_size or self.hidden_size
        if hx is None:  # one zero state each, no indexing to draw
            count = self.num_layers * (2 if self.bidirectional else 1)
            zeros = [zeros_like_state(x, (x.shape[1], out), "h_0") for _ in range(count)]
            if self.mode != "LSTM":
                return zeros
            return [(h, zeros_like_state(x, (x.shape[1], self.hidden_size), "c_0")) for h in zeros]
        if self.mode != "LSTM":
            if isinstance(hx, tuple | list):
                raise OperandError(
                    f"{self._get_name()}: hx must be one Variable (h_0), got a "
                    f"{type(hx).__name__}: only an LSTM has a cell state and takes (h_0, c_0)"
                )
            h0 = self._hidden(hx, "hidden", out, x, batched)
            return [h0[k] for k in range(h0.shape[0])]
        if not (isinstance(hx, tuple | list) and len(hx) == 2):
            raise OperandError(f"LSTM: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        h0 = self._hidden(hx[0], "hidden[0]", out, x, batched)
        c0 = self._hidden(hx[1], "hidden[1]", self.hidden_size, x, batched)
        return [(h0[k], c0[k]) for k in range(h0.shape[0])]

    # ------------------------------------------------------------------ the forward pass
    def _direction(
        self, x: Variable, state: State, suffix: str, lengths: np.ndarray | None
    ) -> tuple[Variable, State]:
        """One layer in one direction over (L, N, inputs): the outputs (L, N, out) in time
        order and the final state (the reverse direction reads the sequence backwards).
        ``lengths`` (packed input): past its length a sequence's state stays and its output
        is 0, so each one ends, or starts backwards, at its own last step."""
        weights = [getattr(self, name + suffix, None) for name in ("weight_ih", "bias_ih")]
        gi = F.linear(x, *weights)  # the whole sequence at once
        w_hh, b_hh = (getattr(self, name + suffix, None) for name in ("weight_hh", "bias_hh"))
        w_hr = getattr(self, "weight_hr" + suffix, None)
        times = range(x.shape[0])
        outputs: list[Any] = [None] * x.shape[0]
        for t in reversed(times) if suffix.endswith("_reverse") else times:
            new = step(self.mode, gi[t], state, w_hh, b_hh, w_hr)
            if lengths is not None and (lengths <= t).any():
                running = (lengths > t)[:, None]
                new = _kept(running, new, state)
                out = where(running, new[0] if self.mode == "LSTM" else new, 0.0)
            else:
                out = new[0] if self.mode == "LSTM" else new
            state, outputs[t] = new, out
        return stack(outputs, 0), state

    def _run(
        self, x: Variable, states: list[State], lengths: np.ndarray | None = None
    ) -> tuple[Variable, list[State]]:
        directions = 2 if self.bidirectional else 1
        finals: list[State] = []
        for layer in range(self.num_layers):
            if layer:
                x = F.dropout(x, self.dropout, self.training)
            outputs = []
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                state = states[layer * directions + direction]
                out, final = self._direction(x, state, suffix, lengths)
                outputs.append(out)
                finals.append(final)
            x = outputs[0] if directions == 1 else concatenate(outputs, axis=2)
        return x, finals

    def _forward(self, input: Any, hx: Any) -> tuple[Variable, Any]:
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        x, batched = self._input(input)
        output, finals = self._run(x, self._states(hx, x, batched))
        if self.mode == "LSTM":
            h_n = stack([h for h, _ in finals], 0)
            c_n = stack([c for _, c in finals], 0)
            hidden: Any = (h_n, c_n) if batched else (h_n.squeeze(1), c_n.squeeze(1))
        else:
            h_n = stack(finals, 0)
            hidden = h_n if batched else h_n.squeeze(1)
        if not batched:
            return output.squeeze(1), hidden
        return (output.transpose(0, 1) if self.batch_first else output), hidden

    def _forward_packed(self, packed: PackedSequence, hx: Any) -> tuple[PackedSequence, Any]:
        """A PackedSequence in, one out (in the same order), as PyTorch's: the padded batch,
        each sequence stopped at its length; the final states in the batch's own order."""
        padded, lengths = pad_packed_sequence(packed)
        x, _ = self._input(padded.transpose(0, 1) if self.batch_first else padded)
        output, finals = self._run(x, self._states(hx, x, True), lengths.numpy())
        out = pack_padded_sequence(output, lengths.numpy(), enforce_sorted=False)
        result = PackedSequence(
            out.data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
        )
        if self.mode == "LSTM":
            return result, (stack([h for h, _ in finals], 0), stack([c for _, c in finals], 0))
        return result, stack(finals, 0)


def _kept(running: np.ndarray, new: State, old: State) -> State:
    """The new state where a sequence is ``running`` (an (N, 1) mask), else the old one."""
    if isinstance(new, tuple):
        return tuple(where(running, n, o) for n, o in zip(new, old, strict=True))
    return where(running, new, old)


class RNN(RNNBase):
    """Elman RNN layers: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).

    Input (L, N, input_size), (N, L, input_size) with ``batch_first``, or unbatched
    (L, input_size); returns ``(output, h_n)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        mode = "RNN_TANH" if check_nonlinearity("RNN", nonlinearity) == "tanh" else "RNN_RELU"
        options = (num_layers, bias, batch_first, dropout, bidirectional)
        super().__init__(mode, input_size, hidden_size, *options, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> tuple[Variable, Variable]:
        """``(output, h_n)``: output (L, N, D * hidden_size), h_n (D * num_layers, N,
        hidden_size); ``hx`` (h_0) is h_n's shape, zeros when omitted."""
        return self._forward(input, hx)


class LSTM(RNNBase):
    """LSTM layers (gates i, f, g, o; ``c_t = f c_{t-1} + i g``, ``h_t = o tanh(c_t)``,
    projected by ``weight_hr`` when ``proj_size > 0``); returns ``(output, (h_n, c_n))``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )

    def forward(self, input: Any, hx: Any = None) -> tuple[Variable, tuple[Variable, Variable]]:
        """``(output, (h_n, c_n))``; ``hx`` is ``(h_0, c_0)`` of their shapes, zeros when
        omitted."""
        return self._forward(input, hx)


class GRU(RNNBase):
    """GRU layers (gates r, z, n; ``n = tanh(W_in x + b_in + r (W_hn h + b_hn))``,
    ``h_t = (1 - z) n + z h_{t-1}``); returns ``(output, h_n)``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        options = (num_layers, bias, batch_first, dropout, bidirectional)
        super().__init__("GRU", input_size, hidden_size, *options, device=device, dtype=dtype)

    def forward(self, input: Any, hx: Any = None) -> tuple[Variable, Variable]:
        """``(output, h_n)``; ``hx`` (h_0) is h_n's shape, zeros when omitted."""
        return self._forward(input, hx)
