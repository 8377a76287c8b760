"""Training the final version on a folder of photos, in a run folder that can be resumed.

A run folder holds everything about one training run:

    RUN/config.json            the `TrainingConfig` (resuming reads it back)
    RUN/split.json             which photos train and which validate, and what was skipped
    RUN/checkpoints/last.keras the whole training state (weights and optimizer), every epoch
    RUN/checkpoints/state.json the epoch that checkpoint ends
    RUN/embeddings.npy         with cache_embeddings: each photo's backbone embedding
    RUN/best.keras             the end-to-end colorizer with the lowest validation loss
    RUN/log.csv                loss and validation loss per epoch
    RUN/tensorboard/           TensorBoard logs

Every file is written to a temporary name and renamed into place, so killing training at any
moment leaves the last complete epoch's checkpoint; starting again with the same folder
resumes from it.
"""

import dataclasses
import json
import math
import os
import pathlib

import keras
import numpy as np
import tqdm
import tqdm.keras

from colornet import backbones, color, colorize, data, images, models

DISTRIBUTIONS = ("none", "mirrored", "multi_worker")


@dataclasses.dataclass
class TrainingConfig:
    """How to train the final version. Saved as config.json in the run folder."""

    data_dir: str  # a folder of colour photos, any sizes and formats, searched recursively
    image_size: int = 256  # the write-up's 256×256; any multiple of 8
    batch_size: int = 10  # the write-up's; it fit a Tesla K80's memory with Inception
    epochs: int = 20  # the write-up estimated 21 epochs on 10,000 photos for a good model
    learning_rate: float = 1e-3  # Adam's default, as in the write-up
    backbone: str = backbones.DEFAULT_BACKBONE  # the classifier whose embedding is fused in
    backbone_weights: str | None = "imagenet"  # "imagenet", a weights file, or None (random)
    # How the frozen backbone and the fusion colorizer compute (models.set_precision): "float32",
    # Keras mixed precision in "bfloat16" (float32 weights, optimizer and loss), or "auto":
    # bfloat16 on CPUs with AVX512_BF16 or AMX and on Ampere or later GPUs, else float32. A
    # bfloat16 step is 1.7x faster on such hardware, its gradient within 0.3 % of float32's
    # (benchmarks/training_throughput.py), and it learns as well (tests/test_precision.py).
    # The frozen backbone may also run in "float16" (Volta and Turing GPUs); the fusion
    # colorizer may not: in our tests, float16 training with loss scaling stalled where
    # float32 and bfloat16 learned. The run folder's config.json records what "auto" chose.
    backbone_precision: str = "auto"
    fusion_precision: str = "auto"
    augment: bool = True  # shear, zoom, rotation, flip, as the write-up's ImageDataGenerator
    validation_fraction: float = 0.1  # held out to pick the best epoch; 0 trains on all
    seed: int = 0  # split, shuffling, augmentation and initial weights
    distribution: str = "none"  # "mirrored": all GPUs (or logical devices) of this machine
    # Embed each photo once, before training, and reuse it every epoch: the backbone, most of
    # the cost of a step, then runs once per photo instead of once per photo per epoch. The
    # embedding is of the un-augmented photo; augmentation still reaches L and ab.
    cache_embeddings: bool = False

    def __post_init__(self):
        if self.image_size < models.SIZE_MULTIPLE or self.image_size % models.SIZE_MULTIPLE:
            raise ValueError(f"image_size must be a multiple of 8, got {self.image_size}")
        for name in ("batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        for name, known in (
            ("backbone_precision", ("auto", *backbones.PRECISIONS)),
            ("fusion_precision", TRAINING_PRECISIONS),
        ):
            if getattr(self, name) not in known:
                raise ValueError(
                    f"{name} must be one of {', '.join(known)}, got {getattr(self, name)!r}"
                )
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"distribution must be one of {', '.join(DISTRIBUTIONS)}, got {self.distribution!r}"
            )
        backbones.get_backbone(self.backbone)  # an unknown name fails here, not after a scan

    def save(self, path):
        _write_json_atomically(path, dataclasses.asdict(self))

    @classmethod
    def load(cls, path):
        saved = json.loads(pathlib.Path(path).read_text())
        # Runs from before colornet had precisions trained in float32.
        saved.setdefault("backbone_precision", "float32")
        saved.setdefault("fusion_precision", "float32")
        return cls(**saved)


# Changing these would make the saved weights or split meaningless; epochs may grow on resume.
_FIXED_ON_RESUME = (
    "data_dir", "image_size", "backbone", "validation_fraction", "seed", "cache_embeddings",
    "fusion_precision",  # the weights would have been learned another way
)


# How the fusion colorizer may train: not float16, which stalled in our tests.
TRAINING_PRECISIONS = ("auto", "float32", "bfloat16")


