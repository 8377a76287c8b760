"""Random crops of few photos (colornet.train.crops): shapes and ranges, the Lab targets against
scikit-image, determinism by (seed, epoch, batch) and the same draws as before streaming,
photos of every size, bad arguments."""

import numpy as np
import PIL.Image
import pytest
import skimage.color

from colornet import _util
from colornet.io import decode, save
from colornet.train import crops
from tests.factories import colour_photo


def photo_uint8(seed, height, width):
    """uint8 (height, width, 3): a smooth field of random colours."""
    return _util.to_uint8(colour_photo(seed, height, width))


@pytest.fixture
def photos():
    return [photo_uint8(0, 120, 90), photo_uint8(1, 70, 200), photo_uint8(2, 64, 64)]


# ---------------------------------------------------------------------------------------------
# One crop


def test_random_crop_is_uint8_crop_size_square(rng):
    crop = crops.random_crop(photo_uint8(3, 150, 100), 64, rng)
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8


@pytest.mark.parametrize("shape", [(1, 1), (1, 300), (300, 2), (5, 7), (31, 33), (40, 1000)])
def test_random_crop_of_photos_smaller_or_thinner_than_the_crop_works(shape):
    # The square's side is clipped to the shorter side: a side larger than the photo would
    # leave no room to place it (numpy's integers(0, negative) raises).
    rng = np.random.default_rng(5)
    photo = photo_uint8(4, *shape)
    for _ in range(50):
        crop = crops.random_crop(photo, 32, rng)
        assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8


def test_random_crop_of_one_colour_photo_is_that_colour(rng):
    photo = np.empty((37, 90, 3), np.uint8)
    photo[:] = (200, 30, 90)
    for _ in range(20):
        assert np.all(crops.random_crop(photo, 32, rng) == (200, 30, 90))


def test_random_crop_at_full_scale_of_a_square_photo_is_the_photo_resized_or_mirrored(rng):
    photo = photo_uint8(5, 80, 80)
    resized = np.asarray(PIL.Image.fromarray(photo).resize((32, 32),
                                                           PIL.Image.Resampling.BILINEAR))
    seen = set()
    for _ in range(20):
        crop = crops.random_crop(photo, 32, rng, min_scale=1.0)
        if np.array_equal(crop, resized):
            seen.add("as is")
        else:
            np.testing.assert_array_equal(crop, resized[:, ::-1])
            seen.add("mirrored")
    assert seen == {"as is", "mirrored"}  # half the time each: 20 draws see both


def test_random_crop_takes_a_part_of_the_photo_not_always_the_whole(rng):
    # Left half red, right half blue: a crop smaller than the photo is often all one colour.
    photo = np.zeros((100, 100, 3), np.uint8)
    photo[:, :50, 0] = 255
    photo[:, 50:, 2] = 255
    single_coloured = 0
    for _ in range(100):
        crop = crops.random_crop(photo, 32, rng)
        single_coloured += bool(np.all(crop[..., 0] == 255) or np.all(crop[..., 2] == 255))
    assert 10 < single_coloured < 100


# ---------------------------------------------------------------------------------------------
# The targets


def test_lightness_and_ab_target_shapes_dtypes_and_ranges(rng):
    rgb = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    lightness, ab = crops.lightness_and_ab_target(rgb)
    assert lightness.shape == (3, 32, 32, 1) and ab.shape == (3, 8, 8, 2)
    assert lightness.dtype == np.float32 and ab.dtype == np.float32
    assert 0 <= lightness.min() and lightness.max() <= 100
    assert np.abs(ab).max() <= 128


def test_lightness_is_skimages_l_and_ab_target_its_4x4_block_mean_of_a_and_b(rng):
    rgb = rng.integers(0, 256, (2, 16, 24, 3), dtype=np.uint8)
    lightness, ab = crops.lightness_and_ab_target(rgb)

    reference = skimage.color.rgb2lab(rgb.astype(np.float64) / 255.0)
    np.testing.assert_allclose(lightness[..., 0], reference[..., 0], atol=1e-3)
    blocks = np.empty((2, 4, 6, 2))
    for row in range(4):
        for column in range(6):
            block = reference[:, 4 * row:4 * row + 4, 4 * column:4 * column + 4, 1:]
            blocks[:, row, column] = block.mean(axis=(1, 2))
    np.testing.assert_allclose(ab, blocks, atol=1e-3)


