"""How the pretrained colorizer's recipe scores a model on whole photos, and chooses the
annealed mean's temperature on the validation split."""

import numpy as np

from colornet import metrics
from colornet.apps import colorize, evaluation
from colornet.constants import DEFAULT_WORKING_SIZE
from colornet.io import decode
from colornet.nets import lite_unet


def score_photos(model, paths, working_size=DEFAULT_WORKING_SIZE):
    """Scores of a colorizer on whole colour photos, beside leaving them grey.

    Returns:
        {"psnr", "grey_psnr", "ssim", "ab_error", "colourfulness"}: means over the photos;
        "colourfulness" is the results' mean colourfulness over the originals' (grey is 0).
    """
    rows = []
    for path in paths:
        original, _ = decode.load_reduced_rgb(path, evaluation.SCORED_PIXELS)
        result = colorize.colorize(model, original, working_size=working_size)
        rows.append((
            metrics.psnr(original, result),
            metrics.psnr(original, metrics.grey_baseline(original)),
            metrics.ssim(original, result),
            metrics.ab_error(original, result),
            metrics.colourfulness(result),
            metrics.colourfulness(original),
        ))
    psnr, grey, ssim, ab_error, colourful, original_colourful = np.mean(rows, axis=0)
    return {"psnr": float(psnr), "grey_psnr": float(grey), "ssim": float(ssim),
            "ab_error": float(ab_error), "colourfulness": float(colourful / original_colourful)}


# Annealed-mean temperatures tried on the validation split: lower is more vivid (the mode),
# higher is safer (the mean); Zhang et al. chose 0.38 on ImageNet.
TEMPERATURES = (0.2, 0.3, 0.38, 0.5, 0.7, 1.0)
# The colourfulness (share of the originals') a chosen temperature must keep.
MIN_COLOURFULNESS = 0.6


def choose_temperature(trunk_model, validation_paths, working_size=DEFAULT_WORKING_SIZE,
                       temperatures=TEMPERATURES, min_colourfulness=MIN_COLOURFULNESS):
    """The annealed-mean temperature with the best validation PSNR among those that keep
    `min_colourfulness` of the originals' colourfulness (the most colourful if none does).

    Returns:
        (temperature, {temperature: scores}).
    """
    table = {t: score_photos(lite_unet.colorizer(trunk_model, t), validation_paths, working_size)
             for t in temperatures}
    vivid = [t for t in temperatures if table[t]["colourfulness"] >= min_colourfulness]
    if vivid:
        return max(vivid, key=lambda t: table[t]["psnr"]), table
    return max(temperatures, key=lambda t: table[t]["colourfulness"]), table
