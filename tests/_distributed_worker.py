"""One process of a test's training job: `python -m tests._distributed_worker SPEC.json`.

SPEC holds the TrainingConfig's fields ("config"), the run folder ("run"), where to save this
process's final weights ("weights", "{process}" replaced by its id), optionally where to save
the weights it starts training from ("start_weights": after a resume, the restored ones) and
where this process kills itself ("kill_at": [epoch, batch], SIGKILL, like a power cut). The
job comes from COLORNET_COORDINATOR / _NUM_PROCESSES / _PROCESS_ID, as for `colornet train`.
"""

import json
import os
import signal
import sys

from colornet.train import distributed

cluster = distributed.cluster_from()
if cluster is not None:
    distributed.initialize(cluster)  # before any JAX work

import keras  # noqa: E402
import numpy as np  # noqa: E402

from colornet.train import loop, settings  # noqa: E402


class KillAt(keras.callbacks.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.kill_epoch, self.kill_batch = epoch, batch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == (self.kill_epoch, self.kill_batch):
            os.kill(os.getpid(), signal.SIGKILL)


class SaveWeights(keras.callbacks.Callback):
    """Every weight of the training model, flattened into one float32 vector, when training
    ends (or, with at_start, when it begins)."""

    def __init__(self, path, at_start=False):
        super().__init__()
        self.path, self.at_start = path, at_start

    def on_train_begin(self, logs=None):
        if self.at_start:
            self._save()

    def on_train_end(self, logs=None):
        if not self.at_start:
            self._save()

    def _save(self):
        np.save(self.path, np.concatenate([np.ravel(w) for w in self.model.get_weights()]))


spec = json.loads(open(sys.argv[1]).read())
callbacks = []
if spec.get("weights"):
    callbacks.append(SaveWeights(spec["weights"].format(process=distributed.process_index())))
if spec.get("start_weights"):
    path = spec["start_weights"].format(process=distributed.process_index())
    callbacks.append(SaveWeights(path, at_start=True))
if spec.get("kill_at") and distributed.process_index() == spec.get("kill_process", 1):
    callbacks.append(KillAt(*spec["kill_at"]))
result = loop.train(
    settings.TrainingConfig(**spec["config"]), spec["run"], progress=False, callbacks=callbacks
)
print(json.dumps({"process": distributed.process_index(), **result.history}))
