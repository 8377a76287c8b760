"""Training data on disk: find the usable colour photos in a folder, split them, stream them.

Memory stays flat whatever the folder holds, ten photos or a hundred thousand: `scan_folder`
looks at one small thumbnail at a time, and `image_dataset` keeps only file names in memory
and decodes each photo when its batch is due. Batches are RGB; the models and losses split
them into lightness and ab themselves, so augmentation, which moves RGB pixels, moves L and
ab together and they can never disagree.

`prepare_folder` (the `colornet prepare` command) turns a raw folder of photos into clean
DATA_DIR/train and DATA_DIR/test folders, and says what it dropped and why.
"""

import dataclasses
import hashlib
import json
import math
import numbers
import os
import pathlib
import secrets
import shutil
import threading
import warnings

import keras
import numpy as np
import PIL.Image
import tqdm

from colornet import _util, greyness, images, leftovers

# Formats Pillow can decode at 1/2, 1/4 or 1/8 scale ("draft" mode): JPEG and phones' MPO.
_DRAFT_FORMATS = ("JPEG", "MPO")
# How many file names a summary spells out before it says "and N more".
_NAMES_SHOWN = 5

# ---------------------------------------------------------------------------------------------
# Scanning a folder


@dataclasses.dataclass
class FolderScan:
    """What `scan_folder` found: the photos to train on, and the ones skipped with reasons."""

    colour: list[pathlib.Path]  # usable colour photos, sorted
    grey: list[pathlib.Path]  # skipped: grey, near-grey or a single tint
    unreadable: list[tuple[pathlib.Path, str]]  # skipped: (path, one-line reason)

    def summary(self):
        """One line, e.g. "412 colour photos; skipped 3 grey (a.jpg, ...), 1 unreadable (...)"."""
        text = _count(len(self.colour), "colour photo")
        skipped = []
        if self.grey:
            skipped.append(f"{len(self.grey)} grey ({_names_of(self.grey)})")
        if self.unreadable:
            reasons = [f"{path.name}: {reason}" for path, reason in self.unreadable]
            reasons_named = _util.name_list(reasons, _NAMES_SHOWN, "; ")
            skipped.append(f"{len(self.unreadable)} unreadable ({reasons_named})")
        return text + (f"; skipped {', '.join(skipped)}" if skipped else "")


def scan_folder(folder, *, progress=True):
    """Sort the photos of a folder (and its subfolders) into colour, grey and unreadable.

    Each photo is read as a small thumbnail: JPEGs are decoded at 1/2 to 1/8 scale (Pillow's
    draft mode), other formats through `images.load_rgb`. Measured on one core, colourfulness
    included: 1.4 ms a photo for this repository's sample JPEGs (300-800 pixels; 3.7 ms
    through a full decode), 12 ms for a 12-megapixel JPEG (425 ms through a full decode),
    so a hundred thousand camera photos take about twenty minutes. Files that are not images
    at all are left out (and warned about) by `images.list_images`.

    Args:
        folder: str or pathlib.Path.
        progress: show a progress bar.

    Returns:
        FolderScan.

    Raises:
        images.ImageError: the folder is missing or holds no images.
        ValueError: none of the photos is a readable colour photo.
    """
    folder = pathlib.Path(folder)
    colour, greys, unreadable = [], [], []
    paths = images.list_images(folder)
    for path in tqdm.tqdm(paths, desc="scanning photos", unit="photo", disable=not progress):
        try:
            thumbnail = _quick_thumbnail(path)
        except images.ImageError as error:
            unreadable.append((path, _problem(error)))
            continue
        (greys if greyness.is_grey(thumbnail) else colour).append(path)
    scan = FolderScan(colour=colour, grey=greys, unreadable=unreadable)
    if not colour:
        raise ValueError(
            f"no colour photos to learn from in '{folder}' ({scan.summary()}): colornet learns "
            f"colour from colour photos, and a photo whose colour spread is below "
            f"{greyness.GREY_CHROMA} is grey, near-grey or a single tint such as sepia"
        )
    return scan


