"""Saving as training goes: after every epoch the training state (`RunFolder`'s one format)
and, when the epoch is the best so far, the colorizer; each atomically.
"""

import keras

from colornet.nets import models
from colornet.train import distributed


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
        self.run.save_training_state(self.model, epoch + 1, self.best, self.monitor)


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
