"""The write-up's two colorization networks, as Keras 3 functional models, and the colornet
models built from them (`colornet.nets.contract`: L* in [0, 100] in, scaled ab out, described).

The two networks take scaled lightness (shape (batch, H, W, 1) in [-1, 1]) and return scaled
colour (`colornet.color.ab_to_target`, (batch, H, W, 2) in [-1, 1], tanh). Both are fully
convolutional: any input whose sides are multiples of 8 works, since three stride-2
convolutions are undone by three 2× upsamplings.

- `single_image_net`: Version 1's network, 32,202 parameters, trained on the very image it
  colorizes; `version_1` is it as a colornet model (any size, scaling inside).
- `fusion_colorizer`: the final version, 6,541,202 parameters: encoder → fusion with a
  classifier's embedding → decoder.
- `colorizer`: the final version end to end: lightness in, the frozen backbone and all scaling
  inside, scaled ab out. One `.keras` file holds everything needed to colorize.

Which layers stay float32 in 16-bit precisions is said once, in `colornet.nets.precision`;
`_set_layer_precisions` applies it.
"""

import pathlib
import zipfile

import keras

from colornet import _util
from colornet.constants import DEFAULT_BACKBONE, DEFAULT_IMAGE_SIZE, HEADS, SIZE_MULTIPLE
from colornet.errors import SettingError
from colornet.nets import backbones, contract, keras_utils, lite_unet, zhang
from colornet.nets import precision as _precision
from colornet.nets.layers import FuseEmbedding

# Modules whose layers a saved colornet model may hold though nothing here calls them: Keras
# finds a saved layer by its registered name only once its module has run, and `load` may
# read the pretrained U-Net (BilinearUpsample) in a process that has built none.
_LAYER_MODULES = (lite_unet,)
# What a colornet model is: one place reads it (`colornet.nets.contract`).
describe = contract.describe
FUSION_NAME = "fusion_colorizer"
# The classification head's logits layer, which training taps for the loss.
LOGITS_NAME = "decoder_logits"
_LOGITS_NETWORK_NAME = f"{FUSION_NAME}_logits"
# InceptionResNetV2's 1000 ImageNet class scores: the write-up's embedding.
DEFAULT_EMBEDDING_SIZE = 1000


def version_1(upsampling="nearest", dtype="float32", trained_on=None):
    """Version 1 as a colornet model: L* (None, None, None, 1) in [0, 100], any size, →
    scaled ab (None, H, W, 2), described as "version_1" (`contract.version_1`); the net inside
    is `single_image_net(upsampling, dtype)`. `trained_on`: the photo it learned from."""
    return contract.version_1(single_image_net(upsampling, dtype), trained_on=trained_on)


def single_image_net(upsampling="nearest", dtype="float32", name="single_image_net"):
    """Version 1's network: the write-up's 12-layer, 32,202-parameter convolutional net.

    Args:
        upsampling: "nearest" (the write-up's; it also trained to a lower loss than
            "bilinear" in our one-image runs, see benchmarks/single_image.py) or "bilinear".
        dtype: a precision, how it computes (`colornet.nets.precision`); its tanh output stays
            float32.

    Returns:
        A `keras.Sequential` from scaled lightness (None, None, None, 1) to scaled ab
        (None, None, None, 2).
    """
    _check_upsampling(upsampling)
    policy = _precision.policy(dtype)

    def conv(filters, strides=1, activation="relu", name=None):
        return keras.layers.Conv2D(
            filters, 3, strides=strides, padding="same", activation=activation, name=name,
            dtype=policy,
        )

    def up(name):
        return keras.layers.UpSampling2D(2, interpolation=upsampling, name=name, dtype=policy)

    net = keras.Sequential(
        [
            keras.Input(shape=(None, None, 1), name="scaled_lightness"),
            conv(8, strides=2, name="conv_1"),  # H/2
            conv(8, name="conv_2"),
            conv(16, name="conv_3"),
            conv(16, strides=2, name="conv_4"),  # H/4
            conv(32, name="conv_5"),
            conv(32, strides=2, name="conv_6"),  # H/8
            up("up_1"),  # H/4
            conv(32, name="conv_7"),
            up("up_2"),  # H/2
            conv(16, name="conv_8"),
            up("up_3"),  # H
            conv(2, activation="tanh", name="ab"),
        ],
        name=name,
    )
    return _set_layer_precisions(net, _precision.resolve(dtype))


