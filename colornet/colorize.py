"""Colorizing: lightness in, a trained model's colour out, recombined with the original L.

The model only ever predicts a and b; the lightness of the result is the input's own, so
every detail of the photo survives whatever the model does.
"""

import numpy as np
import skimage.transform

from colornet import color, models


def pad_to_multiple(lightness, multiple=models.SIZE_MULTIPLE):
    """Mirror-pad (..., H, W) so both sides divide by `multiple`; returns (padded, (H, W)).

    Mirroring, not zeros, so the borders see plausible context instead of a black frame.
    """
    height, width = lightness.shape[-2:]
    pad_height, pad_width = -height % multiple, -width % multiple
    padding = [(0, 0)] * (lightness.ndim - 2) + [(0, pad_height), (0, pad_width)]
    return np.pad(lightness, padding, mode="symmetric"), (height, width)


def predict_ab(model, lightness, batch_size=8):
    """Predict a and b for lightness with a fully convolutional model (Version 1).

    Args:
        model: maps scaled lightness (N, H, W, 1) to scaled ab (N, H, W, 2), sides multiples of 8.
        lightness: (H, W) or (N, H, W) float L* in [0, 100], any size from 1×1 up.

    Returns:
        float32 ab, (H, W, 2) or (N, H, W, 2), a and b in [-128, 128]. Sides that are not
        multiples of 8 are mirror-padded for the model and cropped back, so nothing shifts.
    """
    lightness = np.asarray(lightness, dtype=np.float32)
    if lightness.ndim not in (2, 3):
        raise ValueError(f"lightness must be (H, W) or (N, H, W), got shape {lightness.shape}")
    single = lightness.ndim == 2
    batch = lightness[None] if single else lightness
    padded, (height, width) = pad_to_multiple(batch)
    scaled_ab = model.predict(
        color.lightness_to_input(padded)[..., None], batch_size=batch_size, verbose=0
    )
    ab = color.target_to_ab(np.asarray(scaled_ab, dtype=np.float32)[:, :height, :width])
    return ab[0] if single else ab


def combine(lightness, ab):
    """Lightness (..., H, W) and ab (..., H, W, 2) → RGB (..., H, W, 3) in [0, 1].

    The ab values are clipped to ±128 first, the range the models are trained on.
    """
    ab = np.clip(ab, -color.AB_SCALE, color.AB_SCALE)
    return color.lab_to_rgb(np.concatenate([np.asarray(lightness)[..., None], ab], axis=-1))


def colorize_lightness(model, lightness, batch_size=8):
    """RGB (..., H, W, 3) in [0, 1]: the lightness with a fully convolutional model's colours."""
    return combine(lightness, predict_ab(model, lightness, batch_size=batch_size))


def resize_ab(ab, shape):
    """Resize predicted ab (h, w, 2) smoothly (bilinear) to `shape` = (H, W)."""
    if ab.shape[:2] == tuple(shape):
        return ab
    return skimage.transform.resize(
        ab, (*shape, 2), order=1, mode="edge", anti_aliasing=False, preserve_range=True
    ).astype(np.float32)


def colorize_rgb(model, rgb, working_shape=None, batch_size=8):
    """Colorize an RGB image (colour or grey) from its lightness alone; RGB (H, W, 3) out.

    Args:
        model: a fully convolutional model (Version 1).
        rgb: (H, W, 3) RGB in [0, 1] or uint8.
        working_shape: (h, w) to run the model at, e.g. the size it was trained at, or None
            for the full size. The predicted ab is resized back to (H, W) and recombined with
            the full-resolution lightness, so the detail comes from the photo itself.
    """
    lightness = color.rgb_to_lab(rgb)[..., 0]
    if working_shape is None or tuple(working_shape) == lightness.shape:
        return colorize_lightness(model, lightness, batch_size=batch_size)
    small = skimage.transform.resize(lightness, working_shape, anti_aliasing=True, preserve_range=True)
    ab = predict_ab(model, small.astype(np.float32), batch_size=batch_size)
    return combine(lightness, resize_ab(ab, lightness.shape))
