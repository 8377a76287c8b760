"""Hints simulated for training batches (issue 30): every crop of a batch gets its own point
hints and global hint, drawn from the crop's own colours and repeatable from the seed."""

import numpy as np

from colornet import color
from colornet.nets import hints, zhang


def crops(seed=0, count=4, side=32):
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 1, (count, side // 8, side // 8, 3))
    return np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2).astype(np.float32)


def test_each_crop_gets_point_hints_of_its_own_colours_and_the_same_draws_as_alone():
    rgb = crops()
    lab = np.asarray(color.rgb_to_lab(rgb), np.float32)
    maps, vectors = hints.training_inputs(rgb, lab, np.random.default_rng(3))
    assert maps.shape == (4, 32, 32, hints.HINT_CHANNELS) and maps.dtype == np.float32
    assert vectors.shape == (4, hints.reference_length()) and vectors.dtype == np.float32
    # The same generator, drawn crop by crop as the function does: hints, then references.
    rng = np.random.default_rng(3)
    for crop, hint_map in zip(lab, maps):
        expected = hints.join(*hints.simulate_hints(crop[..., 1:], rng))
        np.testing.assert_array_equal(hint_map, expected)
    for crop, vector in zip(rgb, vectors):
        expected = hints.drop_reference(hints.reference_hint(crop), rng)
        np.testing.assert_array_equal(vector, expected)


def test_a_kept_reference_is_the_crops_own_colour_histogram():
    rgb = crops(seed=1, count=64)
    lab = np.asarray(color.rgb_to_lab(rgb), np.float32)
    _, vectors = hints.training_inputs(rgb, lab, np.random.default_rng(0))
    bins = len(zhang.ab_bins())
    kept = vectors[:, bins] == 1.0  # the histogram's flag
    assert 16 < kept.sum() < 48  # dropped about half the time
    for crop, vector in zip(rgb[kept], vectors[kept]):
        np.testing.assert_allclose(vector[:bins], hints.reference_hint(crop)[:bins])
    assert np.all(vectors[~kept, :bins + 1] == 0)


def test_without_reference_only_the_hint_maps_come_and_they_repeat_for_a_seed():
    rgb = crops(seed=2)
    lab = np.asarray(color.rgb_to_lab(rgb), np.float32)
    first = hints.training_inputs(rgb, lab, np.random.default_rng(5), reference=False)
    again = hints.training_inputs(rgb, lab, np.random.default_rng(5), reference=False)
    assert len(first) == 1
    np.testing.assert_array_equal(first[0], again[0])
    # About one crop in eight has no hint at all; the others mark where their patches are.
    masks = first[0][..., 2]
    assert set(np.unique(masks)) <= {0.0, 1.0}
