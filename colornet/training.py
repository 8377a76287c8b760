"""Training the final version on a folder of photos, in a run folder that can be resumed.

    photos on disk → `data.image_dataset` (decode, crop, augment; RGB batches)
      → the training model (RGB → lightness → colorizer → scaled ab), `ab_loss` against the
        photo's own ab → `fit`, with a checkpoint every epoch and the best colorizer kept

The run folder's layout is `colornet.runs.RunFolder`'s; killing training at any moment leaves
the last complete epoch's checkpoint, and starting again with the same folder resumes from it.
"""

import contextlib
import dataclasses
import pathlib

import keras
import numpy as np
import tqdm

from colornet import _util, backbones, color, colorize, data, leftovers, models, precision
from colornet import progress as progress_bars
from colornet.config import DISTRIBUTIONS, FIXED_ON_RESUME, TrainingConfig
from colornet.runs import RunFolder

__all__ = ["DISTRIBUTIONS", "TrainingConfig", "TrainingError", "TrainingResult", "train"]


def training_precisions(config):
    """(backbone, fusion) precisions a config means on this machine, "auto" resolved."""
    return precision.resolve(config.backbone_precision), precision.for_training(
        config.fusion_precision
    )


class TrainingError(RuntimeError):
    """Training cannot go on: the message says why and what is safe on disk."""


@dataclasses.dataclass
class TrainingResult:
    run_dir: pathlib.Path
    history: dict  # Keras history of this call: "loss" and "val_loss" per epoch
    best_model_path: pathlib.Path

    def load_best(self, precision="auto"):
        """The end-to-end colorizer with the lowest validation loss (`colorize.load_model`;
        precision=None keeps the precision it trained in)."""
        return colorize.load_model(self.best_model_path, precision=precision)


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
    lightness = color.RgbToLightness(name="rgb_lightness")(rgb)
    if config.cache_embeddings:
        embedding_size = backbones.get_backbone(config.backbone).embedding_size
        embedding = keras.Input(shape=(embedding_size,), name="embedding")
        scaled = keras.layers.Rescaling(1.0 / color.L_CENTER, offset=-1.0)(lightness)
        inputs = {"rgb": rgb, "embedding": embedding}
        scaled_ab = models.fusion_network(colorizer)({"lightness": scaled, "embedding": embedding})
    else:
        inputs, scaled_ab = rgb, colorizer(lightness)
    training_model = keras.Model(inputs, scaled_ab, name="training_model")
    training_model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate), loss=ab_loss, jit_compile="auto"
    )
    return training_model, colorizer