def training_precisions(config):
    """(backbone, fusion) precisions a config means on this machine, "auto" resolved."""
    fusion = models.resolve_precision(config.fusion_precision)
    return models.resolve_precision(config.backbone_precision), (
        "float32" if fusion == "float16" else fusion
    )


class TrainingError(RuntimeError):
    """Training cannot go on: the message says why and what is safe on disk."""


@dataclasses.dataclass
class TrainingResult:
    run_dir: pathlib.Path
    history: dict  # Keras history of this call: "loss" and "val_loss" per epoch
    best_model_path: pathlib.Path

    def load_best(self):
        """The end-to-end colorizer with the lowest validation loss."""
        return colorize.load_model(self.best_model_path)


@keras.saving.register_keras_serializable(package="colornet")
def ab_loss(rgb_true, scaled_ab_predicted):
    """Mean squared error between predicted scaled ab and the true photo's ab / 128.

    The data pipeline yields RGB photos; the true colour is taken from them here, in keras.ops,
    so augmentation (applied to RGB) can never misalign lightness and colour.
    """
    true_ab = color.ab_to_target(color.rgb_to_lab(rgb_true)[..., 1:])
    return keras.ops.mean(keras.ops.square(true_ab - scaled_ab_predicted), axis=(1, 2, 3))


def build_training_model(config, colorizer=None):
    """The model `fit` trains, from RGB photos to scaled ab, and the colorizer it trains.

    Returns (training_model, colorizer). Without cached embeddings the training model wraps
    the whole colorizer (RGB → lightness → colorizer); with them it takes
    {"rgb", "embedding"} and wraps only the colorizer's fusion network, which the two share.
    The colorizer (lightness in, backbone inside) is what gets saved for colorizing.
    """
    if colorizer is None:
        backbone_precision, fusion_precision = training_precisions(config)
        colorizer = models.colorizer(
            config.image_size, config.backbone, config.backbone_weights,
            backbone_precision=backbone_precision, fusion_precision=fusion_precision,
            name="colorizer",
        )
    rgb = keras.Input(shape=(config.image_size, config.image_size, 3), name="rgb")
    lightness = models.RgbToLightness(name="rgb_lightness")(rgb)
    if config.cache_embeddings:
        embedding_size = backbones.get_backbone(config.backbone).embedding_size
        embedding = keras.Input(shape=(embedding_size,), name="embedding")
        scaled = keras.layers.Rescaling(1.0 / color.L_CENTER, offset=-1.0)(lightness)
        fusion = colorizer.get_layer(_FUSION)
        inputs = {"rgb": rgb, "embedding": embedding}
        scaled_ab = fusion({"lightness": scaled, "embedding": embedding})
    else:
        inputs, scaled_ab = rgb, colorizer(lightness)
    training_model = keras.Model(inputs, scaled_ab, name="training_model")
    training_model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate), loss=ab_loss, jit_compile="auto"
    )
    return training_model, colorizer


_FUSION = "fusion_colorizer"


