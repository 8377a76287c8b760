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

import csv
import dataclasses
import datetime
import json
import pathlib
import shutil

import keras
import numpy as np

from colornet import _util, color, metrics, pretrained
from colornet import corpus as _corpus
from colornet.apps import colorize, evaluation
from colornet.io import decode
from colornet.nets import lite_unet, zhang
from colornet.pretrained.settings import RecipeConfig
from colornet.train import pipeline, state, stopping

CONFIG_NAME, CHECKPOINT_NAME, LOG_NAME = "config.json", "checkpoint.npz", "log.csv"
CLASS_WEIGHTS_NAME = "class_weights.npy"
# Settings a resumed run may change: more epochs only extend it.
_CHANGEABLE = ("epochs",)


class RecipeError(ValueError):
    """A run folder that cannot be used as asked (one line, with the remedy)."""


def train(corpus_dir, run_dir, config=None, progress=True, until=None):
    """Train (or resume) the pretrained colorizer on a corpus's train split.

    Args:
        corpus_dir: a folder built by `colornet corpus` (its MANIFEST decides the split).
        run_dir: the run folder (see the module docstring); created if need be.
        config: a `RecipeConfig`; None: the run's own config, or the defaults for a new run.
        progress: show progress bars.
        until: stop after this epoch (a chunk of a longer run; the schedule stays the
            config's); None: train all `config.epochs`.

    Returns:
        The rows of `log.csv`, one per epoch so far (dicts).
    """
    run_dir = pathlib.Path(run_dir)
    config = _run_config(run_dir, config).check()
    # A run that has saved an epoch keeps the photos it listed; a new one lists them afresh.
    train_paths = pipeline.corpus_photos(corpus_dir, "train", run_dir, progress=progress,
                                         reuse=(run_dir / CHECKPOINT_NAME).is_file())
    validation_paths = _corpus.split_paths(corpus_dir, "validation")
    if not train_paths:
        raise RecipeError(f"{corpus_dir} has no training photos: rebuild it with "
                          f"`colornet corpus {corpus_dir}`")
    source = pipeline.PhotoSource(train_paths, run_dir)
    try:
        source.check_readable(f"{corpus_dir}'s train split")
    except pipeline.PipelineError as error:
        raise RecipeError(str(error)) from None
    class_weights = _class_weights(run_dir, config, source, progress)
    keras.utils.set_random_seed(config.seed)  # the decoder's first weights, too
    model = lite_unet.trunk(config.variant, "imagenet", config.head, config.crop_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, config.epochs * config.steps_per_epoch, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=_loss(config, class_weights))
    done = _restore(model, run_dir)
    last = config.epochs if until is None else min(until, config.epochs)
    if done >= last:
        return read_log(run_dir)
    dataset = pipeline.crop_batches(source, config.crop_size, config.batch_size,
                                    config.steps_per_epoch, config.min_scale, config.seed,
                                    first_epoch=done)
    config_path = run_dir / CONFIG_NAME
    _util.write_json_atomically(config_path, dataclasses.asdict(config))
    (run_dir / "epochs").mkdir(exist_ok=True)
    model.fit(
        # Batch s of epoch e is drawn from (seed, e, s): the dataset starts at epoch `done`.
        dataset, steps_per_epoch=config.steps_per_epoch, epochs=last, initial_epoch=done,
        verbose=1 if progress else 0, shuffle=False,  # a dataset's order is its own
        callbacks=[
            _stop_on_non_finite_loss(),
            _EpochEnd(run_dir, config, validation_paths),
            pipeline.SkippedReport(source),
        ],
    )
    return read_log(run_dir)


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


def read_log(run_dir):
    """log.csv's rows as dicts of floats (epoch as int); [] before the first epoch."""
    path = pathlib.Path(run_dir) / LOG_NAME
    if not path.is_file():
        return []
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return [{key: int(value) if key == "epoch" else float(value)
             for key, value in row.items() if value not in ("", None)} for row in rows]


def score_photos(model, paths, working_size=256):
    """Scores of a colorizer on whole colour photos, beside leaving them grey.

    Returns:
        {"psnr", "grey_psnr", "ssim", "ab_error", "colourfulness"}: means over the photos;
        "colourfulness" is the results' mean colourfulness over the originals' (grey is 0).
    """
    rows = []
    for path in paths:
        original, _ = decode.load_reduced_rgb(path, evaluation.SCORED_PIXELS)
        result = colorize.colorize(model, original, working_size=working_size)
        rows.append((
            metrics.psnr(original, result),
            metrics.psnr(original, metrics.grey_baseline(original)),
            metrics.ssim(original, result),
            metrics.ab_error(original, result),
            metrics.colourfulness(result),
            metrics.colourfulness(original),
        ))
    psnr, grey, ssim, ab_error, colourful, original_colourful = np.mean(rows, axis=0)
    return {"psnr": float(psnr), "grey_psnr": float(grey), "ssim": float(ssim),
            "ab_error": float(ab_error), "colourfulness": float(colourful / original_colourful)}


