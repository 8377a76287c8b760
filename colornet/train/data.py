"""Training data on disk: split the usable colour photos of a folder, and stream them.

Memory stays bounded whatever the folder holds, ten photos or a hundred thousand:
`colornet.io.greyness.scan_folder` finds the colour photos one small thumbnail at a time, and
`image_dataset` decodes each photo when its batch is due and keeps file names and, up to
1 GiB, the photos it has decoded.
Batches are RGB; the models and losses split them into lightness and ab themselves, so
augmentation (`colornet.train.augmentation`), which moves RGB pixels, moves L and ab together
and they can never disagree.

Cleaning a raw folder into train/ and test/ (`colornet prepare`) is `colornet.apps.prepare`'s job.
"""

import hashlib
import math
import os
import pathlib
import threading
import warnings

import numpy as np

from colornet import _util
from colornet.io import decode, geometry
from colornet.train import augmentation
from colornet.train.crops import DEFAULT_MIN_SCALE, random_crop

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
    _util.check_fraction(validation_fraction, "validation_fraction")
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
    shard=None,
    crops=None,
    min_scale=DEFAULT_MIN_SCALE,
    skipped=None,
):
    """Stream photos from disk as batches of square RGB, decoding each only when it is due.

    Each photo is read with `decode.load_rgb` (every format it reads: 16-bit, CMYK, EXIF
    rotation, ...), centre-cropped to a square and resized to image_size (see
    `geometry.resize_and_crop`), in parallel. Building the dataset decodes nothing; the first
    pass decodes each photo when its batch is due and keeps it (up to 1 GiB of decoded
    photos; beyond that, photos are decoded anew each pass), so later passes, epochs after
    the first, read small photos from memory. A photo that cannot be read is skipped with
    one warning that names it, and the run goes on; only when every photo has failed does
    iteration stop with an error (rather than loop forever on an empty repeat).

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
        shard: optional (index, count) for one of `count` processes training together
            (`colornet.train.distributed`): every process shuffles the names alike, cuts each pass
            into global batches of batch_size * count photos, and streams only part `index`
            of each, batch_size photos; passes drop their last, incomplete global batch, so
            every process yields the same number of equal batches. Augmentation draws
            differently on each process.
        crops: None for the write-up's view of each photo, its centre square; "random" for a
            random crop each time a photo is streamed (`colornet.train.crops.random_crop`: a
            square covering `min_scale` to all of the shorter side, anywhere, mirrored half the
            time), new crops every pass; or an int array of one crop key per path, each key
            one fixed crop of its photo (the same key, the same crop), so per-crop values such as
            cached embeddings can ride in `extras` (`CENTRE_SQUARE` is the centre square
            at the same scale). A path may appear several times, for
            several crops per pass; the photo is decoded once.
        min_scale: the smallest crop, as a fraction of the photo's shorter side.
        skipped: optional `colornet.train.pipeline.SkippedPhotos` (the run folder's
            skipped.txt) that names each photo that cannot be read, instead of a warning.

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
    keys = _crop_keys(crops, len(paths))
    crop_seed = seed  # the same crops on every process: cached embeddings are per crop
    order = np.arange(len(paths))
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(paths))
    dataset = tf.data.Dataset.from_tensor_slices(
        ([paths[index] for index in order], order, keys[order])
    )
    if shuffle:
        dataset = dataset.shuffle(
            min(len(paths), _SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True
        )
    if isinstance(crops, str):  # "random": a fresh crop key per photo per pass, seeded
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip(dataset, draws).map(
            lambda element, draw: (element[0], element[1], tf.math.abs(draw))
        )

    if shard is not None:
        dataset = _shard_of(dataset, batch_size, shard)
        drop_remainder = True  # a photo that fails to load must not change a batch's shape
        seed += 10_000 * shard[0]  # distinct augmentation per process; the shuffle stays shared
    loader = _PhotoLoader(
        image_size, len(set(paths)), cropped=crops is not None, min_scale=min_scale,
        seed=crop_seed, skipped=skipped,
    )
    dataset = _decoded(dataset, loader, extras)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if repeat:
        # After batching, so every pass ends with its own last batch: steps_per_epoch steps
        # are exactly one pass, each photo seen once, and validation sees the same photos
        # every epoch (repeating file names instead would let batches straddle epochs).
        dataset = dataset.repeat()
    if augment:
        dataset = _augmented(dataset, seed)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _shard_of(dataset, batch_size, shard):
    """(path, index) elements → this process's part of every global batch, names only, before
    any decoding: each process decodes its own photos and no others."""
    index, count = shard
    if not (_is_positive_int(count) and _util.is_int(index) and 0 <= index < count):
        raise ValueError(f"shard must be (index, count) with 0 <= index < count, got {shard!r}")
    part = slice(index * batch_size, (index + 1) * batch_size)
    dataset = dataset.batch(batch_size * count, drop_remainder=True)
    return dataset.map(lambda *columns: tuple(column[part] for column in columns)).unbatch()


# The crop key that streams a photo as its centre square, as with crops=None.
CENTRE_SQUARE = -1


def _crop_keys(crops, count):
    """(count,) int64 crop keys for `image_dataset`'s `crops`; "random" ones are drawn later."""
    if crops is None or (isinstance(crops, str) and crops == "random"):
        return np.full(count, CENTRE_SQUARE, np.int64)
    if isinstance(crops, str):
        raise ValueError(f'crops must be None, "random" or an array of crop keys, got {crops!r}')
    keys = np.asarray(crops)
    if (
        keys.shape != (count,)
        or not np.issubdtype(keys.dtype, np.integer)
        or (keys < CENTRE_SQUARE).any()
    ):
        raise ValueError(
            f"crops must hold one int key per photo ({count}), each >= 0 or CENTRE_SQUARE, "
            f"got {keys!r}"
        )
    return keys.astype(np.int64)


