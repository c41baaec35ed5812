"""A custom layer with a subtle bug: its backward is off by a factor on one input.

``Dense`` is ``nn.Linear`` with a hand-written op, ``DenseFunction``. Its backward divides the
weight's gradient by the batch size, as if the loss were a sum, but the loss already averages
over the batch. Training still runs and the loss still falls, only more slowly, which is why such
bugs survive. ``gradviz check`` re-runs every op of a training step and compares its backward with
finite differences; it names this op and the line that applied it:

    gradviz check examples/buggy_layer.py -o out/

Run it with ``python examples/buggy_layer.py``.
"""

import os

import numpy as np
from sklearn.datasets import load_digits

import gradviz
from gradviz import data, nn, optim


class DenseFunction(gradviz.Function):
    """x @ weight.T + bias, forward and backward written by hand."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad_x = grad @ weight
        grad_weight = grad.T @ x / len(x)  # BUG: the loss is already a mean over the batch
        grad_bias = grad.sum(axis=0)
        return grad_x, grad_weight, grad_bias


class Dense(nn.Linear):
    """nn.Linear's parameters and initialisation, applied with the hand-written op."""

    def forward(self, x):
        return DenseFunction.apply(x, self.weight, self.bias)


gradviz.manual_seed(0)  # the same weights and the same shuffling on every run
epochs = 2 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 10  # quick: a short run for tests

digits = load_digits()
X = (digits.data / 16).astype(np.float32)  # 8x8 pixels scaled to 0..1
y = digits.target  # classes 0..9
loader = data.DataLoader(data.TensorDataset(X, y), batch_size=32, shuffle=True)

model = nn.Sequential(
    nn.Linear(64, 32),
    nn.ReLU(),
    Dense(32, 32),  # the layer under suspicion
    nn.ReLU(),
    nn.Linear(32, 10),
)
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1)

losses = []
for epoch in range(1, epochs + 1):
    total = 0.0
    for images, labels in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(images)
    losses.append(total / len(X))
    print(f"epoch {epoch:3d} | loss {losses[-1]:.4f}")
