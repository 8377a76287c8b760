"""Tests for the training data (colornet.train.data): colourfulness, scanning, splitting, streaming,
augmentation, prepare.

Every photo is generated inside the test's tmp_path: smooth random colour fields (many hues,
like a photo), their grey versions, toned versions, and broken files.
"""

import hashlib
import json
import math
import os
import pathlib
import shutil
import warnings

import numpy as np
import PIL.Image
import pytest
import skimage.color
import tensorflow as tf

from colornet import color
from colornet.apps import prepare
from colornet.io import decode, folders, geometry, greyness, save
from colornet.train import augmentation, data
from tests.factories import colour_photo, grey_of

# ---------------------------------------------------------------------------------------------
# Helpers that build photos


def write_truncated_jpeg(path, rng):
    """A JPEG whose header is fine but whose data stops halfway: readable by name only."""
    save.save_image(path, colour_photo(rng, 64, 64))
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    return path


def folder_bytes(folder):
    """{relative path: sha256} of every file under folder."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# ---------------------------------------------------------------------------------------------
# Colourfulness


def test_grey_photo_and_near_grey_photo_with_ab_within_2_are_grey(rng):
    grey = grey_of(colour_photo(rng, 80, 120))
    lightness = rng.uniform(20.0, 90.0, (80, 120))
    near_grey_ab = rng.uniform(-2.0, 2.0, (80, 120, 2))
    near_grey = color.lab_to_rgb(np.dstack([lightness, near_grey_ab]).astype(np.float32))

    assert greyness.colour_spread(grey) < 0.5
    assert greyness.is_grey(grey)
    assert greyness.colour_spread(near_grey) < 2 * math.sqrt(2)  # the largest ab it holds
    assert greyness.is_grey(near_grey)


def toned(rgb, a, b):
    """The photo's lightness in one tint of the given a and b: a sepia, yellowed or cyanotype
    print of it."""
    lightness = color.rgb_to_lab(rgb)[..., 0]
    tint = np.broadcast_to(np.array([a, b], np.float32), (*lightness.shape, 2))
    return color.lab_to_rgb(np.dstack([lightness, tint]).astype(np.float32))


def test_sepia_yellowed_and_colour_photos_have_colour_and_black_and_white_has_none(rng):
    photo = colour_photo(rng, 80, 120)
    grey = grey_of(photo)
    faint_cast = toned(grey, 0.0, 3.0)  # a scan of a black-and-white print, slightly warm
    for black_and_white in (grey, faint_cast, np.rint(grey * 255).astype(np.uint8)):
        assert not greyness.has_colour(black_and_white)
    sepia, yellowed, cyanotype = toned(grey, 8, 20), toned(grey, 1, 10), toned(grey, -5, -25)
    for coloured in (sepia, yellowed, cyanotype, photo):
        assert greyness.has_colour(coloured)
    # One rule: a toned print has colour to colorize from, and is still grey to learn from.
    assert greyness.is_grey(sepia) and greyness.is_grey(yellowed)
    assert greyness.chroma(photo) >= greyness.colour_spread(photo)


def test_colourful_photo_is_not_grey_as_float_or_uint8(rng):
    photo = colour_photo(rng, 90, 60)

    assert greyness.colour_spread(photo) > 3 * greyness.GREY_CHROMA
    assert not greyness.is_grey(photo)
    assert not greyness.is_grey(np.rint(photo * 255).astype(np.uint8))


def test_sepia_photo_is_grey_although_its_plain_chroma_is_high(rng):
    sepia = grey_of(colour_photo(rng, 64, 64)) * np.array([1.0, 0.85, 0.65], np.float32)
    plain_chroma = np.hypot(*np.moveaxis(skimage.color.rgb2lab(sepia)[..., 1:], -1, 0))

    assert np.percentile(plain_chroma, 99) > 2 * greyness.GREY_CHROMA
    assert greyness.is_grey(sepia)


def test_two_hues_of_different_lightness_are_colourful():
    # Red and blue are far apart in lightness too, so this is not "a tint that follows L".
    red_and_blue = np.zeros((32, 32, 3), np.float32)
    red_and_blue[:, :16, 0] = 1.0
    red_and_blue[:, 16:, 2] = 1.0

    assert not greyness.is_grey(red_and_blue)


# ---------------------------------------------------------------------------------------------
# Scanning a folder


def test_scan_folder_sorts_colour_grey_and_unreadable_and_summary_names_them(tmp_path, rng):
    colour = [
        save.save_image(tmp_path / "a_colour.png", colour_photo(rng, 40, 60)),
        save.save_image(tmp_path / "b_colour.jpg", colour_photo(rng, 700, 500)),
        save.save_image(tmp_path / "trip" / "c_colour.jpg", colour_photo(rng, 50, 50)),
    ]
    # CMYK JPEGs go through Pillow's conversion; they must still count as colour.
    cmyk = tmp_path / "d_cmyk.jpg"
    PIL.Image.fromarray(np.rint(colour_photo(rng, 60, 60) * 255).astype(np.uint8)).convert(
        "CMYK"
    ).save(cmyk)
    grey = [
        save.save_image(tmp_path / "e_grey.png", grey_of(colour_photo(rng, 40, 40))),
        save.save_image(tmp_path / "f_grey.jpg", grey_of(colour_photo(rng, 300, 200))[..., 0]),
    ]
    broken = write_truncated_jpeg(tmp_path / "g_broken.jpg", rng)
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "fake.jpg").write_bytes(rng.bytes(500))

    with pytest.warns(UserWarning, match="notes.txt") as caught:
        scan = greyness.scan_folder(tmp_path, progress=False)

    assert any("fake.jpg" in str(warning.message) for warning in caught)
    assert scan.colour == sorted(colour + [cmyk])
    assert scan.grey == grey
    assert [path for path, _ in scan.unreadable] == [broken]
    assert "truncated" in scan.unreadable[0][1]
    summary = scan.summary()
    assert summary.startswith("4 colour photos; skipped 2 grey")
    assert "e_grey.png" in summary and "1 unreadable (g_broken.jpg: " in summary


def test_scan_folder_of_only_grey_photos_raises_value_error(tmp_path, rng):
    for index in range(2):
        save.save_image(tmp_path / f"grey_{index}.png", grey_of(colour_photo(rng, 30, 30)))

    with pytest.raises(ValueError, match="no colour photos to learn from.*2 grey"):
        greyness.scan_folder(tmp_path, progress=False)


def test_scan_folder_of_an_empty_folder_raises_image_error(tmp_path):
    with pytest.raises(decode.ImageError, match="no images found"):
        greyness.scan_folder(tmp_path, progress=False)


# ---------------------------------------------------------------------------------------------
# Splitting


def fake_paths(count, folder="photos", start=0):
    return [pathlib.Path(folder) / f"photo_{index:05d}.jpg" for index in range(start, count)]


def test_split_is_reproducible_with_one_seed_and_differs_with_another():
    paths = fake_paths(300)

    assert data.split(paths, 0.2, seed=3) == data.split(paths, 0.2, seed=3)
    assert data.split(paths, 0.2, seed=3)[1] != data.split(paths, 0.2, seed=4)[1]


def test_split_keeps_existing_photos_on_their_side_when_photos_are_added_or_moved():
    training, validation = data.split(fake_paths(200), 0.1)
    grown_training, grown_validation = data.split(fake_paths(260), 0.1)
    moved = data.split(fake_paths(200, folder="elsewhere/photos"), 0.1)

    assert set(training) <= set(grown_training)
    assert set(validation) <= set(grown_validation)
    assert [path.name for path in moved[1]] == [path.name for path in validation]


def test_split_respects_the_fraction_roughly_and_keeps_order():
    paths = fake_paths(1000)
    training, validation = data.split(paths, 0.1)

    assert 80 <= len(validation) <= 120
    assert sorted(training + validation) == paths
    assert training == sorted(training) and validation == sorted(validation)


def test_split_puts_at_least_one_photo_on_each_side():
    assert [len(side) for side in data.split(fake_paths(2), 0.01)] == [1, 1]
    assert [len(side) for side in data.split(fake_paths(3), 0.99)] == [1, 2]
    assert [len(side) for side in data.split(fake_paths(5), 0.0)] == [5, 0]
    assert [len(side) for side in data.split(fake_paths(1), 0.5)] == [1, 0]


def test_split_keys_on_names_by_default_and_on_relative_paths_under_root():
    paths = [pathlib.Path(f"raw/{folder}/{index}.jpg") for folder in "ab" for index in range(200)]

    def validation_names(folder, **options):
        validation = data.split(paths, 0.5, **options)[1]
        return {path.name for path in validation if path.parent.name == folder}

    assert validation_names("a") == validation_names("b")  # same name, same side
    assert validation_names("a", root="raw") != validation_names("b", root="raw")

    with pytest.raises(ValueError, match="not inside root"):
        data.split([pathlib.Path("other/1.jpg")], 0.1, root="raw")


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5, float("nan"), "0.1", True, None])
def test_split_refuses_a_fraction_outside_0_to_1(fraction):
    with pytest.raises(ValueError, match="validation_fraction must be a number in \\[0, 1\\)"):
        data.split(fake_paths(10), fraction)


# ---------------------------------------------------------------------------------------------
# Streaming batches


@pytest.fixture
def mixed_folder(tmp_path, rng):
    """40 colour photos of assorted sizes and shapes, PNG and JPEG."""
    for index in range(40):
        height, width = rng.integers(20, 90, size=2)
        suffix = ".png" if index % 2 else ".jpg"
        save.save_image(tmp_path / f"photo_{index:02d}{suffix}", colour_photo(rng, height, width))
    return tmp_path


def test_image_dataset_yields_square_float32_batches_in_0_1_from_mixed_sizes(mixed_folder):
    paths = folders.list_images(mixed_folder)
    dataset = data.image_dataset(paths, image_size=32, batch_size=8, augment=True, seed=1)

    batches = [batch.numpy() for batch in dataset.take(3)]

    assert dataset.element_spec.shape.as_list() == [None, 32, 32, 3]
    assert dataset.element_spec.dtype == tf.float32
    for batch in batches:
        assert batch.shape == (8, 32, 32, 3) and batch.dtype == np.float32
        assert 0.0 <= batch.min() and batch.max() <= 1.0


def test_image_dataset_building_decodes_nothing_and_iterating_decodes_lazily(
    mixed_folder, monkeypatch
):
    loaded = []
    real_load_rgb = decode.load_rgb

    def counting_load_rgb(path, **kwargs):
        loaded.append(path)
        return real_load_rgb(path, **kwargs)

    monkeypatch.setattr(decode, "load_rgb", counting_load_rgb)
    opened = []
    real_open = PIL.Image.open

    def counting_open(path, *args, **kwargs):
        opened.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(PIL.Image, "open", counting_open)
    # Files that do not exist yet: building must not so much as look at them.
    not_yet_there = [mixed_folder / "future" / f"photo_{index}.jpg" for index in range(10_000)]
    data.image_dataset(not_yet_there, image_size=64, batch_size=32)
    assert loaded == [] and opened == []

    # 200 distinct files (no path twice, so whether a decode is saved by the loader's memory
    # of decoded photos cannot depend on timing) in a fixed order: the first batch is exactly
    # the first 4 files, and each must have been decoded, whatever tf.data's threads decoded
    # ahead of it meanwhile.
    originals = folders.list_images(mixed_folder)
    (mixed_folder / "links").mkdir()
    paths = []
    for copy in range(5):
        for photo in originals:
            paths.append(mixed_folder / "links" / f"{copy}_{photo.name}")
            os.link(photo, paths[-1])
    loaded.clear()
    dataset = data.image_dataset(paths, image_size=16, batch_size=4, augment=False, shuffle=False)
    batch = next(iter(dataset))
    assert batch.shape == (4, 16, 16, 3)
    assert {os.fspath(path) for path in paths[:4]} <= {os.fspath(path) for path in loaded}
    assert len(loaded) < len(paths)


def test_image_dataset_without_augment_or_shuffle_gives_the_exact_photos_in_order(tmp_path, rng):
    shapes = [(24, 24), (30, 50), (61, 23), (24, 40), (100, 100)]
    paths = [
        save.save_image(tmp_path / f"{index}.png", colour_photo(rng, *shape))
        for index, shape in enumerate(shapes)
    ]
    expected = np.stack([geometry.resize_and_crop(decode.load_rgb(path), 24) for path in paths])

    dataset = data.image_dataset(paths, 24, batch_size=2, augment=False, shuffle=False)
    batches = [batch.numpy() for batch in dataset]

    assert [len(batch) for batch in batches] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate(batches), expected)


def test_image_dataset_shuffle_is_seeded_and_keeps_every_photo(tmp_path, rng):
    paths = [
        save.save_image(tmp_path / f"{index}.png", np.full((4, 4, 3), index / 20, np.float32))
        for index in range(20)
    ]

    def first_pixels(seed):
        dataset = data.image_dataset(paths, 4, batch_size=20, augment=False, seed=seed)
        return np.round(next(iter(dataset)).numpy()[:, 0, 0, 0] * 20).astype(int).tolist()

    assert first_pixels(seed=7) == first_pixels(seed=7)
    assert first_pixels(seed=7) != list(range(20))
    assert sorted(first_pixels(seed=7)) == list(range(20))


def test_image_dataset_skips_a_broken_photo_with_one_warning_naming_it(tmp_path, rng):
    good = [
        save.save_image(tmp_path / f"{index}.png", colour_photo(rng, 20, 20))
        for index in range(5)
    ]
    broken = write_truncated_jpeg(tmp_path / "broken.jpg", rng)
    missing = tmp_path / "deleted_meanwhile.jpg"
    paths = good[:2] + [broken] + good[2:] + [missing]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        once = data.image_dataset(paths, 20, batch_size=3, augment=False, shuffle=False)
        photos = np.concatenate([batch.numpy() for batch in once])
        three_epochs = data.image_dataset(paths, 20, 7, augment=False, shuffle=False, repeat=True)
        for _ in three_epochs.take(3):
            pass

    expected = np.stack([geometry.resize_and_crop(decode.load_rgb(path), 20) for path in good])
    np.testing.assert_array_equal(photos, expected)
    messages = [str(warning.message) for warning in caught]
    assert sum("broken.jpg" in message for message in messages) == 2  # once per dataset
    assert sum("deleted_meanwhile.jpg" in message for message in messages) == 2


def test_image_dataset_of_only_broken_photos_stops_with_an_error_instead_of_looping(
    tmp_path, rng
):
    paths = [write_truncated_jpeg(tmp_path / f"broken_{index}.jpg", rng) for index in range(2)]
    dataset = data.image_dataset(paths, 16, batch_size=2, augment=False, repeat=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(tf.errors.OpError, match="none of the 2 photos could be read"):
            next(iter(dataset))


def test_image_dataset_augments_each_batch_differently(tmp_path, rng):
    path = save.save_image(tmp_path / "photo.png", colour_photo(rng, 32, 32))
    dataset = data.image_dataset([path] * 8, 32, batch_size=4, augment=True, shuffle=False)

    first, second = [batch.numpy() for batch in dataset]

    assert not np.allclose(first, second, atol=1e-3)


@pytest.mark.parametrize(
    "arguments",
    [
        dict(image_size=0),
        dict(image_size=32.0),
        dict(batch_size=0),
        dict(paths=[]),
        dict(paths="one_photo.jpg"),
    ],
)
def test_image_dataset_refuses_bad_arguments(arguments):
    settings = dict(paths=["a.jpg"], image_size=32, batch_size=4) | arguments
    with pytest.raises(ValueError):
        data.image_dataset(**settings)


def quadrant_photo(height=120, width=160):
    """Four flat colours, one per quadrant: a crop's colours say where it came from."""
    photo = np.zeros((height, width, 3), np.float32)
    photo[: height // 2, : width // 2] = (1, 0, 0)
    photo[: height // 2, width // 2 :] = (0, 1, 0)
    photo[height // 2 :, : width // 2] = (0, 0, 1)
    photo[height // 2 :, width // 2 :] = (1, 1, 0)
    return photo


def first_passes(dataset, passes):
    iterator = iter(dataset)
    return [next(iterator).numpy() for _ in range(passes)]


def test_random_crops_are_new_each_pass_repeat_with_the_seed_and_come_from_the_photo(tmp_path):
    path = save.save_image(tmp_path / "quadrants.png", quadrant_photo())
    views = [path] * 8  # eight crops of one photo per pass

    def dataset(seed):
        return data.image_dataset(
            views, 32, batch_size=8, augment=False, shuffle=False, repeat=True, seed=seed,
            crops="random",
        )

    first, second = first_passes(dataset(seed=3), 2)
    assert first.shape == (8, 32, 32, 3) and first.dtype == np.float32
    assert not np.allclose(first, second)  # new crops every pass
    assert not np.allclose(first[0], first[1])  # and every view
    np.testing.assert_array_equal(first_passes(dataset(seed=3), 1)[0], first)
    assert not np.allclose(first_passes(dataset(seed=4), 1)[0], first)
    # Every crop is a piece of the photo: its pixels are the quadrants' colours (bilinear
    # resizing blends them only along the borders).
    quadrant_colours = quadrant_photo()[[0, 0, -1, -1], [0, -1, 0, -1]]
    distance = np.abs(first[..., None, :] - quadrant_colours).sum(-1).min(-1)
    assert np.mean(distance < 0.05) > 0.7


def test_fixed_crop_keys_give_the_same_crop_every_pass_and_centre_square_as_without_crops(
    tmp_path,
):
    path = save.save_image(tmp_path / "quadrants.png", quadrant_photo())
    keys = np.array([0, 1, 2, data.CENTRE_SQUARE])
    dataset = data.image_dataset(
        [path] * 4, 32, batch_size=4, augment=False, shuffle=False, repeat=True, crops=keys
    )
    first, second = first_passes(dataset, 2)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first[0], first[1])
    whole = next(iter(data.image_dataset([path], 32, batch_size=1, augment=False))).numpy()
    np.testing.assert_allclose(first[3], whole[0], atol=0.02)


@pytest.mark.parametrize(
    "crops", ["centre", np.array([0, 1]), np.array([0.5]), np.array([-2])],
)
def test_image_dataset_refuses_crops_it_cannot_use(crops):
    with pytest.raises(ValueError, match="crops must"):
        data.image_dataset(["a.png"], 32, batch_size=1, crops=crops)


def test_steps_per_epoch_rounds_up_and_is_0_for_no_photos():
    assert data.steps_per_epoch(10, 4) == 3
    assert data.steps_per_epoch(8, 4) == 2
    assert data.steps_per_epoch(1, 32) == 1
    assert data.steps_per_epoch(0, 32) == 0
    with pytest.raises(ValueError, match="batch_size"):
        data.steps_per_epoch(10, 0)
    with pytest.raises(ValueError, match="count"):
        data.steps_per_epoch(-1, 4)


def test_repeated_image_dataset_gives_each_photo_once_per_steps_per_epoch_batches(tmp_path):
    paths = [
        save.save_image(tmp_path / f"{index}.png", np.full((4, 4, 3), index / 10, np.float32))
        for index in range(5)
    ]
    steps = data.steps_per_epoch(len(paths), 2)
    dataset = data.image_dataset(paths, 4, batch_size=2, augment=False, repeat=True, seed=3)

    batches = [batch.numpy() for batch in dataset.take(3 * steps)]
    passes = [np.concatenate(batches[start : start + steps]) for start in (0, steps, 2 * steps)]

    assert [len(batch) for batch in batches] == [2, 2, 1] * 3
    for photos in passes:
        assert sorted(np.round(photos[:, 0, 0, 0] * 10).astype(int)) == [0, 1, 2, 3, 4]
    assert not all(np.array_equal(passes[0], other) for other in passes[1:])  # reshuffled


# ---------------------------------------------------------------------------------------------
# Augmentation


def test_augmentation_changes_photos_but_keeps_shape_and_0_1_range(rng):
    batch = np.stack([colour_photo(rng, 48, 48) for _ in range(4)])

    augmented = augmentation.augmentation_layers(seed=0)(batch, training=True).numpy()

    assert augmented.shape == batch.shape and augmented.dtype == np.float32
    assert 0.0 <= augmented.min() and augmented.max() <= 1.0
    assert np.abs(augmented - batch).mean() > 0.01


def test_augmentation_is_identity_outside_training(rng):
    batch = np.stack([colour_photo(rng, 16, 16) for _ in range(2)])

    np.testing.assert_allclose(augmentation.augmentation_layers(0)(batch, training=False), batch)


def test_augmentation_flips_left_red_right_blue_photos_both_ways():
    photo = np.zeros((40, 40, 3), np.float32)
    photo[:, :20, 0] = 1.0  # red on the left
    photo[:, 20:, 2] = 1.0  # blue on the right
    batch = np.repeat(photo[None], 16, axis=0)

    augmented = augmentation.augmentation_layers(seed=1)(batch, training=True).numpy()

    # The outer eighth of each side stays on its side under ±20° and ±20 % zoom.
    red_left = augmented[:, :, :5, 0].mean(axis=(1, 2)) > augmented[:, :, -5:, 0].mean(axis=(1, 2))
    assert red_left.any() and not red_left.all()


def test_augmentation_keeps_lightness_and_ab_edges_at_the_same_place():
    # A sharp vertical edge between dark blue and light yellow: an edge in L and in ab.
    photo = np.empty((64, 64, 3), np.float32)
    photo[:, :32] = (0.1, 0.1, 0.6)
    photo[:, 32:] = (0.9, 0.9, 0.3)
    batch = np.repeat(photo[None], 4, axis=0)

    augmented = augmentation.augmentation_layers(seed=2)(batch, training=True).numpy()
    lab = color.rgb_to_lab(augmented)  # the split the model makes, after augmentation
    lightness_step = np.abs(np.diff(lab[..., 0], axis=2))  # (4, 64, 63)
    ab_step = np.linalg.norm(np.diff(lab[..., 1:], axis=2), axis=-1)  # (4, 64, 63)

    assert not np.allclose(augmented, batch)
    rows_with_edge = lightness_step.max(axis=2) > 10
    assert rows_with_edge.mean() > 0.5
    lightness_edge = lightness_step.argmax(axis=2)[rows_with_edge]
    ab_edge = ab_step.argmax(axis=2)[rows_with_edge]
    assert np.abs(lightness_edge - ab_edge).max() <= 1


def test_augmentation_resamples_each_photo_once_about_its_centre(rng):
    """One composed transform about the centre: the centre pixel of an odd-sized photo is
    read from itself whatever the rotation, shear, zoom and flip (up to float rounding)."""
    batch = np.stack([colour_photo(rng, 33, 33) for _ in range(16)])

    augmented = augmentation.augmentation_layers(seed=3)(batch, training=True).numpy()

    np.testing.assert_allclose(augmented[:, 16, 16], batch[:, 16, 16], atol=1e-4)
    assert np.abs(augmented - batch).mean() > 0.01


def test_random_affine_transforms_stay_in_the_write_ups_ranges():
    layer = augmentation.RandomAffine(20.0, 0.2, 0.2, horizontal_flip=True, seed=0)
    height, width = 48, 64
    rows = layer.random_transforms((1000, height, width, 3)).numpy()  # (1000, 8)
    matrices = rows[:, [0, 1, 3, 4]].reshape(-1, 2, 2)  # output → input, centred
    centre = np.array([(width - 1) / 2, (height - 1) / 2])

    mapped_centre = np.einsum("nij,j->ni", matrices, centre) + rows[:, [2, 5]]
    np.testing.assert_allclose(mapped_centre - centre, 0.0, atol=1e-4)
    # A = R(angle) · [[1, shear], [0, 1]] · zoom · diag(flip, 1): its first column is
    # zoom · flip · (cos, sin), its determinant zoom² · flip.
    determinant = np.linalg.det(matrices)
    flip, zoom = np.sign(determinant), np.sqrt(np.abs(determinant))
    angle = np.degrees(np.arctan2(flip * matrices[:, 1, 0], flip * matrices[:, 0, 0]))
    np.testing.assert_allclose(np.hypot(matrices[:, 0, 0], matrices[:, 1, 0]), zoom, rtol=1e-4)
    assert 0.8 - 1e-4 <= zoom.min() and zoom.max() <= 1.2 + 1e-4
    assert np.abs(angle).max() <= 20.0 + 1e-3 and np.abs(angle).max() > 18.0
    assert 0.4 < (flip < 0).mean() < 0.6
    # The shear, from A's second column: R⁻¹ · A · e₂ / zoom = (shear, 1).
    cos, sin = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    shear = (cos * matrices[:, 0, 1] + sin * matrices[:, 1, 1]) / zoom
    assert np.abs(shear).max() <= 0.2 + 1e-4 and np.abs(shear).max() > 0.18


def test_random_affine_with_no_range_is_the_identity_and_a_flip_only_mirrors(rng):
    batch = np.stack([colour_photo(rng, 20, 30) for _ in range(16)])

    unchanged = augmentation.RandomAffine(0.0, 0.0, 0.0, horizontal_flip=False)(batch).numpy()
    mirrored = augmentation.RandomAffine(0.0, 0.0, 0.0, horizontal_flip=True, seed=4)(batch).numpy()

    np.testing.assert_allclose(unchanged, batch, atol=1e-6)
    pairs = list(zip(mirrored, batch))
    is_mirror = [np.allclose(after, before[:, ::-1], atol=1e-5) for after, before in pairs]
    is_same = [np.allclose(after, before, atol=1e-5) for after, before in pairs]
    assert all(m or s for m, s in zip(is_mirror, is_same)) and any(is_mirror) and any(is_same)


def test_augmentation_layers_survive_a_keras_round_trip(tmp_path, rng):
    import keras

    model = keras.Sequential([keras.Input((16, 16, 3)), augmentation.augmentation_layers(seed=1)])
    model.save(tmp_path / "augmentation.keras")
    loaded = keras.saving.load_model(tmp_path / "augmentation.keras")
    batch = np.stack([colour_photo(rng, 16, 16) for _ in range(2)])

    np.testing.assert_allclose(loaded(batch, training=False), batch)
    assert loaded.layers[0].layers[0].get_config() == model.layers[0].layers[0].get_config()


def test_repeated_image_dataset_decodes_each_photo_once_and_repeats_it_exactly(
    tmp_path, rng, monkeypatch
):
    paths = [
        save.save_image(tmp_path / f"{index}.png", colour_photo(rng, 30, 40))
        for index in range(5)
    ]
    loaded = []
    real_load_rgb = decode.load_rgb

    def counting_load_rgb(path, **kwargs):
        loaded.append(path)
        return real_load_rgb(path, **kwargs)

    monkeypatch.setattr(decode, "load_rgb", counting_load_rgb)
    dataset = data.image_dataset(paths, 16, batch_size=2, augment=False, shuffle=False, repeat=True)

    batches = [batch.numpy() for batch in dataset.take(3 * data.steps_per_epoch(5, 2))]

    assert sorted(loaded) == sorted(str(path) for path in paths)  # each decoded once
    passes = [np.concatenate(batches[start : start + 3]) for start in (0, 3, 6)]
    np.testing.assert_array_equal(passes[0], passes[1])
    np.testing.assert_array_equal(passes[0], passes[2])


# ---------------------------------------------------------------------------------------------
# Preparing a raw folder

# (height, width) of the 12 colour photos: landscape, portrait, square, some below 96.
COLOUR_SHAPES = [
    (120, 160), (160, 120), (100, 100), (90, 200), (200, 90), (150, 150),
    (80, 120), (130, 170), (110, 140), (180, 100), (75, 75), (140, 96),
]  # fmt: skip


@pytest.fixture
def raw_folder(tmp_path, rng):
    """12 colour photos, 2 grey, 1 tiny, 1 corrupt, 1 exact and 1 rescaled duplicate."""
    raw = tmp_path / "raw"
    colour = {}
    for index, shape in enumerate(COLOUR_SHAPES):
        folder = raw / "trip" if index % 4 == 0 else raw
        suffix = ".jpg" if index % 3 == 0 else ".png"
        photo = colour_photo(rng, *shape)
        colour[index] = save.save_image(folder / f"photo_{index:02d}{suffix}", photo)
    save.save_image(raw / "grey_a.png", grey_of(colour_photo(rng, 100, 100)))
    save.save_image(raw / "grey_b.jpg", grey_of(colour_photo(rng, 120, 90))[..., 0])
    save.save_image(raw / "tiny.png", colour_photo(rng, 40, 50))
    write_truncated_jpeg(raw / "corrupt.jpg", rng)
    shutil.copyfile(colour[3], raw / "zz_exact_copy.png")
    rescaled = geometry.resize_and_crop(decode.load_rgb(colour[5]), (90, 90))  # 150 → 90
    save.save_image(raw / "zz_rescaled_copy.jpg", rescaled, quality=85)
    return raw, colour


def test_prepare_folder_drops_exactly_the_bad_photos_and_writes_the_kept_ones(
    tmp_path, raw_folder
):
    raw, colour = raw_folder
    raw_before = folder_bytes(raw)
    data_dir = tmp_path / "data"

    report = prepare.prepare_folder(
        raw, data_dir, image_size=96, test_fraction=0.2, min_side=64, progress=False
    )

    dropped = {
        reason: sorted(path.name for path, _ in entries)
        for reason, entries in report.dropped.items()
    }
    assert dropped == {
        "unreadable": ["corrupt.jpg"],
        "too small": ["tiny.png"],
        "grey": ["grey_a.png", "grey_b.jpg"],
        "duplicate": ["zz_exact_copy.png", "zz_rescaled_copy.jpg"],
    }
    duplicate_details = {path.name: detail for path, detail in report.dropped["duplicate"]}
    assert colour[3].name in duplicate_details["zz_exact_copy.png"]
    assert colour[5].name in duplicate_details["zz_rescaled_copy.jpg"]

    # Every kept photo is in exactly one of train and test, as a JPEG of the right size.
    assert report.train and report.test
    written = report.train + report.test
    assert sorted(path.stem for path in written) == sorted(path.stem for path in colour.values())
    on_disk = folders.list_images(data_dir / "train") + folders.list_images(data_dir / "test")
    assert sorted(written) == sorted(on_disk)
    for source, (height, width) in zip(colour.values(), COLOUR_SHAPES):
        (output,) = [path for path in written if path.stem == source.stem]
        split_dir = data_dir / ("train" if output in report.train else "test")
        assert output.relative_to(split_dir) == source.relative_to(raw).with_suffix(".jpg")
        with PIL.Image.open(output) as image:
            assert min(image.size) == min(96, height, width)
            assert abs(image.width / image.height - width / height) < 0.03

    assert folder_bytes(raw) == raw_before
    saved = json.loads((data_dir / prepare.REPORT_NAME).read_text())
    assert saved["kept"] == {"train": len(report.train), "test": len(report.test)}
    assert saved["dropped_counts"] == {"unreadable": 1, "too small": 1, "grey": 2, "duplicate": 2}
    assert saved["dropped"]["too small"] == [{"file": "tiny.png", "detail": "50 x 40 pixels"}]

    summary = report.summary()
    assert summary.startswith(f"kept 12 photos: {len(report.train)} for training")
    for line in ("unreadable: 1", "too small: 1", "grey: 2", "duplicate: 2"):
        assert line in summary


def test_prepare_folder_refuses_to_overwrite_unless_asked_and_then_repeats_itself(
    tmp_path, raw_folder
):
    raw, _ = raw_folder
    data_dir = tmp_path / "data"
    settings = dict(image_size=64, test_fraction=0.3, progress=False)
    first = prepare.prepare_folder(raw, data_dir, **settings)

    with pytest.raises(ValueError, match="not empty.*overwrite"):
        prepare.prepare_folder(raw, data_dir, **settings)
    second = prepare.prepare_folder(raw, data_dir, overwrite=True, **settings)

    assert (second.train, second.test) == (first.train, first.test)
    written = sorted(path for path in (data_dir / "train").rglob("*") if path.is_file())
    assert written == sorted(first.train)


def test_prepare_overwrite_deletes_only_what_prepare_wrote(tmp_path, raw_folder):
    raw, _ = raw_folder
    data_dir = tmp_path / "data"
    settings = dict(image_size=64, test_fraction=0.3, progress=False)
    first = prepare.prepare_folder(raw, data_dir, **settings)
    mine = data_dir / "train" / "my_own_photo.jpg"
    mine.write_bytes(b"not prepare's")
    removed = first.train[0]
    with pytest.raises(ValueError, match="not written by prepare.*my_own_photo.jpg"):
        prepare.prepare_folder(raw, data_dir, overwrite=True, **settings)
    assert mine.read_bytes() == b"not prepare's"
    assert all(path.is_file() for path in first.train + first.test)  # the earlier output intact
    mine.unlink()
    removed.unlink()  # a photo of prepare's own that the user deleted is no obstacle
    second = prepare.prepare_folder(raw, data_dir, overwrite=True, **settings)
    assert (second.train, second.test) == (first.train, first.test)


def test_prepare_reports_every_file_it_did_not_keep(tmp_path, raw_folder):
    raw, _ = raw_folder
    (raw / "empty.jpg").write_bytes(b"")
    (raw / "garbage.png").write_bytes(b"this is not a png")
    (raw / "notes.txt").write_text("where the photos came from")
    report = prepare.prepare_folder(raw, tmp_path / "data", image_size=64, progress=False)
    unreadable = {path.name for path, _ in report.dropped["unreadable"]}
    assert {"empty.jpg", "garbage.png", "notes.txt", "corrupt.jpg"} <= unreadable
    summary = report.summary()
    assert all(name in summary for name in ("empty.jpg", "garbage.png", "notes.txt"))
    saved = json.loads((tmp_path / "data" / prepare.REPORT_NAME).read_text())
    assert {entry["file"] for entry in saved["dropped"]["unreadable"]} >= {"empty.jpg", "notes.txt"}


def test_an_interrupted_prepare_leaves_no_train_folder_without_its_test_folder(
    tmp_path, raw_folder, monkeypatch
):
    raw, _ = raw_folder
    data_dir = tmp_path / "data"
    real_save = save.save_image
    saved = []

    def save_then_interrupt(*args, **kwargs):
        saved.append(real_save(*args, **kwargs))
        if len(saved) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(save, "save_image", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        prepare.prepare_folder(raw, data_dir, image_size=64, progress=False)
    assert not (data_dir / "train").exists() and not (data_dir / "test").exists()
    assert list(data_dir.iterdir()) == []  # nor the hidden work folder


def test_prepare_holds_out_the_test_fraction_rounded(tmp_path, rng):
    raw = tmp_path / "raw"
    for index in range(44):
        save.save_image(raw / f"{index:02d}.png", colour_photo(rng, 70, 70))
    for fraction, expected in ((0.1, 4), (0.2, 9), (0.25, 11)):
        report = prepare.prepare_folder(raw, tmp_path / f"data_{fraction}", image_size=64,
                                     test_fraction=fraction, progress=False)
        assert (len(report.test), len(report.train)) == (expected, 44 - expected)


def test_prepare_folder_refuses_overlapping_raw_and_data_folders(tmp_path, raw_folder):
    raw, _ = raw_folder
    for data_dir in (raw, raw / "prepared", raw / "trip"):
        with pytest.raises(ValueError, match="inside raw_dir"):
            prepare.prepare_folder(raw, data_dir, progress=False)
    nested_raw = tmp_path / "data" / "train" / "raw"
    shutil.copytree(raw, nested_raw)
    with pytest.raises(ValueError, match="which prepare writes"):
        prepare.prepare_folder(nested_raw, tmp_path / "data", progress=False)


def test_extras_follow_their_photos_through_shuffling_skipping_and_augmentation(tmp_path):
    import warnings as warnings_module

    paths = []
    for index in range(7):
        path = tmp_path / f"{index}.png"
        save.save_image(path, np.full((8, 8, 3), index / 10.0))
        paths.append(path)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a photo")
    paths.insert(3, broken)
    extras = np.arange(len(paths), dtype=np.float32)[:, None] * [1.0, 2.0]  # row i = (i, 2i)
    with warnings_module.catch_warnings():
        warnings_module.simplefilter("ignore")
        batches = list(
            data.image_dataset(paths, 8, 3, augment=True, shuffle=True, seed=5, extras=extras)
        )
    photo_values, rows = [], []
    for photos, batch_rows in batches:
        photo_values += [float(np.median(photo)) for photo in photos.numpy()]
        rows += [tuple(row) for row in batch_rows.numpy()]
    assert len(rows) == 7  # the broken photo and its row are gone together
    for value, (row_index, doubled) in zip(photo_values, rows):
        assert doubled == 2 * row_index
        expected_index = row_index if row_index < 3 else row_index - 1  # files after the broken one
        assert abs(value - expected_index / 10.0) < 0.02


def test_extras_must_match_the_photos_in_length(tmp_path):
    with pytest.raises(ValueError, match="3 rows for 2 photos"):
        data.image_dataset([tmp_path / "a.png", tmp_path / "b.png"], 8, 1, extras=np.zeros((3, 4)))
