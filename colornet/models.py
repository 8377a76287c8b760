"""The write-up's two colorization networks, as Keras 3 functional models.

Both take scaled lightness (`colornet.color.lightness_to_input`, shape (batch, H, W, 1) in
[-1, 1]) and return scaled colour (`colornet.color.ab_to_target`, (batch, H, W, 2) in [-1, 1],
tanh). Both are fully convolutional: any input whose sides are multiples of 8 works, since three
stride-2 convolutions are undone by three 2× upsamplings.

- `single_image_net`: Version 1, 32,202 parameters, trained on the very image it colorizes.
- `fusion_colorizer`: the final version, 6,541,202 parameters: encoder → fusion with a
  classifier's embedding → decoder.
- `colorizer`: the final version end to end: lightness in, the frozen backbone and all scaling
  inside, scaled ab out. One `.keras` file holds everything needed to colorize.
"""

import functools

import keras
import numpy as np
from keras import ops

from colornet import backbones, color

# Three stride-2 convolutions: input sides must divide by 2³.
SIZE_MULTIPLE = 8
DEFAULT_IMAGE_SIZE = 256
# InceptionResNetV2's 1000 ImageNet class scores: the write-up's embedding.
DEFAULT_EMBEDDING_SIZE = 1000


def single_image_net(upsampling="nearest", name="single_image_net"):
    """Version 1: the write-up's 12-layer, 32,202-parameter convolutional net.

    Args:
        upsampling: "nearest" (the write-up's; it also trained to a lower loss than
            "bilinear" in our one-image runs, see benchmarks/single_image.py) or "bilinear".

    Returns:
        A `keras.Sequential` from scaled lightness (None, None, None, 1) to scaled ab
        (None, None, None, 2).
    """
    _check_upsampling(upsampling)

    def conv(filters, strides=1, activation="relu", name=None):
        return keras.layers.Conv2D(
            filters, 3, strides=strides, padding="same", activation=activation, name=name
        )

    def up(name):
        return keras.layers.UpSampling2D(2, interpolation=upsampling, name=name)

    return keras.Sequential(
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


@keras.saving.register_keras_serializable(package="colornet")
class FuseEmbedding(keras.layers.Layer):
    """Repeat a per-image embedding over every cell of a feature grid and append it.

    The write-up used `RepeatVector(32 * 32)` and `Reshape([32, 32, 1000])`, which ties the
    model to 256×256 inputs. This layer reads the grid size from the features instead, so the
    same weights run at any input size.

    Call with `[features, embedding]`: features (batch, h, w, C), embedding (batch, E).
    Returns the embedding tiled to (batch, h, w, E) when `concatenate=False`, otherwise the
    features and the tiled embedding joined to (batch, h, w, C + E).
    """

    def __init__(self, concatenate=True, **kwargs):
        super().__init__(**kwargs)
        self.concatenate = concatenate

    def call(self, inputs):
        features, embedding = inputs
        grid_shape = ops.shape(features)
        tiled = ops.broadcast_to(
            embedding[:, None, None, :],
            (grid_shape[0], grid_shape[1], grid_shape[2], ops.shape(embedding)[-1]),
        )
        tiled = ops.cast(tiled, features.dtype)
        if not self.concatenate:
            return tiled
        return ops.concatenate([features, tiled], axis=-1)

    def compute_output_shape(self, input_shapes):
        features_shape, embedding_shape = input_shapes
        channels = embedding_shape[-1]
        if self.concatenate:
            channels = None if features_shape[-1] is None or channels is None else (
                features_shape[-1] + channels
            )
        return (*features_shape[:-1], channels)

    def get_config(self):
        return {**super().get_config(), "concatenate": self.concatenate}


def fusion_colorizer(
    image_size=DEFAULT_IMAGE_SIZE,
    embedding_size=DEFAULT_EMBEDDING_SIZE,
    upsampling="nearest",
    name="fusion_colorizer",
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

    Returns:
        A `keras.Model` with inputs {"lightness": (None, S, S, 1), "embedding": (None, E)} and
        output scaled ab (None, S, S, 2).
    """
    if image_size is not None and (image_size < SIZE_MULTIPLE or image_size % SIZE_MULTIPLE):
        raise ValueError(
            f"image_size must be a positive multiple of {SIZE_MULTIPLE}, got {image_size}"
        )
    if embedding_size < 1:
        raise ValueError(f"embedding_size must be positive, got {embedding_size}")
    _check_upsampling(upsampling)

    def conv(filters, kernel=3, strides=1, activation="relu", name=None):
        return keras.layers.Conv2D(
            filters, kernel, strides=strides, padding="same", activation=activation, name=name
        )

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
    tiled = FuseEmbedding(concatenate=False, name="fusion_repeat")([encoded, embedding])
    x = keras.layers.Concatenate(name="fusion_concatenate")([encoded, tiled])
    x = conv(256, kernel=1, name="fusion_conv")(x)  # (S/8, S/8, 256)

    # Decoder: back to S, two tanh channels.
    x = conv(128, name="decoder_conv_1")(x)
    x = keras.layers.UpSampling2D(2, interpolation=upsampling, name="decoder_up_1")(x)
    x = conv(64, name="decoder_conv_2")(x)
    x = keras.layers.UpSampling2D(2, interpolation=upsampling, name="decoder_up_2")(x)
    x = conv(32, name="decoder_conv_3")(x)
    x = conv(16, name="decoder_conv_4")(x)
    x = conv(2, activation="tanh", name="decoder_ab")(x)
    ab = keras.layers.UpSampling2D(2, interpolation=upsampling, name="ab")(x)

    return keras.Model({"lightness": lightness, "embedding": embedding}, ab, name=name)


def colorizer(
    image_size=DEFAULT_IMAGE_SIZE,
    backbone=backbones.DEFAULT_BACKBONE,
    backbone_weights="imagenet",
    upsampling="nearest",
    backbone_precision="float32",
    fusion_precision="float32",
    name="colorizer",
):
    """The final version end to end: lightness in, scaled ab out.

    The grey photo goes once through the frozen backbone (three equal channels, resized and
    preprocessed the backbone's own way) and once through the encoder; the fusion colorizer
    joins them.

    Args:
        image_size: the side the model works at (a multiple of 8), 256 in the write-up.
        backbone: a key of `colornet.backbones.BACKBONES`.
        backbone_weights: "imagenet", a local weights file, or None (random; for tests).
        upsampling: the decoder's upsampling, "nearest" or "bilinear".
        backbone_precision: "float32", "bfloat16" or "float16" (`backbones.PRECISIONS`): how the frozen
            backbone computes; its weights stay float32 either way.
        fusion_precision: the same for the fusion colorizer (see `set_precision`); either
            may be "auto" (`native_precision`).

    Returns:
        A `keras.Model` from lightness L* (None, S, S, 1), float in [0, 100], to scaled ab
        (None, S, S, 2) in [-1, 1] (times `color.AB_SCALE` gives a and b), output named "ab".
        Only the fusion colorizer's weights are trainable.
    """
    embedding_size = backbones.get_backbone(backbone).embedding_size
    fusion = fusion_colorizer(image_size, embedding_size, upsampling=upsampling)
    lightness = keras.Input(shape=(image_size, image_size, 1), name="lightness")
    embedding = backbones.grey_embedding_model(
        backbone, backbone_weights, precision=resolve_precision(backbone_precision)
    )(lightness)  # (B, E)
    scaled = keras.layers.Rescaling(
        1.0 / color.L_CENTER, offset=-1.0, name="scaled_lightness"
    )(lightness)  # (B, S, S, 1) in [-1, 1], as color.lightness_to_input
    scaled_ab = fusion({"lightness": scaled, "embedding": embedding})
    ab = keras.layers.Identity(name="ab")(scaled_ab)
    model = keras.Model(lightness, ab, name=name)
    set_precision(model, fusion=fusion_precision)
    return model


def set_precision(model, backbone=None, fusion=None):
    """Choose how a colornet model computes, in place: "float32", "bfloat16" or "float16".

    bfloat16 and float16 are Keras's mixed precision: each layer computes in 16 bits from
    float32 weights, so the weights and the optimizer are the same in any precision; a saved
    file records the precision, which `colorize.load_model` replaces by the loading
    machine's own. The tanh output layer and everything after it stay float32, as do the
    backbone's softmax and all colour conversion and resizing. On CPUs with AVX512_BF16 or
    AMX and on GPUs from Ampere on, bfloat16 nearly halves the time of the convolutions;
    float16 is for older GPUs; elsewhere both are emulated and slower (see
    `native_precision`). How far colours move is measured in tests/test_precision.py.

    Args:
        model: a colornet model: Version 1, the final colorizer, its fusion colorizer, or a
            model wrapping one (the training model).
        backbone: for the frozen backbone; "auto" for `native_precision`; None leaves it as
            it is.
        fusion: the same for the colour network (Version 1's net, or the fusion colorizer).

    Returns:
        The model. A function traced before (a compiled `predict` or `fit` step) keeps the
        precision it was traced with; Keras retraces when the model is compiled again.
    """
    backbone = None if backbone is None else resolve_precision(backbone)
    fusion = None if fusion is None else resolve_precision(fusion)
    for layer in nested_layers(model):
        if backbone is not None and isinstance(layer, backbones.FrozenBackbone):
            layer.precision = backbone
        if fusion is not None and _is_colour_network(layer):
            _set_colour_network_precision(layer, fusion)
    if fusion is not None and _is_colour_network(model):
        _set_colour_network_precision(model, fusion)
    return model


def predict_batches(model, inputs, batch_size=8):
    """`model.predict` on a numpy array, without its tf.data pipeline: one `predict_on_batch`
    per batch.

    Keras's `predict` feeds numpy through tf.data, whose threads compete with the model for
    the cores; on a 2-core CPU a batch of ten 256×256 photos took 0.8-1.3 s through `predict`
    and 0.66 s this way. A short batch is padded (its last row repeated) to the next power of
    two, at most `batch_size`: a model is traced for a handful of batch shapes, not for every
    count of photos, and a single photo is not padded at all.

    Returns:
        float32 numpy, one output row per input row.
    """
    inputs = np.asarray(inputs)
    if not len(inputs):
        raise ValueError("nothing to predict: the input has no rows")
    outputs = []
    for start in range(0, len(inputs), batch_size):
        batch = inputs[start : start + batch_size]
        count = len(batch)
        padded_count = min(batch_size, 1 << (count - 1).bit_length())
        if padded_count > count:
            batch = np.concatenate([batch, np.repeat(batch[-1:], padded_count - count, axis=0)])
        outputs.append(np.asarray(model.predict_on_batch(batch), dtype=np.float32)[:count])
    return np.concatenate(outputs)


def resolve_precision(precision):
    """"auto" → the fastest precision this machine computes natively (`native_precision`);
    "float32", "bfloat16" and "float16" are returned as they are."""
    if precision == "auto":
        return native_precision()
    if precision not in backbones.PRECISIONS:
        raise ValueError(
            f"unknown precision {precision!r}; known precisions: auto, "
            f"{', '.join(backbones.PRECISIONS)}"
        )
    return precision


@functools.cache
def native_precision():
    """The fastest precision Keras's backend computes natively here: "bfloat16", "float16"
    or "float32" (where 16-bit arithmetic would be emulated, and slower).

    GPUs: bfloat16 from compute capability 8.0 (Ampere) on, float16 on 7.x (Volta, Turing).
    CPUs: only TensorFlow's oneDNN kernels have been measured to gain (about 1.7× on
    AVX512_BF16), so bfloat16 on TensorFlow with AVX512_BF16 or AMX-BF16, else float32.
    """
    backend = keras.backend.backend()
    capability = None
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            capability = tuple(details.get("compute_capability", (0, 0)))
        elif _cpu_flags() & {"avx512_bf16", "amx_bf16"}:
            return "bfloat16"
    elif backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform == "gpu":
            capability = tuple(int(part) for part in str(device.compute_capability).split("."))
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            capability = torch.cuda.get_device_capability()
    return "float32" if capability is None else _gpu_precision(capability)


def _gpu_precision(capability):
    """The fastest native precision of an NVIDIA GPU of this compute capability."""
    if capability >= (8, 0):  # Ampere, Ada, Hopper, Blackwell: bfloat16 tensor cores
        return "bfloat16"
    return "float16" if capability >= (7, 0) else "float32"  # Volta, Turing: float16 only


def _cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (Linux); empty elsewhere."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def nested_layers(model):
    """Every layer inside `model`, depth first: those of nested models too, and of the
    classifier inside a `backbones.FrozenBackbone`."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from nested_layers(layer)
        elif isinstance(layer, backbones.FrozenBackbone):
            yield from nested_layers(layer.classifier)


def _is_colour_network(layer):
    """Version 1's net or the fusion colorizer: a model whose own layers end in tanh."""
    return isinstance(layer, keras.Model) and any(_is_tanh(inner) for inner in layer.layers)


def _is_tanh(layer):
    return getattr(layer, "activation", None) is keras.activations.tanh


def _set_colour_network_precision(network, precision):
    """Every layer before the tanh output computes in `precision`; the output stays float32."""
    policy = backbones.PRECISIONS[precision]
    for layer in network.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if _is_tanh(layer):
            policy = "float32"  # the output and what follows it (the last upsampling)
        layer.dtype_policy = policy


@keras.saving.register_keras_serializable(package="colornet")
class RgbToLightness(keras.layers.Layer):
    """sRGB (batch, H, W, 3) in [0, 1] → lightness L* (batch, H, W, 1) in [0, 100].

    Lets a model train on colour photos while seeing only their lightness.
    """

    def call(self, rgb):
        return color.rgb_to_lightness(rgb)[..., None]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)


def _check_upsampling(upsampling):
    if upsampling not in ("nearest", "bilinear"):
        raise ValueError(f"upsampling must be 'nearest' or 'bilinear', got {upsampling!r}")
