"""Version 1: train the small net on one colour photo, then colorize with it.

The write-up's first experiment: the network learns one photo's colours from its lightness and
is judged on that same photo. It shows the whole Lab recipe at work in about a minute on a CPU.
"""

import dataclasses
import time

import keras
import numpy as np

from colornet import _util, color
from colornet import progress as progress_bars
from colornet.apps import colorize
from colornet.errors import SettingError
from colornet.io import geometry, greyness
from colornet.nets import models
from colornet.train import stopping
from colornet.train.settings import SingleImageConfig

__all__ = ["SingleImageConfig", "SingleImageRun", "train_single_image"]


@dataclasses.dataclass
class SingleImageRun:
    """A trained Version 1 model (`models.version_1`), what it saw, and how training went."""

    model: keras.Model
    training_photo: np.ndarray  # (h, w, 3) RGB in [0, 1]: the photo shrunk to training size
    losses: list  # mean squared error of scaled ab, one value per step
    seconds: float
    config: SingleImageConfig

    def colorize(self, rgb=None):
        """Colorize RGB (H, W, 3) from its lightness alone; default: the training photo.

        The net runs at the scale it was trained at (longest side `config.image_size`, the
        working size of `colorize.predict_ab`); its colours are resized to (H, W) and joined
        with the full-resolution lightness.
        """
        photo = self.training_photo if rgb is None else rgb
        return colorize.colorize(self.model, photo, working_size=self.config.image_size)


def train_single_image(rgb, config=None, progress=True, name="image", callbacks=()):
    """Train Version 1 on one colour photo.

    Args:
        rgb: (H, W, 3) float RGB in [0, 1] (or uint8). It is shrunk to fit
            `config.image_size` and cropped to sides divisible by 8.
        config: a `SingleImageConfig`; defaults if None.
        progress: show a progress bar over the steps.
        name: what to call the photo in error messages (its file name, say).
        callbacks: more Keras callbacks for `fit` (one Keras epoch is one step here).

    Returns:
        A `SingleImageRun` holding the trained model and the loss per step.

    Raises:
        ValueError: when the photo is grey (nothing to learn) or too small.
    """
    config = config or SingleImageConfig()
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise SettingError(f"{name}: expected an (H, W, 3) RGB image, got shape {rgb.shape}")
    rgb = _util.to_unit_float(rgb)
    if min(rgb.shape[:2]) < models.SIZE_MULTIPLE:
        raise SettingError(
            f"{name}: {rgb.shape[1]}×{rgb.shape[0]} is too small to train on; "
            f"Version 1 needs at least {models.SIZE_MULTIPLE}×{models.SIZE_MULTIPLE} pixels"
        )
    training_photo = geometry.resize_and_crop(rgb, geometry.fit_size(rgb.shape, config.image_size))
    if greyness.is_grey(training_photo):
        raise SettingError(
            f"{name} is grey (or near-grey, or a single tint such as sepia: colour spread "
            f"{greyness.colour_spread(training_photo):.1f}, below {greyness.GREY_CHROMA}): "
            "Version 1 learns colours from a colour photo; give it one"
        )
    lab = color.rgb_to_lab(training_photo)
    inputs, ab = color.split_lab(lab[None])  # (1, h, w, 1) L* in [0, 100], (1, h, w, 2) ab
    targets = color.ab_to_target(ab)

    keras.utils.set_random_seed(config.seed)
    model = models.version_1(upsampling=config.upsampling, trained_on=name)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=config.steps, alpha=0.01
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    progress_bar = [progress_bars.StepBar(config.steps)] if progress else []
    started = time.perf_counter()
    # One "epoch" is one step over the single image, so Keras's history is the loss per step.
    # The photo comes from a generator that `fit` reads on from epoch to epoch: given arrays,
    # Keras on TensorFlow builds a new input pipeline every epoch, which cost three times the
    # step itself (docs/performance.md, "Results").
    history = model.fit(
        _forever(inputs, targets), steps_per_epoch=1, epochs=config.steps, shuffle=False,
        verbose=0,
        callbacks=[_stop_on_non_finite_loss(name), *progress_bar, *callbacks],
    )
    seconds = time.perf_counter() - started
    return SingleImageRun(model, training_photo, history.history["loss"], seconds, config)


def _forever(inputs, targets):
    """The one training pair, (1, h, w, 1) L* and (1, h, w, 2) scaled ab, again and again."""
    while True:
        yield inputs, targets


def _stop_on_non_finite_loss(name):
    """A diverged run (loss NaN or infinite) stops at once with one line, rather than train
    through to the end and fail to save a NaN photo (one Keras epoch is one step here)."""

    def message(loss, step, batch):
        return (f"training on {name} diverged: the loss became {loss} at step {step}; "
                "try a lower learning rate")

    return stopping.StopOnNonFiniteLoss(message, ValueError, per="epoch")
