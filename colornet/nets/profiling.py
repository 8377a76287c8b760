"""How much arithmetic a colornet model does, and how fast this machine can do arithmetic.

`forward_flops` counts a model's floating-point operations, so a measured step time becomes
an achieved rate (FLOP/s) to set against `matmul_rate`, the rate of one large matrix
multiply on the same machine: how close to the hardware's limit a pipeline runs.

FLOPs follow the usual convention (TensorFlow's profiler, the papers' tables): a
multiply-add is two operations; convolutions, dense layers and their bias adds are counted,
and elementwise activations, pooling and normalisation, a fraction of a percent in these
models, are not.
"""

import time

import keras
import numpy as np

from colornet.nets import keras_utils, models


def forward_flops(model, input_shape=None):
    """FLOPs of one forward pass of `model` for one image.

    Args:
        model: a Keras model: functional models use the shapes they were built with, nested
            models and colornet's frozen backbone included.
        input_shape: (H, W, C) for a `keras.Sequential` model whose spatial size is not
            fixed, such as Version 1's `models.single_image_net`; the shapes then follow from
            it layer by layer.
    """
    if input_shape is not None:
        if not isinstance(model, keras.Sequential):
            raise ValueError(
                "input_shape works for a keras.Sequential model (a chain of layers); "
                f"{model.name} is not one: build it at a fixed size instead"
            )
        return _sequential_flops(model, (1, *input_shape))
    return sum(
        _layer_flops(layer, tuple(layer.input.shape), tuple(layer.output.shape))
        for layer in keras_utils.nested_layers(model)
        if isinstance(layer, _COUNTED)
    )


def training_step_flops(colorizer, batch_size, cached_embeddings=False):
    """FLOPs of one training step of the final colorizer (`models.colorizer`).

    The frozen backbone runs forward only (not at all with cached embeddings); the fusion
    colorizer runs forward and back, and the backward pass costs twice the forward one (the
    gradients with respect to the inputs and to the weights), so 3× its forward FLOPs.
    """
    fusion = forward_flops(models.fusion_network(colorizer))
    backbone = 0 if cached_embeddings else forward_flops(colorizer) - fusion
    return batch_size * (backbone + 3 * fusion)


def matmul_rate(size=4096, dtype="float32", repeats=5, clock=time.perf_counter):
    """This machine's floating-point rate in FLOP/s on one (size × size) matrix multiply with
    the active Keras backend: the median of `repeats` after a warm-up, timed by `clock`."""
    rng = np.random.default_rng(0)
    a, b = (
        keras.ops.convert_to_tensor(rng.standard_normal((size, size)), dtype=dtype)
        for _ in range(2)
    )
    _wait(keras.ops.matmul(a, b))  # warm-up; waits for the result
    seconds = []
    for _ in range(repeats):
        started = clock()
        _wait(keras.ops.matmul(a, b))
        seconds.append(clock() - started)
    return 2 * size**3 / float(np.median(seconds))


def _sequential_flops(model, shape):
    total = 0
    for layer in model.layers:
        output_shape = tuple(layer.compute_output_shape(shape))
        total += _layer_flops(layer, shape, output_shape)
        shape = output_shape
    return total


_COUNTED = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)


def _layer_flops(layer, input_shape, output_shape):
    """FLOPs of one layer for one image, from its input and output shapes."""
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kernel_height, kernel_width = layer.kernel_size
        outputs = int(np.prod(output_shape[1:]))
        return 2 * outputs * kernel_height * kernel_width + outputs * layer.use_bias
    if isinstance(layer, keras.layers.Conv2D):
        kernel_height, kernel_width = layer.kernel_size
        inputs_per_output = kernel_height * kernel_width * input_shape[-1] // layer.groups
        outputs = int(np.prod(output_shape[1:]))
        return 2 * outputs * inputs_per_output + outputs * layer.use_bias
    if isinstance(layer, keras.layers.Dense):
        outputs = int(np.prod(output_shape[1:]))
        return 2 * outputs * input_shape[-1] + outputs * layer.use_bias
    return 0


def _wait(tensor):
    """Block until `tensor` is computed (one element, as float32: numpy has no bfloat16)."""
    return keras.ops.convert_to_numpy(keras.ops.cast(tensor[0, 0], "float32"))
