"""Version 2 of the MLP of ``model_v1.py``, refactored: the layers built in a loop from a list
of sizes into an ``nn.ModuleList``. The same model: the same ops, shapes and parameter names
(``layers.0.weight`` ...), so ``gradviz diff model_v1.py@1 model_v2.py@1 --structure-only``
exits 0 (and, seeded alike, even every number is the same).
"""

import itertools

from common import train

import gradviz
from gradviz import nn


class MLP(nn.Module):
    def __init__(self, sizes: tuple[int, ...] = (2, 32, 32, 1)) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            self.layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:  # a ReLU after every layer but the output layer
                self.layers.append(nn.ReLU())

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


gradviz.manual_seed(0)
model = MLP()
losses = train(model)