def fusion_colorizer(
    image_size=DEFAULT_IMAGE_SIZE,
    embedding_size=DEFAULT_EMBEDDING_SIZE,
    upsampling="nearest",
    dtype="float32",
    name=FUSION_NAME,
    head="regression",
    temperature=None,
):
    """The final version: encoder, fusion with an image embedding, decoder.

    At the defaults its layers match the write-up's table one for one (the table's
    RepeatVector and Reshape are one `FuseEmbedding(concatenate=False)` here, with the same
    (None, 32, 32, 1000) output), 6,541,202 parameters in all.

    Args:
        image_size: input side in pixels, a multiple of 8, or None for any size (the weights
            do not depend on it).
        embedding_size: width of the backbone's embedding (1000 for InceptionResNetV2's
            ImageNet class scores).
        upsampling: "nearest" (the write-up's) or "bilinear".
        dtype: a precision, how it computes (`colornet.nets.precision`); the colour output stays
            float32.
        head: "regression" (the write-up's) or "classification": the last convolution gives
            one logit per colour bin (`colornet.nets.zhang.ab_bins`, 1 × 1, layer
            `LOGITS_NAME`) and an annealed mean at `temperature` (default the paper's 0.38)
            turns them into scaled ab, so the output is the same either way.

    Returns:
        A `keras.Model` with inputs {"lightness": (None, S, S, 1), "embedding": (None, E)} and
        output scaled ab (None, S, S, 2).
    """
    if head not in HEADS:
        raise SettingError(f"head must be one of {', '.join(HEADS)}, got {head!r}")
    if image_size is not None and (image_size < SIZE_MULTIPLE or image_size % SIZE_MULTIPLE):
        raise SettingError(
            f"image_size must be a positive multiple of {SIZE_MULTIPLE}, got {image_size}"
        )
    if embedding_size < 1:
        raise SettingError(f"embedding_size must be positive, got {embedding_size}")
    _check_upsampling(upsampling)
    policy = _precision.policy(dtype)

    def conv(filters, kernel=3, strides=1, activation="relu", name=None):
        return keras.layers.Conv2D(
            filters, kernel, strides=strides, padding="same", activation=activation, name=name,
            dtype=policy,
        )

    def up(name):
        return keras.layers.UpSampling2D(2, interpolation=upsampling, name=name, dtype=policy)

    lightness = keras.Input(shape=(image_size, image_size, 1), name="lightness")
    embedding = keras.Input(shape=(embedding_size,), name="embedding")

    # Encoder: S → S/8, 256 channels.
    x = conv(64, strides=2, name="encoder_conv_1")(lightness)
    x = conv(128, name="encoder_conv_2")(x)
    x = conv(128, strides=2, name="encoder_conv_3")(x)
    x = conv(256, name="encoder_conv_4")(x)
    x = conv(256, strides=2, name="encoder_conv_5")(x)
    x = conv(512, name="encoder_conv_6")(x)
    x = conv(512, name="encoder_conv_7")(x)
    encoded = conv(256, name="encoder_conv_8")(x)  # (S/8, S/8, 256)

    # Fusion: every grid cell sees the whole image's embedding.
    tiled = FuseEmbedding(concatenate=False, name="fusion_repeat", dtype=policy)(
        [encoded, embedding]
    )
    x = keras.layers.Concatenate(name="fusion_concatenate", dtype=policy)([encoded, tiled])
    x = conv(256, kernel=1, name="fusion_conv")(x)  # (S/8, S/8, 256)

    # Decoder: back to S, two tanh channels.
    x = conv(128, name="decoder_conv_1")(x)
    x = up("decoder_up_1")(x)
    x = conv(64, name="decoder_conv_2")(x)
    x = up("decoder_up_2")(x)
    x = conv(32, name="decoder_conv_3")(x)
    x = conv(16, name="decoder_conv_4")(x)
    if head == "classification":
        logits = conv(len(zhang.ab_bins()), kernel=1, activation=None, name=LOGITS_NAME)(x)
        x = zhang.AnnealedMean(
            temperature or zhang.ANNEALED_TEMPERATURE, name="annealed_mean"
        )(logits)
    else:
        x = conv(2, activation="tanh", name="decoder_ab")(x)
    ab = up("ab")(x)

    fusion = keras.Model({"lightness": lightness, "embedding": embedding}, ab, name=name)
    return _set_layer_precisions(fusion, _precision.resolve(dtype))


