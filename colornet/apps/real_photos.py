"""Real photos as in-memory squares with their own colours, for the fusion ablation.

`colornet.apps.ablation` asks whether the fusion layer uses the classifier's embedding, first on
crops coloured with one made-up tint per photo. These functions give it real photos instead:
the same `ablation.TintedCrops` container (lightness, ab, which photo each square came from),
holding each square's true a and b rather than a tint, so that `ablation.fusion_ablation`
trains and scores the write-up's network on real colours unchanged.

- `random_views`: many views of few photos (`colornet.train.crops.random_crop`: a square of a random
  share of the shorter side, anywhere, mirrored half the time), for training;
- `centre_squares`: each photo's centred square, as `colornet.train.loop` crops it, for scoring.

Nothing here trains; the photos are decoded once and held as float32 squares, 12 bytes a pixel
(86 photos × 8 views at 64 × 64 pixels: 34 MB).
"""

import pathlib

import numpy as np

from colornet import _util, color
from colornet.apps import ablation
from colornet.io import folders
from colornet.train import crops


def random_views(paths, views_per_photo, image_size=64, seed=0,
                 min_scale=crops.DEFAULT_MIN_SCALE):
    """Random square views of colour photos, each with its own colours.

    Args:
        paths: sequence of str or pathlib.Path of colour photos (e.g. a corpus split).
        views_per_photo: positive int, views of each photo.
        image_size: side of the squares, in pixels (>= 8).
        seed: positions, sizes and mirroring; the same seed draws the same views.
        min_scale: the smallest view's side, as a share of the photo's shorter side, in (0, 1].

    Returns:
        `ablation.TintedCrops` of len(paths) × views_per_photo squares, photo by photo:
        lightness (N, S, S) float32 L* in [0, 100], ab (N, S, S, 2) float32 the photo's own,
        labels (N,) the index of each square's photo in `paths`, class_names the photos' names.

    Raises:
        ValueError: no paths, or a bad count, size or scale.
        decode.ImageError: a photo that cannot be read, named.
    """
    _check_paths(paths)
    _util.check_positive_int(views_per_photo, "views_per_photo")
    _check_image_size(image_size)
    if not 0 < min_scale <= 1:
        raise ValueError(f"min_scale must be in (0, 1], got {min_scale}")
    # Views of at least image_size pixels need no more than this many on the shorter side.
    photos = crops.load_photos(paths, max_side=max(image_size, round(image_size / min_scale)),
                               progress=False)
    rng = np.random.default_rng(seed)
    squares = np.stack([crops.random_crop(photo, image_size, rng, min_scale)
                        for photo in photos for _ in range(views_per_photo)])  # uint8 (N, S, S, 3)
    labels = np.repeat(np.arange(len(photos)), views_per_photo)
    return _with_true_colours(_util.to_unit_float(squares), labels, paths)


def centre_squares(paths, image_size=64):
    """Each photo's centred square, resized to image_size (`folders.load_images`), with its
    own colours: `ablation.TintedCrops` as for `random_views`, one square per photo."""
    _check_paths(paths)
    _check_image_size(image_size)
    squares = folders.load_images(paths, size=image_size)  # (N, S, S, 3) RGB in [0, 1]
    return _with_true_colours(squares, np.arange(len(paths)), paths)


def _with_true_colours(rgb, labels, paths):
    """(N, S, S, 3) float RGB in [0, 1] → TintedCrops holding its own L* and ab."""
    lab = np.asarray(color.rgb_to_lab(rgb), np.float32)  # (N, S, S, 3)
    return ablation.TintedCrops(
        lightness=np.ascontiguousarray(lab[..., 0]),
        ab=np.ascontiguousarray(lab[..., 1:]),
        labels=labels,
        class_names=tuple(pathlib.Path(path).name for path in paths),
    )


def _check_paths(paths):
    _util.check_path_list(paths)
    if not paths:
        raise ValueError("no photos: the list of paths is empty")


def _check_image_size(image_size):
    if not _util.is_int(image_size) or image_size < 8:
        raise ValueError(f"image_size must be an int >= 8, got {image_size!r}")
