"""How far bfloat16 moves the numbers that training depends on, against float32.

Two checks on the same weights and photos: the frozen backbone's features under the
embedding, and the loss's gradient with respect to the fusion network's weights.
docs/performance.md, "Performance", gives the same study's figures for InceptionResNetV2 at
299×299, batch 10
(`benchmarks/figures.json`); here it runs on MobileNetV3Small with random weights and tiny
photos so that it takes seconds, not minutes. The claims hold there too, within these
tolerances: bfloat16 moves the backbone's features by under 5 % of how much photos differ from
each other, and the training gradient by under 2 %, pointing the same way (cosine > 0.9999).
On a CPU without bfloat16 instructions, where TensorFlow emulates it, the gradient test holds
the looser bound that emulation gives (see the test).
"""

import pathlib

import keras
import numpy as np
import pytest

from colornet import color
from colornet.io import decode, geometry
from colornet.nets import models, precision
from colornet.train import loop, losses, settings

DATA_DIR = pathlib.Path(__file__).resolve().parent.parent / "data"

IMAGE_SIZE = 32  # the fusion network's side; the backbone still sees its own 224×224
BATCH_SIZE = 4

pytestmark = [
    pytest.mark.slow,  # about 10 s each on a busy 2-core CPU, most of it building and tracing
    pytest.mark.skipif(
        keras.backend.backend() != "tensorflow",
        reason="the gradient is taken with tf.GradientTape inside a tf.function, as fit takes it",
    ),
]


@pytest.fixture(scope="module")
def photos():
    """The sample photos, (N, IMAGE_SIZE, IMAGE_SIZE, 3) float32 RGB in [0, 1]."""
    paths = sorted(DATA_DIR.glob("train/*.jpg")) + sorted(DATA_DIR.glob("test/*.jpg"))
    return np.stack([geometry.resize_and_crop(decode.load_rgb(path), IMAGE_SIZE) for path in paths])


@pytest.fixture(scope="module")
def colornet_models():
    """(training_model, colorizer) as `colornet train --cache-embeddings` builds them, random
    weights, float32. With cached embeddings the training model holds the fusion network
    alone, whose gradient is the one in question, and tracing it skips the frozen backbone."""
    keras.utils.set_random_seed(0)
    config = settings.TrainingConfig(
        data_dir=".", image_size=IMAGE_SIZE, batch_size=BATCH_SIZE,
        backbone="mobilenet_v3_small", backbone_weights=None, cache_embeddings=True,
        backbone_precision="float32", fusion_precision="float32",
    )
    return loop.build_training_model(config)


def relative_error(lowered, reference):
    return float(np.linalg.norm(lowered - reference) / np.linalg.norm(reference))


def backbone_features(colorizer, lightness, precision):
    """The frozen backbone's globally pooled features (B, F) float32 for lightness
    (B, S, S, 1) in [0, 100], computed in `precision`. Random weights give near-uniform
    class scores, so the features under them say more than the embedding itself."""
    embedding_network = models.embedding_network(colorizer)
    backbone = models.backbone_layer(colorizer)
    pooling = next(  # the last: MobileNetV3's squeeze-and-excite blocks pool too
        layer for layer in reversed(backbone.classifier.layers)
        if isinstance(layer, keras.layers.GlobalAveragePooling2D)
    )
    backbone_input = keras.Model(embedding_network.input, backbone.input)(lightness)
    to_features = keras.Model(backbone.classifier.input, pooling.output)
    chosen = backbone.precision
    backbone.precision = precision  # the layers are shared: to_features follows
    try:
        features = to_features(backbone_input)
    finally:
        backbone.precision = chosen
    features = keras.ops.convert_to_numpy(keras.ops.cast(features, "float32"))
    return features.reshape(len(features), -1)


def loss_gradients(training_model, colorizer, rgb, precision):
    """(loss, [gradient of each trainable weight]) for one batch of RGB (B, S, S, 3) and its
    float32 embedding, the fusion network computing in `precision`.

    Taken in a tf.function, as `fit` takes it: run eagerly, TensorFlow sums a bfloat16 bias
    gradient over the batch in bfloat16 and gets it badly wrong, which no training step does.
    """
    import tensorflow as tf

    lightness = color.rgb_to_lab(rgb)[..., :1]
    embedding = models.embedding_network(colorizer)(lightness)  # (B, E), as cached
    rgb = tf.convert_to_tensor(rgb)  # a tensor, so the loss's Lab is traced into the graph

    def loss_and_gradients():
        with tf.GradientTape() as tape:
            predicted = training_model({"rgb": rgb, "embedding": embedding}, training=True)
            loss = keras.ops.mean(losses.ab_loss(rgb, predicted))
        return loss, tape.gradient(loss, training_model.trainable_weights)

    models.set_precision(colorizer, fusion=precision)
    try:
        loss, gradients = tf.function(loss_and_gradients)()  # a new trace, in this precision
    finally:
        models.set_precision(colorizer, fusion="float32")
    return float(loss), [keras.ops.convert_to_numpy(gradient) for gradient in gradients]


def test_bfloat16_moves_backbone_features_by_a_few_percent_of_their_spread(
    colornet_models, photos
):
    _, colorizer = colornet_models
    lightness = color.rgb_to_lab(photos)[..., :1]
    reference = backbone_features(colorizer, lightness, "float32")
    lowered = backbone_features(colorizer, lightness, "bfloat16")
    difference = np.abs(lowered - reference)
    assert difference.max() > 0, "bfloat16 was not used: the features are identical"
    spread = reference.std(axis=0).mean()  # how much the photos differ from each other
    assert spread > 0, "every photo gives the same features: nothing was compared"
    # A few percent: far less than what tells one photo from another.
    assert difference.mean() / spread < 0.05, difference.mean() / spread


def test_bfloat16_moves_the_training_gradient_by_under_two_percent(colornet_models, photos):
    training_model, colorizer = colornet_models
    rgb = photos[:BATCH_SIZE]
    loss_32, gradients_32 = loss_gradients(training_model, colorizer, rgb, "float32")
    loss_16, gradients_16 = loss_gradients(training_model, colorizer, rgb, "bfloat16")
    whole_32 = np.concatenate([gradient.ravel() for gradient in gradients_32])
    whole_16 = np.concatenate([gradient.ravel() for gradient in gradients_16])
    assert np.linalg.norm(whole_32) > 0, "a zero gradient: nothing was compared"
    error = relative_error(whole_16, whole_32)
    assert error > 0, "bfloat16 was not used: the gradients are identical"
    cosine = whole_16 @ whole_32 / np.linalg.norm(whole_16) / np.linalg.norm(whole_32)
    if precision.native() == "bfloat16":
        # oneDNN's bfloat16 kernels round the inputs to 8 significant bits (a relative step of
        # 0.4 %) and sum in float32: over a batch of tiny photos the gradient moves by about
        # that, and by less at full size (docs/performance.md, "Performance").
        assert error < 0.02, error
        assert cosine > 0.9999, cosine
    else:
        # A CPU without bfloat16 instructions (an AMD EPYC without AVX-512: 8.4 %, cosine
        # 0.9973) runs TensorFlow's emulated kernels, which round partial sums to bfloat16 too:
        # the gradient moves more but still points the same way. "auto" never picks bfloat16
        # there (precision.native); this is what asking for it explicitly gives.
        assert error < 0.15, error
        assert cosine > 0.995, cosine
    assert abs(loss_16 - loss_32) < 0.01 * loss_32, (loss_16, loss_32)
