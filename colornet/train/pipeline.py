"""Training crops streamed from any number of photos on disk: the pretrained colorizer's input.

    a folder tree of photos (ImageNet's train/nXXXXXXXX/*.JPEG, COCO's train2017/, an archive)
      → listed once, recursively (`list_photos`), the list kept in the run folder (photos.txt)
      → tf.data: the run's step k is batch k mod steps_per_epoch of epoch k // steps_per_epoch
      → in tf.data's threads, several batches at once: each batch's photos decoded from disk
        (`crops.load_photo`: colornet.io.decode's rules), cropped as `crops.batch_crops` draws
        them from (seed, epoch, batch), converted to Lab (`crops.lightness_and_ab_target`)
      → prefetched ahead of the training step

Memory is the pipeline's buffers (the batches in flight and prefetched, the photos being
decoded for them, and up to `DECODED_CACHE_BYTES` of decoded photos kept for their next
crops), whatever the number of photos.
The crops are those of the same photos held in memory, so a run resumed at epoch e, batch s
draws what an uninterrupted one would have, and run folders from before streaming go on
with the crops they started with.

A photo that cannot be read mid-run never stops it: it is named with its problem in the run
folder's skipped.txt, its crops are cut from the next readable photo of the list (so a resume
still draws the same), and `SkippedReport` says after each epoch how many there are.
`PhotoSource.check_readable` refuses a list with no readable photo before any work.
"""

import os
import pathlib
import threading

import keras
import numpy as np
import tqdm

from colornet import _util
from colornet import corpus as _corpus
from colornet.errors import ColornetError
from colornet.io import decode, folders
from colornet.train import crops

PHOTO_LIST_NAME, SKIPPED_NAME = "photos.txt", "skipped.txt"
# Class weights are a colour histogram: a thousand photos pin down its 313 bins (each photo
# gives thousands of pixels), and decoding ImageNet's 1.3 M photos first would take hours.
CLASS_WEIGHT_PHOTOS = 1000
# Decoded photos a `PhotoSource` keeps for their next crops: a corpus of a few hundred photos
# is then decoded once (on a 2-core CPU, decoding every crop's photo anew takes longer than
# the training step), while a larger one fills the budget and decodes the rest each time.
DECODED_CACHE_BYTES = 512 << 20
# The simulated hints' draws follow a batch's crops' in a seed sequence of their own.
HINT_STREAM = 1


class PipelineError(ColornetError, ValueError):
    """Photos that cannot be trained on (one line, with the remedy)."""


# ---------------------------------------------------------------------------------------------
# Which photos


def list_photos(folder, progress=True):
    """Every file with an image suffix under `folder`, in every subfolder, sorted; hidden
    files and clutter left out (as `colornet.io.folders` does). No header is read, so a
    million files list in minutes; a corrupt one is skipped when training meets it.

    Returns:
        list of pathlib.Path, [] when there is none.
    """
    found = []
    with tqdm.tqdm(desc=f"listing photos in {folder}", unit=" files",
                   disable=not progress) as bar:
        for path in folders.walk_files(folder):
            bar.update(1)
            if path.suffix.lower() in folders.IMAGE_SUFFIXES:
                found.append(path)
    return sorted(found)


def corpus_photos(corpus_dir, split, run_dir, reuse=True, progress=True):
    """The photos of one split of a corpus, listed once per run: the list is written to
    run_dir/photos.txt (paths relative to the corpus) and, with `reuse`, read back from it,
    so a resumed run sees the photos it started with even if the folder changed since.

    A corpus with a MANIFEST lists what it says (`colornet.corpus.split_paths`); a folder of
    split subfolders (`train/`, ...) without one is walked recursively (`list_photos`).

    Returns:
        list of pathlib.Path, [] for a split without photos (nothing is written then).
    """
    corpus_dir, run_dir = pathlib.Path(corpus_dir), pathlib.Path(run_dir)
    cached = run_dir / PHOTO_LIST_NAME
    if reuse and cached.is_file():
        lines = cached.read_text(encoding="utf-8").splitlines()
        return [corpus_dir / line for line in lines if line]
    if (corpus_dir / _corpus.MANIFEST).is_file() or not (corpus_dir / split).is_dir():
        paths = _corpus.split_paths(corpus_dir, split)  # a CorpusError names the remedy
    else:
        paths = list_photos(corpus_dir / split, progress)
    if paths:
        names = [_relative_name(path, corpus_dir) for path in paths]
        if any("\n" in name or "\r" in name for name in names):
            raise PipelineError(f"a photo's name in {corpus_dir} holds a line break: rename it")
        run_dir.mkdir(parents=True, exist_ok=True)
        text = "".join(f"{name}\n" for name in names)
        _util.write_bytes_atomically(cached, lambda file: file.write(text.encode("utf-8")))
    return paths


