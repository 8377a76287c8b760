"""The Lab core against scikit-image and published values, on every Keras backend.

CI runs this file twice: under the default TensorFlow backend and with KERAS_BACKEND=jax
(JAX's CPU build); `KERAS_BACKEND=torch` runs it on PyTorch where that is installed.
"""

import itertools

import keras
import numpy as np
import pytest
import skimage.color

import colornet
from colornet import color

# sRGB primaries, secondaries, white and black in CIE L*a*b* (D65, 2°), as published by
# Bruce Lindbloom's calculator and EasyRGB: independent of scikit-image.
PUBLISHED_LAB = {
    (1, 0, 0): (53.2408, 80.0925, 67.2032),
    (0, 1, 0): (87.7347, -86.1827, 83.1793),
    (0, 0, 1): (32.2970, 79.1875, -107.8602),
    (0, 1, 1): (91.1132, -48.0875, -14.1312),
    (1, 0, 1): (60.3242, 98.2343, -60.8249),
    (1, 1, 0): (97.1393, -21.5537, 94.4780),
    (1, 1, 1): (100.0, 0.0, 0.0),
    (0, 0, 0): (0.0, 0.0, 0.0),
}


def srgb_cube_samples(rng, count=120_000):
    """Random colours over the whole sRGB cube plus a 17-step grid, which includes all corners."""
    steps = np.linspace(0.0, 1.0, 17)
    grid = np.array(list(itertools.product(steps, repeat=3)))
    return np.concatenate([grid, rng.random((count, 3))]).astype(np.float32)


def test_rgb_to_lab_matches_skimage_over_the_srgb_cube(rng):
    rgb = srgb_cube_samples(rng)
    assert len(rgb) >= 100_000
    ours = colornet.rgb_to_lab(rgb)
    reference = skimage.color.rgb2lab(rgb.astype(np.float64))
    assert isinstance(ours, np.ndarray)
    assert ours.shape == rgb.shape
    np.testing.assert_array_less(np.abs(ours - reference).max(axis=0), 1e-3)


def test_lab_to_rgb_matches_skimage_over_the_srgb_cube(rng):
    lab = skimage.color.rgb2lab(srgb_cube_samples(rng).astype(np.float64))
    ours = colornet.lab_to_rgb(lab)
    assert np.abs(ours - skimage.color.lab2rgb(lab)).max() < 1e-4


def test_rgb_lab_rgb_round_trip_within_1e_4(rng):
    rgb = srgb_cube_samples(rng)
    assert np.abs(colornet.lab_to_rgb(colornet.rgb_to_lab(rgb)) - rgb).max() <= 1e-4


@pytest.mark.parametrize("rgb, expected", PUBLISHED_LAB.items())
def test_primaries_and_white_match_published_lab_values(rgb, expected):
    np.testing.assert_allclose(colornet.rgb_to_lab(np.array(rgb, float)), expected, atol=0.01)


def test_uint8_is_read_as_0_to_255_and_float_as_0_to_1(rng):
    pixels = rng.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    np.testing.assert_allclose(
        colornet.rgb_to_lab(pixels), colornet.rgb_to_lab(pixels / 255.0), atol=1e-4
    )


def test_any_leading_dimensions_are_kept(rng):
    batch = rng.random((2, 3, 4, 5, 3)).astype(np.float32)
    lab = colornet.rgb_to_lab(batch)
    assert lab.shape == batch.shape
    np.testing.assert_allclose(lab[1, 2], colornet.rgb_to_lab(batch[1, 2]), atol=1e-4)
    assert colornet.lab_to_rgb(lab).shape == batch.shape


def test_wrong_channel_count_is_a_clear_error():
    with pytest.raises(ValueError, match=r"3 channels.*\(4, 4\)"):
        colornet.rgb_to_lab(np.zeros((4, 4)))


def test_out_of_gamut_lab_gives_clipped_finite_rgb_like_skimage():
    extreme = np.array(
        [
            [100, 128, 128], [0, -128, -128], [50, 0, 127],
            [100, -128, 127], [120, 0, 0], [-10, 5, 5],
        ],
        dtype=np.float32,
    )
    rgb = colornet.lab_to_rgb(extreme)
    assert np.isfinite(rgb).all()
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    with pytest.warns(UserWarning):  # scikit-image warns when it clips negative Z
        reference = skimage.color.lab2rgb(extreme.astype(np.float64))
    np.testing.assert_allclose(rgb, reference, atol=1e-4)


def test_conversions_take_and_return_backend_tensors():
    tensor = keras.ops.convert_to_tensor(np.full((2, 2, 3), 0.5, np.float32))
    lab = colornet.rgb_to_lab(tensor)
    assert keras.ops.is_tensor(lab)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(colornet.lab_to_rgb(lab)), 0.5, atol=1e-5
    )


