"""FLOP counts against TensorFlow's profiler, the backbones' papers and hand counts."""

import keras
import numpy as np
import pytest

from colornet.nets import models, profiling


def test_a_hand_countable_model():
    inputs = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)  # 8·8·4 outputs of 3·3·2 MACs + bias
    x = keras.layers.Conv2D(6, 1, strides=2, use_bias=False)(x)  # 4·4·6 outputs of 4 MACs
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)  # 4·4·6 outputs of 9 MACs + bias
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(5)(x)  # 5 outputs of 96 MACs + bias
    model = keras.Model(inputs, outputs)
    expected = (
        2 * 256 * 18 + 256
        + 2 * 96 * 4
        + 2 * 96 * 9 + 96
        + 2 * 5 * 96 + 5
    )
    assert profiling.forward_flops(model) == expected


def test_fusion_colorizer_matches_tensorflows_profiler():
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    fusion = models.fusion_colorizer(64)
    forward = tf.function(
        lambda lightness, embedding: fusion({"lightness": lightness, "embedding": embedding}),
    )
    graph = convert_variables_to_constants_v2(
        forward.get_concrete_function(tf.TensorSpec((1, 64, 64, 1)), tf.TensorSpec((1, 1000)))
    ).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    reference = tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops
    assert profiling.forward_flops(fusion) == pytest.approx(reference, rel=1e-6)


@pytest.mark.parametrize(("backbone", "published_macs"), [
    # Howard et al. 2019, Searching for MobileNetV3: 56M multiply-adds
    ("mobilenet_v3_small", 56e6),
    # Tan & Le 2021, EfficientNetV2: 0.72B (their FLOPs are multiply-adds)
    ("efficientnet_v2_b0", 0.72e9),
])
def test_backbones_cost_what_their_papers_say(backbone, published_macs):
    colorizer = models.colorizer(32, backbone, backbone_weights=None)
    fusion = profiling.forward_flops(models.fusion_network(colorizer))
    backbone_macs = (profiling.forward_flops(colorizer) - fusion) / 2
    assert backbone_macs == pytest.approx(published_macs, rel=0.02)


def test_version_1_is_counted_at_any_size_and_scales_with_the_pixels():
    net = models.single_image_net()
    small = profiling.forward_flops(net, (64, 64, 1))
    assert profiling.forward_flops(net, (128, 256, 1)) == 8 * small
    # conv_1 alone: 32·32·8 outputs of 3·3·1 multiply-adds, plus the bias.
    assert small > 2 * 32 * 32 * 8 * 9 + 32 * 32 * 8


def test_a_training_step_counts_the_backbone_once_and_the_fusion_net_three_times():
    colorizer = models.colorizer(32, "mobilenet_v3_small", backbone_weights=None)
    fusion = profiling.forward_flops(models.fusion_network(colorizer))
    backbone = profiling.forward_flops(colorizer) - fusion
    assert profiling.training_step_flops(colorizer, 10) == 10 * (backbone + 3 * fusion)
    assert profiling.training_step_flops(colorizer, 10, cached_embeddings=True) == 30 * fusion


def test_matmul_rate_is_the_flops_of_a_multiply_over_its_time():
    ticks = iter(np.arange(0.0, 100.0, 0.5))  # every multiply "takes" half a second
    assert profiling.matmul_rate(size=64, repeats=3, clock=lambda: next(ticks)) == 2 * 64**3 / 0.5


def test_an_input_shape_is_refused_for_a_branching_model():
    with pytest.raises(ValueError, match="keras.Sequential"):
        profiling.forward_flops(models.fusion_colorizer(32), (32, 32, 1))
