"""The recipe of the pretrained colorizer: train `lite_unet` on the corpus, resumably.

    corpus train split → random crops streamed from disk (`colornet.train.pipeline`) → trunk
      → Zhang loss (or MSE)
    after every epoch: the checkpoint (atomic), the decoder's weights, scores on the
    validation split's whole photos beside leaving them grey; `log.csv` gets a row

A run folder holds everything: `config.json` (fixed once the first epoch is saved),
`photos.txt` (the training photos, listed once), `skipped.txt` (those that could not be read,
if any), `class_weights.npy`, `checkpoint.npz` (the decoder's weights and the optimizer's variables,
keyed by variable path as `colornet.train.state` keys them, and the epoch),
`epochs/epoch-NNN.npz`, `log.csv`. Killed at any moment, the same command resumes from the
last complete epoch; a run that ended resumes to train more epochs when asked for more.
`export` turns one epoch into the files that ship.
"""

import dataclasses
import datetime
import pathlib
import shutil

import keras
import numpy as np

from colornet import _util, color, pretrained
from colornet import corpus as _corpus
from colornet.errors import ColornetError
from colornet.nets import lite_unet, zhang
from colornet.nets import precision as precisions
from colornet.pretrained import run_files
from colornet.pretrained.run_files import (  # noqa: F401  the recipe's names, where they were
    CHECKPOINT_NAME,
    CLASS_WEIGHTS_NAME,
    CONFIG_NAME,
    LOG_NAME,
    read_log,
)
from colornet.pretrained.scoring import (  # noqa: F401
    MIN_COLOURFULNESS,
    TEMPERATURES,
    choose_temperature,
    score_photos,
)
from colornet.pretrained.settings import RecipeConfig
from colornet.train import distributed, pipeline, stopping

# Settings a resumed run may change: more epochs only extend it; the precision only how fast
# the same network computes.
_CHANGEABLE = ("epochs", "precision")
# What a run with start_from="shipped" starts from instead of a random decoder.
SHIPPED = "shipped"


class RecipeError(ColornetError, ValueError):
    """A run folder that cannot be used as asked (one line, with the remedy)."""


def train(corpus_dir, run_dir, config=None, progress=True, until=None, distribution=None):
    """Train (or resume) the pretrained colorizer on a corpus's train split.

    Args:
        corpus_dir: a folder built by `colornet corpus` (its MANIFEST decides the split), or
            any folder with train/ and validation/ folders of photos, at any depth.
        run_dir: the run folder (see the module docstring); created if need be.
        config: a `RecipeConfig`; None: the run's own config, or the defaults for a new run.
        progress: show progress bars.
        until: stop after this epoch (a chunk of a longer run; the schedule stays the
            config's); None: train all `config.epochs`.
        distribution: None, or "data_parallel": every device of every process of the job
            (Keras's distribution API on JAX; join the job first, `distributed.initialize`).
            config.batch_size is then the global batch, each process streams its share of
            it, and process 0 alone writes the run folder.

    Returns:
        The rows of `log.csv`, one per epoch so far (dicts).
    """
    run_dir = pathlib.Path(run_dir)
    config = _run_config(run_dir, config).check()
    if distribution is not None:
        _check_batch_for_job(config, distribution)
    part = (distributed.process_index(), distributed.process_count())
    chief = part[0] == 0
    progress = progress and chief
    resumed = (run_dir / CHECKPOINT_NAME).is_file()
    # A run that has saved an epoch keeps the photos it listed; a new one lists them afresh
    # (process 0 does; the others read its list).
    train_paths = _chief_first("colornet-photo-list", lambda: pipeline.corpus_photos(
        corpus_dir, "train", run_dir, progress=progress, reuse=resumed or not chief))
    validation_paths = _corpus.split_paths(corpus_dir, "validation")
    if not train_paths:
        raise RecipeError(f"{corpus_dir} has no training photos: rebuild it with "
                          f"`colornet corpus {corpus_dir}`")
    source = pipeline.PhotoSource(train_paths, run_dir,
                                  skipped_name=pipeline.skipped_name(part[0]))
    try:
        source.check_readable(f"{corpus_dir}'s train split")
    except pipeline.PipelineError as error:
        raise RecipeError(str(error)) from None
    class_weights = _chief_first("colornet-class-weights",
                                 lambda: _class_weights(run_dir, config, source, progress))
    model = _network(config)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, config.epochs * config.steps_per_epoch, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=_loss(config, class_weights))
    done = run_files.restore(model, run_dir)
    if not done and config.start_from is not None:
        _start_from(model, config)
    last = config.epochs if until is None else min(until, config.epochs)
    if done >= last:
        return read_log(run_dir)
    dataset = pipeline.crop_batches(source, config.crop_size, config.batch_size,
                                    config.steps_per_epoch, config.min_scale, config.seed,
                                    first_epoch=done, part=part, hints=config.hints)
    if chief:
        _util.write_json_atomically(run_dir / CONFIG_NAME, dataclasses.asdict(config))
        (run_dir / "epochs").mkdir(exist_ok=True)
    model.fit(
        # Batch s of epoch e is drawn from (seed, e, s): the dataset starts at epoch `done`.
        dataset, steps_per_epoch=config.steps_per_epoch, epochs=last, initial_epoch=done,
        verbose=1 if progress else 0, shuffle=False,  # a dataset's order is its own
        callbacks=[
            _stop_on_non_finite_loss(),
            run_files.EpochEnd(run_dir, config, validation_paths),
            pipeline.SkippedReport(source.skipped),
        ],
    )
    return read_log(run_dir)


