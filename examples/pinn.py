"""A physics-informed network: second derivatives with ``create_graph=True``.

The network u(x) learns the solution of u''(x) = -pi^2 sin(pi x) on [0, 1] with u(0) = u(1) = 0
(the exact one is sin(pi x)) from the equation alone, no sample of the solution: the loss is
how far u'' is from the right-hand side at random points, plus the boundary values. u' and u''
come from ``gradviz.autograd.grad(..., create_graph=True)``, so they are graphs themselves and
the loss's backward pass goes through them.

Run it with ``python examples/pinn.py``; ``gradviz render examples/pinn.py -o out/`` draws one
step: each op of the two derivatives sits in a box saying whose derivative it is (``∂ Tanh``).
"""

import math
import os

import gradviz
from gradviz import nn, optim

gradviz.manual_seed(0)
steps = 2 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 1500  # quick: a short run for tests

model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
optimizer = optim.Adam(model.parameters(), lr=0.01)
edges = gradviz.tensor([[0.0], [1.0]])


def second_derivative(x: gradviz.Variable) -> gradviz.Variable:
    """u''(x) at each point of ``x`` (N, 1), as a graph (each u(x_i) depends on x_i alone, so
    the gradient of the sum is each point's derivative)."""
    u = model(x)
    (du,) = gradviz.autograd.grad(u.sum(), x, create_graph=True)
    (d2u,) = gradviz.autograd.grad(du.sum(), x, create_graph=True)
    return d2u


losses = []
for step in range(1, steps + 1):
    x = gradviz.rand(64, 1, requires_grad=True)  # new collocation points at every step
    optimizer.zero_grad()
    residual = second_derivative(x) + math.pi**2 * gradviz.sin(math.pi * x)
    loss = (residual**2).mean() + 100 * (model(edges) ** 2).mean()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if step == 1 or step % 300 == 0:
        print(f"step {step:4d} | loss {losses[-1]:.4f}")

with gradviz.no_grad():
    grid = gradviz.linspace(0, 1, 101).reshape(-1, 1)
    error = (model(grid) - gradviz.sin(math.pi * grid)).abs().max().item()
print(f"largest error against sin(pi x) on [0, 1]: {error:.4f}")
