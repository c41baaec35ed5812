"""``gradviz.vmap`` (PyTorch's ``torch.vmap``) returns a function, which a differential case
cannot compare: it is compared with ``torch.func.vmap`` on the same inputs in tests/test_func.py
(values, in_dims/out_dims, nesting, errors) and tests/test_func_tutorials.py."""

from __future__ import annotations

#: twins tested elsewhere (see test_differential_tensor.test_every_twin_has_cases)
NOT_HERE = {
    "vmap": "a function transform: tests/test_func.py (test_vmap_matches_torch, ...) and "
    "tests/test_func_tutorials.py",
}
