"""The shapes of photos as arrays: crop and resize, fit a size, pad to a multiple, shrink.

Arrays in, arrays out, float in [0, 1] (uint8 read as 0-255) unless a function says otherwise;
the resizing is Pillow's, on float planes, so shrinking is anti-aliased.
"""

import numpy as np
import PIL.Image

from colornet import _util
from colornet.constants import SIZE_MULTIPLE


def resize_and_crop(rgb, size):
    """Centre-crop an image to the target's aspect ratio, then resize it to the target.

    The crop is the largest centred window with the target's aspect ratio, so nothing is
    stretched. The resize is Pillow's bicubic filter run on the float data of each channel:
    Pillow widens the filter by the shrink factor, so shrinking is properly anti-aliased (a
    fine checkerboard turns grey rather than into moire), and faster than
    skimage.transform.resize with anti_aliasing. Bicubic overshoot is clipped.

    Args:
        rgb: (H, W, C) or (H, W) float in [0, 1]; uint8 is read as 0-255.
        size: int for a square, or (height, width), all positive.

    Returns:
        float32 array (height, width, C) or (height, width) in [0, 1].

    Raises:
        ValueError: size is not a positive int or pair of them, or the image has no pixels.
    """
    height, width = as_height_width(size)
    image = np.asarray(rgb)
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"rgb must be an (H, W, C) or (H, W) image, got shape {image.shape}")
    image = _util.to_unit_float(image)

    in_height, in_width = image.shape[:2]
    if in_width * height > in_height * width:  # wider than the target: trim left and right
        crop_height, crop_width = in_height, max(1, round(in_height * width / height))
    else:  # taller than (or as wide as) the target: trim top and bottom
        crop_height, crop_width = max(1, round(in_width * height / width)), in_width
    top, left = (in_height - crop_height) // 2, (in_width - crop_width) // 2
    cropped = image[top : top + crop_height, left : left + crop_width].astype(np.float32)
    if cropped.shape[:2] == (height, width):
        return np.clip(cropped, 0.0, 1.0)

    channels = cropped[..., None] if cropped.ndim == 2 else cropped
    resized = np.stack(
        [
            np.asarray(
                PIL.Image.fromarray(np.ascontiguousarray(channels[..., channel])).resize(
                    (width, height), PIL.Image.Resampling.BICUBIC
                )
            )
            for channel in range(channels.shape[-1])
        ],
        axis=-1,
    )
    resized = np.clip(resized, 0.0, 1.0)
    return resized[..., 0] if cropped.ndim == 2 else resized


def fit_size(shape, longest_side):
    """(height, width) that keeps the aspect ratio, fits `longest_side`, and divides by 8."""
    height, width = shape[:2]
    scale = min(1.0, longest_side / max(height, width))
    multiple = SIZE_MULTIPLE
    return tuple(
        max(multiple, round(side * scale / multiple) * multiple) for side in (height, width)
    )


def pad_to_multiple(lightness, multiple=SIZE_MULTIPLE):
    """Mirror-pad (..., H, W) so both sides divide by `multiple`; returns (padded, (H, W)).

    Mirroring, not zeros, so the borders see plausible context instead of a black frame.
    """
    height, width = lightness.shape[-2:]
    pad_height, pad_width = -height % multiple, -width % multiple
    padding = [(0, 0)] * (lightness.ndim - 2) + [(0, pad_height), (0, pad_width)]
    return np.pad(lightness, padding, mode="symmetric"), (height, width)


def resize_channels(image, shape):
    """Resize (H, W) or (H, W, C) float data smoothly to `shape` = (h, w), values kept as they
    are (no clipping to [0, 1]), with Pillow on 32-bit float planes (much faster than
    scikit-image on large photos).

    Shrinking is bicubic over the whole footprint (no aliasing), the filter
    `resize_and_crop` gives training photos, so a model sees lightness as it was trained
    on (bilinear scored lower on the sample portrait). Enlarging, which here
    means predicted colour, is bilinear: it never overshoots the values it starts from.
    """
    image = np.asarray(image, dtype=np.float32)
    shape = tuple(int(side) for side in shape[:2])
    if image.shape[:2] == shape:
        return image
    shrinking = shape[0] < image.shape[0] or shape[1] < image.shape[1]
    resample = PIL.Image.Resampling.BICUBIC if shrinking else PIL.Image.Resampling.BILINEAR
    planes = image[..., None] if image.ndim == 2 else image
    # Filled plane by plane: stacking a list would hold every plane twice.
    resized = np.empty((*shape, planes.shape[-1]), np.float32)
    for index in range(planes.shape[-1]):
        plane = PIL.Image.fromarray(np.ascontiguousarray(planes[..., index]), mode="F")
        resized[..., index] = np.asarray(plane.resize((shape[1], shape[0]), resample))
    return resized[..., 0] if image.ndim == 2 else resized


def shrink(rgb, *, shorter_side=None, longer_side=None):
    """Shrink (H, W, 3) keeping its aspect ratio so that its shorter (or longer) side is the
    given number of pixels; a photo already that small is returned as it is, never enlarged.
    Exactly one of `shorter_side` and `longer_side` is given."""
    if (shorter_side is None) == (longer_side is None):
        raise ValueError("give exactly one of shorter_side and longer_side")
    height, width = rgb.shape[:2]
    if shorter_side is not None:
        scale = shorter_side / min(height, width)
    else:
        scale = longer_side / max(height, width)
    if scale >= 1:
        return rgb
    return resize_and_crop(rgb, (max(1, round(height * scale)), max(1, round(width * scale))))


def as_height_width(size):
    """int → (size, size); (height, width) → itself; both checked to be positive ints."""
    pair = (size, size) if _util.is_int(size) else tuple(size) if _is_pair(size) else None
    if pair is None or not all(_util.is_int(side) and side > 0 for side in pair):
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return int(pair[0]), int(pair[1])


def _is_pair(value):
    return isinstance(value, (tuple, list)) and len(value) == 2
