"""A safe reader of torch's legacy (non-zip) format: nothing in the file is ever called.

The wheels' .pth files are PyTorch state dicts written by torch/serialization.py's
_legacy_save: five pickles and the raw storages. `read_state_dict` unpickles them with an
unpickler that resolves only the few names a state dict of tensors needs, each to a stand-in
that records numbers, and returns the tensors the caller expects as numpy arrays; anything
else in the file is one `WeightsSourceError` naming it. PyTorch is not needed.
"""

import dataclasses
import pathlib
import pickle
import struct

import numpy as np

from colornet import _util
from colornet.nets.efficientnet_lite.variants import WeightsSourceError

# Torch's legacy serialization (torch/serialization.py, _legacy_save): five pickles and the raw
# storages. The first pickle holds this magic number, the second the format's version.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL_VERSION = 1001
# The storage types a float32 state dict can hold, as numpy dtypes (little-endian on disk).
_STORAGE_DTYPES = {"FloatStorage": np.dtype("<f4"), "LongStorage": np.dtype("<i8")}


class _StateDict(dict):
    """Stands in for collections.OrderedDict; ignores the `_metadata` torch attaches to it."""

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("the state dict's attributes are not a dict")


@dataclasses.dataclass(frozen=True)
class _StorageRecord:
    key: str
    dtype: np.dtype
    size: int  # elements


@dataclasses.dataclass(frozen=True)
class _TensorRecord:
    storage: _StorageRecord
    offset: int
    shape: tuple
    strides: tuple  # in elements


def _rebuild_tensor(storage, offset, shape, strides, requires_grad=False, hooks=None, *extra):
    """Stands in for torch._utils._rebuild_tensor_v2: records where the tensor lies."""
    fields_ok = (
        isinstance(storage, _StorageRecord)
        and _util.is_int(offset)
        and offset >= 0
        and isinstance(shape, tuple)
        and isinstance(strides, tuple)
        and len(shape) == len(strides)
        and all(_util.is_int(side) and side >= 0 for side in shape)
        and all(_util.is_int(step) and step >= 0 for step in strides)
        and isinstance(requires_grad, bool)
        and (hooks is None or hooks == {})
        and all(item is None or item == {} for item in extra)
    )
    if not fields_ok:
        raise pickle.UnpicklingError("a tensor record has unexpected fields")
    return _TensorRecord(storage, offset, shape, strides)


class _StorageType:
    def __init__(self, name):
        self.dtype = _STORAGE_DTYPES[name]


