"""Reading one photo: any common image file as float RGB in [0, 1], or as its lightness.

Every loader returns float32 RGB in [0, 1], shape (H, W, 3), whatever the file holds: 8- or
16-bit, grey, palette, CMYK, with or without alpha (composited onto white), rotated as its
EXIF orientation says (`colornet.io.modes` turns each of Pillow's modes into numbers).
Anything wrong with a file becomes one `ImageError` whose message names the file and the
problem, never a traceback from deep inside Pillow.
"""

import math
import pathlib
import warnings

import numpy as np
import PIL.Image

from colornet import color
from colornet.constants import BAND_PIXELS
from colornet.errors import ColornetError
from colornet.io import modes

# Pillow's own hard limit (2 x PIL.Image.MAX_IMAGE_PIXELS, about 13,400 x 13,400): a larger
# image is refused anyway. As float32 RGB it already takes 2 GiB.
DEFAULT_MAX_PIXELS = 178_956_970


class ImageError(ColornetError, ValueError):
    """One-line, user-facing error that names the file and the problem."""


class TooManyPixelsError(ImageError):
    """An image with more pixels than the caller's `max_pixels`, refused before decoding. The
    message tells a Python caller how to allow it; `width`, `height` and `max_pixels` let
    another caller (the web page) say it in its own words."""

    def __init__(self, message, width, height, max_pixels):
        super().__init__(message)
        self.width, self.height, self.max_pixels = width, height, max_pixels


# ---------------------------------------------------------------------------------------------
# Reading one image


def load_rgb(path, *, max_pixels=DEFAULT_MAX_PIXELS):
    """Read an image file as RGB.

    Reads whatever Pillow reads (JPEG, PNG, TIFF, WebP, BMP, GIF, ...). Grey images become
    three equal channels. 16-bit PNGs (grey, grey+alpha, RGB, RGBA) and 16-bit TIFFs (grey,
    RGB, RGBA) keep their full precision (value / 65535), which Pillow alone would cut to 8
    bits. Transparent pixels are composited onto WHITE (what a viewer shows against a page),
    so alpha 0 gives (1, 1, 1) and alpha 1 keeps the colour. CMYK is converted by Pillow's
    plain formula, without an ICC profile; no ICC profile is applied to any image. GIFs and
    other animations give their first frame. The EXIF orientation is applied, so a photo
    taken with the camera turned comes out upright. 32-bit integer grey ("I") is read as
    16-bit and float grey ("F") as already in [0, 1]; values outside are clipped.

    Args:
        path: str or pathlib.Path of the file.
        max_pixels: refuse images with more than this many pixels (width x height), checked
            from the header before any pixel is decoded, so a small file cannot expand into
            gigabytes (a decompression bomb). None leaves only Pillow's own hard limit.

    Returns:
        float32 array (H, W, 3) in [0, 1].

    Raises:
        ImageError: the file is missing, a folder, empty, not an image, truncated or corrupt,
            has no pixels, or is larger than max_pixels.
    """
    rgb, _ = load_rgb_and_alpha(path, max_pixels=max_pixels)
    return rgb


def load_rgb_and_alpha(path, *, max_pixels=DEFAULT_MAX_PIXELS, composite=True):
    """Read an image as `load_rgb` does, and also its transparency.

    Args:
        path, max_pixels: as in `load_rgb`.
        composite: True composites transparent pixels onto white, as `load_rgb`; False keeps
            each pixel's own colour (straight alpha), for writing it back with its alpha:
            compositing and then applying the alpha again would lighten every
            semi-transparent pixel twice.

    Returns:
        (rgb, alpha): rgb float32 (H, W, 3) in [0, 1]; alpha float32 (H, W) in [0, 1]
        (0 = clear), or None for an image with no transparency. Both upright (EXIF
        orientation applied).
    """
    pixels, scale, orientation = _read_pixels(path, max_pixels)
    rgb, alpha = modes.to_rgb_and_alpha(pixels, scale, composite)
    upright_alpha = None if alpha is None else modes.orient(alpha, orientation)
    return modes.orient(rgb, orientation), upright_alpha


