"""`colornet single` as a library function: train Version 1 on one photo, colorize it, score it
against the grey photo, and write the colorized photo, a comparison figure and optionally the
model. It returns a `SingleReport`; the command line only checks its arguments and prints it.
"""

import dataclasses
import pathlib

from colornet import leftovers, metrics
from colornet.apps import evaluation, jobs, plotting, single_image
from colornet.io import decode
from colornet.train.settings import SingleImageConfig


@dataclasses.dataclass
class SingleReport:
    """What `train_and_colorize` did: the trained run, the scores and the files written."""

    run: single_image.SingleImageRun
    scores: dict  # metrics.scores of the colorized photo against the original
    grey_scores: dict  # the same for the grey photo
    output: pathlib.Path
    figure: pathlib.Path
    model_path: pathlib.Path | None
    scored_size: tuple | None  # (width, height) when scored on a shrunk copy of a huge photo

    def summary(self):
        """The lines `colornet single` prints."""
        run, scores, grey = self.run, self.scores, self.grey_scores
        scored_at = "" if self.scored_size is None else (
            f" (scored at {self.scored_size[0]}×{self.scored_size[1]})"
        )
        written = f"{self.output} and {self.figure}" + (
            f" and {self.model_path}" if self.model_path else ""
        )
        return (
            f"trained {len(run.losses)} steps in {run.seconds:.0f} s "
            f"(final loss {run.losses[-1]:.2e})\n"
            f"colorized: PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f}   "
            f"(grey baseline: PSNR {grey['psnr']:.2f} dB, SSIM {grey['ssim']:.3f})"
            f"{scored_at}\nwrote {written}"
        )


def train_and_colorize(image, output, *, figure=None, save_model=None, config=None,
                       progress=True):
    """Train Version 1 on the colour photo at `image` and colorize it from its lightness.

    Trained and scored on the photo as it looks on white, shrunk when huge (memory stays
    bounded); `output` (PNG or JPEG) is colorized at full size, and a PNG keeps the alpha.

    Args:
        image: path of a colour photo.
        output: where the colorized photo goes.
        figure: where the grey | colorized | original figure goes; default beside `output`,
            named <output stem>_comparison.png.
        save_model: optional `.keras` path for the trained model.
        config: a `SingleImageConfig` (defaults if None).
        progress: show a progress bar over the training steps.

    Returns:
        A `SingleReport`.
    """
    config = config or SingleImageConfig()
    output = pathlib.Path(output)
    figure = pathlib.Path(figure) if figure else output.with_name(
        f"{output.stem}_comparison.png"
    )
    original, factor = decode.load_reduced_rgb(image, evaluation.SCORED_PIXELS)
    for folder in {output.parent, figure.parent}:
        leftovers.remove_stale_temporaries(folder, recursive=False)
    run = single_image.train_single_image(original, config, progress=progress, name=f"'{image}'")
    colorized = run.colorize(original)
    grey = metrics.grey_baseline(original)
    scores, grey_scores = metrics.scores(original, colorized), metrics.scores(original, grey)
    jobs.colorize_file(run.model, image, output, working_size=config.image_size)
    plotting.save_figure(
        plotting.before_after(grey, colorized, original, scores=scores, grey_scores=grey_scores),
        figure,
    )
    if save_model is not None:
        pathlib.Path(save_model).parent.mkdir(parents=True, exist_ok=True)
        run.model.save(save_model)
    scored_size = None if factor == 1 else (original.shape[1], original.shape[0])
    return SingleReport(run, scores, grey_scores, output, figure, save_model, scored_size)
