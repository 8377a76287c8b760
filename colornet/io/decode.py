"""Images on disk: read any common photo as float RGB, list a folder of them, save results.

Every loader returns float32 RGB in [0, 1], shape (H, W, 3), whatever the file holds: 8- or
16-bit, grey, palette, CMYK, with or without alpha (composited onto white), rotated as its
EXIF orientation says. Anything wrong with a file becomes one `ImageError` whose message
names the file and the problem, never a traceback from deep inside Pillow.
"""

import math
import os
import pathlib
import sys
import warnings

import numpy as np
import PIL.ExifTags
import PIL.Image

from colornet import _util, color
from colornet.constants import BAND_PIXELS, SIZE_MULTIPLE

# Pillow's own hard limit (2 x PIL.Image.MAX_IMAGE_PIXELS, about 13,400 x 13,400): a larger
# image is refused anyway. As float32 RGB it already takes 2 GiB.
DEFAULT_MAX_PIXELS = 178_956_970

# What list_images looks for; Keras's own image folders use the first five.
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")

# The formats save_image writes: lossless PNG for results, JPEG for sharing.
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}

# Operating-system clutter found in photo folders; never a user's data, so never warned about.
_IGNORED_NAMES = frozenset({"Thumbs.db", "desktop.ini", "__MACOSX"})

# How many skipped file names a warning spells out before it says "and N more".
_NAMES_SHOWN = 10

_EIGHT_BIT = 255.0
_SIXTEEN_BIT = 65535.0
_SIXTEEN_BIT_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


class ImageError(ValueError):
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
    rgb, alpha = _to_rgb_and_alpha(pixels, scale, composite)
    return _orient(rgb, orientation), None if alpha is None else _orient(alpha, orientation)


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
        band_rgb, band_alpha = _to_rgb_and_alpha(pixels[top : top + rows], scale, composite)
        lightness[top : top + rows] = color.rgb_to_lightness(band_rgb)
        if alpha is not None:
            alpha[top : top + rows] = band_alpha
    del pixels
    return _orient(lightness, orientation), None if alpha is None else _orient(alpha, orientation)


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
        band_rgb, _ = _to_rgb_and_alpha(band, scale, composite=True)
        rgb[top:bottom] = band_rgb.reshape(bottom - top, factor, out_width, factor, 3).mean(
            axis=(1, 3)
        )
    del decoded
    return _orient(rgb, orientation), factor


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
                pixels, scale = _decode(path, image)
                orientation = _exif_orientation(path, image)
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


# ---------------------------------------------------------------------------------------------
# Decoding: every mode Pillow may hand back, to one (H, W, C) array and the value of "full".

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


def _decode(path, image):
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
        return np.asarray(image.convert("L"))[..., None], _EIGHT_BIT
    target_mode = "RGBA" if image.has_transparency_data else "RGB"
    return np.asarray(image.convert(target_mode)), _EIGHT_BIT


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


def _to_rgb_and_alpha(pixels, scale, composite=True):
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


def _exif_orientation(path, image):
    try:
        return image.getexif().get(PIL.ExifTags.Base.Orientation, 1)
    except Exception as error:
        # A damaged EXIF block should not cost the user the photo itself.
        warnings.warn(f"ignored the unreadable EXIF data of '{path}' ({error})", stacklevel=3)
        return 1


def _orient(rgb, orientation):
    upright = _UPRIGHT.get(orientation)
    if upright is None:
        return rgb
    return np.ascontiguousarray(upright(rgb))


# ---------------------------------------------------------------------------------------------
# Folders of images


def is_image_file(path):
    """True when `path` is a file with an image suffix whose header Pillow recognises.

    Only the first few kilobytes are read, so this is cheap enough for a whole dataset; a
    file that passes may still turn out truncated when `load_rgb` decodes it.

    Args:
        path: str or pathlib.Path.
    """
    path = pathlib.Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(path):
                return True
    except PIL.Image.DecompressionBombError:
        return True  # identified as an image; load_rgb will explain why it refuses it
    except Exception:
        return False


