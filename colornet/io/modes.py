"""Pillow's image modes to numbers: every mode a photo may decode to, as one (H, W, C) array.

`decode` gives the pixels and the value of full intensity: 8-bit, 16-bit (both bytes of
every sample, which Pillow alone cuts to the high one), 32-bit integer and float grey, with
transparency keys made alpha. `to_rgb_and_alpha` turns them into float RGB in [0, 1] and an
alpha, composited onto white or not; `orient` applies the EXIF orientation. The readers in
`colornet.io.decode` are built on these.
"""

import sys
import warnings

import numpy as np
import PIL.ExifTags
import PIL.Image

from colornet import _util

_SIXTEEN_BIT = 65535.0
_SIXTEEN_BIT_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


# Pillow reads 16-bit RGB(A) through an unpacker that keeps only the high byte of each sample.
# Its decoders undo compression and PNG row filters on the raw bytes first; the unpacker of
# the opposite byte order then walks the same bytes but picks the other byte of each sample.
# Decoding twice, once with each, gives both bytes of every sample, still in Pillow's C code.
# Checked for PNG and for TIFF (raw, deflate, strips, tiles), the formats that carry 16 bits.
_SIXTEEN_BIT_COLOUR_FORMATS = ("PNG", "TIFF")
_NATIVE_16BIT = "16L" if sys.byteorder == "little" else "16B"
# 16-bit grey+alpha PNG is 4 bytes a pixel, as is 8-bit RGBA: read as "RGBA" the four bytes
# come back untouched as (grey high, grey low, alpha high, alpha low).
_PNG_16BIT_GREY_ALPHA_RAWMODE = "LA;16B"


def decode(path, image):
    """Decode a freshly opened Pillow image.

    Returns:
        (pixels, scale): pixels (H, W, C) with C = 1 (grey), 2 (grey, alpha), 3 (RGB) or
        4 (RGBA), of an integer or float dtype; scale is the value of full intensity.
    """
    rawmode = _shared_rawmode(image)
    low_byte_rawmode = _low_byte_rawmode(rawmode)
    if low_byte_rawmode and image.format in _SIXTEEN_BIT_COLOUR_FORMATS:
        return _decode_16bit_colour(path, image, low_byte_rawmode), _SIXTEEN_BIT
    if image.format == "PNG" and rawmode == _PNG_16BIT_GREY_ALPHA_RAWMODE:
        return _decode_png_16bit_grey_alpha(image), _SIXTEEN_BIT
    if image.mode in _SIXTEEN_BIT_GREY_MODES:
        return _with_grey_key_alpha(np.asarray(image), image.info), _SIXTEEN_BIT
    if image.mode == "I":
        return np.asarray(image)[..., None], _SIXTEEN_BIT
    if image.mode == "F":
        return np.asarray(image)[..., None], 1.0
    # Everything else is 8 bits a channel; Pillow's convert knows its palettes, transparency
    # keys, premultiplied alpha and CMYK. Grey stays one channel until the end to save memory.
    if image.mode in ("1", "L") and "transparency" not in image.info:
        return np.asarray(image.convert("L"))[..., None], _util.EIGHT_BIT_MAX
    target_mode = "RGBA" if image.has_transparency_data else "RGB"
    return np.asarray(image.convert(target_mode)), _util.EIGHT_BIT_MAX


def _shared_rawmode(image):
    """The pixel layout ("rawmode") all of the image's tiles are stored in, or None."""
    rawmodes = {_tile_rawmode(tile) for tile in image.tile}
    return rawmodes.pop() if len(rawmodes) == 1 else None


def _tile_rawmode(tile):
    # A tile is (codec, box, offset, args). PNG's args are the rawmode itself, TIFF's and
    # JPEG's a tuple that starts with it; other codecs put other things there.
    args = tile[3] if len(tile) > 3 else None
    if isinstance(args, tuple) and args:
        args = args[0]
    return args if isinstance(args, str) else None


def _with_rawmode(tile, rawmode):
    args = rawmode if isinstance(tile.args, str) else (rawmode, *tile.args[1:])
    return tile._replace(args=args)


def _low_byte_rawmode(rawmode):
    """"RGB;16B" → "RGB;16L" and the like: the unpacker that picks the other byte, or None."""
    base, _, layout = (rawmode or "").partition(";")
    if base not in ("RGB", "RGBA") or layout not in ("16B", "16L", "16N"):
        return None
    layout = _NATIVE_16BIT if layout == "16N" else layout
    return f"{base};{'16L' if layout == '16B' else '16B'}"


