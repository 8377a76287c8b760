"""CIE L*a*b* colour, written in `keras.ops`, and the scaling the models see.

The definition is scikit-image's (`skimage.color.rgb2lab` / `lab2rgb`): sRGB companding,
the sRGB-to-XYZ matrix of IEC 61966-2-1, the D65 white point for the 2° observer, and the
CIE 1976 L*a*b* formulas with scikit-image's piecewise constants. Every function takes any
leading dimensions with channels last, so the same code converts one pixel, one photo, or a
batch inside a model.

Arrays in: numpy arrays, nested lists, or tensors of the active Keras backend (TensorFlow,
JAX or PyTorch). Numpy in gives numpy out, computed by a compiled kernel; a tensor in gives a
tensor out, computed by plain `keras.ops`, so it is differentiable and traceable inside a
`keras.Model`, a `tf.data` pipeline or `jax.jit`.
"""

import functools

import keras
import numpy as np
from keras import ops

from colornet import _util
from colornet.constants import BAND_PIXELS

# The write-up scales a and b by 1/128 so that targets share tanh's range [-1, 1].
AB_SCALE = 128.0
# Lightness L* runs from 0 (black) to 100 (white); models take it centred on 0, in [-1, 1].
L_MAX = 100.0
L_CENTER = 50.0

# sRGB primaries with a D65 white (IEC 61966-2-1), as in skimage.color.colorconv.
XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
RGB_FROM_XYZ = np.linalg.inv(XYZ_FROM_RGB)
# CIE XYZ of the D65 illuminant, 2° observer, normalised to Y = 1 (scikit-image's values).
D65_WHITE = np.array([0.95047, 1.0, 1.08883])

# sRGB companding: linear below the knee, a 2.4 power above it.
_SRGB_KNEE = 0.04045
_LINEAR_KNEE = 0.0031308
# CIE L*a*b*: cube root above (6/29)^3, a straight line below it (scikit-image's constants).
_LAB_EPSILON = 0.008856
_LAB_SLOPE = 7.787
_LAB_OFFSET = 16.0 / 116.0
_LAB_KNEE = 0.2068966  # = 6/29, where the two pieces of f(t) meet


def rgb_to_lab(rgb):
    """Convert sRGB to CIE L*a*b* (D65, 2° observer), as `skimage.color.rgb2lab` does.

    Args:
        rgb: (..., 3) sRGB, channels last. uint8 is read as 0-255; any float as 0-1.
            Numpy array, list, or a tensor of the active Keras backend.

    Returns:
        (..., 3) float32 Lab: L in [0, 100]; a and b roughly in [-128, 128] for sRGB
        colours. Numpy for numpy input, otherwise a backend tensor.
    """
    if _is_numpy_like(rgb):
        return _convert_array(_rgb_to_lab, _as_channels_last_array(rgb, "rgb"))
    return _rgb_to_lab(rgb)


def lab_to_rgb(lab):
    """Convert CIE L*a*b* (D65, 2° observer) to sRGB, as `skimage.color.lab2rgb` does.

    Lab colours outside the sRGB gamut are clipped to [0, 1] (scikit-image also clips, and
    clips negative Z to 0), so the result is always a valid, finite colour and the gradient
    stays finite.

    Args:
        lab: (..., 3) float Lab, channels last: L in [0, 100], a and b about ±128.

    Returns:
        (..., 3) float32 sRGB in [0, 1]; numpy for numpy input, otherwise a backend tensor.
    """
    if _is_numpy_like(lab):
        return _convert_array(_lab_to_rgb, _as_channels_last_array(lab, "lab"))
    return _lab_to_rgb(lab)