def colorizer(
    image_size=DEFAULT_IMAGE_SIZE,
    backbone=DEFAULT_BACKBONE,
    backbone_weights="imagenet",
    upsampling="nearest",
    backbone_precision="float32",
    fusion_precision="float32",
    name="colorizer",
    head="regression",
    trained_on=None,
):
    """The final version end to end: lightness in, scaled ab out.

    The grey photo goes once through the frozen backbone (three equal channels, resized and
    preprocessed the backbone's own way) and once through the encoder; the fusion colorizer
    joins them.

    Args:
        image_size: the side the model works at (a multiple of 8), 256 in the write-up.
        backbone: a key of `colornet.nets.backbones.BACKBONES`.
        backbone_weights: "imagenet", a local weights file, or None (random; for tests).
        upsampling: the decoder's upsampling, "nearest" or "bilinear".
        backbone_precision: how the frozen backbone computes (`colornet.nets.precision`, "auto"
            included); its weights stay float32 either way.
        fusion_precision: the same for the fusion network.
        head: the fusion network's head (`fusion_colorizer`).
        trained_on: what it learns from (a data manifest's hash), for its description.

    Returns:
        A `keras.Model` from lightness L* (None, S, S, 1), float in [0, 100], to scaled ab
        (None, S, S, 2) in [-1, 1] (times `color.AB_SCALE` gives a and b), output named "ab",
        described as "final" at working size S. Only the fusion colorizer's weights are
        trainable.
    """
    embedding_size = backbones.get_backbone(backbone).embedding_size
    fusion = fusion_colorizer(
        image_size, embedding_size, upsampling=upsampling, dtype=fusion_precision, head=head
    )
    lightness = keras.Input(shape=(image_size, image_size, 1), name="lightness")
    embedding = backbones.grey_embedding_model(
        backbone, backbone_weights, precision=_precision.resolve(backbone_precision)
    )(lightness)  # (B, E)
    scaled = contract.scale_lightness()(lightness)  # (B, S, S, 1) in [-1, 1]
    scaled_ab = fusion({"lightness": scaled, "embedding": embedding})
    ab = contract.ColourOutput("final", working_size=image_size, trained_on=trained_on)(
        scaled_ab
    )
    return keras.Model(lightness, ab, name=name)


def set_precision(model, backbone=None, fusion=None):
    """Change how a built colornet model computes, in place (`colornet.nets.precision`).

    Models are built in a precision (`precision=` of the factories above); this serves a
    model loaded from a file, which `load` moves to the loading machine's own.
    The layers that make the colour (`_set_layer_precisions`) stay float32, as do the
    backbone's softmax and all colour conversion and resizing; the weights stay float32
    throughout.

    Args:
        model: a colornet model (`describe`), or a bare colour network (Version 1's net, a
            fusion network) or a model wrapping one (the training model).
        backbone: a precision for the frozen backbone ("auto" resolved); None leaves it.
        fusion: the same for the colour network (Version 1's net or the fusion network).

    Returns:
        The model. A function traced before (a compiled `predict` or `fit` step) keeps the
        precision it was traced with; Keras retraces when the model is compiled again.
    """
    if backbone is not None:
        backbone = _precision.resolve(backbone)
        for layer in keras_utils.nested_layers(model):
            if isinstance(layer, backbones.FrozenBackbone):
                layer.precision = backbone
    if fusion is not None:
        _set_layer_precisions(colour_network(model), _precision.resolve(fusion))
    return model


