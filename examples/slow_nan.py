"""A NaN that appears only after many steps: logistic regression on scikit-learn's breast-cancer
data with a hand-written binary cross-entropy, ``-(y * log(p) + (1 - y) * log(1 - p))``. On
separable data the weights keep growing, the sigmoid saturates, and once a probability rounds to
exactly 1.0 in float32, ``log(1 - p)`` is ``log(0) = -inf`` and the loss is NaN — hundreds of
steps in, long after the first step looked fine. ``gradviz watch examples/slow_nan.py`` stops at
that step and shows the ``Log`` where the NaN was born (``F.binary_cross_entropy_with_logits``
is the fix).

Run it with ``python examples/slow_nan.py``.
"""

import numpy as np
from sklearn.datasets import load_breast_cancer

import gradviz
from gradviz import nn, optim

gradviz.manual_seed(0)
X, y = load_breast_cancer(return_X_y=True)
X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
y = y.astype(np.float32).reshape(-1, 1)
inputs, targets = gradviz.tensor(X), gradviz.tensor(y)

model = nn.Linear(30, 1)
optimizer = optim.SGD(model.parameters(), lr=0.3)

for step in range(1, 601):
    p = model(inputs).sigmoid()
    loss = -(targets * p.log() + (1 - targets) * (1 - p).log()).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0 or not np.isfinite(loss.item()):
        print(f"step {step:4d} | loss {loss.item():.4g}")
    if not np.isfinite(loss.item()):
        print("the loss is NaN: log met a probability of exactly 0 or 1")
        break
