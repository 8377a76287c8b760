"""Random crops of few photos (colornet.train.crops): shapes and ranges, the Lab targets against
scikit-image, determinism by (seed, epoch, batch), photos of every size, bad arguments."""

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


def test_random_crops_batches_have_the_targets_shapes(photos):
    dataset = crops.RandomCrops(photos, crop_size=64, batch_size=5, steps_per_epoch=3, seed=1)
    assert len(dataset) == 3
    lightness, ab = dataset[2]
    assert lightness.shape == (5, 64, 64, 1) and ab.shape == (5, 16, 16, 2)
    assert lightness.dtype == np.float32 and ab.dtype == np.float32
    assert 0 <= lightness.min() and lightness.max() <= 100
    raw = dataset.crops(2)
    assert raw.shape == (5, 64, 64, 3) and raw.dtype == np.uint8
    np.testing.assert_array_equal(lightness, crops.lightness_and_ab_target(raw)[0])


def test_same_seed_epoch_and_index_give_the_same_crops_in_a_new_dataset(photos):
    first = crops.RandomCrops(photos, crop_size=32, batch_size=4, seed=7)
    again = crops.RandomCrops(photos, crop_size=32, batch_size=4, seed=7)
    first.epoch = again.epoch = 3
    first.crops(0)  # what was drawn before does not matter
    np.testing.assert_array_equal(first.crops(5), again.crops(5))


def test_other_epochs_indices_and_seeds_give_other_crops(photos):
    def crops_of(seed=7, epoch=0, index=0):
        dataset = crops.RandomCrops(photos, crop_size=32, batch_size=4, seed=seed)
        dataset.epoch = epoch
        return dataset.crops(index)

    reference = crops_of()
    for other in (crops_of(epoch=1), crops_of(index=1), crops_of(seed=8)):
        assert not np.array_equal(reference, other)


def test_epoch_seed_tells_the_dataset_each_epoch(photos):
    dataset = crops.RandomCrops(photos, crop_size=32, batch_size=2)
    callback = crops.EpochSeed(dataset)
    callback.on_epoch_begin(4)
    assert dataset.epoch == 4
    later = dataset.crops(0)
    callback.on_epoch_begin(0)
    assert dataset.epoch == 0 and not np.array_equal(dataset.crops(0), later)


def test_small_photos_make_full_batches(rng):
    dataset = crops.RandomCrops([photo_uint8(6, 9, 13), photo_uint8(7, 1, 1)], crop_size=32,
                                batch_size=6, steps_per_epoch=2)
    lightness, ab = dataset[0]
    assert lightness.shape == (6, 32, 32, 1) and ab.shape == (6, 8, 8, 2)
    assert np.all(np.isfinite(lightness)) and np.all(np.isfinite(ab))


@pytest.mark.parametrize("arguments, message", [
    (dict(photos=[]), "at least one photo"),
    (dict(crop_size=100), "crop_size must be a multiple of 32, got 100"),
    (dict(crop_size=16), "crop_size must be a multiple of 32, got 16"),
    (dict(min_scale=0.0), r"min_scale must be in \(0, 1\], got 0.0"),
    (dict(min_scale=1.5), r"min_scale must be in \(0, 1\], got 1.5"),
    (dict(min_scale=-0.2), r"min_scale must be in \(0, 1\], got -0.2"),
])
def test_random_crops_refuses_bad_arguments_with_value_error(photos, arguments, message):
    arguments = {"photos": photos, **arguments}
    with pytest.raises(ValueError, match=message):
        crops.RandomCrops(**arguments)


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