def _network(config):
    """The trunk to train, in the config's precision; only its hint layers train with
    hints_only."""
    keras.utils.set_random_seed(config.seed)  # the decoder's first weights, too
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precisions.POLICIES[precisions.for_training(config.precision)])
    try:
        model = lite_unet.trunk(config.variant, "imagenet", config.head, config.crop_size,
                                hints=config.hints, reference=config.hints)
    finally:
        keras.config.set_dtype_policy(policy)
    if config.hints_only:
        lite_unet.train_hints_only(model)
    return model


def _check_batch_for_job(config, distribution):
    """Set the job's distribution; RecipeError unless the global batch splits evenly."""
    if distribution != "data_parallel":
        raise RecipeError(f"distribution must be data_parallel or None, got {distribution!r}")
    try:
        distributed.data_parallel()
    except ValueError as error:
        raise RecipeError(str(error)) from None
    _, devices = distributed.device_counts()
    if config.batch_size % devices:
        raise RecipeError(f"batch_size ({config.batch_size}) must be a multiple of the job's "
                          f"{devices} devices: it is the global batch, split between them")


def _chief_first(name, work):
    """`work()` on process 0, then on the others once it is done (they read what it wrote)."""
    if distributed.is_chief():
        result = work()
        distributed.barrier(name)
        return result
    distributed.barrier(name)
    return work()


def _start_from(model, config):
    """A new run's first decoder weights: the shipped model's or an epoch file's. A
    hint-aware network keeps its own hint layers where the weights have none (it starts as
    the automatic colorizer: `lite_unet.set_automatic_weights`)."""
    path = (pretrained.paths()[0] if config.start_from == SHIPPED
            else pathlib.Path(config.start_from))
    try:
        with np.load(path) as saved:
            arrays = {key: saved[key].astype(np.float32) for key in saved.files}
        if config.hints:
            lite_unet.set_automatic_weights(model, arrays)
        else:
            lite_unet.set_trainable_weights(model, arrays)
    except (OSError, ValueError) as error:
        raise RecipeError(f"cannot start from {path}: {_util.first_line(error)}; give "
                          f"start_from='{SHIPPED}' or an epoch-NNN.npz of a run of the same "
                          "network") from None


def export(run_dir, corpus_dir, epoch=None, folder=None, progress=True):
    """Write one epoch of a run as the shipped model (`write_shipped_files`), with the
    annealed mean's temperature chosen on the validation split (`choose_temperature`) and
    the scores on the validation and held-out splits recorded.

    Args:
        epoch: the epoch to export; None: the last complete one.
        folder: where to write; None: colornet's own `pretrained/` folder.

    Returns:
        {"epoch", "temperature", "scores": {split: scores}, "path": the weights file}.
    """
    rows = read_log(run_dir)
    if not rows:
        raise RecipeError(f"{run_dir} has no complete epoch to export: train it first")
    epoch = rows[-1]["epoch"] if epoch is None else epoch
    folder = pretrained.FOLDER if folder is None else pathlib.Path(folder)
    write_shipped_files(run_dir, epoch, corpus_dir, folder=folder)
    trunk = pretrained.load(folder).get_layer(lite_unet.TRUNK_NAME)
    temperature, table = zhang.ANNEALED_TEMPERATURE, {}
    if lite_unet.head_of(trunk) == "classification":
        if progress:
            print("choosing the annealed mean's temperature on the validation photos...")
        temperature, table = choose_temperature(
            trunk, _corpus.split_paths(corpus_dir, "validation"))
    model = lite_unet.colorizer(trunk, temperature)
    scores = {split: score_photos(model, _corpus.split_paths(corpus_dir, split))
              for split in ("validation", "held_out")}
    path = write_shipped_files(run_dir, epoch, corpus_dir, folder=folder, temperature=temperature,
                               scores=scores,
                               temperature_search={str(t): row for t, row in table.items()})
    return {"epoch": epoch, "temperature": temperature, "scores": scores, "path": path}