def train(config, run_dir, progress=True):
    """Train (or resume training) the final version; returns a `TrainingResult`.

    Args:
        config: a `TrainingConfig`. If `run_dir` already holds a run, its saved config must
            agree on the data, image size, backbone, split, seed, cached embeddings and the
            fusion colorizer's precision ("auto" as this machine resolves it); `epochs` may
            be raised to train further.
        run_dir: the run folder; created if needed.
        progress: show progress bars.

    Raises:
        TrainingError: the loss became NaN or infinite (earlier checkpoints stay intact).
        ValueError: a bad config, or a run folder started with a different one.
        colornet.images.ImageError: no usable photos in `config.data_dir`.
    """
    # First, before TensorFlow runs any operation (tf.distribute needs that) or anything is
    # written: the distribution strategy.
    strategy = _distribution_strategy(config.distribution)
    # Absolute, so the run resumes from any working directory (the notebook runs elsewhere).
    config = dataclasses.replace(config, data_dir=str(pathlib.Path(config.data_dir).resolve()))
    # What "auto" means on this machine, recorded: resuming elsewhere must choose it explicitly.
    backbone_precision, fusion_precision = training_precisions(config)
    config = dataclasses.replace(
        config, backbone_precision=backbone_precision, fusion_precision=fusion_precision
    )
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _check_or_save_config(config, run_dir)
    train_paths, validation_paths = _split_once(config, run_dir, progress)

    checkpoint = RunCheckpoint(run_dir)
    initial_epoch = checkpoint.completed_epochs()
    if initial_epoch >= config.epochs:
        print(f"{run_dir} already trained {initial_epoch} epochs; raise epochs to train further")
        return TrainingResult(run_dir, {}, run_dir / "best.keras")

    keras.utils.set_random_seed(config.seed)
    with strategy.scope() if strategy else _no_scope():
        training_model, colorizer = build_training_model(config)
        if initial_epoch:
            # Weights and optimizer state as the last complete epoch left them.
            saved = keras.saving.load_model(checkpoint.model_path, safe_mode=True)
            training_model.set_weights(saved.get_weights())
            training_model.optimizer.build(training_model.trainable_variables)
            for variable, value in zip(training_model.optimizer.variables, saved.optimizer.variables):
                variable.assign(value)
    checkpoint.colorizer = colorizer

    embeddings = None
    if config.cache_embeddings:
        embeddings = _cached_embeddings(
            colorizer, config, run_dir, [*train_paths, *validation_paths], progress
        )
    train_extras = None if embeddings is None else embeddings[: len(train_paths)]
    validation_extras = None if embeddings is None else embeddings[len(train_paths):]
    # Repeated, with explicit steps: a photo that fails to load mid-run is skipped without
    # cutting an epoch short, and Keras knows each epoch's length up front.
    train_dataset = _pairs(
        data.image_dataset(
            train_paths, config.image_size, config.batch_size, augment=config.augment,
            shuffle=True, repeat=True, seed=config.seed, extras=train_extras,
        )
    )
    validation_dataset = None
    if validation_paths:
        validation_dataset = _pairs(
            data.image_dataset(
                validation_paths, config.image_size, config.batch_size,
                augment=False, shuffle=False, repeat=True, extras=validation_extras,
            )
        )
    checkpoint.monitor = "val_loss" if validation_dataset is not None else "loss"

    callbacks = [
        StopOnNonFiniteLoss(checkpoint),
        checkpoint,
        keras.callbacks.CSVLogger(run_dir / "log.csv", append=True),
        keras.callbacks.TensorBoard(run_dir / "tensorboard", write_graph=False),
    ]
    if progress:
        callbacks.append(tqdm.keras.TqdmCallback(config.epochs, verbose=1, initial=initial_epoch))
    history = training_model.fit(
        train_dataset,
        validation_data=validation_dataset,
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=data.steps_per_epoch(len(train_paths), config.batch_size),
        validation_steps=data.steps_per_epoch(len(validation_paths), config.batch_size) or None,
        shuffle=False,  # the dataset shuffles file names itself
        callbacks=callbacks,
        verbose=0,
    )
    return TrainingResult(run_dir, history.history, run_dir / "best.keras")


class RunCheckpoint(keras.callbacks.Callback):
    """Saves the training state every epoch and the best colorizer, each atomically."""

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = pathlib.Path(run_dir)
        self.model_path = self.run_dir / "checkpoints" / "last.keras"
        self.state_path = self.run_dir / "checkpoints" / "state.json"
        self.best_path = self.run_dir / "best.keras"
        self.colorizer = None
        self.monitor = "val_loss"

    def completed_epochs(self):
        if not (self.state_path.is_file() and self.model_path.is_file()):
            return 0
        return json.loads(self.state_path.read_text())["epochs"]

    def best_value(self):
        if not self.state_path.is_file():
            return math.inf
        return json.loads(self.state_path.read_text()).get("best", math.inf)

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor, math.inf)
        best = self.best_value()
        if value < best:
            _copy_fusion_weights(self.model, self.colorizer)
            _save_model_atomically(self.colorizer, self.best_path)
            best = value
        _save_model_atomically(self.model, self.model_path)
        # The state file is written last: it only ever names a complete checkpoint.
        _write_json_atomically(
            self.state_path, {"epochs": epoch + 1, "best": best, "monitor": self.monitor}
        )


def _copy_fusion_weights(training_model, colorizer):
    """Make the colorizer's fusion network hold the training model's current weights.

    They are the same layer object when built together; after a resume they are two copies."""
    trained = _find_layer(training_model, _FUSION)
    target = colorizer.get_layer(_FUSION)
    if trained is not target:
        target.set_weights(trained.get_weights())


