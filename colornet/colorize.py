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
    """Predict a and b for lightness with either kind of colornet model.

    - Version 1 (`models.single_image_net`, input "scaled_lightness", any size): runs at the
      lightness's own size, mirror-padded to multiples of 8 and cropped back, so nothing shifts.
    - The final colorizer (`models.colorizer`, input "lightness", fixed size S): runs at S×S;
      its colours are resized smoothly back to the lightness's size.

    Args:
        model: a colornet model.
        lightness: (H, W) or (N, H, W) float L* in [0, 100], any size from 1×1 up.

    Returns:
        float32 ab, (H, W, 2) or (N, H, W, 2), a and b in [-128, 128].
    """
    lightness = np.asarray(lightness, dtype=np.float32)
    if lightness.ndim not in (2, 3):
        raise ValueError(f"lightness must be (H, W) or (N, H, W), got shape {lightness.shape}")
    single = lightness.ndim == 2
    batch = lightness[None] if single else lightness
    kind, working_size = model_kind(model)
    if kind == "single_image":
        padded, (height, width) = pad_to_multiple(batch)
        scaled_ab = model.predict(
            color.lightness_to_input(padded)[..., None], batch_size=batch_size, verbose=0
        )
        ab = color.target_to_ab(np.asarray(scaled_ab, dtype=np.float32)[:, :height, :width])
    else:
        small = np.stack([resize_channels(image, (working_size, working_size)) for image in batch])
        scaled_ab = np.asarray(
            model.predict(small[..., None], batch_size=batch_size, verbose=0), dtype=np.float32
        )
        ab = np.stack([resize_channels(color.target_to_ab(image), batch.shape[1:]) for image in scaled_ab])
    return ab[0] if single else ab


def model_kind(model):
    """("single_image", None) for Version 1 or ("colorizer", S) for the final colorizer.

    Told apart by the name of the model's input, not by position: Version 1 takes scaled
    lightness at any size, the final colorizer raw lightness at S×S.
    """
    name = model.inputs[0].name if model.inputs else None
    shape = tuple(model.inputs[0].shape) if model.inputs else ()
    if name == "scaled_lightness" and len(shape) == 4 and shape[-1] == 1:
        return "single_image", None
    if name == "lightness" and len(shape) == 4 and shape[1] is not None and shape[-1] == 1:
        return "colorizer", shape[1]
    raise ValueError(
        f"{model.name} is not a colornet colorizer: it takes {name!r} {shape}, not "
        "(batch, H, W, 1) lightness"
    )


def resize_channels(image, shape):
    """Resize (H, W) or (H, W, C) float data smoothly to (h, w): area-averaged when shrinking,
    bilinear when enlarging, values kept as they are (no clipping to [0, 1])."""
    if image.shape[:2] == tuple(shape):
        return image.astype(np.float32, copy=False)
    shrinking = shape[0] < image.shape[0] or shape[1] < image.shape[1]
    resized = skimage.transform.resize(
        image, (*shape, *image.shape[2:]), order=1, mode="edge",
        anti_aliasing=shrinking, preserve_range=True,
    )
    return resized.astype(np.float32)


def combine(lightness, ab):
    """Lightness (..., H, W) and ab (..., H, W, 2) → RGB (..., H, W, 3) in [0, 1].

    The ab values are clipped to ±128 first, the range the models are trained on.
    """
    ab = np.clip(ab, -color.AB_SCALE, color.AB_SCALE)
    return color.lab_to_rgb(np.concatenate([np.asarray(lightness)[..., None], ab], axis=-1))


def colorize_lightness(model, lightness, batch_size=8):
    """RGB (..., H, W, 3) in [0, 1]: the lightness with a fully convolutional model's colours."""
    return combine(lightness, predict_ab(model, lightness, batch_size=batch_size))


def colorize_rgb(model, rgb, working_shape=None, batch_size=8):
    """Colorize an RGB image (colour or grey) from its lightness alone; RGB (H, W, 3) out.

    Args:
        model: a colornet model (Version 1 or the final colorizer).
        rgb: (H, W, 3) RGB in [0, 1] or uint8.
        working_shape: for Version 1, (h, w) to run it at, e.g. the scale it was trained at;
            None for the full size. The final colorizer always runs at its own size. The predicted ab is resized back to (H, W) and recombined with
            the full-resolution lightness, so the detail comes from the photo itself.
    """
    lightness = color.rgb_to_lab(rgb)[..., 0]
    if working_shape is None or tuple(working_shape) == lightness.shape:
        return colorize_lightness(model, lightness, batch_size=batch_size)
    ab = predict_ab(model, resize_channels(lightness, working_shape), batch_size=batch_size)
    return combine(lightness, resize_channels(ab, lightness.shape))