def list_images(folder, *, recursive=True, check_headers=True, exclude=None):
    """List the image files in a folder, sorted, so every run sees them in the same order.

    Hidden files and folders (".DS_Store", "._photo.jpg", ".git") and operating-system
    clutter ("Thumbs.db", "desktop.ini", "__MACOSX") are skipped silently. Other files that
    are not images (see `is_image_file`) are skipped with one warning that names them.

    Args:
        folder: str or pathlib.Path of the folder.
        recursive: also look in every subfolder (symbolic links to folders are not followed).
        check_headers: read each file's header (`is_image_file`); False lists every file with
            an image suffix, so that a corrupt one is reported when it fails to load instead
            of skipped here.
        exclude: a folder whose files are left out (an output folder inside `folder`).

    Returns:
        list of pathlib.Path, each `folder / relative path`, sorted by path.

    Raises:
        ImageError: the folder is missing, is a file, or holds no images.
    """
    folder = pathlib.Path(folder)
    if not folder.exists():
        raise ImageError(f"folder not found: '{folder}'")
    if not folder.is_dir():
        raise ImageError(f"'{folder}' is a file, not a folder of images")

    def is_image(path):
        if check_headers:
            return is_image_file(path)
        return path.suffix.lower() in IMAGE_SUFFIXES

    images, skipped = [], []
    for path in _files_in(folder, recursive, exclude):
        (images if is_image(path) else skipped).append(path)

    skipped_note = ""
    if skipped:
        names = [path.relative_to(folder).as_posix() for path in skipped]
        named = _util.name_list(names, _NAMES_SHOWN)
        skipped_note = f"{len(names)} non-image file(s) in '{folder}': {named}"
    if not images:
        looked_for = ", ".join(IMAGE_SUFFIXES)
        also = f"; skipped {skipped_note}" if skipped else ""
        raise ImageError(f"no images found in '{folder}' (looked for {looked_for}{also})")
    if skipped:
        warnings.warn(f"skipped {skipped_note}", stacklevel=2)
    return images