def _find_layer(model, name):
    for layer in model.layers:
        if layer.name == name:
            return layer
        if isinstance(layer, keras.Model):
            try:
                return layer.get_layer(name)
            except ValueError:
                continue
    raise ValueError(f"{model.name} has no layer {name}")


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop at the first NaN or infinite loss, before anything is saved from it.

    Keras's TerminateOnNaN lets the epoch end, and its end saves checkpoints; raising here
    leaves the last good ones untouched.
    """

    def __init__(self, checkpoint):
        super().__init__()
        self.checkpoint = checkpoint

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            saved = self.checkpoint.completed_epochs()
            raise TrainingError(
                f"loss became {float(loss)} in epoch {self.epoch + 1}, batch {batch + 1}; "
                + (
                    f"the checkpoint after epoch {saved} in {self.checkpoint.run_dir} is intact"
                    if saved
                    else "no checkpoint was saved yet"
                )
                + "; try a lower learning rate"
            )


def _pairs(dataset):
    """Batches → (input, target) pairs. The target is the photo itself (the loss takes ab
    from it); with cached embeddings the input is {"rgb", "embedding"}."""

    def pair(rgb, embedding=None):  # tf.data unpacks (rgb, embedding) elements
        if embedding is None:
            return rgb, rgb
        return {"rgb": rgb, "embedding": embedding}, rgb

    return dataset.map(pair)


def _cached_embeddings(colorizer, config, run_dir, paths, progress):
    """Each photo's embedding, computed once (un-augmented) and kept in RUN/embeddings.npy.

    Returns a read-only memory-mapped (len(paths), E) float32 array, rows in `paths` order;
    a photo that cannot be read keeps a row of zeros (it is skipped in training anyway).
    """
    path = run_dir / "embeddings.npy"
    if path.is_file():
        cached = np.load(path, mmap_mode="r")
        if len(cached) == len(paths):
            return cached
    embedding_model = colorizer.get_layer(f"grey_{config.backbone}_embedding")
    embeddings = np.zeros((len(paths), embedding_model.output.shape[-1]), np.float32)
    photos = data.image_dataset(
        paths, config.image_size, config.batch_size, augment=False, shuffle=False,
        extras=np.arange(len(paths))[:, None],
    )
    batches = tqdm.tqdm(photos, total=data.steps_per_epoch(len(paths), config.batch_size),
                        desc="embedding photos", disable=not progress)
    for rgb, rows in batches:
        lightness = color.rgb_to_lightness(rgb.numpy())[..., None]
        embeddings[rows.numpy()[:, 0].astype(int)] = embedding_model.predict_on_batch(lightness)
    with images.atomic_output(path) as temporary:
        np.save(temporary, embeddings)
    return np.load(path, mmap_mode="r")


def _check_or_save_config(config, run_dir):
    path = run_dir / "config.json"
    if not path.is_file():
        config.save(path)
        return
    saved = TrainingConfig.load(path)
    changed = [
        f"{name} (was {getattr(saved, name)!r}, now {getattr(config, name)!r})"
        for name in _FIXED_ON_RESUME
        if getattr(saved, name) != getattr(config, name)
    ]
    if changed:
        raise ValueError(
            f"{run_dir} holds a run with other settings: {'; '.join(changed)}; "
            "use a new run folder, or the same settings to resume"
        )
    config.save(path)  # epochs, batch size and the like may change between sessions


def _split_once(config, run_dir, progress):
    """Scan and split the data the first time; later sessions reuse the same lists."""
    path = run_dir / "split.json"
    if path.is_file():
        saved = json.loads(path.read_text())
        return [pathlib.Path(p) for p in saved["train"]], [pathlib.Path(p) for p in saved["validation"]]
    scan = data.scan_folder(config.data_dir, progress=progress)
    print(scan.summary())
    # Placed by path inside the data folder, so same-named photos in subfolders split apart.
    train_paths, validation_paths = data.split(
        scan.colour, config.validation_fraction, config.seed, root=config.data_dir
    )
    _write_json_atomically(
        path,
        {
            "train": [str(p) for p in train_paths],
            "validation": [str(p) for p in validation_paths],
            "skipped_grey": [str(p) for p in scan.grey],
            "skipped_unreadable": [[str(p), reason] for p, reason in scan.unreadable],
        },
    )
    return train_paths, validation_paths


def _distribution_strategy(distribution):
    """A tf.distribute strategy for "mirrored" / "multi_worker", None for "none"."""
    if distribution == "none":
        return None
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"distribution={distribution!r} uses tf.distribute and needs KERAS_BACKEND=tensorflow"
        )
    import tensorflow as tf

    if distribution == "mirrored":
        # Every local GPU; with none, every logical CPU device (how the tests split the CPU).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    # tf.distribute.MultiWorkerMirroredStrategy is what training across machines needs, but
    # Keras 3's fit fails under it twice over (before the first step, and when it reduces a
    # step's logs): keras-team/keras#20585, still open with Keras 3.15. Refuse it plainly
    # rather than fail inside Keras on every worker.
    raise ValueError(
        "distribution='multi_worker' is not available: Keras 3's fit cannot train under "
        "tf.distribute.MultiWorkerMirroredStrategy yet (keras-team/keras#20585); use "
        "'mirrored' for the GPUs of one machine"
    )


class _no_scope:
    def __enter__(self):
        return None

    def __exit__(self, *exc_info):
        return False


def _save_model_atomically(model, path):
    with images.atomic_output(path) as temporary:
        model.save(temporary)


def _write_json_atomically(path, value):
    with images.atomic_output(path) as temporary:
        with open(temporary, "w") as file:
            json.dump(value, file, indent=2)
            file.flush()
            os.fsync(file.fileno())


