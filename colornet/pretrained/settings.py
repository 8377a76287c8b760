"""The pretrained colorizer's training settings, apart from the code that trains (no Keras
here, so the command line can show the defaults without importing TensorFlow)."""

import dataclasses
import math

from colornet import _util
from colornet.constants import DEFAULT_WORKING_SIZE, HEADS, LITE_UNET_SIZE_MULTIPLE
from colornet.errors import SettingError
from colornet.nets import precision


@dataclasses.dataclass
class RecipeConfig:
    """The pretrained colorizer's training settings; defaults are the shipped model's."""

    variant: str = "efficientnet_lite0"  # the frozen encoder; its weights come from pip
    head: str = "classification"  # Zhang et al.'s bins ("regression": MSE on ab / 128)
    crop_size: int = 128  # side of a training view; a multiple of 32
    batch_size: int = 16
    steps_per_epoch: int = 250  # an epoch is a resumable chunk (docs/real_photos.md: its time)
    epochs: int = 16
    learning_rate: float = 3e-4  # Adam, cosine-decayed to 1% of it over all the epochs
    min_scale: float = 0.2  # smallest crop, as a share of the shorter side
    seed: int = 0
    working_size: int = DEFAULT_WORKING_SIZE  # longest side whole photos are scored at
    # The hint-aware network (point hints and a reference photo, simulated from each crop's
    # own colours: colornet.nets.hints), instead of the automatic one.
    hints: bool = False
    # Train the hint and reference layers alone: the automatic colorizer it starts from
    # (start_from) stays exactly as it is, and so do its colours without hints.
    hints_only: bool = False
    # A new run's first decoder weights: None (random, from the seed), "shipped" (the shipped
    # model's; a hint-aware run starts as the automatic colorizer) or a run's epoch-NNN.npz.
    start_from: str | None = None
    # How the decoder computes: "float32", "bfloat16" (mixed: float32 weights) or "auto"
    # (`colornet.nets.precision`: bfloat16 where the hardware computes it natively).
    precision: str = "float32"

    def check(self):
        if self.head not in HEADS:
            raise SettingError(f"head must be one of {', '.join(HEADS)}, got {self.head!r}")
        for name in ("crop_size", "batch_size", "steps_per_epoch", "epochs", "working_size"):
            _util.check_positive_int(getattr(self, name), name)
        if self.crop_size % LITE_UNET_SIZE_MULTIPLE:
            raise SettingError(f"crop_size must be a multiple of {LITE_UNET_SIZE_MULTIPLE}, "
                               f"got {self.crop_size}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise SettingError(f"learning_rate must be positive, got {self.learning_rate}")
        precision.validate(self.precision, precision.TRAINING_CHOICES)
        if self.hints_only and not (self.hints and self.start_from):
            raise SettingError("hints_only trains the hint layers of a network that colorizes "
                               "already: give hints=True and start_from too")
        if self.start_from is not None and not isinstance(self.start_from, str):
            raise SettingError(f"start_from must be 'shipped' or a path, got {self.start_from!r}")
        return self