def train(config, run_dir, progress=True, callbacks=()):
    """Train (or resume training) the final version; returns a `TrainingResult`.

    Args:
        config: a `TrainingConfig`. If `run_dir` already holds a run, its saved config must
            agree on the data, image size, backbone, split, seed, cached embeddings and the
            fusion colorizer's precision ("auto" as this machine resolves it); `epochs` may
            be raised to train further.
        run_dir: the run folder (`colornet.runs.RunFolder`); created if needed.
        progress: show progress bars.
        callbacks: more Keras callbacks for `fit`, after colornet's own.

    Raises:
        TrainingError: the loss became NaN or infinite (earlier checkpoints stay intact).
        ValueError: a bad config, or a run folder started with a different one.
        colornet.images.ImageError: no usable photos in `config.data_dir`.
    """
    backbones.get_backbone(config.backbone)  # an unknown name fails now, not after a scan
    # First, before TensorFlow runs any operation (tf.distribute needs that) or anything is
    # written: the distribution strategy.
    strategy = _distribution_strategy(config.distribution)
    run = RunFolder(run_dir)
    config = _resolved(config)
    run.path.mkdir(parents=True, exist_ok=True)
    leftovers.remove_stale_temporaries(run.path)  # a killed session's half-written files
    _check_or_save_config(config, run)
    train_paths, validation_paths = _split_once(config, run, progress)

    initial_epoch = run.completed_epochs()
    if initial_epoch >= config.epochs:
        print(f"{run.path} already trained {initial_epoch} epochs; raise epochs to train further")
        return TrainingResult(run.path, {}, run.best_model_path)

    keras.utils.set_random_seed(config.seed)
    with strategy.scope() if strategy else contextlib.nullcontext():
        training_model, colorizer = build_training_model(config)
        if initial_epoch:
            _restore_checkpoint(training_model, run, config.learning_rate)

    extras = _embedding_extras(config, run, colorizer, train_paths, validation_paths, progress)
    train_dataset, validation_dataset = _datasets(config, train_paths, validation_paths, extras)
    checkpoint = RunCheckpoint(run, colorizer, "val_loss" if validation_paths else "loss")
    colornet_callbacks = [
        StopOnNonFiniteLoss(run),
        checkpoint,
        keras.callbacks.CSVLogger(run.log_path, append=True),
        keras.callbacks.TensorBoard(run.tensorboard_dir, write_graph=False),
    ]
    steps_per_epoch = data.steps_per_epoch(len(train_paths), config.batch_size)
    if progress:
        colornet_callbacks.append(
            progress_bars.EpochBars(config.epochs, initial_epoch, steps_per_epoch)
        )
    history = training_model.fit(
        train_dataset,
        validation_data=validation_dataset,
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps_per_epoch,
        validation_steps=data.steps_per_epoch(len(validation_paths), config.batch_size) or None,
        shuffle=False,  # the dataset shuffles file names itself
        callbacks=[*colornet_callbacks, *callbacks],
        verbose=0,
    )
    return TrainingResult(run.path, history.history, run.best_model_path)


def _resolved(config):
    """The config with its data folder absolute (the run resumes from any working directory)
    and "auto" precisions as this machine resolves them (resuming elsewhere must say so)."""
    backbone_precision, fusion_precision = training_precisions(config)
    return dataclasses.replace(
        config,
        data_dir=str(pathlib.Path(config.data_dir).resolve()),
        backbone_precision=backbone_precision,
        fusion_precision=fusion_precision,
    )


def _restore_checkpoint(training_model, run, learning_rate):
    """Weights and optimizer state as the last complete epoch left them, except the learning
    rate: the config's, which a resumed run may change (the saved optimizer holds the old)."""
    optimizer = training_model.optimizer
    optimizer.build(training_model.trainable_variables)
    if run.checkpoint_path.is_file():
        fusion = models.fusion_network(training_model)
        with np.load(run.checkpoint_path) as saved:
            fusion.set_weights([saved[f"weight_{i}"] for i in range(len(fusion.weights))])
            values = [saved[f"optimizer_{i}"] for i in range(len(optimizer.variables))]
    else:  # a run from before: the whole training model in a .keras file
        saved = keras.saving.load_model(run.legacy_checkpoint_path, safe_mode=True)
        training_model.set_weights(saved.get_weights())
        values = saved.optimizer.variables
    for variable, value in zip(optimizer.variables, values):
        variable.assign(value)
    optimizer.learning_rate = learning_rate


def _save_training_state(training_model, path):
    """What resuming needs, and no more: the fusion network's weights (the backbone is frozen
    and rebuilt from its own weights) and the optimizer's variables, as one .npz file."""
    fusion = models.fusion_network(training_model)
    arrays = {f"weight_{i}": value for i, value in enumerate(fusion.get_weights())}
    arrays |= {
        f"optimizer_{i}": keras.ops.convert_to_numpy(variable)
        for i, variable in enumerate(training_model.optimizer.variables)
    }
    _util.write_bytes_atomically(path, lambda file: np.savez(file, **arrays))


def _embedding_extras(config, run, colorizer, train_paths, validation_paths, progress):
    """(train, validation) cached embeddings to feed beside the photos, or (None, None)."""
    if not config.cache_embeddings:
        return None, None
    embeddings = _cached_embeddings(
        colorizer, config, run, [*train_paths, *validation_paths], progress
    )
    return embeddings[: len(train_paths)], embeddings[len(train_paths) :]