def _relative_name(path, root):
    path = pathlib.Path(path)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return os.fspath(path.absolute())


# ---------------------------------------------------------------------------------------------
# Decoding, with the photos that cannot be read skipped


def skipped_name(process=0):
    """The run folder's file of unreadable photos: skipped.txt, or a process's own in a job of
    several (each decodes other photos)."""
    return SKIPPED_NAME if process == 0 else f"skipped-process-{process}.txt"


class SkippedPhotos(dict):
    """The photos a run could not read, {path (str): its problem}, in the order found, and the
    file that names them (one "path<TAB>problem" line each, rewritten atomically at each new
    one). Starts from what the file already names; safe to add to from tf.data's threads.

    Args:
        path: the file (run_dir / `skipped_name(...)`); None: only counted.
    """

    def __init__(self, path=None):
        super().__init__()
        self.path = None if path is None else pathlib.Path(path)
        self._lock = threading.Lock()
        if self.path is not None and self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                name, _, problem = line.partition("\t")
                self[name] = problem

    def add(self, path, error):
        """Name `path` with the problem `error` describes; a path already named is left."""
        with self._lock:
            if os.fspath(path) in self:
                return
            self[os.fspath(path)] = " ".join(decode.problem_of(error).split())
            if self.path is not None:
                text = "".join(f"{name}\t{problem}\n" for name, problem in self.items())
                _util.write_bytes_atomically(self.path,
                                             lambda file: file.write(text.encode("utf-8")))


class PhotoSource:
    """Photos decoded from disk when asked for (`photo(i)`), the unreadable ones skipped.

    Safe to call from tf.data's threads. An unreadable photo is named in run_dir/skipped.txt
    (`SkippedPhotos`) and from then on stands for the next readable photo of the list. Photos
    named in an earlier session's skipped.txt are skipped without being tried (delete the file
    to try them again).

    Args:
        paths: the photos (e.g. `corpus_photos`'s list), in a fixed order.
        run_dir: where skipped.txt goes; None: nowhere (only counted).
        max_side: as `crops.load_photo`'s.
        cache_bytes: decoded photos kept, read-only, for their next crops, first come first
            kept (a photo changed on disk during the run is not read again).
        skipped_name: the file's name (each process of a job writes its own).
    """

    def __init__(self, paths, run_dir=None, max_side=crops.DEFAULT_MAX_SIDE,
                 cache_bytes=DECODED_CACHE_BYTES, skipped_name=SKIPPED_NAME):
        self.paths = [pathlib.Path(path) for path in paths]
        self.max_side, self.cache_bytes = max_side, cache_bytes
        self._decoded, self._decoded_bytes = {}, 0  # index → uint8 (H, W, 3), read-only
        self._lock = threading.Lock()
        self.skipped = SkippedPhotos(None if run_dir is None
                                     else pathlib.Path(run_dir) / skipped_name)
        self.skipped_path = self.skipped.path

    def __len__(self):
        return len(self.paths)

    def photo(self, index):
        """uint8 (H, W, 3): photo `index` (`crops.load_photo`), or the first readable one after
        it in the list (wrapping round) when it cannot be read."""
        for offset in range(len(self.paths)):
            number = (index + offset) % len(self.paths)
            photo = self._decoded.get(number)
            if photo is not None:
                return photo
            path = self.paths[number]
            if os.fspath(path) in self.skipped:
                continue
            try:
                photo = crops.load_photo(path, self.max_side)
            except (ValueError, OSError) as error:  # ImageError is a ValueError
                self._skip(path, error)
                continue
            photo.flags.writeable = False
            with self._lock:
                if self._decoded_bytes + photo.nbytes <= self.cache_bytes:
                    self._decoded[number] = photo
                    self._decoded_bytes += photo.nbytes
            return photo
        raise PipelineError(
            f"none of the {len(self.paths)} photos can be read any more (see "
            f"{self.skipped_path or 'the skipped photos'}): check the disk they are on")

    def check_readable(self, where):
        """PipelineError, naming `where`, unless at least one photo can be read; decodes only
        until the first one that can."""
        for index in range(len(self.paths)):
            path = self.paths[index]
            if os.fspath(path) in self.skipped:
                continue
            try:
                crops.load_photo(path, self.max_side)
                return
            except (ValueError, OSError) as error:
                self._skip(path, error)
        first = next(iter(self.skipped.values()), "no photos")
        raise PipelineError(
            f"none of the {len(self.paths)} photos of {where} can be read (the first: "
            f"{first}): add readable photos")

    def sample(self, limit, seed=0, progress=True):
        """Yield up to `limit` readable photos, uint8 (H, W, 3): all of them in order when
        there are no more, otherwise `limit` drawn without repeats by `seed`, in list order.
        The unreadable ones are skipped (and named) as in `photo`."""
        chosen = range(len(self.paths))
        if len(self.paths) > limit:
            chosen = np.sort(np.random.default_rng(seed).choice(len(self.paths), limit,
                                                                replace=False))
        for index in tqdm.tqdm(chosen, desc="sampling colours", unit="photo",
                               disable=not progress):
            path = self.paths[int(index)]
            if os.fspath(path) in self.skipped:
                continue
            try:
                yield crops.load_photo(path, self.max_side)
            except (ValueError, OSError) as error:
                self._skip(path, error)

    def _skip(self, path, error):
        self.skipped.add(path, error)