def _augmented(dataset, seed):
    """Batches → the same batches augmented (`augmentation.augmentation_layers`)."""
    from colornet.train import distributed

    with distributed.local_variables():  # each process's seed differs (see shard)
        layers = augmentation.augmentation_layers(seed)

    def augmented(photos, rows=None):  # tf.data unpacks (photos, rows) pairs
        # Layer by layer: each preprocessing layer computes in TensorFlow inside tf.data on
        # every backend, but a Sequential around them would convert the batch to the
        # backend's arrays first, which fails on JAX and PyTorch.
        for layer in layers.layers:
            photos = layer(photos, training=True)
        return photos if rows is None else (photos, rows)

    # One batch at a time: the layers' random draws then come in a fixed order, so a seed
    # repeats a run; each batch's transforms are vectorised anyway.
    return dataset.map(augmented)


def _decoded(dataset, loader, extras):
    """(path, index) elements → decoded photos (with their `extras` rows), in parallel, the
    photos that fail to load left out."""
    import tensorflow as tf

    size = loader.image_size

    def load(path, index, key):
        rgb, loaded = tf.numpy_function(
            loader, [path, key], [tf.float32, tf.bool], name="load_photo"
        )
        rgb.set_shape((size, size, 3))
        loaded.set_shape(())
        if extras is None:
            return rgb, loaded
        row = tf.numpy_function(
            lambda i: np.asarray(extras[i], dtype=np.float32), [index], tf.float32, name="extra"
        )
        row.set_shape(extras.shape[1:])
        return (rgb, row), loaded

    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.filter(_was_loaded).map(_without_flag)


def _was_loaded(element, loaded):
    return loaded


def _without_flag(element, loaded):
    return element


def steps_per_epoch(count, batch_size):
    """Batches in one pass over `count` photos: ceil(count / batch_size); 0 for no photos."""
    if not _is_positive_int(batch_size):
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not (_is_positive_int(count) or (_util.is_int(count) and count == 0)):
        raise ValueError(f"count must be an int >= 0, got {count!r}")
    return math.ceil(count / batch_size)


# Decoded photos a dataset keeps in memory, so that later passes skip decoding and resizing:
# 1,200 photos at 64 × 64 take 59 MB, at 256 × 256 940 MB; beyond the budget the remaining
# photos are decoded again each pass, so memory stays bounded for any folder.
_DECODED_CACHE_BYTES = 1 << 30


class _PhotoLoader:
    """Decode one photo for tf.data: (rgb, True), or (zeros, False) for a photo that fails.

    Runs in tf.data's threads; warns once per failed file (or names it in `skipped`), and
    raises once every photo of the dataset has failed. Keeps decoded photos, up to
    `_DECODED_CACHE_BYTES`, and serves them again from memory (a photo changed on disk during
    the run is not read again). A cropping loader keeps each photo as 8-bit RGB, shrunk so
    its shorter side is what the smallest crop needs, and cuts the crop its key names
    (`colornet.train.crops.random_crop`, drawn from a generator seeded by (seed, key)).
    """

    def __init__(self, image_size, photo_count, cropped=False, min_scale=1.0, seed=0,
                 skipped=None):
        self.image_size = image_size
        self.photo_count, self.skipped = photo_count, skipped
        self.cropped, self.min_scale, self.seed = cropped, min_scale, seed
        self._failed = set()
        self._decoded = {}  # path → read-only float32 (image_size, image_size, 3), or uint8
        self._bytes = 0
        self._lock = threading.Lock()

    def __call__(self, path, key=CENTRE_SQUARE):
        path = os.fsdecode(path)  # tf.string arrives as bytes
        photo = self._decoded.get(path)
        if photo is None:
            try:
                photo = self._decode(path)
            except (ValueError, OSError) as error:  # ImageError is a ValueError
                self._skip(path, error)
                return np.zeros((self.image_size, self.image_size, 3), np.float32), np.bool_(False)
            photo.flags.writeable = False
            with self._lock:
                if self._bytes + photo.nbytes <= _DECODED_CACHE_BYTES:
                    self._decoded[path] = photo
                    self._bytes += photo.nbytes
        if not self.cropped:
            return photo, np.bool_(True)
        if key == CENTRE_SQUARE:
            crop = geometry.resize_and_crop(_util.to_unit_float(photo), self.image_size)
            return crop.astype(np.float32, copy=False), np.bool_(True)
        rng = np.random.default_rng([self.seed, int(key)])
        crop = random_crop(photo, self.image_size, rng, self.min_scale)
        return _util.to_unit_float(crop), np.bool_(True)

    def _decode(self, path):
        """The photo as kept: its centre square at image_size, or for crops, 8-bit RGB with
        the shorter side at most image_size / min_scale."""
        if not self.cropped:
            rgb = geometry.resize_and_crop(decode.load_rgb(path), self.image_size)
            return rgb.astype(np.float32, copy=False)
        shorter_side = math.ceil(self.image_size / self.min_scale)
        rgb = geometry.shrink(decode.load_rgb(path), shorter_side=shorter_side)
        return _util.to_uint8(rgb)

    def _skip(self, path, error):
        with self._lock:
            first_time = path not in self._failed
            self._failed.add(path)
            all_failed = len(self._failed) >= self.photo_count
        if all_failed:
            raise decode.ImageError(
                f"none of the {self.photo_count} photos could be read; the last: {error}"
            )
        if self.skipped is not None:
            self.skipped.add(path, error)
        elif first_time:
            warnings.warn(f"skipped a photo that failed to load: {error}", stacklevel=2)


def _is_positive_int(value):
    return _util.is_int(value) and value > 0

