"""The run folder: where one training run of the final version keeps everything.

    RUN/config.json              the `TrainingConfig` (resuming reads it back)
    RUN/split.json               which photos train and which validate, and what was skipped
    RUN/checkpoints/last.npz     the training state, every epoch: the fusion network's weights
                                 and the optimizer's (the frozen backbone is rebuilt, not saved)
    RUN/checkpoints/state.json   the epochs that checkpoint ends, and the best loss so far
    RUN/embeddings.npy           with cache_embeddings: each photo's backbone embedding
    RUN/best.keras               the end-to-end colorizer with the lowest validation loss
    RUN/log.csv                  loss and validation loss per epoch
    RUN/tensorboard/             TensorBoard logs

Every file is written to a temporary name and renamed into place (`_util.atomic_output`), so
killing training at any moment leaves the last complete epoch's checkpoint. This module only
knows the layout; `colornet.train.loop` fills it, `colornet.apps.colorize` and the command line
read it.
It imports no Keras.
"""

import csv
import math
import pathlib

from colornet import _util
from colornet.train.settings import TrainingConfig


class RunFolder:
    """The files of one training run, by what they hold."""

    def __init__(self, path):
        self.path = pathlib.Path(path)

    def __repr__(self):
        return f"RunFolder({str(self.path)!r})"

    config_path = property(lambda self: self.path / "config.json")
    split_path = property(lambda self: self.path / "split.json")
    checkpoint_path = property(lambda self: self.path / "checkpoints" / "last.npz")
    # Before checkpoints left the frozen backbone out: the whole training model.
    legacy_checkpoint_path = property(lambda self: self.path / "checkpoints" / "last.keras")
    state_path = property(lambda self: self.path / "checkpoints" / "state.json")
    embeddings_path = property(lambda self: self.path / "embeddings.npy")
    class_weights_path = property(lambda self: self.path / "class_weights.npy")
    best_model_path = property(lambda self: self.path / "best.keras")
    log_path = property(lambda self: self.path / "log.csv")
    tensorboard_dir = property(lambda self: self.path / "tensorboard")

    @classmethod
    def holding_a_model(cls, path):
        """The run folder at `path`, or None when `path` is not a folder; ValueError when it
        is a folder without a best model."""
        path = pathlib.Path(path)
        if not path.is_dir():
            return None
        run = cls(path)
        if not run.best_model_path.is_file():
            raise ValueError(
                f"{path} is a folder but not a training run (no {run.best_model_path.name} in it)"
            )
        return run

    def has_config(self):
        return self.config_path.is_file()

    def load_config(self):
        return TrainingConfig.load(self.config_path)

    def save_config(self, config):
        config.save(self.config_path)

    def split(self):
        """(train paths, validation paths) as the run's first session chose them, or None."""
        if not self.split_path.is_file():
            return None
        saved = _util.read_json(self.split_path, "split file")
        train = [pathlib.Path(path) for path in saved["train"]]
        return train, [pathlib.Path(path) for path in saved["validation"]]

    def save_split(self, train, validation, *, skipped_grey=(), skipped_unreadable=()):
        _util.write_json_atomically(
            self.split_path,
            {
                "train": [str(path) for path in train],
                "validation": [str(path) for path in validation],
                "skipped_grey": [str(path) for path in skipped_grey],
                "skipped_unreadable": [[str(path), reason] for path, reason in skipped_unreadable],
            },
        )

    def _state(self):
        checkpoint = self.checkpoint_path.is_file() or self.legacy_checkpoint_path.is_file()
        if not (self.state_path.is_file() and checkpoint):
            return {}
        return _util.read_json(self.state_path, "checkpoint state")

    def completed_epochs(self):
        """Epochs the last checkpoint holds: 0 before the first one is complete."""
        return self._state().get("epochs", 0)

    def best_loss(self):
        """The lowest monitored loss of any epoch so far (inf before the first)."""
        return self._state().get("best", math.inf)

    def save_state(self, epochs, best, monitor):
        """Record a complete checkpoint. Written last, so it only ever names a whole one."""
        _util.write_json_atomically(
            self.state_path, {"epochs": epochs, "best": best, "monitor": monitor}
        )

    def describe(self):
        """One line per file or folder of the run, with its size in bytes."""
        lines = [f"{self.path}/"]
        for path in sorted(self.path.iterdir()):
            files = path.rglob("*") if path.is_dir() else [path]
            size = sum(file.stat().st_size for file in files if file.is_file())
            lines.append(f"  {path.name + '/' * path.is_dir():14} {size:>13,} bytes")
        return "\n".join(lines)

    def history(self):
        """The loss log of every session so far: {"epoch": [...], "loss": [...], ...} as
        floats (epochs as ints), from log.csv; empty before the first epoch ends."""
        if not self.log_path.is_file():
            return {}
        with open(self.log_path, newline="") as file:
            rows = list(csv.DictReader(file))
        columns = rows[0].keys() if rows else ()
        return {
            column: [int(row[column]) if column == "epoch" else _float(row[column]) for row in rows]
            for column in columns
        }


def _float(text):
    """A logged value; Keras's CSVLogger writes "NA" for one an epoch did not produce."""
    return float("nan") if text in ("", "NA") else float(text)
