"""Folders of photos: which files are images, listed in a stable order, and loaded as a batch.

Hidden files and operating-system clutter are passed over in silence; other files that are
not images are named in one warning; a missing or empty folder is one `ImageError`.
"""

import os
import pathlib
import warnings

import numpy as np
import PIL.Image

from colornet import _util
from colornet.io import decode, geometry

# Formats Pillow recognises but cannot decode by itself: stubs for scientific data and video
# (weights in HDF5, MPEG), Windows metafiles, and PostScript, which needs Ghostscript.
_NOT_DECODED = frozenset({"BUFR", "EPS", "GRIB", "HDF5", "MPEG", "WMF"})


def _pillow_suffixes():
    PIL.Image.init()  # every plugin registered, not only the handful preloaded
    return tuple(sorted(
        suffix for suffix, image_format in PIL.Image.registered_extensions().items()
        if image_format in PIL.Image.OPEN and image_format not in _NOT_DECODED
    ))


# What is a photo, one rule for a folder and a single file: what Pillow reads (`load_rgb`
# decodes with it), by suffix, so that listing a folder reads no file.
IMAGE_SUFFIXES = _pillow_suffixes()
# The ones a "no images found" message names; the rest it counts.
_SUFFIXES_NAMED = (".jpg", ".png", ".tif", ".bmp", ".gif", ".webp", ".pgm")

# Operating-system clutter found in photo folders; never a user's data, so never warned about.
_IGNORED_NAMES = frozenset({"Thumbs.db", "desktop.ini", "__MACOSX"})

# How many skipped file names a warning spells out before it says "and N more".
_NAMES_SHOWN = 10


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
        raise decode.ImageError(f"folder not found: '{folder}'")
    if not folder.is_dir():
        raise decode.ImageError(f"'{folder}' is a file, not a folder of images")

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
        looked_for = (f"what Pillow reads: {', '.join(_SUFFIXES_NAMED)} and "
                      f"{len(IMAGE_SUFFIXES) - len(_SUFFIXES_NAMED)} more suffixes")
        also = f"; skipped {skipped_note}" if skipped else ""
        raise decode.ImageError(f"no images found in '{folder}' (looked for {looked_for}{also})")
    if skipped:
        warnings.warn(f"skipped {skipped_note}", stacklevel=2)
    return images


def list_files(folder, *, recursive=True):
    """Every visible file in a folder (what `list_images` looks through), sorted; hidden
    files and operating-system clutter left out. ImageError for a missing folder."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise decode.ImageError(f"folder not found: '{folder}'")
    return _files_in(folder, recursive)


def _files_in(folder, recursive, exclude=None):
    """Sorted visible files under `folder`; a hidden or clutter folder, or `exclude`, is not
    entered."""
    return sorted(walk_files(folder, recursive=recursive, exclude=exclude))


def walk_files(folder, *, recursive=True, exclude=None, in_order=False):
    """Yield the visible files under `folder` as the walk finds them, unsorted: what
    `list_files` sorts, for a caller that shows progress through a tree of a million files.
    A hidden or clutter folder, or `exclude`, is not entered; an unreadable one is an
    ImageError. `in_order`: each directory's files by name, then its subfolders by name, so
    that every walk of the same tree yields the same sequence without listing it first."""
    folder = pathlib.Path(folder)
    exclude = None if exclude is None else pathlib.Path(exclude).resolve()

    def enter(directory, name):
        return _is_visible(name) and (exclude is None or (directory / name).resolve() != exclude)

    def raise_unreadable(error):
        raise decode.ImageError(
            f"cannot read folder '{error.filename}': {error.strerror}"
        ) from error

    for directory, subfolders, names in os.walk(folder, onerror=raise_unreadable):
        directory = pathlib.Path(directory)
        subfolders[:] = [name for name in subfolders if enter(directory, name)] if recursive else []
        if in_order:
            subfolders.sort()
            names = sorted(names)
        yield from (directory / name for name in names if _is_visible(name))


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
    _util.check_path_list(paths, "image paths", decode.ImageError)
    paths = [pathlib.Path(path) for path in paths]
    if not paths:
        raise decode.ImageError("no images to load: the list of paths is empty")
    if size is not None:
        geometry.as_height_width(size)  # a bad size fails now, not after the first image is decoded

    batch = None
    for index, path in enumerate(paths):
        rgb = decode.load_rgb(path)
        if size is not None:
            rgb = geometry.resize_and_crop(rgb, size)
        if batch is None:
            # One preallocated array: stacking a list would briefly hold the data twice.
            batch = np.empty((len(paths), *rgb.shape), dtype=np.float32)
        elif rgb.shape != batch.shape[1:]:
            raise decode.ImageError(
                f"images differ in size: '{paths[0]}' is (height, width) {batch.shape[1:3]} "
                f"but '{path}' is {rgb.shape[:2]}; pass size= (an int or (height, width)) "
                "to centre-crop and resize every image to one size"
            )
        batch[index] = rgb
    return batch
