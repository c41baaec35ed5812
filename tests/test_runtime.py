"""Scripts written for a GPU run as they would on PyTorch without one: mixed precision
(``autocast``, ``GradScaler``), ``compile``, the process-wide switches, ``bfloat16``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError, nn


def _model_and_data(lib, seed: int = 0):
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((3, 4)).astype(np.float32)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    model = lib.nn.Linear(4, 3, bias=False)
    with lib.no_grad():
        model.weight.copy_(lib.tensor(weight))
    return model, lib.tensor(x)


def _scaled_training(lib, poisoned: set[int], steps: int = 8) -> tuple[list[float], np.ndarray]:
    """``steps`` of SGD under a CPU GradScaler (growth every 3 clean steps); the loss of the
    steps in ``poisoned`` is made infinite. The scale after each step, and the final weight."""
    model, x = _model_and_data(lib)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
    scaler = lib.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=3)
    scales = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = model(x).square().mean()
        if step in poisoned:
            loss = loss * float("inf")
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, model.weight.detach().numpy()


def test_grad_scaler_scales_skips_backs_off_and_grows_as_torch():
    torch = pytest.importorskip("torch")
    poisoned = {2, 6}
    ours, our_weight = _scaled_training(gradviz, poisoned)
    theirs, their_weight = _scaled_training(torch, poisoned)
    assert ours == theirs  # 1024 -> backed off at 2 and 6, grown after 3 clean steps
    assert ours == [1024.0, 1024.0, 512.0, 512.0, 512.0, 1024.0, 512.0, 512.0]
    np.testing.assert_allclose(our_weight, their_weight, rtol=1e-5, atol=1e-6)


def test_a_skipped_step_leaves_the_parameters_alone():
    model, x = _model_and_data(gradviz)
    before = model.weight.detach().numpy().copy()
    optimizer = gradviz.optim.SGD(model.parameters(), lr=0.1)
    scaler = gradviz.amp.GradScaler("cpu")
    (scaler.scale(model(x).sum() * float("nan"))).backward()
    assert scaler.step(optimizer) is None
    np.testing.assert_array_equal(model.weight.detach().numpy(), before)
    scaler.update()
    assert scaler.get_scale() == 2.0**15


def test_grad_scaler_state_dict_round_trips_and_misuse_is_refused():
    model, x = _model_and_data(gradviz)
    optimizer = gradviz.optim.SGD(model.parameters(), lr=0.1)
    scaler = gradviz.amp.GradScaler("cpu", init_scale=8.0)
    scaler.scale(model(x).sum()).backward()
    scaler.unscale_(optimizer)
    with pytest.raises(GradvizError, match="already been called"):
        scaler.unscale_(optimizer)
    scaler.step(optimizer)
    with pytest.raises(GradvizError, match="step\\(\\) has already been called"):
        scaler.step(optimizer)
    scaler.update()
    other = gradviz.amp.GradScaler("cpu")
    other.load_state_dict(scaler.state_dict())
    assert (
        other.state_dict()
        == scaler.state_dict()
        == {
            "scale": 8.0,
            "growth_factor": 2.0,
            "backoff_factor": 0.5,
            "growth_interval": 2000,
            "_growth_tracker": 1,
        }
    )


def test_cuda_mixed_precision_is_disabled_with_a_warning_and_passes_through():
    """nanoGPT's ``GradScaler(enabled=(dtype == 'float16'))`` and ``autocast('cuda')``."""
    model, x = _model_and_data(gradviz)
    optimizer = gradviz.optim.SGD(model.parameters(), lr=0.1)
    with pytest.warns(UserWarning, match="Disabling"):
        scaler = gradviz.cuda.amp.GradScaler(enabled=True)
    with pytest.warns(UserWarning, match="Disabling"):
        context = gradviz.autocast(device_type="cuda", dtype=gradviz.float16)
    with context:
        loss = model(x).sum()
    assert scaler.scale(loss) is loss
    assert scaler.get_scale() == 1.0
    loss.backward()
    scaler.step(optimizer)
    scaler.update()
    assert scaler.state_dict() == {}
    assert not scaler.is_enabled()