def test_conversions_work_inside_a_keras_model():
    rgb_input = keras.Input(shape=(None, None, 3))
    to_lab = keras.layers.Lambda(colornet.rgb_to_lab)(rgb_input)
    model = keras.Model(rgb_input, keras.layers.Lambda(colornet.lab_to_rgb)(to_lab))
    pixels = np.random.default_rng(0).random((1, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(pixels, verbose=0), pixels, atol=1e-4)


def gradient_of_sum(function, values):
    """d sum(function(values)) / d values, on whichever backend is active."""
    backend = keras.backend.backend()
    values = values.astype(np.float32)
    if backend == "tensorflow":
        import tensorflow as tf

        variable = tf.Variable(values)
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(function(variable))
        return tape.gradient(total, variable).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda x: function(x).sum())(values))
    import torch

    tensor = torch.tensor(values, requires_grad=True)
    function(tensor).sum().backward()
    return tensor.grad.numpy()


def test_gradients_are_finite_everywhere_including_knees_and_out_of_gamut():
    lab = np.array(
        [[0, 0, 0], [100, 0, 0], [50, 120, -120], [100, -128, 127], [0, 128, 128], [8, 0, 0]],
        dtype=np.float32,
    )
    lab_gradient = gradient_of_sum(color.lab_to_rgb, lab)
    assert np.isfinite(lab_gradient).all()
    rgb = np.array([[0, 0, 0], [1, 1, 1], [0.04045, 0.5, 1], [0.001, 0, 0.2]], dtype=np.float32)
    rgb_gradient = gradient_of_sum(color.rgb_to_lab, rgb)
    assert np.isfinite(rgb_gradient).all()
    assert np.abs(rgb_gradient).sum() > 0


def test_gradient_matches_finite_differences():
    rgb = np.array([[0.2, 0.5, 0.7]], dtype=np.float32)
    analytic = gradient_of_sum(color.rgb_to_lab, rgb)
    step = 1e-3
    numeric = np.array(
        [
            (
                colornet.rgb_to_lab(rgb + step * np.eye(3)[i]).sum()
                - colornet.rgb_to_lab(rgb - step * np.eye(3)[i]).sum()
            )
            / (2 * step)
            for i in range(3)
        ]
    )
    np.testing.assert_allclose(analytic[0], numeric, rtol=2e-2)


def test_model_scaling_maps_lab_ranges_onto_minus_one_to_one():
    assert color.lightness_to_input(np.float32(0.0)) == -1.0
    assert color.lightness_to_input(np.float32(100.0)) == 1.0
    assert color.ab_to_target(np.float32(-128.0)) == -1.0
    assert color.target_to_ab(color.ab_to_target(np.float32(37.5))) == pytest.approx(37.5)


def test_split_and_join_lab_are_inverse(rng):
    lab = colornet.rgb_to_lab(rng.random((3, 4, 3)).astype(np.float32))
    lightness, ab = color.split_lab(lab)
    assert lightness.shape == (3, 4, 1) and ab.shape == (3, 4, 2)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(color.join_lab(lightness, ab)), lab)


def test_arrays_larger_than_a_chunk_convert_like_small_ones(rng):
    chunk = color._CHUNK
    pixels = rng.integers(0, 256, size=(chunk + 1000, 3), dtype=np.uint8)
    lab = colornet.rgb_to_lab(pixels)
    for part in (slice(0, 500), slice(chunk - 500, chunk + 500), slice(chunk + 500, chunk + 1000)):
        np.testing.assert_allclose(lab[part], colornet.rgb_to_lab(pixels[part]), atol=1e-4)
    back = colornet.lab_to_rgb(lab)
    np.testing.assert_allclose(
        back[chunk - 5 : chunk + 5], pixels[chunk - 5 : chunk + 5] / 255, atol=1e-4,
    )


def test_rgb_to_lightness_is_the_l_of_skimage_rgb2lab(rng):
    rgb = srgb_cube_samples(rng)[:28_000].reshape(-1, 7, 3)  # (N, 7, 3): leading axes kept
    lightness = color.rgb_to_lightness(rgb)
    assert isinstance(lightness, np.ndarray) and lightness.shape == rgb.shape[:-1]
    reference = skimage.color.rgb2lab(rgb.astype(np.float64))[..., 0]
    assert np.abs(lightness - reference).max() < 1e-3
    pixels = rng.integers(0, 256, size=(color._CHUNK + 10, 3), dtype=np.uint8)  # uint8, chunked
    np.testing.assert_allclose(
        color.rgb_to_lightness(pixels)[-20:], colornet.rgb_to_lab(pixels[-20:])[..., 0], atol=1e-4
    )
    tensor = color.rgb_to_lightness(keras.ops.convert_to_tensor(rgb[:3]))
    assert keras.ops.is_tensor(tensor)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(tensor), reference[:3], atol=1e-3)


def test_runs_on_the_backend_it_was_asked_for():
    """The second-backend run is not vacuous: KERAS_BACKEND=jax really runs these on JAX."""
    import os

    assert keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")
