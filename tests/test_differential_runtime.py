"""Differential cases for PyTorch's runtime questions (devices, dtypes, switches) that have an
answer to compare; the others are tested in tests/test_runtime.py, as listed below."""

from __future__ import annotations

from test_differential import Case, Draw, all_cases, run_all


def runtime_cases():
    d = Draw(7)
    for x in (d.f((2, 3)), d.f((2,), "float32"), d.i((3,)), d.b((2,))):
        for name in ("get_device", "is_pinned", "pin_memory"):
            yield Case("method", name, (x,))
        yield Case("top", "is_floating_point", (x,))
    yield Case("top", "is_floating_point", (3.0,))
    yield Case("top", "get_float32_matmul_precision", ())


CASES = all_cases((runtime_cases, None))


def test_matches_torch() -> None:
    run_all(CASES)


#: twins tested elsewhere (see test_differential_tensor.test_every_twin_has_cases)
NOT_HERE = {
    name: "process-wide switches and dtype limits: tests/test_runtime.py"
    for name in (
        "compile",
        "set_float32_matmul_precision",
        "set_num_threads",
        "get_num_threads",
        "finfo",
        "iinfo",
        "data_ptr",
    )
} | {"bfloat16": "NumPy has no bfloat16: a clear error, tests/test_runtime.py"}
