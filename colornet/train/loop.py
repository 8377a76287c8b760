"""Training the final version on a folder of photos, in a run folder that can be resumed.

    photos on disk → `data.image_dataset` (decode, crop, augment; RGB batches)
      → the training model (RGB → lightness → colorizer → scaled ab), `losses.ab_loss` against the
        photo's own ab → `fit`, with a checkpoint every epoch and the best colorizer kept

The run folder's layout is `colornet.train.runs.RunFolder`'s, and `resume` checks what a run
may change when it starts again. Killing training at any moment leaves the last complete
epoch's checkpoint (`checkpoints`), and starting again with the same folder resumes from it.
"""

import contextlib
import dataclasses
import math
import pathlib

import keras
import numpy as np
import tqdm

from colornet import _util, color
from colornet import progress as progress_bars
from colornet.constants import AUTO_BACKBONE
from colornet.errors import ColornetError
from colornet.nets import backbones, models
from colornet.train import (
    checkpoints,
    data,
    distributed,
    losses,
    pipeline,
    resume,
    settings,
    stopping,
)
from colornet.train.runs import RunFolder

__all__ = ["TrainingError", "TrainingResult", "datasets", "train"]


class TrainingError(ColornetError, RuntimeError):
    """Training cannot go on: the message says why and what is safe on disk."""


@dataclasses.dataclass
class TrainingResult:
    run_dir: pathlib.Path
    history: dict  # Keras history of this call: "loss" and "val_loss" per epoch
    best_model_path: pathlib.Path

    def load_best(self, precision="auto"):
        """The end-to-end colorizer with the lowest validation loss (`models.load`;
        precision=None keeps the precision it trained in)."""
        return models.load(self.best_model_path, precision=precision)


def build_training_model(config, colorizer=None, jit_compile="auto", class_weights=None):
    """The model `fit` trains, from RGB photos to scaled ab (or bin logits), and the colorizer
    it trains.

    `jit_compile` is Keras's (XLA for the training step; "auto" keeps it off on CPUs). Returns
    (training_model, colorizer). Without cached embeddings the training model wraps
    the whole colorizer (RGB → lightness → colorizer); with them it takes
    {"rgb", "embedding"} and wraps only the colorizer's fusion network, which the two share.
    The colorizer (lightness in, backbone inside) is what gets saved for colorizing. With
    config.head "classification" the training model ends at the bin logits and learns by
    `BinLoss` with `class_weights` (None: unweighted), the colorizer by the annealed mean.
    """
    if colorizer is None:
        backbone_precision, fusion_precision = settings.training_precisions(config)
        colorizer = models.colorizer(
            config.image_size, config.backbone, config.backbone_weights,
            backbone_precision=backbone_precision, fusion_precision=fusion_precision,
            name="colorizer", head=config.head, trained_on=f"photos in {config.data_dir}",
        )
    rgb = keras.Input(shape=(config.image_size, config.image_size, 3), name="rgb")
    lightness = color.RgbToLightness(name="rgb_lightness")(rgb)
    fusion, loss = models.fusion_network(colorizer), losses.ab_loss
    if config.head == "classification":
        fusion, loss = models.logits_network(fusion), losses.BinLoss(class_weights)
    if config.cache_embeddings:
        embedding_size = backbones.get_backbone(config.backbone).embedding_size
        embedding = keras.Input(shape=(embedding_size,), name="embedding")
        inputs = {"rgb": rgb, "embedding": embedding}
    elif config.head == "classification":
        inputs, embedding = rgb, models.embedding_network(colorizer)(lightness)
    if config.cache_embeddings or config.head == "classification":
        scaled = keras.layers.Rescaling(1.0 / color.L_CENTER, offset=-1.0)(lightness)
        output = fusion({"lightness": scaled, "embedding": embedding})
    else:
        inputs, output = rgb, colorizer(lightness)
    training_model = keras.Model(inputs, output, name="training_model")
    training_model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss,
        jit_compile=jit_compile,
    )
    return training_model, colorizer