def test_uint8_and_zero_to_one_float_rgb_give_the_same_targets(rng):
    rgb = rng.integers(0, 256, (1, 8, 8, 3), dtype=np.uint8)
    from_uint8 = crops.lightness_and_ab_target(rgb)
    from_float = crops.lightness_and_ab_target(rgb.astype(np.float32) / 255.0)
    for ours, theirs in zip(from_uint8, from_float):
        np.testing.assert_allclose(ours, theirs, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# Batches


def batch_of(photos, seed=7, epoch=0, index=0, batch_size=4, crop_size=32):
    return crops.batch_crops(photos.__getitem__, len(photos), batch_size, crop_size, seed=seed,
                             epoch=epoch, index=index)


def test_batch_crops_are_uint8_squares_whose_targets_have_the_heads_shapes(photos):
    raw = batch_of(photos, batch_size=5, crop_size=64, index=2)
    assert raw.shape == (5, 64, 64, 3) and raw.dtype == np.uint8
    lightness, ab = crops.lightness_and_ab_target(raw)
    assert lightness.shape == (5, 64, 64, 1) and ab.shape == (5, 16, 16, 2)
    assert 0 <= lightness.min() and lightness.max() <= 100


def test_same_seed_epoch_and_index_give_the_same_crops_whatever_came_before(photos):
    batch_of(photos, epoch=3, index=0)  # what was drawn before does not matter
    np.testing.assert_array_equal(batch_of(photos, epoch=3, index=5),
                                  batch_of(photos, epoch=3, index=5))


def test_other_epochs_indices_and_seeds_give_other_crops(photos):
    reference = batch_of(photos)
    for other in (batch_of(photos, epoch=1), batch_of(photos, index=1),
                  batch_of(photos, seed=8)):
        assert not np.array_equal(reference, other)


def test_batch_crops_draw_what_the_recipe_drew_before_streaming(photos):
    """The crops of a run started before photos were streamed: the same generator, seeded
    by [seed, epoch, index], first picks the photos, then each crop in turn."""
    rng = np.random.default_rng([7, 2, 3])
    chosen = rng.integers(0, len(photos), 4)
    expected = np.stack([crops.random_crop(photos[i], 32, rng) for i in chosen])
    np.testing.assert_array_equal(batch_of(photos, epoch=2, index=3), expected)


def test_small_photos_make_full_batches():
    photos = [photo_uint8(6, 9, 13), photo_uint8(7, 1, 1)]
    lightness, ab = crops.lightness_and_ab_target(batch_of(photos, batch_size=6))
    assert lightness.shape == (6, 32, 32, 1) and ab.shape == (6, 8, 8, 2)
    assert np.all(np.isfinite(lightness)) and np.all(np.isfinite(ab))


def test_batch_crops_refuses_no_photos():
    with pytest.raises(ValueError, match="at least one photo"):
        batch_of([])


@pytest.mark.parametrize("crop_size, min_scale, message", [
    (100, 0.2, "crop_size must be a multiple of 32, got 100"),
    (16, 0.2, "crop_size must be a multiple of 32, got 16"),
    (64, 0.0, r"min_scale must be in \(0, 1\], got 0.0"),
    (64, 1.5, r"min_scale must be in \(0, 1\], got 1.5"),
    (64, -0.2, r"min_scale must be in \(0, 1\], got -0.2"),
])
def test_bad_crop_arguments_are_refused_by_name(crop_size, min_scale, message):
    with pytest.raises(ValueError, match=message):
        crops.check_crop_arguments(crop_size, min_scale)


# ---------------------------------------------------------------------------------------------
# Loading photos


def test_load_photos_shrinks_the_shorter_side_to_max_side_and_keeps_small_ones(tmp_path):
    sizes = {"large.png": (300, 200), "wide.png": (100, 260), "small.png": (20, 30)}
    paths = []
    for name, (height, width) in sizes.items():
        paths.append(tmp_path / name)
        save.save_image(paths[-1], colour_photo(len(paths), height, width))

    large, wide, small = crops.load_photos(paths, max_side=64, progress=False)

    for photo in (large, wide, small):
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
    assert min(large.shape[:2]) == 64 and large.shape[0] / large.shape[1] == pytest.approx(
        1.5, abs=0.05)
    # At most max_side: the quick block-mean shrink may already take it below (50 here).
    assert min(wide.shape[:2]) <= 64 and wide.shape[1] / wide.shape[0] == pytest.approx(
        2.6, abs=0.05)
    # A photo already small enough comes back as it is on disk.
    np.testing.assert_array_equal(small, np.asarray(PIL.Image.open(paths[2]).convert("RGB")))


def test_load_photos_names_an_unreadable_file(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    with pytest.raises(decode.ImageError, match="broken.jpg"):
        crops.load_photos([broken], progress=False)