def test_cpu_autocast_keeps_full_precision_and_says_so_once():
    model, x = _model_and_data(gradviz)
    gradviz.autograd.amp._warned_full_precision = False
    with pytest.warns(UserWarning, match="full-precision"):
        with gradviz.autocast("cpu", dtype=gradviz.bfloat16):
            out = model(x)
    assert out.dtype == gradviz.float32
    gradviz.autograd.amp._warned_full_precision = False
    with pytest.warns(UserWarning, match="bfloat16"), gradviz.autocast("cpu"):  # its default
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with gradviz.amp.autocast("cpu", dtype=gradviz.bfloat16):
            pass
        with gradviz.autocast("cpu", enabled=False):
            pass
        gradviz.autograd.amp._warned_full_precision = False
        with gradviz.autocast("cpu", dtype=gradviz.float32):  # nothing to say
            pass

    @gradviz.autocast("cpu", enabled=False)
    def forward(inputs):
        return model(inputs)

    np.testing.assert_array_equal(forward(x).numpy(), out.numpy())
    with pytest.raises(GradvizError, match="device_type"):
        gradviz.autocast("tpu")


def test_bfloat16_exists_for_tables_and_says_why_it_cannot_be_used():
    dtypes = {"float32": gradviz.float32, "bfloat16": gradviz.bfloat16}  # nanoGPT's table
    assert dtypes["bfloat16"].is_floating_point
    assert dtypes["bfloat16"].itemsize == 2
    for make in (
        lambda: gradviz.zeros(2, dtype=gradviz.bfloat16),
        lambda: gradviz.zeros(2).to(gradviz.bfloat16),
        lambda: gradviz.zeros(2).bfloat16(),
        lambda: nn.Linear(2, 2).to(gradviz.bfloat16),
        lambda: nn.Linear(2, 2).bfloat16(),
    ):
        with pytest.raises(GradvizError, match=r"bfloat16 has no NumPy dtype.*float32"):
            make()


def test_compile_returns_the_model_as_it_is():
    model = nn.Linear(2, 2)
    assert gradviz.compile(model) is model
    assert gradviz.compile(mode="max-autotune")(model) is model
    with pytest.raises(GradvizError, match="compile"):
        gradviz.compile(3)


def test_switches_are_remembered_and_threads_reach_blas():
    from threadpoolctl import threadpool_info

    before = gradviz.get_num_threads()
    try:
        gradviz.set_num_threads(1)
        blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        assert gradviz.get_num_threads() == 1
        assert set(blas) <= {1}
    finally:
        gradviz.set_num_threads(before)
    with pytest.raises(GradvizError):
        gradviz.set_num_threads(0)
    gradviz.set_float32_matmul_precision("high")
    try:
        assert gradviz.get_float32_matmul_precision() == "high"
    finally:
        gradviz.set_float32_matmul_precision("highest")
    with pytest.raises(GradvizError, match="precision"):
        gradviz.set_float32_matmul_precision("low")
    gradviz.use_deterministic_algorithms(True)
    try:
        assert gradviz.are_deterministic_algorithms_enabled()
    finally:
        gradviz.use_deterministic_algorithms(False)


def test_finfo_and_iinfo_give_torch_limits():
    torch = pytest.importorskip("torch")
    for name in ("float16", "float32", "float64"):
        ours, theirs = gradviz.finfo(getattr(gradviz, name)), torch.finfo(getattr(torch, name))
        for field in ("bits", "eps", "max", "min", "tiny", "resolution"):
            assert float(getattr(ours, field)) == float(getattr(theirs, field)), (name, field)
    for name in ("uint8", "int8", "int16", "int32", "int64"):
        ours, theirs = gradviz.iinfo(getattr(gradviz, name)), torch.iinfo(getattr(torch, name))
        assert (ours.bits, ours.min, ours.max) == (theirs.bits, theirs.min, theirs.max)
    assert gradviz.finfo().eps == torch.finfo().eps
    with pytest.raises(GradvizError):
        gradviz.finfo(gradviz.int64)
    with pytest.raises(GradvizError):
        gradviz.iinfo(gradviz.float32)


