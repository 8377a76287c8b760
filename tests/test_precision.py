"""16-bit mixed precision: where it applies, what it leaves float32, and how far colours move.

The tolerances stated in the docs are asserted here on a trained colorizer (random weights
predict colours too close to grey to show a difference)."""

import dataclasses

import keras
import numpy as np
import pytest

from colornet import color
from colornet.apps import colorize
from colornet.io import decode
from colornet.nets import models
from colornet.nets import precision as precisions
from colornet.train import loop, settings
from tests.factories import (
    FAST,
    LEARNING,
    gains_over_grey,
    mean_colour_loss,
    write_lightness_photos,
    write_photos,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A float32 colorizer trained briefly on photos whose colour follows their lightness, its
    file, held-out photos and the training folder."""
    root = tmp_path_factory.mktemp("precision")
    train_dir = write_lightness_photos(root / "train", 160, seed=0)
    test_dir = write_lightness_photos(root / "test", 6, seed=1)
    result = loop.train(learning_config(train_dir, "float32"), root / "run", progress=False)
    photos = [decode.load_rgb(path) for path in sorted(test_dir.iterdir())]
    return result.best_model_path, photos, train_dir


def learning_config(train_dir, precision):
    """`LEARNING` in `precision`. On content-coloured photos a run's loss sits at the mean
    colour for 4 to 15 epochs before it falls, by the seed's and the CPU's rounding, so a
    6-epoch bar there passed or failed by luck, float32's too (docs/performance.md,
    "Performance")."""
    return settings.TrainingConfig(
        data_dir=str(train_dir),
        **{**LEARNING, "backbone_precision": precision, "fusion_precision": precision},
    )


def predicted_ab(model, photos):
    return np.stack(
        [color.rgb_to_lab(colorize.colorize(model, photo))[..., 1:] for photo in photos],
    )


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_16_bit_colours_are_within_one_ab_unit_of_float32(trained, precision):
    path, photos, _ = trained
    reference = predicted_ab(colorize.load_model(path, precision="float32"), photos)
    lowered = predicted_ab(colorize.load_model(path, precision=precision), photos)
    difference = np.abs(lowered - reference)
    assert difference.max() > 0, f"{precision} was not used: the colours are identical"
    # The documented tolerance: at most one ab unit (a colour difference ΔE of 1, under the
    # 2.3 a viewer can just notice), about 0.05 on average.
    assert difference.max() < 1.0, difference.max()
    assert difference.mean() < 0.2, difference.mean()
    assert reference.std() > 10, "the model predicts near-grey colours: nothing was compared"


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["bfloat16"])
def test_a_16_bit_run_learns_as_well_as_the_float32_learning_bar(trained, tmp_path, precision):
    _, photos, train_dir = trained
    result = loop.train(learning_config(train_dir, precision), tmp_path / "run", progress=False)
    validation = result.history["val_loss"]
    # A quarter of the best constant colour's loss: it learned colour from lightness (float32
    # and bfloat16 alike reach under an eighth of it, on AMX, AVX512_BF16 and emulated).
    mean_loss = mean_colour_loss(tmp_path / "run")
    assert min(validation) < mean_loss / 4, (validation, mean_loss)
    model = result.load_best(precision=None)  # as trained, whatever "auto" means here
    fusion = models.fusion_network(model)
    assert fusion.get_layer("encoder_conv_1").compute_dtype == precision
    saved = settings.TrainingConfig.load(tmp_path / "run" / "config.json")
    assert (saved.backbone_precision, saved.fusion_precision) == (precision, precision)
    assert {weight.dtype for weight in fusion.weights} == {"float32"}
    gains = gains_over_grey(model, photos)
    assert np.mean(gains) > 4, gains


def test_set_precision_lowers_all_but_the_output_and_keeps_float32_weights():
    model = models.colorizer(32, "mobilenet_v3_small", backbone_weights=None)
    models.set_precision(model, backbone="bfloat16", fusion="bfloat16")
    fusion = models.fusion_network(model)
    computing = {
        layer.name: layer.compute_dtype for layer in fusion.layers
        if not isinstance(layer, keras.layers.InputLayer)
    }
    assert computing.pop("decoder_ab") == computing.pop("ab") == "float32"
    assert set(computing.values()) == {"bfloat16"}
    backbone = models.backbone_layer(model)
    assert backbone.precision == "bfloat16"
    assert {weight.dtype for weight in model.weights} == {"float32"}
    lightness = np.random.default_rng(0).uniform(0, 100, (2, 32, 32, 1)).astype(np.float32)
    assert model.predict(lightness, verbose=0).dtype == np.float32
    models.set_precision(model, fusion="float32")
    assert {layer.compute_dtype for layer in fusion.layers} == {"float32"}
    assert backbone.precision == "bfloat16"  # None elsewhere: left as it was


def test_version_1_keeps_its_tanh_output_float32():
    net = models.set_precision(models.single_image_net(), fusion="bfloat16")
    assert net.get_layer("ab").compute_dtype == "float32"
    assert net.get_layer("conv_1").compute_dtype == "bfloat16"


def test_a_bfloat16_colorizer_keeps_its_precision_through_a_safe_mode_round_trip(tmp_path):
    model = models.colorizer(
        32, "mobilenet_v3_small", backbone_weights=None, fusion_precision="bfloat16",
    )
    model.save(tmp_path / "model.keras")
    restored = colorize.load_model(tmp_path / "model.keras", precision=None)  # as saved
    assert models.fusion_network(restored).get_layer("encoder_conv_1").compute_dtype == "bfloat16"
    reset = colorize.load_model(tmp_path / "model.keras", precision="float32")
    assert {layer.compute_dtype for layer in models.fusion_network(reset).layers} == {"float32"}


@pytest.mark.parametrize("precision", ["float64", "bf16", "mixed_bfloat16"])
def test_unknown_precisions_are_refused_naming_the_known_ones(precision):
    with pytest.raises(ValueError, match="must be one of auto, float32, bfloat16, float16"):
        precisions.resolve(precision)
    with pytest.raises(ValueError, match="must be one of auto, float32, bfloat16, float16"):
        models.set_precision(models.single_image_net(), fusion=precision)
    with pytest.raises(ValueError, match="fusion_precision"):
        settings.TrainingConfig(data_dir="x", fusion_precision=precision)


def test_float16_training_is_refused_and_auto_never_trains_in_it(monkeypatch):
    # float16 with loss scaling stalled at the mean colour where float32 and bfloat16 learned
    # (6-10 epochs of the learning test's photos), so the fusion net never trains in it.
    with pytest.raises(ValueError, match="fusion_precision must be one of auto, float32, bfloat16"):
        settings.TrainingConfig(data_dir="x", fusion_precision="float16")
    monkeypatch.setattr(precisions, "native", lambda: "float16")  # a Volta or Turing GPU
    config = settings.TrainingConfig(data_dir="x")
    assert settings.training_precisions(config) == ("float16", "float32")


@pytest.mark.parametrize(("flags", "onednn_cap", "expected"), [
    ({"avx512f", "avx512_bf16"}, None, "bfloat16"),
    ({"amx_bf16"}, None, "bfloat16"),
    ({"avx2", "fma"}, None, "float32"),
    # oneDNN capped below its first bfloat16 level computes as a CPU without it would.
    ({"avx512f", "avx512_bf16"}, "AVX2", "float32"),
    ({"avx512f", "avx512_bf16"}, "avx512_core_vnni", "float32"),
    ({"avx512f", "avx512_bf16"}, "AVX512_CORE_BF16", "bfloat16"),
    ({"amx_bf16"}, "ALL", "bfloat16"),
])
def test_auto_picks_bfloat16_only_on_cpus_that_compute_it(monkeypatch, flags, onednn_cap, expected):
    tf = pytest.importorskip("tensorflow")  # the CPU rule is TensorFlow's (oneDNN); CI has it
    if onednn_cap is None:
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    else:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", onednn_cap)
    monkeypatch.setattr(keras.backend, "backend", lambda: "tensorflow")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])  # no GPU
    monkeypatch.setattr(precisions, "cpu_flags", lambda: flags)
    precisions.native.cache_clear()
    try:
        assert precisions.resolve("auto") == expected
    finally:
        precisions.native.cache_clear()


@pytest.mark.parametrize("native", ["float32", "bfloat16"])
def test_a_loaded_final_colorizer_computes_as_this_machine_does_best_and_version_1_in_float32(
    tmp_path, monkeypatch, native
):
    # Saved in float16, which no CPU picks: on every machine, both cases must change it.
    model = models.colorizer(
        32, "mobilenet_v3_small", backbone_weights=None, fusion_precision="float16",
    )
    model.save(tmp_path / "model.keras")
    monkeypatch.setattr(precisions, "native", lambda: native)  # what "auto" finds here
    loaded = colorize.load_model(tmp_path / "model.keras")  # "auto"
    encoder = models.fusion_network(loaded).get_layer("encoder_conv_1")
    assert encoder.compute_dtype == native
    models.version_1(dtype="bfloat16").save(tmp_path / "v1.keras")
    net = models.colour_network(colorize.load_model(tmp_path / "v1.keras"))
    assert net.get_layer("conv_1").compute_dtype == "float32"


@pytest.mark.parametrize(("capability", "expected"), [
    ((9, 0), "bfloat16"), ((8, 0), "bfloat16"), ((7, 5), "float16"), ((7, 0), "float16"),
    ((3, 7), "float32"),
])
def test_auto_on_a_gpu_follows_its_compute_capability(capability, expected):
    # H200 9.0 and A100 8.0 have bfloat16; T4 7.5 and V100 7.0 float16 only; the K80 3.7 neither.
    assert precisions.gpu_precision(capability) == expected


def test_a_run_records_what_auto_chose_and_resuming_elsewhere_must_say_it(tmp_path, monkeypatch):
    photos = write_photos(tmp_path / "photos", 12, seed=0)
    automatic = {**FAST, "backbone_precision": "auto", "fusion_precision": "auto"}
    config = settings.TrainingConfig(data_dir=str(photos), epochs=1, **automatic)
    assert settings.TrainingConfig(data_dir="x").fusion_precision == "auto"  # the default
    loop.train(config, tmp_path / "run", progress=False)
    saved = settings.TrainingConfig.load(tmp_path / "run" / "config.json")
    chosen = settings.training_precisions(config)
    assert (saved.backbone_precision, saved.fusion_precision) == chosen
    other = "bfloat16" if chosen[1] == "float32" else "float32"  # a machine where auto differs
    monkeypatch.setattr(precisions, "native", lambda: other)
    with pytest.raises(ValueError, match=r"the fusion precision \(--fusion-precision\) was"):
        loop.train(dataclasses.replace(config, epochs=2), tmp_path / "run", progress=False)
