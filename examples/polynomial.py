"""Fit y = a + b * P3(c + d * x) to sin(x): a custom autograd op and updates by hand.

PyTorch's tutorial "Defining new autograd functions", in gradviz: ``LegendrePolynomial3`` is a
``gradviz.Function`` (forward and backward side by side) and the four parameters are updated by
hand, in place, under ``no_grad``, exactly as the tutorial does::

    with gradviz.no_grad():
        a -= learning_rate * a.grad

Run it with ``python examples/polynomial.py``; ``gradviz render examples/polynomial.py`` draws
one step, with the four in-place updates. GRADVIZ_EXAMPLE_QUICK=1 runs 200 steps, not 2,000.
"""

import math
import os

import numpy as np

import gradviz


class LegendrePolynomial3(gradviz.Function):
    """P3(x) = (5x^3 - 3x) / 2, the Legendre polynomial of degree three."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (5 * x**3 - 3 * x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 1.5 * (5 * x**2 - 1)  # P3'(x)


steps = 200 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 2000
x = gradviz.Variable(np.linspace(-math.pi, math.pi, 2000, dtype=np.float32))
y = gradviz.sin(x)

# Weights start near the answer: a cubic around 0 with the wrong sign needs a good start to
# converge (the tutorial's choice).
a = gradviz.full((), 0.0, requires_grad=True)
b = gradviz.full((), -1.0, requires_grad=True)
c = gradviz.full((), 0.0, requires_grad=True)
d = gradviz.full((), 0.3, requires_grad=True)

learning_rate = 5e-6
P3 = LegendrePolynomial3.apply
losses = []
for t in range(steps):
    y_pred = a + b * P3(c + d * x)
    loss = ((y_pred - y) ** 2).sum()
    losses.append(loss.item())
    if t % 100 == 99:
        print(f"step {t:4d} | loss {loss.item():.4f}")
    loss.backward()
    with gradviz.no_grad():  # update in place; a, b, c, d stay the same leaf Variables
        for weight in (a, b, c, d):
            weight -= learning_rate * weight.grad
            weight.grad = None

print(f"Result: y = {a.item():.4f} + {b.item():.4f} * P3({c.item():.4f} + {d.item():.4f} x)")