def write_shipped_files(run_dir, epoch, corpus_dir, *, folder=pretrained.FOLDER,
                        name=pretrained.NAME, temperature=None, scores=None,
                        temperature_search=None):
    """Write one epoch of a recipe run as the shipped files (weights in float16).

    Args:
        run_dir: a `train` run folder.
        epoch: which epoch's weights (1-based).
        corpus_dir: the corpus it was trained on (its MANIFEST's hash is recorded).
        temperature: the annealed mean's (classification head); None: Zhang et al.'s 0.38.
        scores: {split: scores} to record, e.g. {"held_out": score_photos(...)}.
        temperature_search: how the temperature was chosen ({temperature: scores}), to record.

    Returns:
        The weights file's path.
    """
    run_dir = pathlib.Path(run_dir)
    source = run_dir / "epochs" / f"epoch-{epoch:03d}.npz"
    if not source.is_file():
        raise pretrained.PretrainedError(f"{run_dir} has no weights of epoch {epoch}")
    config = RecipeConfig(**_util.read_json(run_dir / CONFIG_NAME, "run config"))
    with np.load(source) as saved:
        arrays = {key: saved[key].astype(np.float16) for key in saved.files}
    weights_path, info_path, log_path = pretrained.paths(folder, name)
    _util.write_bytes_atomically(weights_path, lambda file: np.savez_compressed(file, **arrays))
    description = {
        "name": name,
        "network": {
            "architecture": "U-Net decoder on a frozen EfficientNet-Lite (colornet.nets.lite_unet)",
            "variant": config.variant,
            "head": config.head,
            "temperature": temperature or zhang.ANNEALED_TEMPERATURE,
            "working_size": config.working_size,
            "hints": config.hints,  # point hints and a reference photo (`load` builds them)
            "decoder_parameters": int(sum(array.size for array in arrays.values())),
            "weights_dtype": "float16",
        },
        "trained_on": {
            "corpus_manifest_sha256": _manifest_hash(corpus_dir),
            "split": "train",
            "photos": len(_corpus.split_paths(corpus_dir, "train")),
        },
        "epoch": epoch,
        "recipe": dataclasses.asdict(config),
        "scores": scores or {},
        "temperature_search": temperature_search or {},
        "exported": datetime.date.today().isoformat(),
    }
    _util.write_json_atomically(info_path, description)
    with _util.atomic_output(log_path) as temporary:
        shutil.copyfile(run_dir / LOG_NAME, temporary)
    return weights_path


def _manifest_hash(corpus_dir):
    """The corpus MANIFEST's sha256, or None for a folder of photos without one."""
    try:
        return _corpus.manifest_hash(corpus_dir)
    except _corpus.CorpusError:
        return None


def _run_config(run_dir, config):
    """The config to train with: a new run's, or a resumed one's (checked against `config`)."""
    path = run_dir / CONFIG_NAME
    saved = None
    if path.is_file() and (run_dir / CHECKPOINT_NAME).is_file():
        saved = RecipeConfig(**_util.read_json(path, "run config"))
    if config is None:
        return saved or RecipeConfig()
    if saved is not None:
        changed = [field.name for field in dataclasses.fields(RecipeConfig)
                   if field.name not in _CHANGEABLE
                   and getattr(saved, field.name) != getattr(config, field.name)]
        if changed:
            raise RecipeError(
                f"{run_dir} holds a run trained with other settings ({', '.join(changed)}): "
                "resume it with its own settings, or choose a new run folder")
    return config


def _class_weights(run_dir, config, source, progress):
    """Zhang et al.'s rebalancing weights from the training photos' colours, computed once
    per run (kept in the run folder); None for the regression head. They come from every
    photo up to `pipeline.CLASS_WEIGHT_PHOTOS`, beyond that from that many drawn by the
    seed: a histogram of colours, which a sample estimates, decoded one photo at a time."""
    if config.head != "classification":
        return None
    path = run_dir / CLASS_WEIGHTS_NAME
    if path.is_file():
        return np.load(path)
    samples = []
    for photo in source.sample(pipeline.CLASS_WEIGHT_PHOTOS, config.seed, progress):
        # Every photo counts alike: its ab at 64 px on the shorter side.
        step = max(1, min(photo.shape[:2]) // 64)
        lab = np.asarray(color.rgb_to_lab(_util.to_unit_float(photo[::step, ::step])))
        samples.append(lab[..., 1:].reshape(-1, 2))
    if not samples:
        raise RecipeError(f"none of the photos sampled for the colour histogram could be "
                          f"read (see {source.skipped_path}): replace them")
    weights = zhang.rebalancing_weights(np.concatenate(samples))
    run_dir.mkdir(parents=True, exist_ok=True)
    _util.write_bytes_atomically(path, lambda file: np.save(file, weights))
    return weights


def _loss(config, class_weights):
    if config.head == "classification":
        return zhang.ClassificationLoss(class_weights)
    return _ScaledAbError()


@keras.saving.register_keras_serializable(package="colornet")
class _ScaledAbError(keras.losses.Loss):
    """The write-up's loss on the regression head: mean squared error of ab / 128."""

    def __init__(self, name="scaled_ab_mse", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        error = keras.ops.square(keras.ops.cast(y_true, "float32") / color.AB_SCALE - y_pred)
        return keras.ops.mean(error, axis=(1, 2, 3))


def _stop_on_non_finite_loss():
    """Stop at the first NaN loss, before the epoch's end saves anything from it."""

    def message(loss, epoch, batch):
        return (f"the loss became {loss} at batch {batch}; the last checkpoint is intact: "
                "resume with a lower learning rate")

    return stopping.StopOnNonFiniteLoss(message, RecipeError)