def _decode_16bit_colour(path, image, low_byte_rawmode):
    high_bytes = np.asarray(image).astype(np.uint16)
    with PIL.Image.open(path) as low_image:
        low_image.tile = [_with_rawmode(tile, low_byte_rawmode) for tile in low_image.tile]
        low_bytes = np.asarray(low_image).astype(np.uint16)
    pixels = high_bytes * 256 + low_bytes
    if pixels.shape[-1] == 3:
        # Pillow compares a 16-bit PNG transparency key with 8-bit values; use all 16 bits.
        return _with_colour_key_alpha(pixels, image.info)
    return pixels


def _decode_png_16bit_grey_alpha(image):
    image.tile = [_with_rawmode(tile, "RGBA") for tile in image.tile]
    raw = np.asarray(image).astype(np.uint16)
    grey = raw[..., 0] * 256 + raw[..., 1]
    alpha = raw[..., 2] * 256 + raw[..., 3]
    return np.stack([grey, alpha], axis=-1)


def _with_grey_key_alpha(grey, info):
    """(H, W) grey → (H, W, 1), or (H, W, 2) with alpha when a tRNS key marks one value clear."""
    key = info.get("transparency")
    if not isinstance(key, int):
        return grey[..., None]
    alpha = np.where(grey == key, 0, _SIXTEEN_BIT).astype(grey.dtype)
    return np.stack([grey, alpha], axis=-1)


def _with_colour_key_alpha(rgb, info):
    """(H, W, 3) → itself, or (H, W, 4) with alpha when a tRNS key marks one colour clear."""
    key = info.get("transparency")
    if not (isinstance(key, tuple) and len(key) == 3):
        return rgb
    clear = np.all(rgb == np.asarray(key, dtype=rgb.dtype), axis=-1)
    alpha = np.where(clear, 0, _SIXTEEN_BIT).astype(rgb.dtype)
    return np.concatenate([rgb, alpha[..., None]], axis=-1)


def to_rgb_and_alpha(pixels, scale, composite=True):
    """(H, W, C) pixels with full intensity `scale` → (float32 (H, W, 3) in [0, 1], composited
    on white if `composite`, float32 (H, W) alpha or None)."""
    values = np.clip(pixels.astype(np.float32) / np.float32(scale), 0.0, 1.0)
    alpha = None
    if values.shape[-1] in (2, 4):
        values, alpha = values[..., :-1], values[..., -1]
        if composite:
            values = composite_on_white(values, alpha)
    if values.shape[-1] == 1:
        values = np.repeat(values, 3, axis=-1)
    return values, alpha


def composite_on_white(rgb, alpha):
    """(H, W, C) straight colour in [0, 1] and its (H, W) alpha → (H, W, C) as seen on white."""
    return rgb * alpha[..., None] + (1.0 - alpha[..., None])


# EXIF orientation → the numpy operation that makes the picture upright (EXIF 2.32, tag 274),
# the same transposes PIL.ImageOps.exif_transpose applies. Done on the array so the 16-bit
# and 8-bit paths share it.
_UPRIGHT = {
    2: lambda array: array[:, ::-1],
    3: lambda array: array[::-1, ::-1],
    4: lambda array: array[::-1],
    5: lambda array: array.swapaxes(0, 1),
    6: lambda array: np.rot90(array, k=-1),
    7: lambda array: array[::-1, ::-1].swapaxes(0, 1),
    8: lambda array: np.rot90(array, k=1),
}


def exif_orientation(path, image):
    """The EXIF orientation of an open Pillow image, 1 (upright) when it has none; a warning
    naming `path` when its EXIF data cannot be read."""
    try:
        return image.getexif().get(PIL.ExifTags.Base.Orientation, 1)
    except Exception as error:
        # A damaged EXIF block should not cost the user the photo itself.
        warnings.warn(f"ignored the unreadable EXIF data of '{path}' ({error})", stacklevel=3)
        return 1


def orient(rgb, orientation):
    """An (H, W, ...) array made upright as the EXIF `orientation` (1 to 8) says."""
    upright = _UPRIGHT.get(orientation)
    if upright is None:
        return rgb
    return np.ascontiguousarray(upright(rgb))