# Annealed-mean temperatures tried on the validation split: lower is more vivid (the mode),
# higher is safer (the mean); Zhang et al. chose 0.38 on ImageNet.
TEMPERATURES = (0.2, 0.3, 0.38, 0.5, 0.7, 1.0)
# The colourfulness (share of the originals') a chosen temperature must keep.
MIN_COLOURFULNESS = 0.6


def choose_temperature(trunk_model, validation_paths, working_size=256,
                       temperatures=TEMPERATURES, min_colourfulness=MIN_COLOURFULNESS):
    """The annealed-mean temperature with the best validation PSNR among those that keep
    `min_colourfulness` of the originals' colourfulness (the most colourful if none does).

    Returns:
        (temperature, {temperature: scores}).
    """
    table = {t: score_photos(lite_unet.colorizer(trunk_model, t), validation_paths, working_size)
             for t in temperatures}
    vivid = [t for t in temperatures if table[t]["colourfulness"] >= min_colourfulness]
    if vivid:
        return max(vivid, key=lambda t: table[t]["psnr"]), table
    return max(temperatures, key=lambda t: table[t]["colourfulness"]), table


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
        lab = np.asarray(color.rgb_to_lab(photo[::step, ::step].astype(np.float32) / 255.0))
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


def _restore(model, run_dir):
    """Load the checkpoint into the model and its optimizer; the number of epochs done."""
    path = run_dir / CHECKPOINT_NAME
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    if not path.is_file():
        return 0
    with np.load(path) as saved:
        arrays = dict(saved)
    epoch = int(arrays.pop("epoch"))
    lite_unet.set_trainable_weights(
        model, {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")})
    optimizer_arrays = {k[len("optimizer/"):]: v for k, v in arrays.items()
                        if k.startswith("optimizer/")}
    variables = {state.optimizer_key(variable): variable for variable in optimizer.variables}
    state.assign(variables, optimizer_arrays, path)  # every key and shape checked first
    return epoch


def _save_checkpoint(model, run_dir, epoch):
    arrays = {f"model/{k}": v for k, v in lite_unet.trainable_weights_dict(model).items()}
    arrays |= {f"optimizer/{state.optimizer_key(variable)}": keras.ops.convert_to_numpy(variable)
               for variable in model.optimizer.variables}
    arrays["epoch"] = np.array(epoch)
    _util.write_bytes_atomically(run_dir / CHECKPOINT_NAME, lambda file: np.savez(file, **arrays))


def _stop_on_non_finite_loss():
    """Stop at the first NaN loss, before the epoch's end saves anything from it."""

    def message(loss, epoch, batch):
        return (f"the loss became {loss} at batch {batch}; the last checkpoint is intact: "
                "resume with a lower learning rate")

    return stopping.StopOnNonFiniteLoss(message, RecipeError)


class _EpochEnd(keras.callbacks.Callback):
    """After each epoch: validation scores, the epoch's weights, log.csv, then the checkpoint
    (last, so a kill in between redoes the epoch rather than skipping its log row)."""

    def __init__(self, run_dir, config, validation_paths):
        super().__init__()
        self.run_dir, self.config, self.validation_paths = run_dir, config, validation_paths
        self.colorizer = None

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "loss": float((logs or {}).get("loss", float("nan")))}
        weights = lite_unet.trainable_weights_dict(self.model)
        if self.validation_paths:
            # The trunk trains at the crop size; photos are scored by one of any size.
            if self.colorizer is None:
                self.colorizer = lite_unet.colorizer(
                    lite_unet.trunk(self.config.variant, "imagenet", self.config.head))
            lite_unet.set_trainable_weights(self.colorizer.get_layer(lite_unet.TRUNK_NAME),
                                            weights)
            scores = score_photos(self.colorizer, self.validation_paths,
                                  self.config.working_size)
            row |= {f"val_{name}": value for name, value in scores.items()}
        _util.write_bytes_atomically(self.run_dir / "epochs" / f"epoch-{epoch + 1:03d}.npz",
                                     lambda file: np.savez(file, **weights))
        _append_log(self.run_dir / LOG_NAME, row)
        _save_checkpoint(self.model, self.run_dir, epoch + 1)
        print(json.dumps(row), flush=True)


def _append_log(path, row):
    """Add a row to log.csv, rewriting it whole (atomically) without rows of this epoch or later."""
    rows = [old for old in read_log(path.parent) if old["epoch"] < row["epoch"]] + [row]
    fields = list(dict.fromkeys(key for each in rows for key in each))
    lines = [",".join(fields)] + [",".join(_csv_value(each.get(key)) for key in fields)
                                  for each in rows]
    _util.write_bytes_atomically(path, lambda file: file.write(("\n".join(lines) + "\n").encode()))


def _csv_value(value):
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:.6g}"