def test_data_ptr_tells_tied_weights_apart():
    embedding, head = nn.Embedding(5, 3), nn.Linear(3, 5, bias=False)
    assert embedding.weight.data_ptr() != head.weight.data_ptr()
    head.weight = embedding.weight  # weight tying, as nanoGPT's
    assert embedding.weight.data_ptr() == head.weight.data_ptr()
    x = gradviz.arange(6.0).reshape(2, 3)
    assert x[1].data_ptr() == x.data_ptr() + 3 * x.element_size()


def test_pytorch_modules_gradviz_has_none_of_say_what_to_do_instead():
    """Was: ModuleNotFoundError or AttributeError for `torch.hub`, `torch.autograd.forward_ad`,
    `torch.distributed`, `torch.utils.tensorboard` (the tutorials' imports)."""
    import gradviz.autograd.forward_ad as fwAD
    import gradviz.distributed as dist
    import gradviz.hub
    from gradviz.utils.tensorboard import SummaryWriter

    with pytest.raises(gradviz.UnsupportedError, match=r"gradviz.hub.load: .*gradviz.save"):
        gradviz.hub.load("pytorch/vision", "resnet18", pretrained=True)
    assert not hasattr(gradviz.onnx, "export")  # an AttributeError: probes find nothing
    with pytest.raises(
        gradviz.UnsupportedError, match=r"forward-mode AD .* reverse mode; gradviz.func.jvp"
    ):
        with fwAD.dual_level():
            pass
    assert dist.is_available() is False
    with pytest.raises(gradviz.UnsupportedError, match="one process"):
        dist.init_process_group("gloo")
    gradviz.autograd.absent.SummaryWriter._warned = False
    with pytest.warns(UserWarning, match="writes no TensorBoard files.*gradviz timeline"):
        writer = SummaryWriter("runs/experiment")
    writer.add_scalar("loss", 0.5, 1)
    writer.add_histogram("w", gradviz.ones(3), 1)
    writer.close()
    with pytest.raises(AttributeError):
        writer.not_a_method  # noqa: B018


def test_torch_random_device_context_and_version_as_pytorchs():
    """Was: AttributeError for `torch.random.fork_rng()` and `torch.version.cuda`, TypeError
    for `with torch.device("cpu"):`."""
    gradviz.random.manual_seed(3)
    with gradviz.random.fork_rng():
        inside = gradviz.rand(3).numpy()
    after = gradviz.rand(3).numpy()
    np.testing.assert_array_equal(inside, after)  # the block's draws left the stream as it was
    state = gradviz.random.get_rng_state()
    first = gradviz.rand(2).numpy()
    gradviz.random.set_rng_state(state)
    np.testing.assert_array_equal(gradviz.rand(2).numpy(), first)
    assert gradviz.random.initial_seed() == 3
    with gradviz.device("cpu") as device:
        assert str(gradviz.zeros(1).device) == str(device) == "cpu"
    assert gradviz.version.cuda is None
    assert gradviz.version.__version__ == gradviz.__version__


@pytest.mark.parametrize(
    "name", ["memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved"]
)
def test_cuda_memory_counters_are_zero_without_a_gpu_as_in_pytorch(name):
    """A training loop's ``f"mem {torch.cuda.max_memory_allocated() / 2**20:.1f}MB"`` log line
    (was: AttributeError, the script died after its first step)."""
    assert getattr(gradviz.cuda, name)() == 0
    assert getattr(gradviz.cuda, name)(device=None) == 0
    assert getattr(gradviz.cuda, name)("cuda:0") == 0
    torch = pytest.importorskip("torch")
    assert getattr(torch.cuda, name)() == 0