def _quick_thumbnail(path):
    """The photo at `path` as uint8 or float RGB (H, W, 3), small if the format allows.

    The fast path handles healthy JPEGs; anything else, including a JPEG the fast path
    stumbles on, goes through `images.load_rgb`, whose checks and messages then decide.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(path) as image:
                width, height = image.size
                if image.format in _DRAFT_FORMATS and 0 < width * height <= (
                    images.DEFAULT_MAX_PIXELS
                ):
                    image.draft("RGB", (greyness.THUMBNAIL_SIDE, greyness.THUMBNAIL_SIDE))
                    return np.asarray(image.convert("RGB"))
    except Exception:
        pass  # load_rgb below names the problem properly
    return images.load_rgb(path)


def _problem(error):
    """"cannot read image 'x.jpg': the file is empty" → "the file is empty"."""
    message = str(error)
    prefix, separator, problem = message.partition("': ")
    return problem if separator and prefix.startswith("cannot read image '") else message


# ---------------------------------------------------------------------------------------------
# Splitting


def split(paths, validation_fraction=0.1, seed=0, *, root=None):
    """Split photos into training and validation sets, reproducibly and stably.

    Each photo goes to validation when a hash of (seed, its key) falls below
    validation_fraction. The key is its file name, or with `root` its path relative to root,
    so the assignment depends on nothing else: adding photos to the folder, or moving it,
    leaves every existing photo where it was. With two or more photos and a fraction above 0,
    each set gets at least one: the photo with the lowest hash joins an empty validation set,
    the one with the highest an empty training set (such a forced photo may move back once
    the set grows); a single photo always trains. Files of the same name in different
    subfolders share a side unless `root` is given, which keeps copies of one photo out of
    both sets.

    Args:
        paths: sequence of str or pathlib.Path.
        validation_fraction: expected share of validation photos, in [0, 1).
        seed: int (or str); another seed gives another split.
        root: optional folder that every path lies under; keys become relative paths.

    Returns:
        (training, validation): two lists of pathlib.Path, each in the order of `paths`.

    Raises:
        ValueError: validation_fraction is not a number in [0, 1), or a path is not under root.
    """
    _check_fraction(validation_fraction, "validation_fraction")
    _util.check_path_list(paths)
    paths = [pathlib.Path(path) for path in paths]
    keys = [_split_key(path, root) for path in paths]
    scores = [_split_score(key, seed) for key in keys]
    in_validation = [score < validation_fraction and len(paths) > 1 for score in scores]
    if len(paths) >= 2 and validation_fraction > 0:
        if not any(in_validation):
            in_validation[int(np.argmin(scores))] = True
        if all(in_validation):
            in_validation[int(np.argmax(scores))] = False
    training = [path for path, chosen in zip(paths, in_validation) if not chosen]
    validation = [path for path, chosen in zip(paths, in_validation) if chosen]
    return training, validation


def _check_fraction(fraction, name):
    if (
        not isinstance(fraction, numbers.Real)
        or isinstance(fraction, bool)
        or not 0 <= fraction < 1
    ):
        raise ValueError(f"{name} must be a number in [0, 1), got {fraction!r}")


def _split_key(path, root):
    if root is None:
        return path.name
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        raise ValueError(f"'{path}' is not inside root '{root}'") from None


def _split_score(key, seed):
    """A number in [0, 1) fixed by (seed, key) alone: the same on every machine and run."""
    digest = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


# ---------------------------------------------------------------------------------------------
# Augmentation

# The write-up's Keras 2 ImageDataGenerator(rotation_range=20, shear_range=0.2,
# zoom_range=0.2, horizontal_flip=True), in Keras 3 terms.
ROTATION_DEGREES = 20.0
# Keras 2.0 (2017, the write-up's) read shear_range in radians, a horizontal shear by
# sin(0.2) = 0.2 of the height; Keras 2.1.3 switched to degrees (keras-team/keras#8868), where
# 0.2 would be a negligible tan(0.2°) = 0.0035. Keras 3's RandomShear takes the shear itself,
# so 0.2 reproduces the write-up. Keras 2 never sheared vertically, so y_factor stays 0.
SHEAR_FACTOR = 0.2
# Keras 2 zoomed height and width independently by [0.8, 1.2]; RandomZoom(0.2) zooms both
# by one factor in [-20 %, +20 %], keeping the aspect ratio.
ZOOM_FACTOR = 0.2
# Reflection fills what a rotation, shear or zoom-out uncovers with the photo's own pixels,
# so no black or grey corners teach the model that borders are colourless.
_FILL_MODE = "reflect"


def augmentation_layers(seed=None):
    """The write-up's augmentation as Keras 3 preprocessing layers, for batches of RGB.

    Random rotation by up to ±20°, horizontal shear by up to ±0.2, zoom by up to ±20 % and
    a horizontal flip, with uncovered areas filled by reflection. Unlike Keras 2, which
    composed one affine transform, each layer resamples (bilinearly) in turn, so augmented
    photos are slightly softer. Keras 3 shears about the top-left corner, not the centre, so
    a shear also shifts the picture sideways by up to 0.2 of its height.

    Args:
        seed: None for fresh randomness, or an int for a repeatable sequence of transforms.

    Returns:
        keras.Sequential mapping float RGB (B, H, W, 3) in [0, 1] to the same shape and range
        when called with training=True (and passing it through unchanged otherwise). Works
        inside a tf.data pipeline.
    """

    def layer_seed(index):
        return None if seed is None else seed + index

    return keras.Sequential(
        [
            keras.layers.RandomRotation(
                ROTATION_DEGREES / 360.0, fill_mode=_FILL_MODE, seed=layer_seed(0)
            ),
            keras.layers.RandomShear(
                x_factor=SHEAR_FACTOR, y_factor=0.0, fill_mode=_FILL_MODE, seed=layer_seed(1)
            ),
            keras.layers.RandomZoom(ZOOM_FACTOR, fill_mode=_FILL_MODE, seed=layer_seed(2)),
            keras.layers.RandomFlip("horizontal", seed=layer_seed(3)),
        ],
        name="augmentation",
    )


# ---------------------------------------------------------------------------------------------
# Streaming batches

# File names waiting in the shuffle buffer. Names are tiny, but a bound keeps memory flat for
# any folder; a seeded permutation of the whole list first means even a bounded buffer does
# not draw one subfolder at a time.
_SHUFFLE_BUFFER = 10_000


def image_dataset(
    paths,
    image_size,
    batch_size,
    *,
    augment=True,
    shuffle=True,
    repeat=False,
    seed=0,
    drop_remainder=False,
    extras=None,
):
    """Stream photos from disk as batches of square RGB, decoding each only when it is due.

    Each photo is read with `images.load_rgb` (every format it reads: 16-bit, CMYK, EXIF
    rotation, ...), centre-cropped to a square and resized to image_size (see
    `images.resize_and_crop`), in parallel. Only the file names are held in memory; building
    the dataset decodes nothing. A photo that cannot be read is skipped with one warning
    that names it, and the run goes on; only when every photo has failed does iteration stop
    with an error (rather than loop forever on an empty repeat).

    With augment=False and shuffle=False the batches hold exactly the photos of `paths`, in
    order. Augmentation (see `augmentation_layers`) runs on whole batches.

    Args:
        paths: non-empty sequence of str or pathlib.Path (e.g. `scan_folder(...).colour`).
        image_size: side of the square photos, in pixels.
        batch_size: photos per batch.
        augment: apply random rotation, shear, zoom and flips.
        shuffle: visit the photos in a new random order every epoch.
        repeat: repeat forever, pass after pass, each pass ending with its own (smaller)
            last batch; give `fit` steps_per_epoch=steps_per_epoch(len(paths), batch_size).
        seed: int fixing the shuffle order and the augmentation.
        drop_remainder: drop the last, smaller batch of an epoch.
        extras: optional array (len(paths), ...) of per-photo values (e.g. cached embeddings;
            a memory-mapped .npy works), fetched by index so it never enters the graph. Each
            photo keeps its own row through shuffling and skipping; augmentation does not
            touch it.

    Returns:
        tf.data.Dataset of float32 (B, image_size, image_size, 3) in [0, 1]; with `extras`,
        of (photos, extras rows) pairs, the rows as float32 (B, ...).
    """
    # tf.data streams the photos on every backend; only this pipeline needs TensorFlow, so
    # grey detection and `prepare` work without it.
    import tensorflow as tf

    _util.check_path_list(paths)
    paths = [os.fspath(path) for path in paths]
    if not paths:
        raise ValueError("no photos to stream: the list of paths is empty")
    for name, value in (("image_size", image_size), ("batch_size", batch_size)):
        if not _is_positive_int(value):
            raise ValueError(f"{name} must be a positive int, got {value!r}")

    if extras is not None and len(extras) != len(paths):
        raise ValueError(f"extras has {len(extras)} rows for {len(paths)} photos")
    order = np.arange(len(paths))
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(paths))
    dataset = tf.data.Dataset.from_tensor_slices(([paths[index] for index in order], order))
    if shuffle:
        dataset = dataset.shuffle(
            min(len(paths), _SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True
        )

    loader = _PhotoLoader(image_size, photo_count=len(set(paths)))

    def load(path, index):
        rgb, loaded = tf.numpy_function(loader, [path], [tf.float32, tf.bool], name="load_photo")
        rgb.set_shape((image_size, image_size, 3))
        loaded.set_shape(())
        if extras is None:
            return rgb, loaded
        row = tf.numpy_function(
            lambda i: np.asarray(extras[i], dtype=np.float32), [index], tf.float32, name="extra"
        )
        row.set_shape(extras.shape[1:])
        return (rgb, row), loaded

    def was_loaded(element, loaded):
        return loaded

    def without_flag(element, loaded):
        return element

    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.filter(was_loaded).map(without_flag)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if repeat:
        # After batching, so every pass ends with its own last batch: steps_per_epoch steps
        # are exactly one pass, each photo seen once, and validation sees the same photos
        # every epoch (repeating file names instead would let batches straddle epochs).
        dataset = dataset.repeat()
    if augment:
        augmentation = augmentation_layers(seed)

        def augmented(photos, rows=None):  # tf.data unpacks (photos, rows) pairs
            photos = augmentation(photos, training=True)
            return photos if rows is None else (photos, rows)

        # One batch at a time: the layers' random draws then come in a fixed order, so a seed
        # repeats a run; each batch's transforms are vectorised anyway.
        dataset = dataset.map(augmented)
    return dataset.prefetch(tf.data.AUTOTUNE)


def steps_per_epoch(count, batch_size):
    """Batches in one pass over `count` photos: ceil(count / batch_size); 0 for no photos."""
    if not _is_positive_int(batch_size):
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not (_is_positive_int(count) or (_util.is_int(count) and count == 0)):
        raise ValueError(f"count must be an int >= 0, got {count!r}")
    return math.ceil(count / batch_size)


class _PhotoLoader:
    """Decode one photo for tf.data: (rgb, True), or (zeros, False) for a photo that fails.

    Runs in tf.data's threads; warns once per failed file, and raises once every photo of
    the dataset has failed.
    """

    def __init__(self, image_size, photo_count):
        self.image_size = image_size
        self.photo_count = photo_count
        self._failed = set()
        self._lock = threading.Lock()

    def __call__(self, path):
        path = os.fsdecode(path)  # tf.string arrives as bytes
        try:
            rgb = images.resize_and_crop(images.load_rgb(path), self.image_size)
            return rgb.astype(np.float32, copy=False), np.bool_(True)
        except (ValueError, OSError) as error:  # ImageError is a ValueError
            self._skip(path, error)
        return np.zeros((self.image_size, self.image_size, 3), np.float32), np.bool_(False)

    def _skip(self, path, error):
        with self._lock:
            first_time = path not in self._failed
            self._failed.add(path)
            all_failed = len(self._failed) >= self.photo_count
        if all_failed:
            raise images.ImageError(
                f"none of the {self.photo_count} photos could be read; the last: {error}"
            )
        if first_time:
            warnings.warn(f"skipped a photo that failed to load: {error}", stacklevel=2)


def _is_positive_int(value):
    return _util.is_int(value) and value > 0


# ---------------------------------------------------------------------------------------------
# Preparing a raw folder: `colornet prepare RAW_DIR DATA_DIR`

# Why a photo is left out, in the order the checks run.
DROP_REASONS = ("unreadable", "too small", "grey", "duplicate")
REPORT_NAME = "prepare_report.json"
# Kept photos are re-encoded once, so quality is high and colour is not subsampled.
_JPEG_QUALITY = 95
# Duplicates are compared as 16 x 16 colour thumbnails (area averages, aspect ignored), by
# their mean absolute difference in levels of 255. Measured on scikit-image's photos: a copy
# resaved as JPEG or shrunk (down to 0.3 x, at quality 60) differs by 0.1 to 1.8; the same
# photo shifted by 5 % by 5 to 22. A light edit (3 % brighter: 0.5 to 4.8) may count.
_FINGERPRINT_SIDE = 16
_DUPLICATE_TOLERANCE = 3.0


@dataclasses.dataclass
class PrepareReport:
    """What `prepare_folder` kept, where it wrote it, and what it dropped and why."""

    train: list[pathlib.Path]  # photos written to DATA_DIR/train
    test: list[pathlib.Path]  # photos written to DATA_DIR/test
    dropped: dict[str, list[tuple[pathlib.Path, str]]]  # reason → [(raw path, detail)]

    def summary(self):
        """A few lines: the photos kept, then the ones dropped by reason, with counts."""
        kept = len(self.train) + len(self.test)
        lines = [
            f"kept {_count(kept, 'photo')}: {len(self.train)} for training, "
            f"{len(self.test)} for testing"
        ]
        dropped = sum(len(entries) for entries in self.dropped.values())
        lines.append(f"dropped {_count(dropped, 'photo')}" + (":" if dropped else ""))
        for reason in DROP_REASONS:
            entries = self.dropped.get(reason, [])
            if entries:
                described = [f"{path.name} ({detail})" for path, detail in entries]
                named = _util.name_list(described, _NAMES_SHOWN)
                lines.append(f"  {reason}: {len(entries)}: {named}")
        return "\n".join(lines)


def prepare_folder(
    raw_dir,
    data_dir,
    *,
    image_size=256,
    test_fraction=0.1,
    min_side=64,
    seed=0,
    progress=True,
    overwrite=False,
):
    """Clean a raw folder of photos into DATA_DIR/train and DATA_DIR/test.

    Every photo under raw_dir (subfolders included) is decoded once and dropped when it is
    unreadable, too small (shorter side below min_side), grey (see `greyness.is_grey`), or a duplicate
    of a photo kept before it in path order: the same picture after decoding, whether copied,
    resaved or rescaled (16 x 16 colour thumbnails within 3 levels of 255 on average; a
    crop, a flip or a shifted copy is a different photo). Kept photos are shrunk so that their
    shorter side is image_size (aspect kept, never enlarged), turned upright, and written as
    JPEG (quality 95, no chroma subsampling) under the same relative path, then split by
    `split(test_fraction, seed)`, which keeps each photo on its side when raw_dir grows.
    DATA_DIR/prepare_report.json records the settings, the photos kept and those dropped.
    raw_dir is only read.

    Args:
        raw_dir: str or pathlib.Path of the folder of photos, in any format and size.
        data_dir: where to write train/, test/ and the report; must not lie inside raw_dir.
        image_size: shorter side of the written photos, in pixels.
        test_fraction: expected share of test photos, in [0, 1).
        min_side: drop photos whose shorter side is smaller than this, in pixels.
        seed: seed of the train/test split.
        progress: show a progress bar.
        overwrite: replace an earlier prepare's output: the files its report lists are
            deleted once the new ones are ready; files prepare did not write are never
            deleted (a folder holding some is refused). Without it a non-empty
            DATA_DIR/train or DATA_DIR/test is refused.

    Every file under raw_dir is accounted for: those that are not photos (a text file, an
    empty or corrupt one) are dropped as unreadable, by name. The photos are written to a
    hidden folder in data_dir first and moved into train/ and test/ at the end, so an
    interrupted prepare leaves the earlier output as it was, never a train/ without its
    test/. The test set is round(test_fraction x kept photos) of them (at least one when the
    fraction is above 0 and two or more are kept): those whose hash of (seed, path) is lowest,
    so a photo keeps its side while the folder grows, except near the boundary.

    Returns:
        PrepareReport.

    Raises:
        ValueError: bad arguments, data_dir inside raw_dir (or the other way round), or an
            earlier prepare's output in data_dir without overwrite=True.
        images.ImageError: raw_dir is missing or holds no images, or a photo cannot be written.
    """
    for name, value in (("image_size", image_size), ("min_side", min_side)):
        if not _is_positive_int(value):
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    _check_fraction(test_fraction, "test_fraction")
    raw_dir, data_dir = pathlib.Path(raw_dir), pathlib.Path(data_dir)
    train_dir, test_dir = data_dir / "train", data_dir / "test"
    _check_apart(raw_dir, data_dir, (train_dir, test_dir))
    paths = images.list_files(raw_dir)
    if not paths:
        images.list_images(raw_dir)  # its one-line "no images found in ..." error
    earlier = _earlier_output(data_dir, (train_dir, test_dir), overwrite)  # refused before work
    _remove_stale_work_folders(data_dir)
    work = data_dir / f".prepare.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    work_train, work_test = work / "train", work / "test"
    try:
        report = _prepare_into(
            raw_dir, paths, work_train, work_test, image_size, test_fraction, min_side, seed,
            progress,
        )
        for path in earlier:
            path.unlink(missing_ok=True)
        for output_dir, prepared in ((train_dir, work_train), (test_dir, work_test)):
            _remove_empty_folders(output_dir)
            os.replace(prepared, output_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = PrepareReport(
        train=[train_dir / path.relative_to(work_train) for path in report.train],
        test=[test_dir / path.relative_to(work_test) for path in report.test],
        dropped=report.dropped,
    )
    settings = {
        "image_size": image_size, "test_fraction": test_fraction, "min_side": min_side,
        "seed": seed,
    }
    _write_report(data_dir, raw_dir, report, settings)
    return report


def _prepare_into(raw_dir, paths, train_dir, test_dir, image_size, test_fraction, min_side,
                  seed, progress):
    """The work of `prepare_folder`, into train_dir and test_dir (both created)."""
    train_dir.mkdir(parents=True)
    test_dir.mkdir(parents=True)
    dropped = {reason: [] for reason in DROP_REASONS}
    duplicates = _DuplicateIndex(capacity=len(paths))
    written = {}  # raw path → its file under train_dir
    names_taken = set()
    for path in tqdm.tqdm(paths, desc="preparing photos", unit="photo", disable=not progress):
        if path.suffix.lower() not in images.IMAGE_SUFFIXES:
            dropped["unreadable"].append((path, f"not a photo ('{path.suffix or path.name}' file)"))
            continue
        try:
            rgb = images.load_rgb(path)
        except images.ImageError as error:
            dropped["unreadable"].append((path, _problem(error)))
            continue
        height, width = rgb.shape[:2]
        if min(height, width) < min_side:
            dropped["too small"].append((path, f"{width} x {height} pixels"))
            continue
        spread = greyness.colour_spread(rgb)
        if spread < greyness.GREY_CHROMA:
            dropped["grey"].append((path, f"colour spread {spread:.1f}"))
            continue
        fingerprint = greyness.squashed(rgb, _FINGERPRINT_SIDE)
        original = duplicates.find(fingerprint)
        if original is not None:
            same = original.relative_to(raw_dir).as_posix()
            dropped["duplicate"].append((path, f"same photo as {same}"))
            continue
        duplicates.add(fingerprint, path)
        relative = _output_name(path.relative_to(raw_dir), names_taken)
        written[path] = images.save_image(
            train_dir / relative,
            images.shrink(rgb, shorter_side=image_size),
            protected=path,
            quality=_JPEG_QUALITY,
        )

    testing = set(_test_photos(list(written), test_fraction, seed, raw_dir))
    train_files, test_files = [], []
    for path, file in written.items():
        if path not in testing:
            train_files.append(file)
            continue
        target = test_dir / file.relative_to(train_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, target)
        test_files.append(target)
    return PrepareReport(train=train_files, test=test_files, dropped=dropped)


def _test_photos(paths, test_fraction, seed, root):
    """The round(test_fraction x len(paths)) photos with the lowest split hash (at least one
    when the fraction is above 0 and there are two or more, never all)."""
    count = round(test_fraction * len(paths))
    if test_fraction > 0 and len(paths) >= 2:
        count = min(max(count, 1), len(paths) - 1)
    scores = {path: _split_score(_split_key(path, root), seed) for path in paths}
    return sorted(paths, key=scores.__getitem__)[:count]


def _earlier_output(data_dir, output_dirs, overwrite):
    """The files of an earlier prepare that `overwrite` lets this one replace.

    Refuses, before any work: a non-empty output folder without overwrite, and with it any
    file there that the earlier prepare's report does not list (prepare never deletes what it
    did not write).
    """
    present = []
    for output_dir in output_dirs:
        if output_dir.is_file():
            raise ValueError(f"'{output_dir}' is a file; prepare needs it as a folder")
        if output_dir.is_dir():
            present += [path for path in output_dir.rglob("*") if path.is_file()]
    if not present:
        return []
    if not overwrite:
        raise ValueError(
            f"'{present[0].parent}' is not empty (an earlier prepare?); prepare again with "
            "the overwrite option (--overwrite) to replace it"
        )
    listed = set()
    report_path = data_dir / REPORT_NAME
    if report_path.is_file():
        report = _util.read_json(report_path, "prepare report")
        for name, output_dir in zip(("train", "test"), output_dirs):
            listed |= {(output_dir / relative).resolve() for relative in report.get(name, [])}
    foreign = [path for path in present if path.resolve() not in listed]
    if foreign:
        names = _util.name_list([str(path) for path in foreign], _NAMES_SHOWN)
        raise ValueError(
            f"{len(foreign)} file(s) in the output folders were not written by prepare "
            f"({names}); overwrite only replaces prepare's own, so move these away first"
        )
    return present


def _remove_empty_folders(folder):
    """Remove `folder` if it holds nothing but empty folders (what deleting an earlier
    prepare's files leaves)."""
    if not folder.is_dir():
        return
    for directory in sorted(folder.rglob("*"), key=lambda path: len(path.parts), reverse=True):
        if directory.is_dir():
            directory.rmdir()
    folder.rmdir()


def _remove_stale_work_folders(data_dir):
    """The hidden work folders of prepares that were killed (their process is gone)."""
    if not data_dir.is_dir():
        return
    for folder in data_dir.glob(".prepare.*.tmp"):
        pid = folder.name.split(".")[2].split("-")[0]
        if folder.is_dir() and pid.isdigit() and leftovers.is_stale_temporary(
            folder.with_name(f".x.{pid}-00000000.tmp")
        ):
            shutil.rmtree(folder, ignore_errors=True)


def _check_apart(raw_dir, data_dir, output_dirs):
    raw, data = raw_dir.resolve(), data_dir.resolve()
    if data == raw or raw in data.parents:
        raise ValueError(
            f"data_dir '{data_dir}' is inside raw_dir '{raw_dir}': the prepared copies would be "
            "mixed with the raw photos; choose a folder outside it"
        )
    for output_dir in output_dirs:
        if raw == output_dir.resolve() or output_dir.resolve() in raw.parents:
            raise ValueError(
                f"raw_dir '{raw_dir}' is inside '{output_dir}', which prepare writes; "
                "move the raw photos elsewhere or choose another data_dir"
            )


class _DuplicateIndex:
    """Fingerprints of the photos kept so far, to find an earlier copy of a new photo.

    A new photo is compared only with those whose mean brightness is within the tolerance
    (a mean absolute difference bounds the difference of means), so the cost per photo is
    one vectorised pass over the means plus a handful of full comparisons.
    """

    def __init__(self, capacity):
        size = _FINGERPRINT_SIDE * _FINGERPRINT_SIDE * 3
        self._fingerprints = np.empty((capacity, size), dtype=np.uint8)
        self._means = np.empty(capacity, dtype=np.float64)
        self._paths = []

    def find(self, fingerprint):
        """The path of a kept photo that `fingerprint` (uint8 (16, 16, 3)) duplicates, or None."""
        count = len(self._paths)
        values = fingerprint.reshape(-1).astype(np.int16)
        near = np.flatnonzero(np.abs(self._means[:count] - values.mean()) <= _DUPLICATE_TOLERANCE)
        if near.size == 0:
            return None
        differences = np.abs(self._fingerprints[near].astype(np.int16) - values).mean(axis=1)
        closest = int(np.argmin(differences))
        return self._paths[near[closest]] if differences[closest] <= _DUPLICATE_TOLERANCE else None

    def add(self, fingerprint, path):
        index = len(self._paths)
        self._fingerprints[index] = fingerprint.reshape(-1)
        self._means[index] = fingerprint.mean()
        self._paths.append(path)


def _output_name(relative, names_taken):
    """a/photo.png → a/photo.jpg; a/photo_png.jpg when a/photo.jpg is already taken."""
    candidate = relative.with_suffix(".jpg")
    if candidate.as_posix().lower() in names_taken:
        candidate = relative.with_name(f"{relative.stem}_{relative.suffix.lstrip('.')}.jpg")
        number = 2
        while candidate.as_posix().lower() in names_taken:
            candidate = relative.with_name(f"{relative.stem}_{number}.jpg")
            number += 1
    names_taken.add(candidate.as_posix().lower())
    return candidate


def _write_report(data_dir, raw_dir, report, settings):
    train_dir, test_dir = data_dir / "train", data_dir / "test"
    content = {
        "raw_dir": str(raw_dir),
        **settings,
        "kept": {"train": len(report.train), "test": len(report.test)},
        "dropped_counts": {reason: len(entries) for reason, entries in report.dropped.items()},
        "train": [path.relative_to(train_dir).as_posix() for path in report.train],
        "test": [path.relative_to(test_dir).as_posix() for path in report.test],
        "dropped": {
            reason: [
                {"file": path.relative_to(raw_dir).as_posix(), "detail": detail}
                for path, detail in entries
            ]
            for reason, entries in report.dropped.items()
        },
    }
    with _util.atomic_output(data_dir / REPORT_NAME) as temporary:
        temporary.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", "utf-8")


# ---------------------------------------------------------------------------------------------
# Wording


def _count(number, noun):
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _names_of(paths):
    return _util.name_list([path.name for path in paths], _NAMES_SHOWN)


