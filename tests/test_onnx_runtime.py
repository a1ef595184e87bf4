"""msar.onnx_models.runtime and registry: the sidecar contract, streaming, golden replay, no torch.

The runtime path runs on ``tests/data/tiny-repair.onnx`` (made by ``tests/generate_test_model.py``):
untrained, with the real I/O names and a GRU state, at 8 kHz / n_fft 64 / hop 32 so that values
copied from the shipped model's sidecar into code would fail here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from msar.dsp.errors import MsarError
from msar.onnx_models import registry, runtime

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny-repair.onnx"
SHIPPED = Path(registry.MODELS_DIR)


@pytest.fixture
def tiny():
    return runtime.load_model(TINY)


@pytest.fixture
def speechlike(rng):
    """2 s at 8 kHz: a gliding harmonic tone gated on and off, in white noise."""
    sr = 8000
    t = np.arange(2 * sr) / sr
    phase = 2 * np.pi * np.cumsum(150 + 40 * np.sin(2 * np.pi * t)) / sr
    x = 0.2 * sum(np.sin(k * phase) / k for k in range(1, 10)) * (np.sin(2 * np.pi * 1.5 * t) > 0)
    return (x + 0.03 * rng.standard_normal(len(t))).astype(np.float32)


def run_blocks(den: runtime.Denoiser, x: np.ndarray, block: int) -> np.ndarray:
    out = [den.process(x[i:i + block]) for i in range(0, len(x), block)]
    return np.concatenate(out + [den.flush()])


def test_signal_parameters_come_from_the_sidecar(tiny):
    card = tiny.card
    assert (card.sample_rate, card.n_fft, card.hop) == (8000, 64, 32)
    assert card.state == {"h_in": "h_out"}
    assert card.delay_samples == 32
    assert runtime.Denoiser(tiny).sr == 8000


def test_models_are_loaded_once_per_process():
    assert runtime.load_model(TINY) is runtime.load_model(str(TINY))


@pytest.mark.parametrize("block_hops", [1, 7, None])
def test_blockwise_output_equals_one_shot(tiny, speechlike, block_hops):
    den = runtime.Denoiser(tiny)
    whole = run_blocks(den, speechlike, len(speechlike))
    assert whole.shape == speechlike.shape
    assert not np.allclose(whole, speechlike, atol=1e-3)  # precondition: the model does something
    block = len(speechlike) if block_hops is None else block_hops * tiny.card.hop
    np.testing.assert_allclose(run_blocks(den, speechlike, block), whole, atol=1e-5)


@pytest.mark.parametrize("block", [1, 45, 1000])
def test_odd_block_sizes_give_the_same_output(tiny, speechlike, block):
    den = runtime.Denoiser(tiny)
    np.testing.assert_allclose(run_blocks(den, speechlike, block), run_blocks(den, speechlike, len(speechlike)),
                               atol=1e-5)


def test_strength_zero_returns_the_input_aligned(tiny, speechlike):
    # Gains of 1 leave only analysis + synthesis: the output is the input, so the delay is removed.
    y = run_blocks(runtime.Denoiser(tiny, strength=0.0), speechlike, 7 * tiny.card.hop)
    np.testing.assert_allclose(y, speechlike, atol=1e-6)


def test_strength_interpolates_between_input_and_full_repair(tiny, speechlike):
    # gain' = 1 - s(1 - gain) is affine in s and synthesis is linear: y_s = (1 - s) x + s y_1.
    full = run_blocks(runtime.Denoiser(tiny, strength=1.0), speechlike, 999)
    half = run_blocks(runtime.Denoiser(tiny, strength=0.5), speechlike, 999)
    np.testing.assert_allclose(half, 0.5 * speechlike + 0.5 * full, atol=1e-5)


def test_strength_outside_0_1_is_refused(tiny):
    with pytest.raises(MsarError, match="strength"):
        runtime.Denoiser(tiny, strength=1.5)


def test_reset_starts_a_new_signal(tiny, speechlike):
    den = runtime.Denoiser(tiny)
    first = run_blocks(den, speechlike, 500)
    den.process(speechlike[:777])  # a half-processed signal, then a reset
    den.reset()
    np.testing.assert_allclose(run_blocks(den, speechlike, 500), first, atol=1e-6)


def test_short_input_gives_output_of_the_same_length(tiny):
    den = runtime.Denoiser(tiny)
    for n in (1, 5, 31, 33):
        assert run_blocks(den, np.full(n, 0.1, np.float32), 3).shape == (n,)


def test_enhance_resamples_and_keeps_shape(tiny, rng):
    x = (0.1 * rng.standard_normal((16000, 2))).astype(np.float32)
    y = runtime.enhance(x, 16000, model=TINY)
    assert y.shape == x.shape and y.dtype == np.float32
    same = runtime.enhance(x, 16000, strength=0.0, model=TINY)
    # strength 0: the 8 kHz model path plus the kept upper band give back the input exactly.
    np.testing.assert_allclose(same, x, atol=1e-6)


# ------------------------------------------------------------------ the sidecar contract


def copy_model(tmp_path: Path, edit=None) -> Path:
    dst = tmp_path / "m.onnx"
    shutil.copy(TINY, dst)
    card = json.loads(Path(str(TINY) + ".json").read_text())
    if edit:
        edit(card)
    Path(str(dst) + ".json").write_text(json.dumps(card))
    return dst


def test_unchanged_copy_loads(tmp_path):
    assert runtime.load_model(copy_model(tmp_path)).card.name == "tiny-repair"


def test_hash_mismatch_raises_naming_the_file(tmp_path):
    path = copy_model(tmp_path)
    with open(path, "ab") as f:
        f.write(b"\0")
    with pytest.raises(MsarError, match=r"m\.onnx.*SHA-256"):
        runtime.load_model(path)


@pytest.mark.parametrize("edit,message", [
    (lambda c: c.update(format_version=2), "format_version"),
    (lambda c: c.update(task="acoustic"), "not a repair model"),
    (lambda c: c["inputs"].update(spec=c["inputs"].pop("feat")), "inputs"),
    (lambda c: c["outputs"]["mask"].update(dtype="float64"), "dtype|float64"),
    (lambda c: c["inputs"]["h_in"].update(shape=[1, 4]), "rank"),
    (lambda c: c["inputs"]["h_in"].update(shape=[1, 1, 8]), "shape"),
    (lambda c: c.pop("hop"), "lacks hop"),
    (lambda c: c.update(features="mel"), "features"),
])
def test_sidecar_mismatch_raises_naming_the_file(tmp_path, edit, message):
    path = copy_model(tmp_path, edit)
    with pytest.raises(MsarError, match=r"m\.onnx") as err:
        runtime.load_model(path)
    assert __import__("re").search(message, str(err.value)), str(err.value)


def test_missing_sidecar_raises(tmp_path):
    dst = tmp_path / "lonely.onnx"
    shutil.copy(TINY, dst)
    with pytest.raises(MsarError, match="sidecar missing"):
        runtime.load_model(dst)


def test_registry_lists_and_resolves(tmp_path):
    assert [m.name for m in registry.list_models(DATA)] == ["tiny-repair"]
    assert registry.resolve(str(TINY)) == TINY
    with pytest.raises(MsarError, match="unknown model 'no-such-model'"):
        registry.resolve("no-such-model")
    with pytest.raises(MsarError, match="no such model file"):
        registry.resolve(str(tmp_path / "absent.onnx"))


# ------------------------------------------------------------------ golden tensors, no torch


def golden_models() -> list[Path]:
    # Repair models only: the synthesis models have their own golden test (test_synth_model.py).
    from msar.onnx_models import registry

    return [TINY] + [entry.path for entry in registry.list_models(SHIPPED, task="repair")]


#: The golden outputs are PyTorch's: onnxruntime may differ from them by as much as the export
#: allows (train/export.py TOLERANCE). v6's GRU state differed by 1.6e-5 in 2 of 448 elements.
GOLDEN_ATOL = 1e-4


@pytest.mark.parametrize("path", golden_models(), ids=lambda p: p.name)
def test_golden_tensors_replay_in_onnxruntime(path):
    model = runtime.load_model(path)  # also checks hash and I/O against the sidecar
    gold = np.load(str(path)[: -len(".onnx")] + ".golden.npz")
    feed = {t.name: gold[t.name] for t in model.card.inputs}
    names = [t.name for t in model.card.outputs]
    for name, got in zip(names, model.session.run(names, feed)):
        np.testing.assert_allclose(got, gold[name], atol=GOLDEN_ATOL, err_msg=f"{path.name}: {name}")


def shipped_repair_models() -> list[str]:
    return [entry.name for entry in registry.list_models(SHIPPED, task="repair")]


def test_the_seeds_four_repair_variants_are_shipped():
    # issue 5: base, improved, multispeaker and multispeaker-repair (the default), each runnable by name.
    assert {"base", "improved", "multispeaker", "multispeaker-repair"} <= set(shipped_repair_models())


@pytest.mark.parametrize("name", shipped_repair_models())
def test_shipped_repair_model_is_small_and_passed_its_export_checks(name):
    path = registry.resolve(name, task="repair")
    assert path.stat().st_size < 5_000_000
    model = runtime.load_model(name)  # hash and I/O checked against the sidecar
    assert model.card.name == name == path.stem
    # What train/export.py measured before it wrote the files (it refuses to write on a failure).
    measured = registry.read_sidecar(path)["metrics"]
    assert measured["onnx_vs_torch_max_abs"] <= 1e-4
    assert measured["streamed_vs_oneshot_max_abs"] <= 1e-4


@pytest.mark.parametrize("name", shipped_repair_models())
def test_every_shipped_repair_model_repairs_through_its_name(name, speechlike):
    # The runtime path `msar repair --model NAME` takes: resolve the name, stream, keep the length.
    y = runtime.enhance(speechlike, 8000, model=name)
    assert y.shape == speechlike.shape and np.all(np.isfinite(y))
    assert not np.allclose(y, speechlike, atol=1e-3)  # the model did act on noisy input


def test_runtime_never_imports_torch():
    code = ("import sys, numpy as np\n"
            "from msar.onnx_models import runtime\n"
            f"y = runtime.enhance(np.zeros(4000, np.float32), 8000, model={str(TINY)!r})\n"
            "assert y.shape == (4000,)\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
