"""Regression with a small MLP: the tutorial's demo, done right.

``make_regression`` draws points around a straight line; squaring the targets bends them into a
parabola, which no straight line fits but a 1-16-16-1 MLP does.

Run it with ``python examples/regression.py``.
"""

import os

import numpy as np
from sklearn.datasets import make_regression

import gradviz
from gradviz import data, nn, optim

gradviz.manual_seed(0)  # the same weights and the same shuffling on every run
epochs = 3 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 30  # quick: a short run for tests

X, y = make_regression(n_samples=100, n_features=1, noise=10, random_state=0)
y = y**2  # the tutorial's twist: a parabola

# The squared targets reach tens of thousands; standardising X and y (zero mean, unit variance)
# keeps the gradients at a scale where a plain learning rate works. sklearn returns float64 and
# gradviz parameters are float32, so cast. y becomes a column: one target per row, like the output.
X = ((X - X.mean()) / X.std()).astype(np.float32)
y = ((y - y.mean()) / y.std()).astype(np.float32).reshape(-1, 1)

# batch_size=1: one sample per step, as in the tutorial; shuffle gives a new order every epoch.
loader = data.DataLoader(data.TensorDataset(X, y), batch_size=1, shuffle=True)

model = nn.Sequential(
    nn.Linear(1, 16),
    nn.Tanh(),
    nn.Linear(16, 16),
    nn.Tanh(),
    nn.Linear(16, 1),
)
loss_fn = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=0.02)

losses = []  # the mean loss of each epoch
for epoch in range(1, epochs + 1):
    total = 0.0
    for inputs, targets in loader:
        optimizer.zero_grad()  # gradients accumulate until cleared
        loss = loss_fn(model(inputs), targets)
        loss.backward()  # fills .grad of every parameter
        optimizer.step()  # moves each parameter against its gradient
        total += loss.item()
    losses.append(total / len(loader))
    if epoch == 1 or epoch % 5 == 0:
        print(f"epoch {epoch:3d} | loss {losses[-1]:.4f}")

# On standardised targets, always predicting the mean scores an MSE of 1, so R^2 = 1 - MSE.
# The noise caps it: the best parabola through these points reaches R^2 = 0.89.
with gradviz.no_grad():  # no graph needed just to measure
    mse = loss_fn(model(gradviz.Variable(X)), gradviz.Variable(y)).item()
r2 = 1 - mse
print(f"final train MSE {mse:.4f} (R^2 = {r2:.3f})")