def list_files(folder, *, recursive=True):
    """Every visible file in a folder (what `list_images` looks through), sorted; hidden
    files and operating-system clutter left out. ImageError for a missing folder."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise ImageError(f"folder not found: '{folder}'")
    return _files_in(folder, recursive)


def _files_in(folder, recursive, exclude=None):
    """Sorted visible files under `folder`; a hidden or clutter folder, or `exclude`, is not
    entered."""
    exclude = None if exclude is None else pathlib.Path(exclude).resolve()

    def enter(directory, name):
        return _is_visible(name) and (exclude is None or (directory / name).resolve() != exclude)

    def raise_unreadable(error):
        raise ImageError(f"cannot read folder '{error.filename}': {error.strerror}") from error

    files = []
    for directory, subfolders, names in os.walk(folder, onerror=raise_unreadable):
        directory = pathlib.Path(directory)
        subfolders[:] = [name for name in subfolders if enter(directory, name)] if recursive else []
        files.extend(directory / name for name in names if _is_visible(name))
    return sorted(files)


def _is_visible(name):
    return not name.startswith(".") and name not in _IGNORED_NAMES


def load_images(paths, *, size=None):
    """Load image files into one batch.

    Args:
        paths: sequence of str or pathlib.Path (e.g. from `list_images`).
        size: None to keep each image's size, which must then be the same for all; or an int
            (square) or (height, width): each image is centre-cropped to that shape's aspect
            ratio and resized to it (see `resize_and_crop`).

    Returns:
        float32 array (N, H, W, 3) in [0, 1], in the order of `paths`.

    Raises:
        ImageError: no paths, a file `load_rgb` cannot read, or sizes that differ while
            size is None.
    """
    _util.check_path_list(paths, "image paths", ImageError)
    paths = [pathlib.Path(path) for path in paths]
    if not paths:
        raise ImageError("no images to load: the list of paths is empty")
    if size is not None:
        _as_height_width(size)  # a bad size fails now, not after the first image is decoded

    batch = None
    for index, path in enumerate(paths):
        rgb = load_rgb(path)
        if size is not None:
            rgb = resize_and_crop(rgb, size)
        if batch is None:
            # One preallocated array: stacking a list would briefly hold the data twice.
            batch = np.empty((len(paths), *rgb.shape), dtype=np.float32)
        elif rgb.shape != batch.shape[1:]:
            raise ImageError(
                f"images differ in size: '{paths[0]}' is (height, width) {batch.shape[1:3]} "
                f"but '{path}' is {rgb.shape[:2]}; pass size= (an int or (height, width)) "
                "to centre-crop and resize every image to one size"
            )
        batch[index] = rgb
    return batch


# ---------------------------------------------------------------------------------------------
# Resizing


def resize_and_crop(rgb, size):
    """Centre-crop an image to the target's aspect ratio, then resize it to the target.

    The crop is the largest centred window with the target's aspect ratio, so nothing is
    stretched. The resize is Pillow's bicubic filter run on the float data of each channel:
    Pillow widens the filter by the shrink factor, so shrinking is properly anti-aliased (a
    fine checkerboard turns grey rather than into moire), and faster than
    skimage.transform.resize with anti_aliasing. Bicubic overshoot is clipped.

    Args:
        rgb: (H, W, C) or (H, W) float in [0, 1]; uint8 is read as 0-255.
        size: int for a square, or (height, width), all positive.

    Returns:
        float32 array (height, width, C) or (height, width) in [0, 1].

    Raises:
        ValueError: size is not a positive int or pair of them, or the image has no pixels.
    """
    height, width = _as_height_width(size)
    image = np.asarray(rgb)
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"rgb must be an (H, W, C) or (H, W) image, got shape {image.shape}")
    image = image.astype(np.float32) / _EIGHT_BIT if image.dtype == np.uint8 else image

    in_height, in_width = image.shape[:2]
    if in_width * height > in_height * width:  # wider than the target: trim left and right
        crop_height, crop_width = in_height, max(1, round(in_height * width / height))
    else:  # taller than (or as wide as) the target: trim top and bottom
        crop_height, crop_width = max(1, round(in_width * height / width)), in_width
    top, left = (in_height - crop_height) // 2, (in_width - crop_width) // 2
    cropped = image[top : top + crop_height, left : left + crop_width].astype(np.float32)
    if cropped.shape[:2] == (height, width):
        return np.clip(cropped, 0.0, 1.0)

    channels = cropped[..., None] if cropped.ndim == 2 else cropped
    resized = np.stack(
        [
            np.asarray(
                PIL.Image.fromarray(np.ascontiguousarray(channels[..., channel])).resize(
                    (width, height), PIL.Image.Resampling.BICUBIC
                )
            )
            for channel in range(channels.shape[-1])
        ],
        axis=-1,
    )
    resized = np.clip(resized, 0.0, 1.0)
    return resized[..., 0] if cropped.ndim == 2 else resized


def fit_size(shape, longest_side):
    """(height, width) that keeps the aspect ratio, fits `longest_side`, and divides by 8."""
    height, width = shape[:2]
    scale = min(1.0, longest_side / max(height, width))
    multiple = SIZE_MULTIPLE
    return tuple(
        max(multiple, round(side * scale / multiple) * multiple) for side in (height, width)
    )


def pad_to_multiple(lightness, multiple=SIZE_MULTIPLE):
    """Mirror-pad (..., H, W) so both sides divide by `multiple`; returns (padded, (H, W)).

    Mirroring, not zeros, so the borders see plausible context instead of a black frame.
    """
    height, width = lightness.shape[-2:]
    pad_height, pad_width = -height % multiple, -width % multiple
    padding = [(0, 0)] * (lightness.ndim - 2) + [(0, pad_height), (0, pad_width)]
    return np.pad(lightness, padding, mode="symmetric"), (height, width)


def resize_channels(image, shape):
    """Resize (H, W) or (H, W, C) float data smoothly to `shape` = (h, w), values kept as they
    are (no clipping to [0, 1]), with Pillow on 32-bit float planes (much faster than
    scikit-image on large photos).

    Shrinking is bicubic over the whole footprint (no aliasing), the filter
    `resize_and_crop` gives training photos, so a model sees lightness as it was trained
    on (bilinear scored lower on the sample portrait). Enlarging, which here
    means predicted colour, is bilinear: it never overshoots the values it starts from.
    """
    image = np.asarray(image, dtype=np.float32)
    shape = tuple(int(side) for side in shape[:2])
    if image.shape[:2] == shape:
        return image
    shrinking = shape[0] < image.shape[0] or shape[1] < image.shape[1]
    resample = PIL.Image.Resampling.BICUBIC if shrinking else PIL.Image.Resampling.BILINEAR
    planes = image[..., None] if image.ndim == 2 else image
    # Filled plane by plane: stacking a list would hold every plane twice.
    resized = np.empty((*shape, planes.shape[-1]), np.float32)
    for index in range(planes.shape[-1]):
        plane = PIL.Image.fromarray(np.ascontiguousarray(planes[..., index]), mode="F")
        resized[..., index] = np.asarray(plane.resize((shape[1], shape[0]), resample))
    return resized[..., 0] if image.ndim == 2 else resized


def shrink(rgb, *, shorter_side=None, longer_side=None):
    """Shrink (H, W, 3) keeping its aspect ratio so that its shorter (or longer) side is the
    given number of pixels; a photo already that small is returned as it is, never enlarged.
    Exactly one of `shorter_side` and `longer_side` is given."""
    if (shorter_side is None) == (longer_side is None):
        raise ValueError("give exactly one of shorter_side and longer_side")
    height, width = rgb.shape[:2]
    if shorter_side is not None:
        scale = shorter_side / min(height, width)
    else:
        scale = longer_side / max(height, width)
    if scale >= 1:
        return rgb
    return resize_and_crop(rgb, (max(1, round(height * scale)), max(1, round(width * scale))))


def _as_height_width(size):
    """int → (size, size); (height, width) → itself; both checked to be positive ints."""
    pair = (size, size) if _util.is_int(size) else tuple(size) if _is_pair(size) else None
    if pair is None or not all(_util.is_int(side) and side > 0 for side in pair):
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return int(pair[0]), int(pair[1])


def _is_pair(value):
    return isinstance(value, (tuple, list)) and len(value) == 2


# ---------------------------------------------------------------------------------------------
# Saving


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
        raise ImageError(
            f"cannot save '{path}': unsupported suffix '{path.suffix}' "
            f"(use one of {', '.join(SAVE_FORMATS)})"
        )
    if not _util.is_int(quality) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an int from 1 to 100, got {quality!r}")
    if isinstance(protected, (str, os.PathLike)):
        protected = [protected]  # one path, not a string of one-letter paths
    for input_path in protected:
        if _util.same_file(path, input_path):
            raise ImageError(
                f"refusing to save '{path}': it would overwrite the input image '{input_path}'"
            )
    if path.is_dir():
        raise ImageError(f"cannot save '{path}': it is a folder")

    pixels = _as_uint8(path, rgb)
    if alpha is not None and image_format == "PNG":
        alpha = _as_uint8(path, alpha)
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[..., None], 3, axis=-1)
        if alpha.shape != pixels.shape[:2]:
            raise ImageError(
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
        raise ImageError(f"cannot save '{path}': {type(error).__name__}: {error}") from error
    return path


def _as_uint8(path, rgb):
    """(H, W, 3) or (H, W) [or (H, W, 1)] float [0, 1] or uint8 → uint8 (H, W, 3) or (H, W)."""
    array = np.asarray(rgb)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)) or array.size == 0:
        raise ImageError(
            f"cannot save '{path}': expected an (H, W, 3) RGB or (H, W) grey image, "
            f"got shape {array.shape}"
        )
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if not np.issubdtype(array.dtype, np.floating):
        raise ImageError(
            f"cannot save '{path}': expected float in [0, 1] or uint8, got {array.dtype}"
        )
    if not np.all(np.isfinite(array)):
        raise ImageError(f"cannot save '{path}': the image contains NaN or infinite values")
    return _util.to_uint8(array)
