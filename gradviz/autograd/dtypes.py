"""PyTorch's dtype names (``torch.float32``, ``torch.long`` ...) as the NumPy dtypes they mean.

``x.to(gradviz.float32)``, ``gradviz.zeros(3, dtype=gradviz.long)`` and
``x.dtype == gradviz.int64`` read as in PyTorch. ``bfloat16`` and complex types have no NumPy
twin here and are left out.
"""

from __future__ import annotations

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)  # torch.float is float32
float64 = double = np.dtype(np.float64)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)  # torch.int is int32
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)

#: Every name above, for the top package to re-export.
NAMES = (
    "float16", "half", "float32", "float", "float64", "double", "uint8", "int8", "int16",
    "short", "int32", "int", "int64", "long", "bool",
)  # fmt: skip
