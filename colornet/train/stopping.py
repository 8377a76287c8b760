"""Stopping a run whose loss diverged: one callback for every training loop of colornet."""

import keras
import numpy as np


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop at the first NaN or infinite loss, before anything is saved from it.

    Keras's TerminateOnNaN lets the epoch end, and its end saves checkpoints; raising here
    leaves the last good ones untouched. `message(loss, epoch, batch)` (1-based) says what
    went wrong in the caller's words; `error` is the exception raised. With `per="epoch"`
    the loss is checked at the end of each Keras epoch (Version 1's step) instead.
    """

    def __init__(self, message, error=ValueError, per="batch"):
        super().__init__()
        self.message, self.error, self.per = message, error, per
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.per == "batch":
            self._check(logs, batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.per == "epoch":
            self._check(logs, None)

    def _check(self, logs, batch):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            raise self.error(self.message(float(loss), self.epoch + 1,
                                          None if batch is None else batch + 1))
