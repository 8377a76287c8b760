"""Quick looks at a model for a notebook: a few held-out photos scored against the grey
baseline as a table and a figure, and the training loss a colorizer must beat.

For a whole folder, with the mean-ab baseline and files written, see `colornet.apps.evaluation`.
"""

import dataclasses
import pathlib

import numpy as np

from colornet import color, metrics
from colornet.apps import colorize, evaluation, plotting
from colornet.constants import DEFAULT_WORKING_SIZE
from colornet.io import decode, folders


def no_colour_loss(paths, image_size):
    """The training loss of predicting no colour (a = b = 0) on these photos, cropped and
    resized as training sees them: the mean of (ab / 128)², the bar a colorizer must beat."""
    ab = color.rgb_to_lab(folders.load_images(paths, size=image_size))[..., 1:]
    return float(np.mean(color.ab_to_target(ab) ** 2))


@dataclasses.dataclass
class HeldOutComparison:
    """What `held_out_comparison` found: a printable table and a grey | colorized |
    original figure, a row per photo."""

    table: str
    figure: object  # matplotlib.figure.Figure


def held_out_comparison(model, paths, *, working_size=DEFAULT_WORKING_SIZE):
    """Colorize photos from their lightness and score them against the originals and the
    grey baseline: PSNR (dB, higher is better) and SSIM (1 is identical), as a table and a
    figure. For a whole folder with baselines and files, see `evaluate_folder`."""
    lines = [f"{'':16}{'PSNR (dB)':^20}{'SSIM':^20}",
             f"{'photo':16}{'grey':>10}{'colorized':>10}{'grey':>10}{'colorized':>10}"]
    rows, titles = [], []
    for path in paths:
        photo, _ = decode.load_reduced_rgb(path, evaluation.SCORED_PIXELS)
        grey = metrics.grey_baseline(photo)
        colorized = colorize.colorize(model, photo, working_size=working_size)
        grey_scores, colour_scores = metrics.scores(photo, grey), metrics.scores(photo, colorized)
        lines.append(
            f"{pathlib.Path(path).name:16}{grey_scores['psnr']:10.2f}{colour_scores['psnr']:10.2f}"
            f"{grey_scores['ssim']:10.3f}{colour_scores['ssim']:10.3f}"
        )
        rows.append([grey, colorized, photo])
        titles.append([
            f"{pathlib.Path(path).name}: grey\n{plotting.format_scores(grey_scores)}",
            f"colorized\n{plotting.format_scores(colour_scores)}",
            "original",
        ])
    figure = plotting.comparison(rows, titles=titles)
    figure.set_size_inches(12, 3.4 * len(rows))  # landscape photos: no empty bands
    return HeldOutComparison("\n".join(lines), figure)
