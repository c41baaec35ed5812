"""Training that diverges when the learning-rate warm-up goes too high: a regression MLP on
scikit-learn's diabetes data, SGD with momentum, the learning rate warmed up linearly from 0.001
to 0.5 over 200 steps. The loss falls at first, then, once the rate is too high, spikes and
blows up. ``gradviz watch examples/lr_spike.py`` stops at the step where the loss or the
gradient norm jumps far above its running median and shows that step.

Run it with ``python examples/lr_spike.py``.
"""

import numpy as np
from sklearn.datasets import load_diabetes

import gradviz
from gradviz import data, nn, optim

gradviz.manual_seed(0)
X, y = load_diabetes(return_X_y=True)
X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
y = ((y - y.mean()) / y.std()).astype(np.float32).reshape(-1, 1)
loader = data.DataLoader(data.TensorDataset(X, y), batch_size=32, shuffle=True)

model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
warmup = optim.lr_scheduler.LinearLR(optimizer, start_factor=0.002, total_iters=200)

step = 0
for _epoch in range(22):  # 14 batches an epoch: 308 steps
    for inputs, targets in loader:
        step += 1
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
        warmup.step()
        if step % 20 == 0:
            print(f"step {step:4d} | lr {warmup.get_last_lr()[0]:.3f} | loss {loss.item():.4g}")