def train(config, run_dir, progress=True, callbacks=()):
    """Train (or resume training) the final version; returns a `TrainingResult`.

    Args:
        config: a `TrainingConfig`. If `run_dir` already holds a run, its saved config must
            agree on the data, image size, backbone, split, seed, cached embeddings and the
            fusion colorizer's precision ("auto" as this machine resolves it); `epochs` may
            be raised to train further.
        run_dir: the run folder (`colornet.train.runs.RunFolder`); created if needed.
        progress: show progress bars.
        callbacks: more Keras callbacks for `fit`, after colornet's own.

    With distribution="data_parallel" and several processes (`colornet.train.distributed`), every
    process calls this alike: each streams its share of every global batch of
    config.batch_size photos, and process 0 alone writes the run folder's files.

    Raises:
        TrainingError: the loss became NaN or infinite (earlier checkpoints stay intact).
        ValueError: a bad config, or a run folder started with a different one.
        colornet.io.decode.ImageError: no usable photos in `config.data_dir`.
    """
    if config.backbone != AUTO_BACKBONE:
        backbones.get_backbone(config.backbone)  # an unknown name fails now, not after a scan
    # First, before TensorFlow runs any operation (tf.distribute needs that) or anything is
    # written: the distribution strategy.
    strategy = _distribution_strategy(config.distribution)
    run = RunFolder(run_dir)
    config = resume.resolved(resume.with_backbone_chosen(config, run))
    initial_epoch = run.completed_epochs()
    config, train_paths, validation_paths, shard = resume.start_run(
        config, run, initial_epoch, progress
    )
    chief = distributed.is_chief()
    progress = progress and chief

    if initial_epoch >= config.epochs:
        print(f"{run.path} already trained {initial_epoch} epochs; raise epochs to train further")
        return TrainingResult(run.path, {}, run.best_model_path)

    keras.utils.set_random_seed(config.seed)
    class_weights = losses.class_weights(config, run, train_paths)
    with strategy.scope() if strategy else contextlib.nullcontext():
        training_model, colorizer = build_training_model(config, class_weights=class_weights)
        if initial_epoch:
            run.restore_training_state(training_model, config.learning_rate)

    extras = _embedding_extras(config, run, colorizer, train_paths, validation_paths, progress)
    # Each process names the photos it could not read in a file of its own.
    skipped = pipeline.SkippedPhotos(run.path / pipeline.skipped_name(distributed.process_index()))
    (train_dataset, validation_dataset), steps = datasets(
        config, train_paths, validation_paths, extras, shard, skipped
    )
    monitor = "loss" if validation_dataset is None else "val_loss"
    checkpoint = checkpoints.RunCheckpoint(run, colorizer, monitor)
    colornet_callbacks = [_stop_on_non_finite_loss(run), checkpoint,
                          pipeline.SkippedReport(skipped)]
    if chief:  # files only; every process computes the same logs
        colornet_callbacks += [
            keras.callbacks.CSVLogger(run.log_path, append=True),
            keras.callbacks.TensorBoard(run.tensorboard_dir, write_graph=False),
        ]
    steps_per_epoch = steps[0]
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
        validation_steps=steps[1] or None,
        shuffle=False,  # the dataset shuffles file names itself
        callbacks=[*colornet_callbacks, *callbacks],
        verbose=0,
    )
    return TrainingResult(run.path, history.history, run.best_model_path)


def train_views(config, train_paths):
    """What one epoch streams: (paths, crops) for `data.image_dataset`. The write-up's one
    centre square per photo, or config.crops_per_photo random crops of each: drawn anew every
    epoch, or with cached embeddings drawn once (each crop's key is its row) so that every
    crop keeps its own embedding."""
    count = config.crops_per_photo
    if not count:
        return list(train_paths), None
    views = [path for path in train_paths for _ in range(count)]
    return views, np.arange(len(views)) if config.cache_embeddings else "random"


def _embedding_extras(config, run, colorizer, train_paths, validation_paths, progress):
    """(train, validation) cached embeddings to feed beside the photos, or (None, None): one
    per training view (`train_views`), one per validation photo's centre square."""
    if not config.cache_embeddings:
        return None, None
    views, crops = train_views(config, train_paths)
    keys = None
    if crops is not None:
        keys = np.concatenate([crops, np.full(len(validation_paths), data.CENTRE_SQUARE)])
    embeddings = _cached_embeddings(
        colorizer, config, run, [*views, *validation_paths], progress, keys
    )
    return embeddings[: len(views)], embeddings[len(views) :]


def datasets(config, train_paths, validation_paths, extras=(None, None), shard=None,
             skipped=None):
    """What `train` feeds `fit`: ((train, validation or None) datasets of (input, target)
    pairs, (train, validation) steps per epoch). `extras`: the (train, validation) cached
    embeddings or (None, None); `shard`: this process's (index, count) of a data_parallel job;
    `skipped`: a `pipeline.SkippedPhotos` that names the photos that cannot be read.

    Repeated, with explicit steps: a photo that fails to load mid-run is skipped without
    cutting an epoch short, and Keras knows each epoch's length up front. With a shard (one
    of several processes) each streams its batch_size / processes photos of every batch, and
    an epoch is the whole global batches of a pass.
    """
    config = dataclasses.replace(config, batch_size=config.resolved_batch_size())
    train_extras, validation_extras = extras
    batch_size = config.batch_size if shard is None else config.batch_size // shard[1]

    def steps(count):
        if shard is None:
            return data.steps_per_epoch(count, batch_size)
        return count // config.batch_size

    views, crops = train_views(config, train_paths)
    train_dataset = _pairs(
        data.image_dataset(
            views, config.image_size, batch_size, augment=config.augment, shuffle=True,
            repeat=True, seed=config.seed, extras=train_extras, shard=shard, crops=crops,
            skipped=skipped,
        )
    )
    if shard is not None and validation_paths:
        validation_paths, validation_extras = _whole_batches(
            validation_paths, validation_extras, config.batch_size
        )
    validation_steps = steps(len(validation_paths))
    if not validation_steps:
        return (train_dataset, None), (steps(len(views)), 0)
    validation_dataset = _pairs(
        data.image_dataset(
            validation_paths, config.image_size, batch_size, augment=False, shuffle=False,
            repeat=True, extras=validation_extras, shard=shard, skipped=skipped,
        )
    )
    return (train_dataset, validation_dataset), (steps(len(views)), validation_steps)


