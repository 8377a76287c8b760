"""The files of a recipe run folder: the log, the checkpoint and what each epoch's end writes.

    RUN/config.json       the settings, fixed once the first epoch is saved
    RUN/checkpoint.npz    the decoder's weights and the optimizer's variables, keyed by
                          variable path as `colornet.train.state` keys them, and the epoch
    RUN/epochs/epoch-NNN.npz   each epoch's decoder weights
    RUN/log.csv           a row an epoch: the loss, and the validation split's scores

In a job of several processes every variable is replicated, so process 0 writes these alone.
"""

import csv
import json
import pathlib

import keras
import numpy as np

from colornet import _util
from colornet.nets import lite_unet
from colornet.pretrained import scoring
from colornet.train import distributed, state

CONFIG_NAME, CHECKPOINT_NAME, LOG_NAME = "config.json", "checkpoint.npz", "log.csv"
CLASS_WEIGHTS_NAME = "class_weights.npy"


def read_log(run_dir):
    """log.csv's rows as dicts of floats (epoch as int); [] before the first epoch."""
    path = pathlib.Path(run_dir) / LOG_NAME
    if not path.is_file():
        return []
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return [{key: int(value) if key == "epoch" else float(value)
             for key, value in row.items() if value not in ("", None)} for row in rows]


def restore(model, run_dir):
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


def save_checkpoint(model, run_dir, epoch):
    arrays = {f"model/{k}": v for k, v in lite_unet.trainable_weights_dict(model).items()}
    arrays |= {f"optimizer/{state.optimizer_key(variable)}": keras.ops.convert_to_numpy(variable)
               for variable in model.optimizer.variables}
    arrays["epoch"] = np.array(epoch)
    _util.write_bytes_atomically(run_dir / CHECKPOINT_NAME, lambda file: np.savez(file, **arrays))


class EpochEnd(keras.callbacks.Callback):
    """After each epoch: validation scores, the epoch's weights, log.csv, then the checkpoint
    (last, so a kill in between redoes the epoch rather than skipping its log row).

    In a job of several processes, process 0 alone scores (on its own first device, outside
    the job's mesh) and writes; the others wait for it, so all start the next epoch together.
    """

    def __init__(self, run_dir, config, validation_paths):
        super().__init__()
        self.run_dir, self.config, self.validation_paths = run_dir, config, validation_paths
        self.colorizer = None

    def on_epoch_end(self, epoch, logs=None):
        if distributed.is_chief():
            self._write(epoch, logs)
        distributed.barrier(f"colornet-epoch-{epoch + 1}")

    def _write(self, epoch, logs):
        row = {"epoch": epoch + 1, "loss": float((logs or {}).get("loss", float("nan")))}
        weights = lite_unet.trainable_weights_dict(self.model)
        if self.validation_paths:
            with distributed.local_variables():
                row |= {f"val_{name}": value for name, value in self._score(weights).items()}
        _util.write_bytes_atomically(self.run_dir / "epochs" / f"epoch-{epoch + 1:03d}.npz",
                                     lambda file: np.savez(file, **weights))
        append_log(self.run_dir / LOG_NAME, row)
        save_checkpoint(self.model, self.run_dir, epoch + 1)
        print(json.dumps(row), flush=True)

    def _score(self, weights):
        # The trunk trains at the crop size; photos are scored by one of any size, with no
        # hints (a hint-aware network's automatic colours).
        if self.colorizer is None:
            self.colorizer = lite_unet.colorizer(lite_unet.trunk(
                self.config.variant, "imagenet", self.config.head,
                hints=self.config.hints, reference=self.config.hints))
        lite_unet.set_trainable_weights(self.colorizer.get_layer(lite_unet.TRUNK_NAME), weights)
        return scoring.score_photos(self.colorizer, self.validation_paths,
                                    self.config.working_size)


def append_log(path, row):
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
