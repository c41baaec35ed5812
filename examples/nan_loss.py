"""A loss that turns NaN after a few steps: the log of a prediction that reaches <= 0.

The model predicts a positive quantity (here a price), and the loss compares logarithms, as the
mean squared log error does. Nothing keeps the prediction positive: after a few large steps some
predictions cross zero, their log is NaN, and so is the loss. The training loop stops at the
first NaN loss, so its last backward call is the one to look at:

    gradviz check examples/nan_loss.py --step -1 -o out/

names the op where the NaN was born (the Log), the line, and why (how many inputs were <= 0).
(``softplus`` or ``exp`` on the output would keep it positive.)

Run it with ``python examples/nan_loss.py``.
"""

import math

import numpy as np
from sklearn.datasets import make_regression

import gradviz
from gradviz import nn, optim

gradviz.manual_seed(0)

X, y = make_regression(n_samples=64, n_features=4, noise=5, random_state=0)
X = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
price = np.exp(y / y.std()).astype(np.float32).reshape(-1, 1)  # positive targets around 1
log_price = np.log(price)

model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
optimizer = optim.SGD(model.parameters(), lr=0.1)  # too large for this loss

losses = []
for step in range(1, 31):
    optimizer.zero_grad()
    prediction = model(X) + 1.0  # start around 1, like the prices
    loss = ((prediction.log() - log_price) ** 2).mean()  # mean squared log error
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    print(f"step {step:3d} | loss {losses[-1]:.4f}")
    if not math.isfinite(losses[-1]):
        print("the loss is NaN: stopping")
        break
