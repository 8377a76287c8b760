"""Scores for colorized photos, and the baselines they must beat.

All functions take float RGB in [0, 1], shape (H, W, 3), channels last; the reference is the
original colour photo. PSNR and SSIM come from `skimage.metrics`.
"""

import numpy as np
import skimage.metrics

from colornet import color


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


def grey_baseline(rgb):
    """The photo with its colour removed: same lightness L*, a = b = 0. RGB (H, W, 3) in [0, 1].

    A colorizer that cannot beat this has learned nothing.
    """
    lab = color.rgb_to_lab(rgb)
    lab[..., 1:] = 0.0
    return color.lab_to_rgb(lab)


def _check_pair(reference, result):
    reference = np.asarray(reference, dtype=np.float64)
    result = np.asarray(result, dtype=np.float64)
    if reference.shape != result.shape:
        raise ValueError(
            f"cannot compare images of different shapes: {reference.shape} and {result.shape}"
        )
    return reference, result
