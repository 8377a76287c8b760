"""Zhang et al.'s colour classification (colornet.nets.zhang) against numbers worked out here
by hand, and its bins against scikit-image's sRGB gamut."""

import keras
import numpy as np
import pytest
import scipy.spatial
import skimage.color

from colornet import color
from colornet.nets import zhang

# A true ab of (12, -6) and its five nearest bin centres with their squared distances:
# (10, -10): 2² + 4² = 20; (10, 0): 2² + 6² = 40; (20, -10): 8² + 4² = 80;
# (20, 0): 8² + 6² = 100; (0, -10): 12² + 4² = 160. The next are (0, 0) at 180 and
# (10, -20) at 200, so the five are unambiguous.
TRUE_AB = (12.0, -6.0)
NEAREST = {(10, -10): 20.0, (10, 0): 40.0, (20, -10): 80.0, (20, 0): 100.0, (0, -10): 160.0}


def bin_index(a, b):
    bins = zhang.ab_bins()
    (index,) = np.flatnonzero(np.all(bins == (a, b), axis=-1))
    return int(index)


def hand_soft_target():
    """{bin: weight}: a Gaussian of sigma 5 over the five squared distances, normalised."""
    weights = {centre: np.exp(-squared / (2 * 5.0**2)) for centre, squared in NEAREST.items()}
    total = sum(weights.values())
    return {centre: weight / total for centre, weight in weights.items()}


def srgb_ab(levels=86):
    """a, b of an even grid of sRGB colours, by scikit-image, rounded to 0.25 and deduplicated."""
    steps = np.linspace(0.0, 1.0, levels)
    rgb = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), axis=-1).reshape(-1, 3)
    ab = skimage.color.rgb2lab(rgb)[:, 1:]
    return np.unique(np.round(ab * 4) / 4, axis=0)


# ---------------------------------------------------------------------------------------------
# The bins


def test_bins_are_a_10_unit_grid_inside_110_and_include_grey():
    bins = zhang.ab_bins()
    assert bins.dtype == np.float32 and bins.ndim == 2 and bins.shape[1] == 2
    assert len(bins) == 261  # the docstring's count (the paper's gamut test kept 313)
    assert len(np.unique(bins, axis=0)) == len(bins)
    np.testing.assert_array_equal(bins % 10, 0)
    assert np.abs(bins).max() <= 110
    assert [0.0, 0.0] in bins.tolist()


def test_every_bin_centre_is_within_5_of_some_srgb_colour_in_a_and_in_b():
    # A bin is a 10-unit cell that an sRGB colour falls in: some colour is within 5 of its
    # centre along a and along b (so within 5√2 in the ab plane; at cell corners about 6.4).
    tree = scipy.spatial.cKDTree(srgb_ab())
    bins = zhang.ab_bins()
    along_each, _ = tree.query(bins, p=np.inf)
    in_the_plane, _ = tree.query(bins)
    assert along_each.max() <= 5.0
    assert in_the_plane.max() <= 5 * np.sqrt(2)


def test_every_srgb_colour_is_within_a_cell_diagonal_of_a_bin():
    distances, _ = scipy.spatial.cKDTree(zhang.ab_bins()).query(srgb_ab())
    assert distances.max() <= 5 * np.sqrt(2) + 1e-6


# ---------------------------------------------------------------------------------------------
# Soft encoding


def test_soft_encode_of_a_known_ab_is_the_hand_computed_gaussian_over_five_bins():
    target = np.asarray(zhang.soft_encode(np.array([TRUE_AB], np.float32)))[0]
    expected = np.zeros(len(zhang.ab_bins()))
    for (a, b), weight in hand_soft_target().items():
        expected[bin_index(a, b)] = weight
    np.testing.assert_allclose(target, expected, atol=1e-6)


