"""Colour as classification: Zhang, Isola & Efros, "Colorful Image Colorization" (ECCV 2016).

A mean-squared-error loss on a and b averages the plausible colours of a pixel (a red or a
blue car) into their brownish mean: the sepia of regression colorizers. Zhang et al. instead
quantise ab into bins, predict a distribution over them, and

- soft-encode each true ab as its 5 nearest bins, Gaussian-weighted (sigma 5);
- rebalance the classes: each pixel's loss is weighted by how rare its colour is in the
  training photos (a smoothed histogram, mixed half and half with a uniform one), so that
  greys and browns, which dominate photos, do not dominate the loss;
- decode by the annealed mean: the mean of the distribution sharpened to temperature 0.38,
  vivid like the mode, smooth like the mean.

    ab (B, h, w, 2) in Lab units → soft targets (B, h, w, Q) → weighted cross-entropy
    logits (B, h, w, Q) → annealed mean → ab (B, h, w, 2)

The bins are the centres of a 10-unit grid over a, b in [-110, 110] that the sRGB gamut
reaches at some lightness: 313 bins in the paper, `ab_bins()` here.
"""

import functools

import keras
import numpy as np
from keras import ops

from colornet import _util, color

GRID_STEP = 10.0
GRID_LIMIT = 110.0
SOFT_NEIGHBOURS = 5
SOFT_SIGMA = 5.0
# The paper's choices: rebalancing mixes the smoothed empirical distribution with a uniform
# one at lambda = 0.5; the annealed mean decodes at T = 0.38.
REBALANCE_LAMBDA = 0.5
ANNEALED_TEMPERATURE = 0.38


@functools.cache
def ab_bins():
    """(Q, 2) float32 bin centres in Lab units: the cells of a 10-unit ab grid that some 8-bit
    sRGB colour falls in (every other level of each channel is enough to reach them all).
    Q is 261 here; the paper's gamut test kept 313."""
    levels = _util.to_unit_float(np.arange(0, 256, 2).astype(np.uint8))
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    ab = np.asarray(color.rgb_to_lab(rgb))[:, 1:]
    cells = np.unique(np.round(ab / GRID_STEP), axis=0) * GRID_STEP
    return cells[np.all(np.abs(cells) <= GRID_LIMIT, axis=-1)].astype(np.float32)


def soft_encode(ab, bins=None):
    """True ab (..., 2) in Lab units → (..., Q) soft one-hot over `bins`: the 5 nearest bins
    weighted by a Gaussian of sigma 5, summing to 1. keras.ops, differentiable nowhere needed."""
    bins = ops.convert_to_tensor(ab_bins() if bins is None else bins)
    squared = _squared_distances(ab, bins)  # (..., Q)
    nearest = ops.top_k(-squared, SOFT_NEIGHBOURS, sorted=False)[1]  # (..., 5)
    chosen = ops.sum(ops.one_hot(nearest, ops.shape(bins)[0], dtype=squared.dtype), axis=-2)
    # Measured from the nearest bin, so that an ab far from every bin (a = b = 128 is 80
    # units away) does not underflow to 0 / 0; the normalisation below cancels the shift.
    closest = ops.min(squared, axis=-1, keepdims=True)
    weights = ops.exp(-(squared - closest) / (2 * SOFT_SIGMA**2)) * chosen
    return weights / ops.sum(weights, axis=-1, keepdims=True)


def nearest_bin(ab, bins=None):
    """(..., 2) ab → (...,) int index of the nearest bin."""
    bins = ops.convert_to_tensor(ab_bins() if bins is None else bins)
    return ops.argmin(_squared_distances(ab, bins), axis=-1)


def _squared_distances(ab, bins):
    ab = ops.cast(ab, "float32")
    return ops.sum(ops.square(ab[..., None, :] - bins), axis=-1)


# Samples whose nearest bins are found at once by `rebalancing_weights` (13 MB of distances).
_SAMPLES_A_CHUNK = 1 << 16