# ---------------------------------------------------------------------------------------------
# The batches


def crop_batches(source, crop_size=128, batch_size=16, steps_per_epoch=250,
                 min_scale=crops.DEFAULT_MIN_SCALE, seed=0, first_epoch=0, part=(0, 1),
                 hints=False):
    """The training batches from `first_epoch` on, endless: a tf.data.Dataset of
    (L* float32 (B, S, S, 1) in [0, 100], block-mean ab float32 (B, S/4, S/4, 2)), batch s of
    epoch e drawn by `crops.batch_crops` from (seed, e, s). Give Keras's `fit`
    `steps_per_epoch` and `initial_epoch=first_epoch`.

    Args:
        source: a `PhotoSource` (or anything with `photo(i)` and `len`).
        batch_size: the global batch; a job's process streams its share of it.
        part: (process, processes) of a job of several (`crops.batch_crops`): this process's
            share, batch_size / processes crops a batch, is all it decodes.
        hints: the inputs are then {"lightness": L*, "hints": (B, S, S, 3), "reference":
            (B, Q + 3)} (`lite_unet.trunk`'s names), simulated
            from each crop's own colours (`colornet.nets.hints.training_inputs`), drawn from
            the batch's seed sequence too.
    """
    import tensorflow as tf  # tf.data feeds Keras's trainers on every backend

    from colornet.nets import hints as hint_maps

    crops.check_crop_arguments(crop_size, min_scale)
    if not len(source):
        raise ValueError("crop_batches needs at least one photo")
    for name, value in (("batch_size", batch_size), ("steps_per_epoch", steps_per_epoch)):
        _util.check_positive_int(value, name)
    process, processes = part
    if batch_size % processes:
        raise ValueError(f"batch_size ({batch_size}) must be a multiple of the job's "
                         f"{processes} processes")
    local_batch = batch_size // processes
    photo_count = len(source)

    def batch(step):  # in a tf.data thread: decoding and resizing let go of the GIL
        epoch, index = divmod(int(step), steps_per_epoch)
        rgb = crops.batch_crops(source.photo, photo_count, local_batch, crop_size, seed=seed,
                                epoch=epoch, index=index, min_scale=min_scale, part=part)
        lab = crops.lab_of(rgb)
        lightness, ab = crops.lightness_and_ab_of_lab(lab)
        if not hints:
            return lightness, ab
        rng = np.random.default_rng(crops.batch_key(seed, epoch, index, part) + [HINT_STREAM])
        return (lightness, *hint_maps.training_inputs(rgb, lab, rng), ab)

    target = crop_size // crops.TARGET_STRIDE
    shapes = [(local_batch, crop_size, crop_size, 1)]
    if hints:
        shapes += [(local_batch, crop_size, crop_size, hint_maps.HINT_CHANNELS),
                   (local_batch, hint_maps.reference_length())]
    shapes.append((local_batch, target, target, 2))

    def load(step):
        arrays = tf.numpy_function(batch, [step], [tf.float32] * len(shapes),
                                   name="crop_batch")
        for array, shape in zip(arrays, shapes):
            array.set_shape(shape)
        if not hints:
            return arrays[0], arrays[-1]
        # By the network's input names (`lite_unet.trunk`).
        return dict(zip(("lightness", "hints", "reference"), arrays[:-1])), arrays[-1]

    steps = tf.data.Dataset.counter(first_epoch * steps_per_epoch)
    # In order (deterministic), several batches decoded at once on all cores.
    batches = steps.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return batches.prefetch(tf.data.AUTOTUNE)


class SkippedReport(keras.callbacks.Callback):
    """After each epoch, one line when photos could not be read: how many, and where they
    are named ("3 photos could not be read: see RUN/skipped.txt").

    Args:
        skipped: a `SkippedPhotos` (a `PhotoSource`'s `skipped`).
    """

    def __init__(self, skipped):
        super().__init__()
        self.skipped = skipped

    def on_epoch_end(self, epoch, logs=None):
        if self.skipped:
            where = self.skipped.path or "the skipped photos"
            print(f"{_util.plural(len(self.skipped), 'photo')} could not be read: see {where}",
                  flush=True)
