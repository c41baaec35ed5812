"""A custom op and a custom layer: Swish with a learnable slope, checked, then trained.

    swish(x, beta) = x * sigmoid(beta * x)

A ``gradviz.Function`` says how to compute the op (``forward``) and its gradient (``backward``);
a ``nn.Module`` holds its parameter. ``gradcheck`` compares ``backward`` with finite differences
before we trust it, then a small MLP built with the layer learns the two-moons data.
Run it with ``python examples/custom_layer.py``.
"""

import os

import numpy as np
from sklearn.datasets import make_moons

import gradviz
from gradviz import data, nn, optim


class Swish(gradviz.Function):
    """The op. Both methods are static and see plain NumPy arrays, not Variables."""

    @staticmethod
    def forward(ctx, x, beta):
        # sigmoid(z) = exp(-log(1 + exp(-z))): logaddexp never overflows, even for z = -1000.
        s = np.exp(-np.logaddexp(0, -beta * x))
        ctx.save_for_backward(x, beta, s)  # what backward will need
        return x * s

    @staticmethod
    def backward(ctx, grad):
        x, beta, s = ctx.saved_tensors
        ds = s * (1 - s)  # the derivative of the sigmoid
        grad_x = grad * (s + beta * x * ds)
        # grad_beta has the output's shape; gradviz sums it down to beta's shape, (1,).
        grad_beta = grad * x * x * ds
        return grad_x, grad_beta  # one gradient per input of forward, in order


class SwishLayer(nn.Module):
    """The layer: owns the learnable beta and applies the op."""

    def __init__(self):
        super().__init__()
        self.beta = nn.Parameter([1.0])  # assigning a Parameter registers it

    def forward(self, x):
        return Swish.apply(x, self.beta)  # the class name, "Swish", is the op's name in graphs


gradviz.manual_seed(0)  # the same weights and the same shuffling on every run
epochs = 10 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 60  # quick: a short run for tests

# gradcheck nudges every input element up and down (in float64) and compares the slope it
# measures with what backward returns; it raises GradcheckError, naming the element, if they differ.
x = gradviz.Variable(np.random.default_rng(0).normal(size=(4, 3)), requires_grad=True)
beta = gradviz.Variable(np.array([0.7]), requires_grad=True)
gradviz.gradcheck(Swish.apply, (x, beta))
print("gradcheck passed: Swish's backward matches finite differences")

X, y = make_moons(n_samples=200, noise=0.1, random_state=0)
X = X.astype(np.float32)  # sklearn returns float64; gradviz parameters are float32
y = y.astype(np.float32).reshape(-1, 1)
loader = data.DataLoader(data.TensorDataset(X, y), batch_size=32, shuffle=True)

model = nn.Sequential(
    nn.Linear(2, 16),
    SwishLayer(),
    nn.Linear(16, 16),
    SwishLayer(),
    nn.Linear(16, 1),
)
print(model)
loss_fn = nn.BCEWithLogitsLoss()
optimizer = optim.Adam(model.parameters(), lr=0.01)  # the betas are trained with the weights

losses = []  # the mean loss of each epoch
for epoch in range(1, epochs + 1):
    total = 0.0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(inputs)
    losses.append(total / len(X))
    if epoch == 1 or epoch % 10 == 0:
        print(f"epoch {epoch:3d} | loss {losses[-1]:.4f}")

betas = [round(p.item(), 3) for name, p in model.named_parameters() if name.endswith("beta")]
print(f"learned betas {betas}")
with gradviz.no_grad():
    predictions = model(gradviz.Variable(X)).numpy() > 0
accuracy = float((predictions == (y > 0.5)).mean())
print(f"train accuracy {accuracy:.1%}")