def test_soft_encode_sums_to_one_over_exactly_five_bins(rng):
    ab = rng.uniform(-100, 100, (6, 7, 2)).astype(np.float32)
    target = np.asarray(zhang.soft_encode(ab))
    assert target.shape == (6, 7, len(zhang.ab_bins()))
    np.testing.assert_allclose(target.sum(axis=-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal((target > 0).sum(axis=-1), 5)
    # The heaviest bin is the nearest one.
    np.testing.assert_array_equal(target.argmax(axis=-1), np.asarray(zhang.nearest_bin(ab)))


def test_soft_encode_stays_finite_far_from_every_bin():
    # a = b = ±128 is inside Lab's range but about 80 units from the nearest bin.
    target = np.asarray(zhang.soft_encode(np.array([[128, 128], [-128, -128]], np.float32)))
    assert np.all(np.isfinite(target))
    np.testing.assert_allclose(target.sum(axis=-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal((target > 0).sum(axis=-1), 5)


def test_nearest_bin_of_a_bin_centre_is_itself():
    bins = zhang.ab_bins()
    np.testing.assert_array_equal(np.asarray(zhang.nearest_bin(bins + 1.0)),
                                  np.arange(len(bins)))


# ---------------------------------------------------------------------------------------------
# The loss


def hand_cross_entropy(logits):
    """-Σ target log softmax(logits) for the hand-computed soft target, by numpy."""
    logits = np.asarray(logits, np.float64)
    log_probabilities = logits - np.log(np.exp(logits).sum())
    return -sum(weight * log_probabilities[bin_index(a, b)]
                for (a, b), weight in hand_soft_target().items())


def one_pixel_logits():
    """Logits (1, 1, 1, Q): zero but for 2 on bin (10, -10), 1 on (20, 0) and -3 on (0, 0)."""
    logits = np.zeros(len(zhang.ab_bins()), np.float32)
    logits[bin_index(10, -10)], logits[bin_index(20, 0)], logits[bin_index(0, 0)] = 2, 1, -3
    return logits.reshape(1, 1, 1, -1)


def test_loss_of_one_pixel_is_the_hand_computed_cross_entropy():
    logits = one_pixel_logits()
    # With Q bins: log Z = log(Q - 3 + e² + e + e⁻³); target weights of the two raised bins.
    count = len(zhang.ab_bins())
    log_partition = np.log(count - 3 + np.exp(2) + np.exp(1) + np.exp(-3))
    soft = hand_soft_target()
    by_hand = log_partition - (2 * soft[(10, -10)] + 1 * soft[(20, 0)])
    assert hand_cross_entropy(logits[0, 0, 0]) == pytest.approx(by_hand, rel=1e-9)

    loss = zhang.ClassificationLoss()
    per_photo = np.asarray(loss.call(np.array([[[TRUE_AB]]], np.float32), logits))
    assert per_photo.shape == (1,)
    assert per_photo[0] == pytest.approx(by_hand, rel=1e-5)
    assert float(loss(np.array([[[TRUE_AB]]], np.float32), logits)) == pytest.approx(
        by_hand, rel=1e-5)


def test_class_weights_scale_each_pixel_by_the_weight_of_its_nearest_bin():
    logits = one_pixel_logits()
    true_ab = np.array([[[TRUE_AB]]], np.float32)
    weights = np.ones(len(zhang.ab_bins()), np.float32)
    weights[bin_index(10, -10)] = 3.0  # the nearest bin's weight counts...
    weights[bin_index(10, 0)] = 100.0  # ...not that of the other four bins of the target
    weighted = zhang.ClassificationLoss(weights)
    expected = 3.0 * hand_cross_entropy(logits[0, 0, 0])
    assert float(np.asarray(weighted.call(true_ab, logits))[0]) == pytest.approx(
        expected, rel=1e-5)


def test_loss_is_each_photos_mean_over_pixels_and_the_batchs_mean(rng):
    count = len(zhang.ab_bins())
    true_ab = rng.uniform(-60, 60, (3, 2, 4, 2)).astype(np.float32)
    logits = rng.normal(size=(3, 2, 4, count)).astype(np.float32)
    target = np.asarray(zhang.soft_encode(true_ab))
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    weights = rng.uniform(0.5, 2.0, count).astype(np.float32)
    per_pixel = -(target * log_probabilities).sum(axis=-1) * weights[target.argmax(axis=-1)]

    loss = zhang.ClassificationLoss(weights)
    np.testing.assert_allclose(np.asarray(loss.call(true_ab, logits)),
                               per_pixel.mean(axis=(1, 2)), rtol=1e-5)
    assert float(loss(true_ab, logits)) == pytest.approx(per_pixel.mean(), rel=1e-5)


def test_loss_is_lowest_for_logits_that_match_the_soft_target():
    true_ab = np.array([[[TRUE_AB]]], np.float32)
    target = np.asarray(zhang.soft_encode(true_ab))
    matching = np.log(np.maximum(target, 1e-9)).astype(np.float32)
    loss = zhang.ClassificationLoss()
    at_target = float(loss(true_ab, matching))
    assert at_target < float(loss(true_ab, one_pixel_logits()))
    assert at_target < float(loss(true_ab, np.zeros_like(matching)))


def test_loss_survives_serialization_with_its_weights():
    weights = np.linspace(0.5, 2.0, len(zhang.ab_bins()))
    loss = zhang.ClassificationLoss(weights)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, zhang.ClassificationLoss)
    np.testing.assert_allclose(again.class_weights, weights, rtol=1e-7)
    logits = one_pixel_logits()
    true_ab = np.array([[[TRUE_AB]]], np.float32)
    assert float(again(true_ab, logits)) == pytest.approx(float(loss(true_ab, logits)))


# ---------------------------------------------------------------------------------------------
# Rebalancing


def smoothed_distribution(samples, bins, sigma=5.0):
    """The docstring's p, by numpy: the nearest bins' histogram smoothed by a Gaussian in ab."""
    nearest = np.argmin(((samples[:, None] - bins[None]) ** 2).sum(axis=-1), axis=-1)
    histogram = np.bincount(nearest, minlength=len(bins)) / len(samples)
    kernel = np.exp(-((bins[:, None] - bins[None]) ** 2).sum(axis=-1) / (2 * sigma**2))
    smoothed = kernel @ histogram
    return smoothed / smoothed.sum()


def mostly_grey_samples(rng):
    """ab of a photo that is 95 % grey-brown and 5 % red."""
    grey = rng.normal((2.0, 8.0), 3.0, (1900, 2))
    red = rng.normal((60.0, 45.0), 3.0, (100, 2))
    return np.concatenate([grey, red]).astype(np.float32)


def test_rebalancing_weighs_rare_colours_more(rng):
    weights = zhang.rebalancing_weights(mostly_grey_samples(rng))
    grey, red, unseen = bin_index(0, 10), bin_index(60, 40), bin_index(-60, 60)
    assert weights.shape == (len(zhang.ab_bins()),) and weights.dtype == np.float32
    assert weights[grey] < weights[red] < weights[unseen]
    assert np.all(weights > 0)


def test_rebalancing_weights_have_expectation_one_under_the_smoothed_distribution(rng):
    samples = mostly_grey_samples(rng)
    bins = zhang.ab_bins().astype(np.float64)
    weights = zhang.rebalancing_weights(samples)
    smoothed = smoothed_distribution(samples, bins)
    assert float((smoothed * weights).sum()) == pytest.approx(1.0, abs=1e-4)
    # w ∝ 1 / (½ p + ½ / Q): compare the ratios, which do not depend on the scale.
    expected = 1.0 / (0.5 * smoothed + 0.5 / len(bins))
    np.testing.assert_allclose(weights / weights[0], expected / expected[0], rtol=1e-4)


def test_rebalancing_counts_more_samples_than_one_chunk_as_one_histogram(rng):
    # 70,000 samples take two chunks; their counts add up to the histogram of all of them.
    samples = np.concatenate([mostly_grey_samples(rng)] * 35)
    weights = zhang.rebalancing_weights(samples)
    bins = zhang.ab_bins().astype(np.float64)
    expected = 1.0 / (0.5 * smoothed_distribution(samples, bins) + 0.5 / len(bins))
    np.testing.assert_allclose(weights / weights[0], expected / expected[0], rtol=1e-4)


def test_rebalancing_with_mix_one_gives_equal_weights(rng):
    weights = zhang.rebalancing_weights(mostly_grey_samples(rng), mix=1.0)
    np.testing.assert_allclose(weights, 1.0, rtol=1e-5)


def test_rebalancing_without_samples_is_a_value_error():
    with pytest.raises(ValueError, match="at least one ab sample"):
        zhang.rebalancing_weights(np.zeros((0, 2)))


# ---------------------------------------------------------------------------------------------
# Annealed-mean decoding


def test_annealed_mean_at_low_temperature_is_the_modes_bin():
    count = len(zhang.ab_bins())
    logits = np.zeros((1, 1, 2, count), np.float32)
    logits[0, 0, 0, bin_index(40, -30)] = 1.0
    logits[0, 0, 1, bin_index(-20, 70)] = 0.5
    ab = np.asarray(zhang.AnnealedMean(temperature=0.01)(logits))
    assert ab.shape == (1, 1, 2, 2) and ab.dtype == np.float32
    np.testing.assert_allclose(ab[0, 0] * color.AB_SCALE, [[40, -30], [-20, 70]], atol=1e-3)


def test_annealed_mean_at_temperature_one_is_the_mean(rng):
    count = len(zhang.ab_bins())
    logits = rng.normal(0, 2, (2, 3, 3, count)).astype(np.float32)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    mean = probabilities @ zhang.ab_bins().astype(np.float64)
    ab = np.asarray(zhang.AnnealedMean(temperature=1.0)(logits))
    np.testing.assert_allclose(ab * color.AB_SCALE, mean, atol=1e-3)
    assert np.abs(ab).max() <= 1


def test_annealed_mean_sharpens_towards_the_mode_as_temperature_falls(rng):
    count = len(zhang.ab_bins())
    logits = rng.normal(0, 1, (1, 1, 1, count)).astype(np.float32)
    logits[..., bin_index(50, 50)] += 4
    distances = [
        np.abs(np.asarray(zhang.AnnealedMean(temperature=t)(logits)) * color.AB_SCALE
               - (50, 50)).sum()
        for t in (1.0, zhang.ANNEALED_TEMPERATURE, 0.1)
    ]
    assert distances[0] > distances[1] > distances[2]


def test_annealed_mean_computes_in_float32_from_float16_logits(rng):
    logits = rng.normal(size=(1, 2, 2, len(zhang.ab_bins()))).astype(np.float16)
    ab = zhang.AnnealedMean()(logits)
    assert keras.backend.standardize_dtype(ab.dtype) == "float32"


@pytest.mark.parametrize("temperature", [0.0, -0.5])
def test_annealed_mean_refuses_a_temperature_that_is_not_positive(temperature):
    with pytest.raises(ValueError, match="temperature must be positive"):
        zhang.AnnealedMean(temperature=temperature)


def test_annealed_mean_round_trips_through_a_keras_file(tmp_path, rng):
    logits_input = keras.Input((4, 5, len(zhang.ab_bins())))
    model = keras.Model(logits_input, zhang.AnnealedMean(0.5, name="decode")(logits_input))
    path = tmp_path / "annealed.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)

    assert loaded.get_layer("decode").temperature == 0.5
    logits = rng.normal(size=(2, 4, 5, len(zhang.ab_bins()))).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(logits, verbose=0),
                               model.predict(logits, verbose=0), atol=1e-6)