def rgb_to_lightness(rgb):
    """Lightness L* of sRGB: `rgb_to_lab(rgb)[..., 0]`, in less than half the time.

    L* depends on luminance Y alone, so a and b (two more cube roots per pixel) are never
    computed: what colorizing needs from a full-resolution photo.

    Args:
        rgb: (..., 3) sRGB, as for `rgb_to_lab`.

    Returns:
        (...) float32 L* in [0, 100], the channel axis dropped; numpy for numpy input,
        otherwise a backend tensor.
    """
    if _is_numpy_like(rgb):
        array = _as_channels_last_array(rgb, "rgb")
        return _convert_array(_rgb_to_lightness, array)[..., 0]
    return _rgb_to_lightness(rgb)[..., 0]


def lightness_to_input(lightness):
    """Scale lightness L* in [0, 100] to the networks' input range [-1, 1]: L/50 - 1.

    Centring the input keeps the first ReLU layers away from saturating, which the
    write-up's raw 0-100 input did not. Every colornet model does this inside
    (`colornet.nets.contract.scale_lightness`) and takes L* itself; this serves code that
    feeds a bare network (the notebook, the ablations).
    """
    return (lightness - L_CENTER) / L_CENTER


def ab_to_target(ab):
    """Scale a and b (about ±128) to the models' tanh range: ab / 128 (the write-up's choice)."""
    return ab / AB_SCALE


def target_to_ab(scaled_ab):
    """Undo `ab_to_target`: a model's tanh output in [-1, 1] times 128 gives a and b."""
    return scaled_ab * AB_SCALE


def describe_lab(lab):
    """"L:    0 to 100" and the same for a and b: each channel's range, one line each, from
    Lab (..., 3) numpy."""
    lab = np.asarray(lab)
    return "\n".join(
        f"{name}: {round(float(channel.min())):4d} to {round(float(channel.max())):3d}"
        for name, channel in zip("Lab", np.moveaxis(lab, -1, 0))
    )


def split_lab(lab):
    """Split (..., 3) Lab into lightness (..., 1) and ab (..., 2), channels kept."""
    return lab[..., :1], lab[..., 1:]


def join_lab(lightness, ab):
    """Join lightness (..., 1) and ab (..., 2) into (..., 3) Lab."""
    return ops.concatenate([lightness, ab], axis=-1)


def combine(lightness, ab):
    """Lightness (..., H, W) and ab (..., H, W, 2) → RGB (..., H, W, 3) in [0, 1], float32.

    The ab values are clipped to ±128 first, the range the models are trained on. Band by
    band: besides the inputs, memory holds the result (12 bytes a pixel) and one band.
    """
    lightness = np.asarray(lightness, np.float32)
    rgb = np.empty((*lightness.shape, 3), np.float32)
    width = lightness.shape[-1] if lightness.ndim else 1
    rows = lightness.reshape(-1, width)
    rows_ab, rows_rgb = np.reshape(ab, (-1, width, 2)), rgb.reshape(-1, width, 3)
    band = max(1, BAND_PIXELS // width)
    for top in range(0, len(rows), band):
        lab = np.empty((*rows[top : top + band].shape, 3), np.float32)
        lab[..., 0] = rows[top : top + band]
        np.clip(rows_ab[top : top + band], -AB_SCALE, AB_SCALE, out=lab[..., 1:])
        rows_rgb[top : top + band] = lab_to_rgb(lab)
    return rgb


# ---------------------------------------------------------------------------------------------
# The conversions models need inside their graphs, as Keras layers


@keras.saving.register_keras_serializable(package="colornet")
class RgbToLightness(keras.layers.Layer):
    """sRGB (batch, H, W, 3) in [0, 1] → lightness L* (batch, H, W, 1) in [0, 100].

    Lets a model train on colour photos while seeing only their lightness.
    """

    def call(self, rgb):
        return rgb_to_lightness(rgb)[..., None]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)


