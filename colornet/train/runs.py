"""The run folder: where one training run of the final version keeps everything.

    RUN/config.json              the `TrainingConfig` (resuming reads it back)
    RUN/split.json               which photos train and which validate, and what was skipped
    RUN/checkpoints/state.npz    the training state, every epoch (`colornet.train.state`): the
                                 fusion network's weights and the optimizer's by variable path
                                 (the frozen backbone is rebuilt, not saved), and a header with
                                 the epochs it ends, the best loss so far and who wrote it
    RUN/embeddings.npy           with cache_embeddings: each photo's backbone embedding
    RUN/best.keras               the end-to-end colorizer with the lowest validation loss
    RUN/log.csv                  loss and validation loss per epoch
    RUN/tensorboard/             TensorBoard logs

Every file is written to a temporary name and renamed into place (`_util.atomic_output`), so
killing training at any moment leaves the last complete epoch's checkpoint. One process or
many write the same state file, and any number of processes resumes from it. Runs of earlier
colornets kept `checkpoints/state.json` beside a positional `last.npz` (one process) or a whole
`last.keras` (several); they resume too, and their files go once the first new state is saved.
`colornet.train.loop` fills the folder, `colornet.apps.colorize` and the command line read it.
It imports Keras only to save or restore a state.
"""

import csv
import math
import pathlib

import numpy as np

from colornet import _util, leftovers
from colornet.train.settings import TrainingConfig


class RunFolder:
    """The files of one training run, by what they hold."""

    def __init__(self, path):
        self.path = pathlib.Path(path)

    def __repr__(self):
        return f"RunFolder({str(self.path)!r})"

    config_path = property(lambda self: self.path / "config.json")
    split_path = property(lambda self: self.path / "split.json")
    checkpoint_path = property(lambda self: self.path / "checkpoints" / "state.npz")
    # Earlier colornets' state: epochs and best loss in JSON, beside a positional last.npz
    # or (several processes, or before the backbone was left out) the whole training model.
    legacy_state_path = property(lambda self: self.path / "checkpoints" / "state.json")
    legacy_npz_path = property(lambda self: self.path / "checkpoints" / "last.npz")
    legacy_keras_path = property(lambda self: self.path / "checkpoints" / "last.keras")
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

    def _header(self):
        """The state's header, or an earlier colornet's state.json when only that run's
        checkpoint is there; {} before the first epoch is saved."""
        if self.checkpoint_path.is_file():
            from colornet.train import state

            return state.read_header(self.checkpoint_path)
        if self.legacy_state_path.is_file() and self._legacy_checkpoint() is not None:
            return _util.read_json(self.legacy_state_path, "checkpoint state")
        return {}

    def completed_epochs(self):
        """Epochs the last checkpoint holds: 0 before the first one is complete."""
        return self._header().get("epochs", 0)

    def best_loss(self):
        """The lowest monitored loss of any epoch so far (inf before the first)."""
        return self._header().get("best", math.inf)

    def save_training_state(self, training_model, epochs, best, monitor):
        """Save the state after `epochs` epochs (every process calls this; process 0 writes),
        then remove an earlier colornet's checkpoint files, which it supersedes."""
        from colornet.nets import models
        from colornet.train import distributed, state

        state.save(
            self.checkpoint_path, models.fusion_network(training_model), training_model.optimizer,
            epochs=epochs, best=best, monitor=monitor,
        )
        if distributed.is_chief():
            for path in (self.legacy_state_path, self.legacy_npz_path, self.legacy_keras_path):
                path.unlink(missing_ok=True)

    def restore_training_state(self, training_model, learning_rate):
        """Weights and optimizer state as the last complete epoch left them, except the
        learning rate: `learning_rate`, which a resumed run may change (the saved optimizer
        holds the old). Any number of processes restores any state; StateError (one line)
        when the state does not fit the network or cannot be read."""
        from colornet.nets import models
        from colornet.train import state

        optimizer = training_model.optimizer
        optimizer.build(training_model.trainable_variables)
        if self.checkpoint_path.is_file():
            state.restore(self.checkpoint_path, models.fusion_network(training_model), optimizer)
        else:
            self._restore_legacy(training_model)
        optimizer.learning_rate = learning_rate

    def _legacy_checkpoint(self):
        """An earlier colornet's checkpoint file: the newer of last.npz and last.keras when
        both are there (a run resumed on another number of processes wrote the other)."""
        paths = [p for p in (self.legacy_npz_path, self.legacy_keras_path) if p.is_file()]
        return max(paths, key=lambda path: path.stat().st_mtime_ns, default=None)

    def _restore_legacy(self, training_model):
        """Read an earlier colornet's checkpoint: positional weight_{i}/optimizer_{i} arrays
        of the fusion network and the optimizer, or a whole training model in a .keras file."""
        import keras

        from colornet.nets import models
        from colornet.train import state

        path, optimizer = self._legacy_checkpoint(), training_model.optimizer
        try:
            if path.suffix == ".npz":
                fusion = models.fusion_network(training_model)
                with np.load(path) as saved:
                    weights = [saved[f"weight_{i}"] for i in range(len(fusion.weights))]
                    values = [saved[f"optimizer_{i}"] for i in range(len(optimizer.variables))]
                fusion.set_weights(weights)
            else:
                saved = keras.saving.load_model(path, safe_mode=True)
                training_model.set_weights(saved.get_weights())
                values = [keras.ops.convert_to_numpy(v) for v in saved.optimizer.variables]
            for variable, value in zip(optimizer.variables, values, strict=True):
                variable.assign(value)
        except state.UNREADABLE as error:
            raise state.StateError(
                f"{path} (an earlier colornet's checkpoint) does not fit this run "
                f"({_util.first_line(error)}): resume with the colornet and settings that "
                "wrote it, or start a new run folder"
            ) from None

    def best_epoch(self):
        """(epoch counted from 1, "validation loss" or "loss", its value) of the run's best
        model over all its sessions, from log.csv; None before the first epoch ends."""
        history = self.history()
        monitor = "val_loss" if history.get("val_loss") else "loss"
        # An epoch logged without the value (Keras writes "NA") cannot be the best.
        values = [value if math.isfinite(value) else math.inf for value in history.get(monitor, [])]
        if not values or min(values) == math.inf:
            return None
        best = min(range(len(values)), key=values.__getitem__)
        label = "validation loss" if monitor == "val_loss" else "loss"
        return history["epoch"][best] + 1, label, values[best]

    def remove_stale_files(self):
        """Remove what a killed session of this run left half-written (its temporaries).

        Only where one process trains: in a job of several machines another machine's live
        temporary would look like a dead process's here."""
        from colornet.train import distributed

        if distributed.process_count() == 1:
            leftovers.remove_stale_temporaries(self.path)

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
