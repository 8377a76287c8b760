"""Is this photo too grey to learn colour from? The one definition, used by `colornet single`,
`colornet train` (`data.scan_folder`) and `colornet prepare`.

Grey, near-grey and toned photos (sepia, cyanotype) all count as grey: each holds a single
tint at most, so it teaches only "tint everything brown". (`colornet.metrics.colourfulness`
is another measure, Hasler and Süsstrunk's, for scoring results.)
"""

import numpy as np
import PIL.Image

from colornet import _util, color

# Below this colourfulness a photo teaches nothing (grey, sepia-ish scans, near-grey). In
# CIE ab units, where 2.3 is a just-noticeable difference; see `colour_spread` for the
# measure. Measured: scikit-image's seven colour photos score 9.3 (the orange retina) to 40
# (the rocket); a grey photo 0; grey with ab noise of ±2 2.6; a grey scan with a 3 % colour
# cast 0.5; cyanotype and simple sepia toning 0.6 to 3.2 (a sepia filter matrix that clips
# the highlights reaches 8.4 on a bright photo, which then passes as colour). 6 sits between
# the toned greys and the least colourful photo.
GREY_CHROMA = 6.0

# Colourfulness is what this share of a thumbnail's pixels stays below: high enough that one
# small object of another hue (1 % of the picture) counts, low enough that a few noisy
# pixels do not.
_COLOURFUL_PERCENTILE = 99
# Colour statistics do not need detail: a 64 x 64 squashed thumbnail (aspect ignored) keeps
# one Lab kernel shape for every photo and costs next to nothing to convert.
THUMBNAIL_SIDE = 64


def colour_spread(rgb):
    """How much colour a photo holds beyond a single tint; about 0 for grey, sepia or toned.

    The photo is squashed to a 64 x 64 thumbnail and converted to Lab. Each pixel's ab is
    measured as its distance from the photo's dominant hue: the ray from neutral grey through
    the photo's mean ab. Colourfulness is the 99th percentile of those distances.

    Why not plain chroma sqrt(a² + b²): a sepia or cyanotype print has chroma 20-30, as much as
    a muted colour photo (fog, the Hubble deep field: 15), yet all its colours lie on one hue
    ray, so it only teaches "tint everything brown". Distance from the dominant hue ray is
    near 0 for grey, near-grey and toned photos alike, and large as soon as 1 % of the
    pixels have another hue. The price: a photo whose colours really are a single hue (a
    plain orange sunset ramp) also scores low.

    Args:
        rgb: (H, W, 3) sRGB; float in [0, 1] (clipped) or uint8 0-255. Any size.

    Returns:
        float >= 0, in ab units (a just-noticeable difference is about 2.3). Compare with
        `GREY_CHROMA`.
    """
    lab = color.rgb_to_lab(squashed(rgb, THUMBNAIL_SIDE))  # (64, 64, 3)
    ab = lab[..., 1:].reshape(-1, 2).astype(np.float64)  # (4096, 2)
    mean_ab = ab.mean(axis=0)
    mean_chroma = np.hypot(*mean_ab)
    if mean_chroma < 1e-6:  # no dominant hue: every pixel's distance is its own chroma
        distances = np.hypot(ab[:, 0], ab[:, 1])
    else:
        hue = mean_ab / mean_chroma
        along_hue = np.maximum(ab @ hue, 0.0)  # the opposite hue is as far as grey, not closer
        off_ray = ab - along_hue[:, None] * hue
        distances = np.hypot(off_ray[:, 0], off_ray[:, 1])
    return float(np.percentile(distances, _COLOURFUL_PERCENTILE))


def is_grey(rgb, threshold=GREY_CHROMA):
    """True when a photo has too little colour to learn from (see `colour_spread`).

    Args:
        rgb: (H, W, 3) sRGB; float in [0, 1] or uint8.
        threshold: colourfulness below which the photo counts as grey.
    """
    return colour_spread(rgb) < threshold


def squashed(rgb, side):
    """(H, W, 3) float [0, 1] or uint8 → uint8 (side, side, 3), area-averaged, aspect ignored."""
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[-1] != 3 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"rgb must be an (H, W, 3) image, got shape {array.shape}")
    if array.dtype != np.uint8:
        array = _util.to_uint8(array)
    thumbnail = PIL.Image.fromarray(np.ascontiguousarray(array)).resize(
        (side, side), PIL.Image.Resampling.BOX
    )
    return np.asarray(thumbnail)