@keras.saving.register_keras_serializable(package="colornet")
class LightnessToGreyRGB(keras.layers.Layer):
    """Lightness alone → the grey sRGB photo it describes: Lab (L, 0, 0) → sRGB.

    Call with lightness L* (batch, H, W, 1), float, in [0, 100]. Returns (batch, H, W, 3)
    float32 sRGB in [0, 1] with three equal channels (to 4e-5: sRGB's published matrix is
    rounded, so Lab's neutral axis carries a trace of tint; scikit-image's lab2rgb agrees).
    """

    def call(self, lightness):
        no_colour = ops.zeros_like(lightness)
        return lab_to_rgb(ops.concatenate([lightness, no_colour, no_colour], axis=-1))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


# ---------------------------------------------------------------------------------------------
# The conversions themselves, in keras.ops only. The `where` branches evaluate both sides, so
# each power is taken of an input clamped to its own side of the knee: that keeps the unused
# branch finite and its gradient free of NaN.


def _rgb_to_lab(rgb):
    linear = _linearize(rgb)
    xyz = _apply_matrix(XYZ_FROM_RGB / D65_WHITE[:, None], linear)
    f = ops.where(
        xyz > _LAB_EPSILON,
        _positive_power(ops.maximum(xyz, _LAB_EPSILON), 1.0 / 3.0),
        _LAB_SLOPE * xyz + _LAB_OFFSET,
    )
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    lightness = 116.0 * fy - 16.0
    a = 500.0 * (fx - fy)
    b = 200.0 * (fy - fz)
    return ops.stack([lightness, a, b], axis=-1)


def _rgb_to_lightness(rgb):
    """(..., 3) sRGB → (..., 1) L*: the Y row of `_rgb_to_lab` alone (Y of the white is 1)."""
    linear = _linearize(rgb)
    red, green, blue = (float(weight) for weight in XYZ_FROM_RGB[1])
    luminance = red * linear[..., 0] + green * linear[..., 1] + blue * linear[..., 2]
    fy = ops.where(
        luminance > _LAB_EPSILON,
        _positive_power(ops.maximum(luminance, _LAB_EPSILON), 1.0 / 3.0),
        _LAB_SLOPE * luminance + _LAB_OFFSET,
    )
    return (116.0 * fy - 16.0)[..., None]


def _lab_to_rgb(lab):
    lab = ops.cast(lab, "float32")
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    fy = (lightness + 16.0) / 116.0
    fx = a / 500.0 + fy
    fz = ops.maximum(fy - b / 200.0, 0.0)  # negative Z is not a colour; scikit-image clips too
    f = ops.stack([fx, fy, fz], axis=-1)
    xyz = ops.where(
        f > _LAB_KNEE,
        ops.maximum(f, _LAB_KNEE) ** 3,
        (f - _LAB_OFFSET) / _LAB_SLOPE,
    )
    linear = _apply_matrix(RGB_FROM_XYZ * D65_WHITE[None, :], xyz)
    rgb = ops.where(
        linear > _LINEAR_KNEE,
        1.055 * _positive_power(ops.maximum(linear, _LINEAR_KNEE), 1.0 / 2.4) - 0.055,
        12.92 * linear,
    )
    return ops.clip(rgb, 0.0, 1.0)


def _apply_matrix(matrix, pixels):
    """(3, 3) matrix times each (..., 3) pixel, written as three weighted sums.

    Three multiply-adds per output channel fuse into one elementwise kernel under XLA and
    broadcast over any leading dimensions on every backend, where a batched matmul would not.
    """
    matrix = matrix.astype("float32")
    channels = [pixels[..., 0], pixels[..., 1], pixels[..., 2]]
    rows = [
        sum(float(weight) * channel for weight, channel in zip(row, channels)) for row in matrix
    ]
    return ops.stack(rows, axis=-1)


def _srgb_to_linear(rgb):
    return np.where(
        rgb > _SRGB_KNEE, ((np.maximum(rgb, _SRGB_KNEE) + 0.055) / 1.055) ** 2.4, rgb / 12.92
    )


# 8-bit input has only 256 values per channel: look them up, computed once in float64.
_LINEAR_FROM_UINT8 = _srgb_to_linear(np.arange(256) / _util.EIGHT_BIT_MAX).astype("float32")