def load_lightness_and_alpha(path, *, max_pixels=DEFAULT_MAX_PIXELS, composite=True):
    """The photo's L* (H, W) float32 in [0, 100] and its alpha (H, W) float32 or None, as
    `load_rgb_and_alpha` would give them, without holding the photo as float RGB.

    Memory: the decoded pixels (3 bytes a pixel for 8-bit RGB) plus 4 bytes a pixel for L*
    (and 4 for alpha); the float RGB, 12 bytes a pixel, exists only band by band.
    """
    pixels, scale, orientation = _read_pixels(path, max_pixels)
    height, width = pixels.shape[:2]
    lightness = np.empty((height, width), np.float32)
    alpha = np.empty((height, width), np.float32) if pixels.shape[-1] in (2, 4) else None
    rows = max(1, BAND_PIXELS // max(width, 1))
    for top in range(0, height, rows):
        band_rgb, band_alpha = modes.to_rgb_and_alpha(pixels[top : top + rows], scale, composite)
        lightness[top : top + rows] = color.rgb_to_lightness(band_rgb)
        if alpha is not None:
            alpha[top : top + rows] = band_alpha
    del pixels
    upright_alpha = None if alpha is None else modes.orient(alpha, orientation)
    return modes.orient(lightness, orientation), upright_alpha


def load_reduced_rgb(path, pixels, *, max_pixels=DEFAULT_MAX_PIXELS):
    """The photo as float32 RGB (h, w, 3) in [0, 1] as seen on white, shrunk by the smallest
    whole factor f that leaves at most `pixels` pixels: each pixel the mean of an f × f block
    (the last rows and columns that fill no block are left out). Returns (rgb, f); f = 1
    gives the photo as `load_rgb` does.

    Memory: the decoded pixels plus band-sized buffers; the full-size float RGB is never held.
    """
    decoded, scale, orientation = _read_pixels(path, max_pixels)
    height, width = decoded.shape[:2]
    factor = max(1, math.ceil(math.sqrt(height * width / pixels)))
    while (height // factor) * (width // factor) > pixels:
        factor += 1
    factor = min(factor, height, width)  # a long thin strip keeps one row of blocks
    out_height, out_width = height // factor, width // factor
    rgb = np.empty((out_height, out_width, 3), np.float32)
    rows = max(1, BAND_PIXELS // max(width * factor, 1))  # output rows a band
    for top in range(0, out_height, rows):
        bottom = min(out_height, top + rows)
        band = decoded[top * factor : bottom * factor, : out_width * factor]
        band_rgb, _ = modes.to_rgb_and_alpha(band, scale, composite=True)
        rgb[top:bottom] = band_rgb.reshape(bottom - top, factor, out_width, factor, 3).mean(
            axis=(1, 3)
        )
    del decoded
    return modes.orient(rgb, orientation), factor


def _read_pixels(path, max_pixels):
    """(pixels (H, W, C) as decoded, full-intensity value, EXIF orientation) of an image file,
    with every failure as one ImageError."""
    path = pathlib.Path(path)
    _check_readable_file(path)
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS (89 M pixels) and raises above twice that.
            # The caller's max_pixels is the limit that counts: when it is at or below
            # Pillow's, the warning means a bomb (also one found mid-decode, e.g. an oversized
            # GIF frame) and must stop us; when the caller allowed more, the warning is moot.
            pillow_limit = PIL.Image.MAX_IMAGE_PIXELS
            escalate = None not in (pillow_limit, max_pixels) and max_pixels <= pillow_limit
            warnings.simplefilter(
                "error" if escalate else "ignore", PIL.Image.DecompressionBombWarning
            )
            # Image.open reads only the header, so the size check below comes before decoding.
            with PIL.Image.open(path) as image:
                _check_pixel_count(path, image.size, max_pixels)
                pixels, scale = modes.decode(path, image)
                orientation = modes.exif_orientation(path, image)
    except ImageError:
        raise
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning) as error:
        raise _unreadable(
            path, f"too large to decode safely, a possible decompression bomb ({error})"
        ) from error
    except PIL.UnidentifiedImageError as error:
        raise _unreadable(path, "not an image, or a format Pillow cannot read") from error
    except (FileNotFoundError, IsADirectoryError, PermissionError) as error:
        raise _unreadable(path, error.strerror or str(error)) from error
    except Exception as error:
        # Pillow's decoders raise a zoo of types for a damaged file (OSError, SyntaxError,
        # struct.error, EOFError, ValueError, even MemoryError); one clear message beats them.
        raise _unreadable(
            path,
            f"cannot decode it, the file may be truncated or corrupt "
            f"({type(error).__name__}: {error})",
        ) from error
    return pixels, scale, orientation


def load_lightness(path, *, max_pixels=DEFAULT_MAX_PIXELS):
    """Read an image file as its CIE L* lightness, the grey channel colornet's models see.

    Args:
        path: str or pathlib.Path of the file; anything `load_rgb` reads.
        max_pixels: as in `load_rgb`.

    Returns:
        float32 array (H, W): L* in [0, 100] (0 black, 100 white), D65 white point.
    """
    rgb = load_rgb(path, max_pixels=max_pixels)
    return color.rgb_to_lightness(rgb)


def load_grey_rgb(path, *, max_pixels=DEFAULT_MAX_PIXELS):
    """Read an image file as the grey RGB picture a backbone sees: the photo without colour.

    The grey of each pixel is the sRGB colour with the photo's lightness L* and a* = b* = 0,
    so the image has exactly the lightness colornet's models are given.

    Args:
        path: str or pathlib.Path of the file; anything `load_rgb` reads.
        max_pixels: as in `load_rgb`.

    Returns:
        float32 array (H, W, 3) in [0, 1] whose three channels are exactly equal.
    """
    lightness = load_lightness(path, max_pixels=max_pixels)
    no_colour = np.zeros_like(lightness)
    grey = color.lab_to_rgb(np.stack([lightness, no_colour, no_colour], axis=-1))
    # Lab to sRGB leaves the channels of a neutral grey a rounding error apart; averaging them
    # makes the promise "three equal channels" exact.
    grey = grey.mean(axis=-1, keepdims=True, dtype=np.float32)
    return np.repeat(grey, 3, axis=-1)


def problem_of(error):
    """"cannot read image 'x.jpg': the file is empty" → "the file is empty"."""
    message = str(error)
    prefix, separator, problem = message.partition("': ")
    return problem if separator and prefix.startswith("cannot read image '") else message


def _check_readable_file(path):
    """Turn the common mistakes into messages before Pillow turns them into tracebacks."""
    if not path.exists():
        raise _unreadable(path, "no such file")
    if path.is_dir():
        raise _unreadable(path, "it is a folder, not an image file")
    if path.stat().st_size == 0:
        raise _unreadable(path, "the file is empty (0 bytes)")


def _check_pixel_count(path, size, max_pixels):
    width, height = size
    if width <= 0 or height <= 0:
        raise _unreadable(path, f"the image has no pixels ({width} wide x {height} high)")
    if max_pixels is not None and width * height > max_pixels:
        raise TooManyPixelsError(
            str(_unreadable(
                path,
                f"{width} x {height} = {width * height:,} pixels is more than max_pixels="
                f"{max_pixels:,}; refusing to decode it (a possible decompression bomb). "
                "Pass a larger max_pixels if you trust the file",
            )),
            width, height, max_pixels,
        )


def _unreadable(path, problem):
    return ImageError(f"cannot read image '{path}': {problem}")
