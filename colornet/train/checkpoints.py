"""A run's training state on disk: saved after every epoch with the best colorizer so far,
each atomically, and restored when the run resumes (`colornet.train.runs.RunFolder` names the
files).
"""

import keras
import numpy as np

from colornet import _util
from colornet.nets import models
from colornet.train import distributed


def restore(training_model, run, learning_rate):
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


def _save_model_atomically(model, path):
    # Every process saves (under JAX, saving gathers the variables); process 0's file is kept.
    with distributed.chief_output(path) as temporary:
        model.save(temporary)