def _linearize(rgb):
    """sRGB (uint8 0-255, or float 0-1) → linear-light float32 RGB."""
    if keras.backend.standardize_dtype(rgb.dtype) == "uint8":
        return ops.take(_LINEAR_FROM_UINT8, ops.cast(rgb, "int32"))
    rgb = ops.cast(rgb, "float32")
    return ops.where(
        rgb > _SRGB_KNEE,
        _positive_power((ops.maximum(rgb, _SRGB_KNEE) + 0.055) / 1.055, 2.4),
        rgb / 12.92,
    )


def _positive_power(base, exponent):
    """base ** exponent for base > 0, as exp(exponent · log(base)): the same value, but half
    the time of a general power, which must also handle negative and zero bases."""
    return ops.exp(exponent * ops.log(base))


# ---------------------------------------------------------------------------------------------
# Numpy in, numpy out: one compiled kernel per backend instead of a dozen eager passes over
# a 12-megapixel photo. Compilers specialise on shape, so pixels are flattened and padded up
# to one of a few bucket sizes: a folder of photos in a hundred sizes compiles a handful of
# kernels, not a hundred.

# Eight buckets per doubling: padding wastes at most 1/8 of the work.
_BUCKETS_PER_OCTAVE = 8
_SMALLEST_BUCKET = 1024
# Larger arrays go through in chunks of 4 megapixels: one compiled kernel then serves
# every large photo, whatever its size (a new size would cost a second of compiling), and
# the kernel's intermediates stay a few megabytes however large the photo.
_CHUNK = 2**22


def _bucket_size(pixel_count):
    if pixel_count <= _SMALLEST_BUCKET:
        return _SMALLEST_BUCKET
    octave = 2 ** (int(pixel_count - 1).bit_length() - 1)
    step = octave // _BUCKETS_PER_OCTAVE
    return -(-pixel_count // step) * step


def _convert_array(function, array):
    """Run `function` on a (..., 3) numpy array as flat pixels, (N, 3) → (N, C): small arrays
    padded to a bucket size, large ones in fixed-size chunks (the last one padded). Returns
    (..., C)."""
    pixels = array.reshape(-1, 3)
    count = len(pixels)
    compiled = _compiled(function)
    if count <= _CHUNK:
        padded = np.zeros((_bucket_size(count), 3), dtype=pixels.dtype)
        padded[:count] = pixels
        converted = ops.convert_to_numpy(compiled(padded))[:count]
        return converted.reshape(*array.shape[:-1], converted.shape[-1])
    converted = None
    for start in range(0, count, _CHUNK):
        chunk = pixels[start : start + _CHUNK]
        if len(chunk) < _CHUNK:
            chunk = np.concatenate([chunk, np.zeros((_CHUNK - len(chunk), 3), chunk.dtype)])
        result = ops.convert_to_numpy(compiled(chunk))
        if converted is None:
            converted = np.empty((count, result.shape[-1]), dtype=np.float32)
        converted[start : start + _CHUNK] = result[: count - start]
    return converted.reshape(*array.shape[:-1], converted.shape[-1])


def _is_numpy_like(value):
    return isinstance(value, (np.ndarray, np.generic, list, tuple, int, float))


def _as_channels_last_array(value, name):
    array = np.asarray(value)
    if array.ndim == 0 or array.shape[-1] != 3:
        raise ValueError(f"{name} must have 3 channels in its last axis, got shape {array.shape}")
    if array.dtype != np.uint8:
        array = array.astype(np.float32, copy=False)
    return array


@functools.cache
def _compiled_for(backend, function):
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True, reduce_retracing=True)
    if backend == "jax":
        import jax

        return jax.jit(function)
    return function  # torch: eager ops are already fused enough; torch.compile costs seconds


def _compiled(function):
    return _compiled_for(keras.backend.backend(), function)
