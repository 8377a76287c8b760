"""Colorizing keeps the input's lightness and size, whatever the size."""

import keras
import numpy as np
import pytest

from colornet import color, colorize, models


class ConstantColour(keras.layers.Layer):
    """A stand-in model: predicts the same scaled ab everywhere, at the input's size."""

    def call(self, lightness):
        ones = keras.ops.ones_like(lightness)
        return keras.ops.concatenate([ones * 0.3, ones * -0.2], axis=-1)


def constant_model():
    lightness = keras.Input((None, None, 1), name="scaled_lightness")
    return keras.Model(lightness, ConstantColour()(lightness))


def test_mirror_padding_reaches_a_multiple_of_8_and_remembers_the_size():
    padded, size = colorize.pad_to_multiple(np.arange(15.0).reshape(3, 5))
    assert padded.shape == (8, 8) and size == (3, 5)
    np.testing.assert_array_equal(padded[:3, :5], np.arange(15.0).reshape(3, 5))


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (8, 8), (250, 333)])
def test_predict_ab_returns_the_input_size_for_any_size(shape):
    ab = colorize.predict_ab(models.single_image_net(), np.full(shape, 50.0))
    assert ab.shape == (*shape, 2)
    assert np.abs(ab).max() <= color.AB_SCALE


def test_predicted_ab_is_scaled_back_by_128():
    ab = colorize.predict_ab(constant_model(), np.full((5, 9), 60.0))
    np.testing.assert_allclose(ab[..., 0], 0.3 * 128, rtol=1e-5)
    np.testing.assert_allclose(ab[..., 1], -0.2 * 128, rtol=1e-5)


def test_no_shift_padding_does_not_move_the_image():
    # A model that copies lightness into a: any shift from padding/cropping would show.
    lightness = keras.Input((None, None, 1), name="scaled_lightness")
    copy = keras.layers.Concatenate()([lightness, keras.ops.zeros_like(lightness)])
    model = keras.Model(lightness, copy)
    image = np.random.default_rng(0).uniform(0, 100, (13, 21)).astype(np.float32)
    ab = colorize.predict_ab(model, image)
    np.testing.assert_allclose(ab[..., 0], color.lightness_to_input(image) * 128, atol=1e-3)


def test_colorize_keeps_full_resolution_lightness_when_working_smaller():
    rgb = np.random.default_rng(0).random((90, 130, 3)).astype(np.float32)
    result = colorize.colorize_rgb(constant_model(), rgb, working_shape=(32, 48))
    assert result.shape == rgb.shape
    result_lab, input_lab = color.rgb_to_lab(result), color.rgb_to_lab(rgb)
    # Same L wherever the constant colour stays inside the sRGB gamut (no clipping).
    inside = (result > 0.001).all(-1) & (result < 0.999).all(-1)
    assert inside.mean() > 0.5
    np.testing.assert_allclose(result_lab[inside, 0], input_lab[inside, 0], atol=0.05)
    np.testing.assert_allclose(result_lab[inside, 1], 0.3 * 128, atol=0.1)


def test_resizing_ab_is_smooth_not_blocky():
    ab = np.zeros((2, 2, 2), np.float32)
    ab[:, 1] = 100.0
    resized = colorize.resize_channels(ab, (2, 8))
    row = resized[0, :, 0]
    assert len(np.unique(np.round(row, 3))) > 2  # in-between values: interpolated
    assert np.all(np.diff(row) >= 0)


def test_predicted_ab_is_clipped_before_conversion():
    rgb = colorize.combine(np.full((2, 2), 50.0), np.full((2, 2, 2), 500.0))
    np.testing.assert_allclose(rgb, colorize.combine(np.full((2, 2), 50.0), np.full((2, 2, 2), 128.0)))


def test_the_final_colorizer_runs_at_its_size_and_returns_the_input_size():
    model = models.colorizer(image_size=32, backbone="mobilenet_v3_small", backbone_weights=None)
    assert colorize.model_kind(model) == ("colorizer", 32)
    ab = colorize.predict_ab(model, np.full((2, 45, 70), 50.0))
    assert ab.shape == (2, 45, 70, 2)


def test_a_model_that_is_not_a_colorizer_is_refused_by_name():
    other = keras.Sequential([keras.Input((4,), name="features"), keras.layers.Dense(2)], name="other")
    with pytest.raises(ValueError, match="other is not a colornet colorizer"):
        colorize.predict_ab(other, np.zeros((8, 8)))
