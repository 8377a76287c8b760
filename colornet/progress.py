"""Progress bars for training, in whole steps and epochs.

tqdm's own Keras callback counted Version 1's steps as "epoch/s" and showed the final
version's batches as "0batch" and "1.00/4.00"; these count what a user thinks in.
"""

import sys

import keras
import tqdm


class StepBar(keras.callbacks.Callback):
    """Version 1's bar: one Keras epoch is one step over the photo."""

    def __init__(self, steps, desc="training"):
        super().__init__()
        self.steps, self.desc, self.bar = steps, desc, None

    def on_train_begin(self, logs=None):
        self.bar = tqdm.tqdm(total=self.steps, desc=self.desc, unit="step")

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(1)
        if logs and "loss" in logs:
            self.bar.set_postfix(loss=f"{logs['loss']:.2e}", refresh=False)

    def on_train_end(self, logs=None):
        self.bar.close()


class EpochBars(keras.callbacks.Callback):
    """The final version's bars: epochs overall, and the steps (batches) of this epoch."""

    def __init__(self, epochs, initial_epoch, steps_per_epoch):
        super().__init__()
        self.epochs, self.initial_epoch = epochs, initial_epoch
        self.steps_per_epoch = steps_per_epoch
        self.epoch_bar = self.step_bar = None

    def on_train_begin(self, logs=None):
        self.epoch_bar = tqdm.tqdm(
            total=self.epochs, initial=self.initial_epoch, desc="training", unit="epoch"
        )

    def on_epoch_begin(self, epoch, logs=None):
        self.step_bar = tqdm.tqdm(
            total=self.steps_per_epoch, desc=f"epoch {epoch + 1}", unit="step", leave=False
        )

    def on_train_batch_end(self, batch, logs=None):
        self.step_bar.update(1)
        if logs and "loss" in logs:
            self.step_bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        self.step_bar.close()
        self.epoch_bar.update(1)
        shown = {name: f"{value:.4f}" for name, value in (logs or {}).items() if "loss" in name}
        self.epoch_bar.set_postfix(shown, refresh=False)

    def on_train_end(self, logs=None):
        self.epoch_bar.close()


def close_all():
    """Finish every open bar's line, so that an error printed next starts on its own line."""
    bars = getattr(tqdm.tqdm, "_instances", ())
    for bar in list(bars):
        bar.close()
    sys.stderr.flush()
