"""The training state as one self-describing file, whatever the number of processes.

    STATE.npz   "header"              JSON: format, epochs, best, monitor, processes, backend
                "weights/PATH"        every weight of the network that trains, by variable path
                "optimizer/PATH"      every optimizer variable, by its path without the
                                      optimizer's own name (Keras numbers it: "adam_1")

Keyed by `variable.path`, not by position, so a file names what it holds and a network that
changed is told apart from one that did not. Under `distribution="data_parallel"` every
variable is replicated on every device of every process, so each process holds the whole
value and process 0 writes it alone; a file written by N processes resumes on M.
`colornet.train.runs.RunFolder` says where a run keeps it; `colornet.pretrained.recipe` keys
its checkpoint the same way (`optimizer_key`, `assign`).
"""

import json
import zipfile

import keras
import numpy as np

from colornet import _util
from colornet.errors import ColornetError
from colornet.train import distributed

# What a broken or cut-short .npz raises when read.
UNREADABLE = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)
# 2: keyed by variable path with a header. 1 (no header): positional weight_{i}/optimizer_{i}.
FORMAT = 2
HEADER = "header"


class StateError(ColornetError, ValueError):
    """A training state that cannot be used as asked: one line with the remedy."""


def optimizer_key(variable):
    """An optimizer variable's path without the optimizer's own name, which Keras numbers
    ("adam_1") when a process builds more than one."""
    return variable.path.split("/", 1)[-1]


def keyed_variables(network, optimizer):
    """{key: variable} of `network`'s weights ("weights/PATH") and the optimizer's
    ("optimizer/PATH"), the optimizer built for the network if it was not yet."""
    if not optimizer.built:
        optimizer.build(network.trainable_variables)
    keyed = {f"weights/{variable.path}": variable for variable in network.weights}
    keyed |= {f"optimizer/{optimizer_key(variable)}": variable for variable in optimizer.variables}
    if len(keyed) != len(network.weights) + len(optimizer.variables):
        raise ValueError(f"{network.name} has variables of the same path: name its layers")
    return keyed


def save(path, network, optimizer, **header):
    """Write the state of `network` and `optimizer`, with `header` (epochs, best, ...), to
    `path` atomically: process 0 writes, every process returns once the file is whole."""
    arrays = {
        key: keras.ops.convert_to_numpy(variable)  # replicated: the whole value, everywhere
        for key, variable in keyed_variables(network, optimizer).items()
    }
    header = {
        "format": FORMAT, **header, "processes": distributed.process_count(),
        "keras_backend": keras.backend.backend(),
    }
    arrays[HEADER] = np.array(json.dumps(header))
    if distributed.is_chief():
        _util.write_bytes_atomically(path, lambda file: np.savez(file, **arrays))
    distributed.barrier("colornet-training-state")


def read_header(path):
    """The header of the state at `path` (a dict); StateError when it is not one."""
    try:
        with np.load(path) as saved:
            header = json.loads(str(saved[HEADER])) if HEADER in saved.files else None
    except UNREADABLE as error:
        raise _unreadable(path, error) from None
    if not isinstance(header, dict):
        raise _unreadable(path, "no header")
    if header.get("format", 0) > FORMAT:
        raise StateError(
            f"{path} was written by a newer colornet (state format {header['format']}, this "
            f"one reads up to {FORMAT}): upgrade colornet to resume it"
        )
    return header


def restore(path, network, optimizer):
    """Load the state at `path` into `network` and `optimizer`; returns its header.
    Every key and shape is checked before any variable changes."""
    header = read_header(path)
    try:
        with np.load(path) as saved:
            arrays = {key: saved[key] for key in saved.files if key != HEADER}
    except UNREADABLE as error:
        raise _unreadable(path, error) from None
    assign(keyed_variables(network, optimizer), arrays, path)
    return header


def assign(variables, arrays, path):
    """Assign {key: array} to {key: variable}, after checking that the keys and shapes
    match; StateError naming the first difference otherwise."""
    missing, unknown = sorted(set(variables) - set(arrays)), sorted(set(arrays) - set(variables))
    wrong = [key for key in variables if key in arrays
             and tuple(arrays[key].shape) != tuple(variables[key].shape)]
    if missing or unknown or wrong:
        said = (f"{len(missing)} variables missing ({missing[0]}, ...)" if missing
                else f"{len(unknown)} unknown ({unknown[0]}, ...)" if unknown
                else f"{wrong[0]} is {tuple(arrays[wrong[0]].shape)}, the network's "
                     f"{tuple(variables[wrong[0]].shape)}")
        raise StateError(
            f"{path} does not fit this network: {said}; resume with the settings it was "
            "trained with, or start a new run folder"
        )
    for key, variable in variables.items():
        variable.assign(np.asarray(arrays[key], dtype=variable.dtype))


def _unreadable(path, error):
    return StateError(
        f"{path} is not a readable training state ({_util.first_line(error)}): delete it "
        "to train the run anew from epoch 1, or give a new run folder"
    )
