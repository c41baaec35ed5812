"""``model_v2.py`` with a slip in the refactor: an off-by-one in the condition drops the ReLU
after the second hidden layer. It still trains (a little worse), so nothing fails, but
``gradviz diff model_v1.py@1 model_v2_bug.py@1 --structure-only`` exits 1 and says what changed.
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
            if i < len(sizes) - 3:  # the slip: should be len(sizes) - 2
                self.layers.append(nn.ReLU())

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


gradviz.manual_seed(0)
model = MLP()
losses = train(model)
