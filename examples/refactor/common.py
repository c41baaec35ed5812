"""The data and the training loop the three versions of the model share: only the model changes.

Nodes of two graphs are matched by module path, op and position, and parameters by name, so a
refactor that keeps the names (``layers.0.weight``) compares node for node.
"""

import os

import numpy as np

import gradviz
from gradviz import nn, optim


def make_data(n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Points in [-2, 2]^2 and a smooth target, sin(x0) * cos(x1)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(n, 2)).astype(np.float32)
    y = (np.sin(X[:, :1]) * np.cos(X[:, 1:])).astype(np.float32)
    return X, y


def train(model: nn.Module) -> list[float]:
    """Full-batch SGD with momentum on the MSE; returns the loss of every step."""
    steps = 60 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 300  # quick: for tests
    X, y = make_data()
    inputs, targets = gradviz.tensor(X), gradviz.tensor(y)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.MSELoss()
    losses = []
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step == 1 or step % 50 == 0:
            print(f"step {step:4d} | loss {losses[-1]:.4f}")
    return losses
