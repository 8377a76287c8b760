"""Scores of a colorized photo against its original, and the baselines a colorizer must beat.

Every function takes float RGB in [0, 1], shape (H, W, 3), channels last; the reference is the
original colour photo.

- `psnr`, `ssim`: on RGB, from `skimage.metrics`.
- `ab_error`: mean Euclidean distance between the two images' a and b, in Lab units.
- `ab_accuracy_auc`: Zhang, Isola & Efros (2016)'s "AuC": area under the curve of the share
  of pixels whose ab error is within a threshold, for thresholds 0 to 150.
- `colourfulness`: Hasler & Süsstrunk (2003)'s colourfulness M of one image.
- `grey_baseline`, `mean_ab_baseline`: no colour at all, and one constant colour.

Arrays in, numbers out: nothing here reads files (`colornet.apps.evaluation` scores a folder).
"""

import math
import numbers

import numpy as np
import skimage.metrics

from colornet import _util, color

# Zhang et al.'s AuC runs over ab error thresholds 0 to 150 (Lab units).
AUC_MAX_THRESHOLD = 150


def psnr(reference, result):
    """Peak signal-to-noise ratio in dB of `result` against `reference`, both RGB in [0, 1]."""
    reference, result = _check_pair(reference, result)
    return float(skimage.metrics.peak_signal_noise_ratio(reference, result, data_range=1.0))


def ssim(reference, result):
    """Structural similarity (mean over the three RGB channels), 1.0 for identical images."""
    reference, result = _check_pair(reference, result)
    # The default 7×7 window needs sides of at least 7 pixels; smaller images use their own size.
    window = min(7, *(side if side % 2 else side - 1 for side in reference.shape[:2]))
    return float(
        skimage.metrics.structural_similarity(
            reference, result, data_range=1.0, channel_axis=-1, win_size=max(window, 1)
        )
    )


def scores(reference, result):
    """{"psnr": dB, "ssim": [0, 1]} of `result` against `reference`."""
    return {"psnr": psnr(reference, result), "ssim": ssim(reference, result)}


def ab_distances(reference, result):
    """Per-pixel Euclidean distance between the a, b of two RGB images, in Lab units.

    Args:
        reference, result: (H, W, 3) float RGB in [0, 1], the same shape.

    Returns:
        float64 (H, W), >= 0; a just-noticeable difference is about 2.3.
    """
    reference, result = _check_pair(reference, result)
    return _distances(ab_of(reference), ab_of(result))


def ab_error(reference, result):
    """Mean Euclidean distance in the ab plane between two RGB images, in Lab units.

    Measured on the images themselves (the result after its conversion to sRGB, as a viewer
    sees it), so colours a model predicts outside the sRGB gamut count as they are shown.
    """
    return float(ab_distances(reference, result).mean())


def ab_accuracy_auc(reference, result, max_threshold=AUC_MAX_THRESHOLD):
    """Zhang, Isola & Efros (2016)'s AuC: how many pixels have nearly the right ab, over thresholds.

    Discretisation: for each integer threshold t = 0, 1, ..., max_threshold (151 values by
    default) take the share of pixels whose ab distance (see `ab_distances`) is <= t; the AuC
    is the mean of those shares. So it lies in [0, 1]: 1 when every pixel's ab is exact, and
    a constant error d (0 < d <= max_threshold) scores (max_threshold + 1 - ceil(d)) /
    (max_threshold + 1). This is the plain (not class-rebalanced) variant of the paper.

    Args:
        reference, result: (H, W, 3) float RGB in [0, 1], the same shape.
        max_threshold: the largest threshold, a positive int, in Lab units.
    """
    return _auc(ab_distances(reference, result), max_threshold)


def colourfulness(rgb):
    """Hasler & Süsstrunk (2003)'s colourfulness M, "Measuring colourfulness in natural images".

    On sRGB values 0-255 (not linearised, as in the paper): rg = R - G and yb = (R + G) / 2 - B
    per pixel, σ and μ their standard deviation (population, over all pixels) and mean, and

        M = sqrt(σ_rg² + σ_yb²) + 0.3 · sqrt(μ_rg² + μ_yb²).

    0 for any grey image; the paper's scale calls about 33 "moderately", 59 "quite" and 82
    "highly colourful". Not `greyness.colour_spread`, the Lab measure colornet uses to find
    grey and toned photos.

    Args:
        rgb: (H, W, 3) float RGB in [0, 1], or uint8 0-255.

    Returns:
        float >= 0.
    """
    values = np.asarray(rgb)
    if values.ndim != 3 or values.shape[-1] != 3 or values.size == 0:
        raise ValueError(f"rgb must be an (H, W, 3) image, got shape {values.shape}")
    values = values.astype(np.float64) * (1.0 if values.dtype == np.uint8 else _util.EIGHT_BIT_MAX)
    red, green, blue = values[..., 0], values[..., 1], values[..., 2]
    # The paper's opponent channels are signed. Many copies (pyimagesearch and the blog posts
    # that follow it) take |R - G| and |(R + G)/2 - B| first, which folds red onto green and
    # yellow onto blue and so changes both the means and the spreads: that is another measure.
    red_green = red - green
    yellow_blue = 0.5 * (red + green) - blue
    spread = math.hypot(red_green.std(), yellow_blue.std())
    mean = math.hypot(red_green.mean(), yellow_blue.mean())
    return float(spread + 0.3 * mean)