def load(path, precision="auto"):
    """Load a colornet model from its `.keras` file, with Keras's safe mode (no arbitrary code):
    Version 1 (`colornet single --save-model`) and final colorizers (`colornet train`), files
    saved before the model contract included (`contract.upgrade`).

    Args:
        path: the `.keras` file.
        precision: how it computes (`colornet.nets.precision`): "float32", "bfloat16" or
            "float16", "auto" (what the hardware computes natively; float32 for Version 1),
            or None to keep what the file says (the precision it was trained in).

    Raises:
        ValueError: one line naming the file, when it is missing, not a Keras file, broken,
            or a Keras model that is not a colornet colorizer.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise SettingError(f"no model at {path}")
    if path.suffix != ".keras":
        raise SettingError(f"{path} is not a .keras model file")
    if not zipfile.is_zipfile(path):  # Keras would say "File not found" of a file that exists
        raise SettingError(f"{path} is not a readable Keras model: not a .keras (zip) archive")
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # Keras raises many kinds for a bad file; all mean the same here
        foreign = contract.foreign_classes(path)
        if foreign:
            raise SettingError(
                f"{path} is not a colornet colorizer: it holds {', '.join(foreign)}, which "
                f"neither Keras nor colornet defines; {contract.WHAT_A_COLORIZER_IS}"
            ) from error
        reason = _util.first_line(error)
        raise SettingError(f"{path} is not a readable Keras model: {reason}") from error
    try:
        model = contract.upgrade(model)
    except ValueError as error:
        raise SettingError(f"{path}: {error}; {contract.WHAT_A_COLORIZER_IS}") from None
    chosen = _precision.for_model(describe(model), precision)
    if chosen is not None:
        set_precision(model, backbone=chosen, fusion=chosen)
    return model


def logits_network(fusion):
    """The classification head's fusion network up to its bin logits (shared weights): what
    training fits with Zhang et al.'s loss. ValueError for a regression head."""
    try:
        logits = fusion.get_layer(LOGITS_NAME).output
    except ValueError:
        raise SettingError(f"{fusion.name} has no classification head") from None
    return keras.Model(fusion.inputs, logits, name=_LOGITS_NETWORK_NAME)


def head_of(model):
    """"classification" or "regression": the head of a final colorizer's fusion network."""
    layers = [layer.name for layer in fusion_network(model).layers]
    return "classification" if LOGITS_NAME in layers else "regression"


def fusion_network(model):
    """The fusion network (`fusion_colorizer`) inside a final colorizer or a model wrapping
    one, or the model itself when it is one. A training model of the classification head
    holds its `logits_network` instead, whose weights are the fusion network's, in order."""
    names = (FUSION_NAME, _LOGITS_NETWORK_NAME)
    if model.name in names:
        return model
    for layer in keras_utils.nested_layers(model):
        if isinstance(layer, keras.Model) and layer.name in names:
            return layer
    raise SettingError(f"{model.name} holds no fusion network")


def embedding_network(model):
    """The grey-embedding network (`backbones.grey_embedding_model`) inside a final colorizer:
    lightness in, the frozen backbone's embedding out."""
    for layer in keras_utils.nested_layers(model):
        if isinstance(layer, keras.Model) and any(
            isinstance(inner, backbones.FrozenBackbone) for inner in layer.layers
        ):
            return layer
    raise SettingError(f"{model.name} holds no embedding network")


def backbone_layer(model):
    """The `backbones.FrozenBackbone` inside a final colorizer (or its embedding network)."""
    for layer in keras_utils.nested_layers(model):
        if isinstance(layer, backbones.FrozenBackbone):
            return layer
    raise SettingError(f"{model.name} holds no backbone")


def colour_network(model):
    """The network that predicts colour: Version 1's net, the final colorizer's fusion
    network, the pretrained colorizer itself; a bare network (not `contract.is_described`),
    such as a fusion network or a training model, is its own."""
    if not contract.is_described(model):
        return model
    variant = describe(model).variant
    if variant == "final":
        return fusion_network(model)
    if variant == "version_1":
        return next(layer for layer in model.layers if isinstance(layer, keras.Model))
    return model


def _set_layer_precisions(network, precision_name):
    """Every layer of a colour network computes in `precision_name` but its last convolution
    and the layers after it (the colour: a tanh, or bin logits and their annealed mean, and
    any upsampling), which stay float32: 16 bits would round the colours the loss compares.
    Returns the network."""
    policy = _precision.POLICIES[precision_name]
    layers = [layer for layer in network.layers if not isinstance(layer, keras.layers.InputLayer)]
    convolutions = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Conv2D)]
    colour_from = convolutions[-1] if convolutions else len(layers)
    for index, layer in enumerate(layers):
        if not isinstance(layer, contract.ColourOutput):  # always float32
            layer.dtype_policy = "float32" if index >= colour_from else policy
    return network


def _check_upsampling(upsampling):
    if upsampling not in ("nearest", "bilinear"):
        raise SettingError(f"upsampling must be 'nearest' or 'bilinear', got {upsampling!r}")