def rebalancing_weights(ab_samples, bins=None, mix=REBALANCE_LAMBDA, sigma=SOFT_SIGMA):
    """The class weights w (Q,) from training pixels' ab (N, 2), numpy.

    p is the histogram of the samples' nearest bins, smoothed by a Gaussian of `sigma` in ab;
    w is proportional to 1 / ((1 - mix) p + mix / Q), scaled so that the expected weight
    under p is 1 (the paper's normalisation).
    """
    bins = ab_bins() if bins is None else np.asarray(bins, np.float32)
    ab_samples = np.asarray(ab_samples, np.float32).reshape(-1, 2)
    if not len(ab_samples):
        raise ValueError("rebalancing_weights needs at least one ab sample")
    counts = np.zeros(len(bins), np.float64)
    # A chunk at a time: the distances to every bin take 12 Q bytes a sample, 3 GB for the
    # million samples of 200 photos all at once.
    for start in range(0, len(ab_samples), _SAMPLES_A_CHUNK):
        nearest = np.asarray(nearest_bin(ab_samples[start:start + _SAMPLES_A_CHUNK], bins))
        counts += np.bincount(nearest, minlength=len(bins))
    squared = ((bins[:, None] - bins[None]) ** 2).sum(-1)
    smoothed = np.exp(-squared / (2 * sigma**2)) @ (counts / counts.sum())
    smoothed /= smoothed.sum()
    weights = 1.0 / ((1 - mix) * smoothed + mix / len(bins))
    weights /= (smoothed * weights).sum()
    return weights.astype(np.float32)


@keras.saving.register_keras_serializable(package="colornet")
class ClassificationLoss(keras.losses.Loss):
    """Zhang et al.'s multinomial loss with class rebalancing.

    Call with y_true: ab (B, h, w, 2) in Lab units, at the logits' size; y_pred: logits
    (B, h, w, Q). Returns each photo's mean over pixels of w(nearest bin of the true ab) times
    the cross-entropy between the soft-encoded truth and softmax(logits).
    """

    def __init__(self, weights=None, name="classification", **kwargs):
        super().__init__(name=name, **kwargs)
        self.class_weights = None if weights is None else [float(w) for w in weights]

    def call(self, y_true, y_pred):
        bins = ops.convert_to_tensor(ab_bins())
        target = soft_encode(y_true, bins)  # (B, h, w, Q)
        log_probabilities = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        cross_entropy = -ops.sum(target * log_probabilities, axis=-1)  # (B, h, w)
        if self.class_weights is not None:
            weights = ops.convert_to_tensor(np.asarray(self.class_weights, np.float32))
            cross_entropy = cross_entropy * ops.take(weights, ops.argmax(target, axis=-1))
        return ops.mean(cross_entropy, axis=(1, 2))

    def get_config(self):
        return {**super().get_config(), "weights": self.class_weights}


@keras.saving.register_keras_serializable(package="colornet")
class AnnealedMean(keras.layers.Layer):
    """Logits (B, h, w, Q) → scaled ab (B, h, w, 2) in [-1, 1]: the annealed mean of the
    bins (softmax(logits / T) is the distribution sharpened to temperature T), over AB_SCALE.
    Always computes in float32: 16 bits would round the colours."""

    def __init__(self, temperature=ANNEALED_TEMPERATURE, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = float(temperature)
        # Computed now, eagerly: `ab_bins` runs colour conversions in keras.ops, which inside
        # a traced `call` (the first predict of a freshly loaded model) give symbolic tensors.
        self._scaled_bins = ab_bins() / color.AB_SCALE  # (Q, 2) numpy

    def call(self, logits):
        bins = ops.convert_to_tensor(self._scaled_bins)
        sharpened = ops.softmax(ops.cast(logits, "float32") / self.temperature, axis=-1)
        return ops.einsum("...q,qc->...c", sharpened, bins)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}