def _datasets(config, train_paths, validation_paths, extras):
    """(train, validation or None) datasets of (input, target) pairs.

    Repeated, with explicit steps: a photo that fails to load mid-run is skipped without
    cutting an epoch short, and Keras knows each epoch's length up front.
    """
    train_extras, validation_extras = extras
    train_dataset = _pairs(
        data.image_dataset(
            train_paths, config.image_size, config.batch_size, augment=config.augment,
            shuffle=True, repeat=True, seed=config.seed, extras=train_extras,
        )
    )
    if not validation_paths:
        return train_dataset, None
    validation_dataset = _pairs(
        data.image_dataset(
            validation_paths, config.image_size, config.batch_size,
            augment=False, shuffle=False, repeat=True, extras=validation_extras,
        )
    )
    return train_dataset, validation_dataset


class RunCheckpoint(keras.callbacks.Callback):
    """Saves the training state every epoch and the best colorizer, each atomically."""

    def __init__(self, run, colorizer, monitor):
        super().__init__()
        self.run = run
        self.colorizer = colorizer
        self.monitor = monitor

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor, float("inf"))
        best = self.run.best_loss()
        if value < best:
            _copy_fusion_weights(self.model, self.colorizer)
            _save_model_atomically(self.colorizer, self.run.best_model_path)
            best = value
        _save_training_state(self.model, self.run.checkpoint_path)
        self.run.save_state(epoch + 1, best, self.monitor)


def _copy_fusion_weights(training_model, colorizer):
    """Make the colorizer's fusion network hold the training model's current weights.

    They are the same layer object when built together; after a resume they are two copies."""
    trained, target = models.fusion_network(training_model), models.fusion_network(colorizer)
    if trained is not target:
        target.set_weights(trained.get_weights())


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop at the first NaN or infinite loss, before anything is saved from it.

    Keras's TerminateOnNaN lets the epoch end, and its end saves checkpoints; raising here
    leaves the last good ones untouched.
    """

    def __init__(self, run):
        super().__init__()
        self.run = run

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            saved = self.run.completed_epochs()
            raise TrainingError(
                f"loss became {float(loss)} in epoch {self.epoch + 1}, batch {batch + 1}; "
                + (
                    f"the checkpoint after epoch {saved} in {self.run.path} is intact"
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


def _cached_embeddings(colorizer, config, run, paths, progress):
    """Each photo's embedding, computed once (un-augmented) and kept in the run folder.

    Returns a read-only memory-mapped (len(paths), E) float32 array, rows in `paths` order;
    a photo that cannot be read keeps a row of zeros (it is skipped in training anyway).
    """
    path = run.embeddings_path
    if path.is_file():
        cached = np.load(path, mmap_mode="r")
        if len(cached) == len(paths):
            return cached
    embedding_model = models.embedding_network(colorizer)
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
    _util.write_bytes_atomically(path, lambda file: np.save(file, embeddings))
    return np.load(path, mmap_mode="r")


def _check_or_save_config(config, run):
    if not run.has_config():
        run.save_config(config)
        return
    saved = run.load_config()
    changed = [
        f"{name} (was {getattr(saved, name)!r}, now {getattr(config, name)!r})"
        for name in FIXED_ON_RESUME
        if getattr(saved, name) != getattr(config, name)
    ]
    if changed:
        raise ValueError(
            f"{run.path} holds a run with other settings: {'; '.join(changed)}; "
            "use a new run folder, or the same settings to resume"
        )
    run.save_config(config)  # epochs, batch size and the like may change between sessions


def _split_once(config, run, progress):
    """Scan and split the data the first time; later sessions reuse the same lists."""
    saved = run.split()
    if saved is not None:
        return saved
    scan = data.scan_folder(config.data_dir, progress=progress)
    print(scan.summary())
    # Placed by path inside the data folder, so same-named photos in subfolders split apart.
    train_paths, validation_paths = data.split(
        scan.colour, config.validation_fraction, config.seed, root=config.data_dir
    )
    run.save_split(
        train_paths, validation_paths,
        skipped_grey=scan.grey, skipped_unreadable=scan.unreadable,
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


def _save_model_atomically(model, path):
    with _util.atomic_output(path) as temporary:
        model.save(temporary)