def _whole_batches(paths, extras, global_batch):
    """Paths (and their cached-embedding rows) repeated from the first to fill whole global
    batches: processes share a batch only whole, and every validation photo must count (7
    photos in batches of 8 would otherwise validate nothing). The first few count twice."""
    order = np.arange(math.ceil(len(paths) / global_batch) * global_batch) % len(paths)
    return [paths[index] for index in order], None if extras is None else extras[order]


def _stop_on_non_finite_loss(run):
    """Stop at the first NaN or infinite loss with a `TrainingError` naming what is kept."""

    def message(loss, epoch, batch):
        saved = run.completed_epochs()
        kept = (f"the checkpoint after epoch {saved} in {run.path} is intact" if saved
                else "no checkpoint was saved yet")
        return (f"loss became {loss} in epoch {epoch}, batch {batch}; {kept}; "
                "try a lower learning rate")

    return stopping.StopOnNonFiniteLoss(message, TrainingError)


def _pairs(dataset):
    """Batches → (input, target) pairs. The target is the photo itself (the loss takes ab
    from it); with cached embeddings the input is {"rgb", "embedding"}."""

    def pair(rgb, embedding=None):  # tf.data unpacks (rgb, embedding) elements
        if embedding is None:
            return rgb, rgb
        return {"rgb": rgb, "embedding": embedding}, rgb

    return dataset.map(pair)


def _cached_embeddings(colorizer, config, run, paths, progress, crop_keys=None):
    """Each photo's embedding, computed once (un-augmented) and kept in the run folder; with
    `crop_keys` (`data.image_dataset`'s crops), each crop's.

    Returns a read-only memory-mapped (len(paths), E) float32 array, rows in `paths` order;
    a photo that cannot be read keeps a row of zeros (it is skipped in training anyway).
    Several processes each embed every count-th photo, in equal batches, then share them.
    """
    path = run.embeddings_path
    if path.is_file():
        cached = np.load(path, mmap_mode="r")
        if len(cached) == len(paths):
            return cached
    index, count = distributed.process_index(), distributed.process_count()
    embedding_model = models.embedding_network(colorizer)
    rows_each = -(-len(paths) // count)
    mine = np.zeros((rows_each, embedding_model.output.shape[-1]), np.float32)
    own_paths = paths[index::count]
    photos = data.image_dataset(
        own_paths, config.image_size, config.batch_size, augment=False, shuffle=False,
        extras=np.arange(len(own_paths))[:, None], seed=config.seed,
        crops=None if crop_keys is None else crop_keys[index::count],
    )
    steps = data.steps_per_epoch(rows_each, config.batch_size)  # the same on every process
    batches = tqdm.tqdm(photos, total=steps, desc="embedding photos", disable=not progress)
    # Every batch padded to batch_size photos, and as many batches on every process: one
    # compiled shape, and the processes' calls stay in step.
    padded = np.zeros((config.batch_size, config.image_size, config.image_size, 1), np.float32)
    done = 0
    for rgb, rows in batches:
        padded[: len(rgb)] = color.rgb_to_lightness(rgb.numpy())[..., None]
        mine[rows.numpy()[:, 0].astype(int)] = embedding_model.predict_on_batch(padded)[: len(rgb)]
        done += 1
    for _ in range(done, steps):  # photos that failed to load left this process short
        embedding_model.predict_on_batch(padded)
    everyone = distributed.gather(mine)  # (processes, rows_each, E)
    embeddings = np.zeros((len(paths), mine.shape[-1]), np.float32)
    for process in range(count):
        rows = np.arange(process, len(paths), count)
        embeddings[rows] = everyone[process, : len(rows)]
    if distributed.is_chief():
        _util.write_bytes_atomically(path, lambda file: np.save(file, embeddings))
    distributed.barrier("colornet-embeddings")
    return np.load(path, mmap_mode="r")


def _distribution_strategy(distribution):
    """A tf.distribute strategy for "mirrored"; None for "none" and for "data_parallel",
    which sets Keras's distribution instead (`distributed.data_parallel`)."""
    if distribution == "none":
        return None
    if distribution == "data_parallel":
        distributed.data_parallel("; 'mirrored' shares the GPUs of one machine on TensorFlow")
        return None
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"distribution={distribution!r} uses tf.distribute and needs KERAS_BACKEND=tensorflow"
        )
    import tensorflow as tf

    # Every local GPU; with none, every logical CPU device (how the tests split the CPU).
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])