# The only globals a state dict's pickle may name, each mapped to a stand-in that records numbers.
_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): _StateDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the few names a torch state dict refers to, to stand-ins of its own."""

    def __init__(self, file, allow_tensors):
        super().__init__(file)
        self._allow_tensors = allow_tensors
        self.storages = {}

    def find_class(self, module, name):
        if self._allow_tensors and (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[module, name]
        raise pickle.UnpicklingError(
            f"it refers to {module}.{name}, which a state dict of tensors never needs"
        )

    def persistent_load(self, persistent_id):
        # ("storage", storage type, key, location, size in elements, view metadata)
        if not self._allow_tensors or not (
            isinstance(persistent_id, tuple)
            and len(persistent_id) == 6
            and persistent_id[0] == "storage"
            and isinstance(persistent_id[1], _StorageType)
            and isinstance(persistent_id[2], str)
            and _util.is_int(persistent_id[4])
            and persistent_id[4] >= 0
            and persistent_id[5] is None
        ):
            raise pickle.UnpicklingError("it holds a reference that is not a plain tensor storage")
        _, storage_type, key, _, size, _ = persistent_id
        record = _StorageRecord(key, storage_type.dtype, size)
        if self.storages.setdefault(key, record) != record:
            raise pickle.UnpicklingError(f"storage {key} is declared twice, differently")
        return record


def _load_pickle(file, allow_tensors=False):
    unpickler = _RestrictedUnpickler(file, allow_tensors)
    return unpickler.load(), unpickler.storages


def read_state_dict(path, expected_shapes):
    """Read a PyTorch state dict saved in torch's legacy (non-zip) format, safely.

    Nothing in the file is executed: the pickles may name only collections.OrderedDict,
    torch._utils._rebuild_tensor_v2 and torch.FloatStorage/LongStorage, and each resolves to a
    stand-in here that records numbers. The tensors must be exactly `expected_shapes`' names
    (BatchNorm's `num_batches_tracked` counters may be there too, and are dropped) with those
    shapes, float32, lying inside their storage.

    Args:
        path: the .pth file.
        expected_shapes: {name: shape tuple}.

    Returns:
        {name: float32 numpy array}, a copy in C order.

    Raises:
        WeightsSourceError: one line naming the file and what is wrong with it.
    """
    path = pathlib.Path(path)
    try:
        with open(path, "rb") as file:
            state_dict = _read_legacy_file(file)
        return _checked_arrays(state_dict, expected_shapes)
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        struct.error,
        OSError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        MemoryError,
        RecursionError,
    ) as error:
        raise WeightsSourceError(
            f"{path} is not a readable EfficientNet-Lite state dict: {_util.first_line(error)}"
        ) from error


def _read_legacy_file(file):
    """The five pickles and the raw storages of torch/serialization.py's _legacy_save."""
    magic, _ = _load_pickle(file)
    if magic != _LEGACY_MAGIC:
        raise ValueError(
            "it does not start with torch's legacy magic number (a zip-format or foreign file)"
        )
    version, _ = _load_pickle(file)
    if version != _LEGACY_PROTOCOL_VERSION:
        raise ValueError(f"its torch format version is {version!r}, not 1001")
    system, _ = _load_pickle(file)
    if not (isinstance(system, dict) and system.get("little_endian") is True):
        raise ValueError("it was not written on a little-endian machine")
    records, storages = _load_pickle(file, allow_tensors=True)
    if not isinstance(records, _StateDict) or not all(
        isinstance(name, str) and isinstance(record, _TensorRecord)
        for name, record in records.items()
    ):
        raise ValueError("its main pickle is not a state dict of tensors")
    keys, _ = _load_pickle(file)
    if not (isinstance(keys, list) and sorted(keys) == sorted(storages)):
        raise ValueError("its list of storages does not match the tensors")
    data = {}
    for key in keys:
        (size,) = struct.unpack("<q", _read_exactly(file, 8))
        storage = storages[key]
        if size != storage.size:
            raise ValueError(f"storage {key} holds {size} elements, its record says {storage.size}")
        data[key] = np.frombuffer(_read_exactly(file, size * storage.dtype.itemsize), storage.dtype)
    if file.read(1):
        raise ValueError("there are bytes after the last storage")
    return {name: (record, data[record.storage.key]) for name, record in records.items()}


def _read_exactly(file, count):
    chunk = file.read(count)
    if len(chunk) != count:
        raise EOFError(f"it ends early (truncated): {count - len(chunk)} bytes missing")
    return chunk


def _checked_arrays(state_dict, expected_shapes):
    names = {name for name in state_dict if not name.endswith(".num_batches_tracked")}
    missing, unexpected = sorted(set(expected_shapes) - names), sorted(names - set(expected_shapes))
    if missing or unexpected:
        first_missing, first_unexpected = (missing or ["-"])[0], (unexpected or ["-"])[0]
        raise ValueError(
            f"its tensors are not this network's ({len(missing)} missing, e.g. {first_missing}; "
            f"{len(unexpected)} unexpected, e.g. {first_unexpected})"
        )
    arrays = {}
    for name, shape in expected_shapes.items():
        record, storage = state_dict[name]
        if record.shape != tuple(shape):
            raise ValueError(f"{name} has shape {record.shape}, expected {tuple(shape)}")
        if storage.dtype != np.dtype("<f4"):
            raise ValueError(f"{name} is {storage.dtype}, expected float32")
        last = record.offset + sum((side - 1) * step for side, step in zip(shape, record.strides))
        if min(shape, default=1) > 0 and last >= storage.size:
            raise ValueError(f"{name} reaches past the end of its storage")
        itemsize = storage.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            storage[record.offset :],
            shape=shape,
            strides=[step * itemsize for step in record.strides],
            writeable=False,
        )
        arrays[name] = np.array(view, dtype=np.float32, order="C")
    return arrays