def grey_baseline(rgb):
    """The photo with its colour removed: same lightness L*, a = b = 0. RGB (H, W, 3) in [0, 1].

    A colorizer that cannot beat this has learned nothing.
    """
    lab = color.rgb_to_lab(rgb)
    lab[..., 1:] = 0.0
    return color.lab_to_rgb(lab)


def mean_ab_baseline(rgb, mean_ab):
    """The photo's lightness with one constant ab everywhere, e.g. the training photos' mean.

    Args:
        rgb: (H, W, 3) float RGB in [0, 1].
        mean_ab: (a, b) in Lab units; clipped to ±128 like any prediction.

    Returns:
        float32 RGB (H, W, 3) in [0, 1].
    """
    lightness = color.rgb_to_lightness(rgb)
    return constant_ab(lightness, check_mean_ab(mean_ab))


def all_scores(original, original_ab, result):
    """Every score of one result against its original, as `colornet evaluate`'s table has them:
    {"psnr", "ssim", "ab_error", "colourfulness", "auc"}. `original_ab` (H, W, 2) is the
    original's a and b (`ab_of`), computed once by a caller that scores several results."""
    distances = _distances(original_ab, ab_of(result))
    return {
        "psnr": psnr(original, result),
        "ssim": ssim(original, result),
        "ab_error": float(distances.mean()),
        "colourfulness": colourfulness(result),
        "auc": _auc(distances, AUC_MAX_THRESHOLD),
    }


def ab_of(rgb):
    """(H, W, 3) RGB → float32 (H, W, 2) a and b."""
    return color.rgb_to_lab(rgb)[..., 1:]


def _distances(reference_ab, result_ab):
    """(H, W, 2) twice → float64 (H, W) Euclidean distances."""
    difference = np.asarray(result_ab, np.float64) - np.asarray(reference_ab, np.float64)
    return np.hypot(difference[..., 0], difference[..., 1])


def _auc(distances, max_threshold):
    """Mean over t = 0..max_threshold of the share of distances <= t (see ab_accuracy_auc)."""
    if not isinstance(max_threshold, numbers.Integral) or max_threshold < 1:
        raise ValueError(f"max_threshold must be a positive int, got {max_threshold!r}")
    # distance <= t for an integer t exactly when ceil(distance) <= t: one pass over the
    # pixels with bincount, instead of max_threshold + 1 comparisons of the whole image.
    first_threshold = np.minimum(np.ceil(distances.ravel()), max_threshold + 1).astype(np.int64)
    within = np.cumsum(np.bincount(first_threshold, minlength=max_threshold + 2))
    return float(within[: max_threshold + 1].mean() / distances.size)


def constant_ab(lightness, ab):
    """Lightness (H, W) with one ab (2,) everywhere → RGB (H, W, 3) in [0, 1]."""
    return color.combine(lightness, np.broadcast_to(ab, (*lightness.shape, 2)))


def check_mean_ab(mean_ab):
    """(a, b) as a float64 array (2,); ValueError unless two finite numbers."""
    values = np.asarray(mean_ab, dtype=np.float64) if _is_number_pair(mean_ab) else None
    if values is None or not np.all(np.isfinite(values)):
        raise ValueError(f"mean_ab must be two finite numbers (a, b), got {mean_ab!r}")
    return values


def _is_number_pair(value):
    try:
        return len(value) == 2 and all(isinstance(v, numbers.Real) for v in value)
    except TypeError:
        return False


def _check_pair(reference, result):
    reference = np.asarray(reference, dtype=np.float64)
    result = np.asarray(result, dtype=np.float64)
    if reference.shape != result.shape:
        raise ValueError(
            f"cannot compare images of different shapes: {reference.shape} and {result.shape}"
        )
    return reference, result
