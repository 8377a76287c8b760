"""Writing results: a photo as PNG or JPEG, atomically, never over an input image."""

import os
import pathlib

import numpy as np
import PIL.Image

from colornet import _util
from colornet.io import decode

# The formats save_image writes: lossless PNG for results, JPEG for sharing.
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def output_suffix(input_path, image_format=None):
    """The suffix a photo's result is saved with: `image_format`'s ("png" or "jpg") when
    given, else the input's own when save_image writes it (a JPEG stays a JPEG), else .png."""
    if image_format is not None:
        return f".{image_format}"
    suffix = pathlib.Path(input_path).suffix.lower()
    return suffix if suffix in SAVE_FORMATS else ".png"


def save_image(path, rgb, *, protected=(), quality=95, alpha=None):
    """Save an RGB or grey image as PNG or JPEG, atomically, never over an input image.

    The file is written to a hidden temporary file in the target's folder and then renamed
    over the target, so a failed or interrupted save leaves the old file (or nothing), never
    half an image. JPEGs keep full-resolution colour (4:4:4, no chroma subsampling) because
    colour is what colornet produces.

    Args:
        path: str or pathlib.Path ending in .png, .jpg or .jpeg (any case); missing parent
            folders are created.
        rgb: (H, W, 3) RGB or (H, W) grey; float in [0, 1] (clipped) or uint8 0-255.
        protected: a path, or paths, that must not be overwritten (the input images); the
            target is refused when it is the same file as any of them, however it is spelled.
        quality: JPEG quality, 1-100; ignored for PNG.
        alpha: optional (H, W) transparency in [0, 1] (or uint8), written as the PNG's alpha
            channel; JPEG has none, so it is ignored there (the RGB stays as given).

    Returns:
        pathlib.Path of the saved file (`path` as given).

    Raises:
        ImageError: unsupported suffix, a protected target, an array that is not an image,
            or a failure to write.
    """
    path = pathlib.Path(path)
    image_format = SAVE_FORMATS.get(path.suffix.lower())
    if image_format is None:
        raise decode.ImageError(
            f"cannot save '{path}': unsupported suffix '{path.suffix}' "
            f"(use one of {', '.join(SAVE_FORMATS)})"
        )
    if not _util.is_int(quality) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an int from 1 to 100, got {quality!r}")
    if isinstance(protected, (str, os.PathLike)):
        protected = [protected]  # one path, not a string of one-letter paths
    for input_path in protected:
        if _util.same_file(path, input_path):
            raise decode.ImageError(
                f"refusing to save '{path}': it would overwrite the input image '{input_path}'"
            )
    if path.is_dir():
        raise decode.ImageError(f"cannot save '{path}': it is a folder")

    pixels = _as_uint8(path, rgb)
    if alpha is not None and image_format == "PNG":
        alpha = _as_uint8(path, alpha)
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[..., None], 3, axis=-1)
        if alpha.shape != pixels.shape[:2]:
            raise decode.ImageError(
                f"cannot save '{path}': alpha {alpha.shape} does not match the image "
                f"{pixels.shape[:2]}"
            )
        pixels = np.concatenate([pixels, alpha[..., None]], axis=-1)
    image = PIL.Image.fromarray(pixels)
    options = {"quality": quality, "subsampling": 0} if image_format == "JPEG" else {}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _util.write_bytes_atomically(
            path, lambda file: image.save(file, format=image_format, **options)
        )
    except Exception as error:
        raise decode.ImageError(f"cannot save '{path}': {type(error).__name__}: {error}") from error
    return path


def _as_uint8(path, rgb):
    """(H, W, 3) or (H, W) [or (H, W, 1)] float [0, 1] or uint8 → uint8 (H, W, 3) or (H, W)."""
    array = np.asarray(rgb)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)) or array.size == 0:
        raise decode.ImageError(
            f"cannot save '{path}': expected an (H, W, 3) RGB or (H, W) grey image, "
            f"got shape {array.shape}"
        )
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if not np.issubdtype(array.dtype, np.floating):
        raise decode.ImageError(
            f"cannot save '{path}': expected float in [0, 1] or uint8, got {array.dtype}"
        )
    if not np.all(np.isfinite(array)):
        raise decode.ImageError(f"cannot save '{path}': the image contains NaN or infinite values")
    return _util.to_uint8(array)
