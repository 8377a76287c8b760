"""The model contract: every colornet model maps L* in [0, 100] to scaled ab, and old files
still load and colorize as they did."""

import pathlib

import keras
import numpy as np
import pytest

from colornet import color
from colornet.apps import colorize
from colornet.nets import contract, models

OLD_MODELS = pathlib.Path(__file__).parent / "data" / "old_models"


@pytest.mark.parametrize("name", ["old_version_1", "old_final_32"])
def test_a_model_file_saved_before_the_contract_colorizes_as_it_did(name, tmp_path):
    model = colorize.load_model(OLD_MODELS / f"{name}.keras", precision="float32")
    assert models.describe(model).variant == {"old_version_1": "version_1"}.get(name, "final")
    lightness = np.load(OLD_MODELS / "old_models_lightness.npy")  # (37, 53), no multiple of 8
    expected = np.load(OLD_MODELS / f"{name}.ab.npy")  # what the code of that time gave
    np.testing.assert_allclose(colorize.predict_ab(model, lightness), expected, atol=1e-4)
    # Saved again, it is a file of today: described, and colorizing the same.
    model.save(tmp_path / "again.keras")
    again = colorize.load_model(tmp_path / "again.keras", precision="float32")
    assert models.describe(again) == models.describe(model)
    np.testing.assert_allclose(colorize.predict_ab(again, lightness), expected, atol=1e-4)


def final_colorizer(head="regression"):
    return models.colorizer(
        32, "mobilenet_v3_small", backbone_weights=None, head=head, trained_on="manifest 1234",
    )


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: models.version_1(trained_on="astronaut.jpg"),
         contract.Description("version_1", tiles=True, trained_on="astronaut.jpg")),
        (final_colorizer, contract.Description("final", 32, trained_on="manifest 1234")),
        (lambda: final_colorizer("classification"),
         contract.Description("final", 32, trained_on="manifest 1234")),
    ],
    ids=["version_1", "final_regression", "final_classification"],
)
def test_every_model_maps_lightness_to_ab_and_describes_itself_through_a_keras_file(
    build, expected, tmp_path
):
    model = build()
    assert model.inputs[0].name == "lightness" and tuple(model.inputs[0].shape)[-1] == 1
    assert model.layers[-1].name == "ab" and tuple(model.outputs[0].shape)[-1] == 2
    assert models.describe(model) == expected
    model.save(tmp_path / "model.keras")
    loaded = models.load(tmp_path / "model.keras", precision="float32")
    assert models.describe(loaded) == expected
    lightness = np.random.default_rng(0).uniform(0, 100, (2, 32, 32, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(lightness, verbose=0),
                               model.predict(lightness, verbose=0), atol=1e-5)


def test_version_1_scales_lightness_inside_and_its_net_stays_the_write_ups():
    model = models.version_1()
    net = models.colour_network(model)
    assert net.count_params() == 32_202 and model.count_params() == 32_202
    lightness = np.random.default_rng(1).uniform(0, 100, (1, 40, 24, 1)).astype(np.float32)
    np.testing.assert_allclose(
        model.predict(lightness, verbose=0),
        net.predict(color.lightness_to_input(lightness), verbose=0), atol=1e-5,
    )


def test_a_model_without_a_description_is_refused_in_one_line():
    bare = keras.Sequential([keras.Input((8, 8, 1), name="pixels"), keras.layers.Dense(2)],
                            name="bare")
    with pytest.raises(ValueError, match="^bare is not a colornet colorizer: it does not"):
        models.describe(bare)
    with pytest.raises(ValueError, match="^bare is not a colornet colorizer"):
        contract.upgrade(bare)
    with pytest.raises(ValueError, match="variant must be one of version_1, final, lite_unet"):
        contract.ColourOutput("single_image")


def whole_photo_mean_model(tiles):
    """Colours every pixel by the whole photo's mean lightness: tiling would change it."""
    lightness = keras.Input((None, None, 1), name="lightness")
    mean = keras.ops.mean(contract.scale_lightness()(lightness), axis=(1, 2), keepdims=True)
    scaled_ab = keras.ops.concatenate([mean, mean], axis=-1) * keras.ops.ones_like(lightness)
    return keras.Model(lightness, contract.ColourOutput("lite_unet", tiles=tiles)(scaled_ab))


def test_only_a_model_described_as_tileable_runs_in_tiles():
    lightness = np.tile(np.linspace(0, 100, 160, dtype=np.float32), (24, 1))  # (24, 160)
    whole = color.lightness_to_input(lightness.mean()) * color.AB_SCALE
    untiled = colorize.predict_ab(whole_photo_mean_model(tiles=False), lightness,
                                  working_size=None, tile=32)
    np.testing.assert_allclose(untiled, whole, atol=1e-3)
    tiled = colorize.predict_ab(whole_photo_mean_model(tiles=True), lightness,
                                working_size=None, tile=32)
    assert np.ptp(tiled[..., 0]) > 10  # each tile saw its own part of the ramp
    with pytest.raises(ValueError, match="cannot run in tiles"):
        colorize.predict_ab_tiled(whole_photo_mean_model(tiles=False), lightness, tile=32)


@pytest.mark.parametrize("head", ["regression", "classification"])
def test_the_colour_layers_stay_float32_by_structure_even_after_a_float32_round(head):
    model = final_colorizer(head)
    models.set_precision(model, fusion="float32")  # every layer float32: no policy marks them
    models.set_precision(model, fusion="bfloat16")
    fusion = models.fusion_network(model)
    last_conv = [layer for layer in fusion.layers if isinstance(layer, keras.layers.Conv2D)][-1]
    after = fusion.layers[fusion.layers.index(last_conv):]
    assert {layer.compute_dtype for layer in after} == {"float32"}
    assert fusion.get_layer("encoder_conv_1").compute_dtype == "bfloat16"
    assert model.get_layer("ab").compute_dtype == "float32"
