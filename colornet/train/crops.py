"""Many views of few photos: random crops at random scales and positions, as training batches.

A hundred photos of several megapixels, each squeezed to one 256² square, are a hundred
training examples. Cropped at random, each photo yields thousands of different views: a
crop covers between `min_scale` and all of the photo's shorter side, anywhere in it, mirrored
half the time, and is resized to `crop_size`. The network then sees skies, leaves and faces
at many sizes and never the same picture twice, which keeps it from memorising one tint per
photo.

    a photo (`load_photo`: 8-bit RGB, shorter side at most `max_side`)
      → per example: a photo, a square of side u · short side (log-uniform u), a position,
        a mirror → resized to S × S → Lab
      → x: lightness L* (B, S, S, 1) in [0, 100]
        y: mean ab of each 4 × 4 block (B, S/4, S/4, 2), Lab units (the head's resolution)

`batch_crops` draws each batch from a generator seeded by (seed, epoch, batch index), so a
resumed run draws what an uninterrupted one would have; where the photos come from (memory,
or decoded from disk as training goes: `colornet.train.pipeline`) does not change a crop.
"""

import numpy as np
import PIL.Image
import tqdm

from colornet import _util, color
from colornet.io import decode

# Photos are kept with their shorter side at most this: a crop at the smallest scale (0.2)
# then still has about `crop_size` pixels to give.
DEFAULT_MAX_SIDE = 640
DEFAULT_MIN_SCALE = 0.2
TARGET_STRIDE = 4


def load_photo(path, max_side=DEFAULT_MAX_SIDE):
    """One photo as crops are cut from it: uint8 (H, W, 3), shrunk so the shorter side is at
    most `max_side`, decoded by `colornet.io.decode`'s rules (EXIF orientation, grey, 16-bit,
    alpha on white). An unreadable file raises `decode.ImageError` naming it."""
    rgb, _ = decode.load_reduced_rgb(path, 4 * max_side * max_side)  # block means, quick
    image = PIL.Image.fromarray(_util.to_uint8(rgb))
    scale = max_side / min(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, PIL.Image.Resampling.BICUBIC, reducing_gap=3.0)
    return np.asarray(image)


def load_photos(paths, max_side=DEFAULT_MAX_SIDE, progress=True):
    """`load_photo` of every path, all kept in memory: a list of uint8 (H, W, 3) arrays. For a
    few photos; training on many streams them instead (`colornet.train.pipeline`)."""
    return [load_photo(path, max_side)
            for path in tqdm.tqdm(paths, desc="loading photos", unit="photo",
                                  disable=not progress)]


def random_crop(photo, crop_size, rng, min_scale=DEFAULT_MIN_SCALE):
    """One random view of a photo: uint8 (crop_size, crop_size, 3)."""
    height, width = photo.shape[:2]
    short = min(height, width)
    scale = np.exp(rng.uniform(np.log(min_scale), 0.0))
    side = int(np.clip(round(scale * short), min(short, crop_size // 2), short))
    top = int(rng.integers(0, height - side + 1))
    left = int(rng.integers(0, width - side + 1))
    crop = PIL.Image.fromarray(photo[top:top + side, left:left + side])
    if rng.random() < 0.5:
        crop = crop.transpose(PIL.Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(crop.resize((crop_size, crop_size), PIL.Image.Resampling.BILINEAR))


def lightness_and_ab_target(rgb):
    """uint8 or [0, 1] RGB (B, S, S, 3) → (L (B, S, S, 1), ab block means (B, S/4, S/4, 2))."""
    return lightness_and_ab_of_lab(lab_of(rgb))


def lab_of(rgb):
    """uint8 or [0, 1] RGB (..., 3) → float32 Lab (..., 3)."""
    rgb = np.asarray(rgb)
    rgb = _util.to_unit_float(rgb)
    return np.asarray(color.rgb_to_lab(rgb), np.float32)


def lightness_and_ab_of_lab(lab):
    """Lab (B, S, S, 3) → (L (B, S, S, 1), ab block means (B, S/4, S/4, 2)), float32."""
    lab = np.asarray(lab, np.float32)
    batch, height, width, _ = lab.shape
    stride = TARGET_STRIDE
    ab = lab[..., 1:].reshape(batch, height // stride, stride, width // stride, stride, 2)
    return lab[..., :1], ab.mean(axis=(2, 4))


def check_crop_arguments(crop_size, min_scale):
    """ValueError, by name, for a crop size the network cannot take or a scale out of (0, 1]."""
    if crop_size % (8 * TARGET_STRIDE):
        raise ValueError(f"crop_size must be a multiple of {8 * TARGET_STRIDE}, got {crop_size}")
    if not 0 < min_scale <= 1:
        raise ValueError(f"min_scale must be in (0, 1], got {min_scale}")


def batch_key(seed, epoch, index, part=(0, 1)):
    """The seed sequence of batch `index` of `epoch`: (seed, epoch, index), and the part when
    a job of several processes draws each its own share (part = (process, processes))."""
    return [seed, epoch, index] + ([] if part[1] == 1 else list(part))


def batch_crops(photo_at, photo_count, batch_size, crop_size, *, seed, epoch, index,
                min_scale=DEFAULT_MIN_SCALE, part=(0, 1)):
    """Batch `index` of `epoch`: uint8 RGB crops (batch_size, crop_size, crop_size, 3).

    Args:
        photo_at: photo_at(i) → uint8 (H, W, 3), the photo numbered i (as `load_photo` gives
            it); called once per crop, so it may decode from disk.
        photo_count: how many photos there are (i is in [0, photo_count)).
        seed, epoch, index: the only source of randomness: which photos, and where, how large
            and whether mirrored each crop is. The same three give the same batch.
        part: (process, processes) of a job that splits each global batch: this process's
            share is drawn from (seed, epoch, index, process, processes), so no two draw the
            same crops. batch_size is then the share's size. (0, 1): a single process.
    """
    if photo_count < 1:
        raise ValueError("batch_crops needs at least one photo")
    rng = np.random.default_rng(batch_key(seed, epoch, index, part))
    chosen = rng.integers(0, photo_count, batch_size)
    return np.stack([random_crop(photo_at(int(i)), crop_size, rng, min_scale) for i in chosen])
