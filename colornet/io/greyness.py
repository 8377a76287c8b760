"""Is this photo too grey to learn colour from? The one definition, used by `colornet single`,
`colornet train` and `colornet prepare`, and `scan_folder`, which sorts a folder's photos
into colour, grey and unreadable by it, one small thumbnail at a time.

Grey, near-grey and toned photos (sepia, cyanotype) all count as grey: each holds a single
tint at most, so it teaches only "tint everything brown". (`colornet.metrics.colourfulness`
is another measure, Hasler and Süsstrunk's, for scoring results.)

The same measure, taken from neutral grey instead of from the photo's own tint, tells a photo
to colorize that is not black and white (`has_colour`): a sepia, yellowed or colour photo,
of which `colornet colorize` uses only the lightness, and says so.
"""

import dataclasses
import pathlib
import warnings

import numpy as np
import PIL.Image
import tqdm

from colornet import _util, color
from colornet.io import decode, folders

# Below this colourfulness a photo teaches nothing (grey, sepia-ish scans, near-grey). In
# CIE ab units, where 2.3 is a just-noticeable difference; see `colour_spread` for the
# measure. Measured: scikit-image's seven colour photos score 9.3 (the orange retina) to 40
# (the rocket); a grey photo 0; grey with ab noise of ±2 2.6; a grey scan with a 3 % colour
# cast 0.5; cyanotype and simple sepia toning 0.6 to 3.2 (a sepia filter matrix that clips
# the highlights reaches 8.4 on a bright photo, which then passes as colour). 6 sits between
# the toned greys and the least colourful photo.
GREY_CHROMA = 6.0

# Colourfulness is what this share of a thumbnail's pixels stays below: high enough that one
# small object of another hue (1 % of the picture) counts, low enough that a few noisy
# pixels do not.
_COLOURFUL_PERCENTILE = 99
# Colour statistics do not need detail: a 64 x 64 squashed thumbnail (aspect ignored) keeps
# one Lab kernel shape for every photo and costs next to nothing to convert.
THUMBNAIL_SIDE = 64


def colour_spread(rgb):
    """How much colour a photo holds beyond a single tint; about 0 for grey, sepia or toned.

    The photo is squashed to a 64 x 64 thumbnail and converted to Lab. Each pixel's ab is
    measured as its distance from the photo's dominant hue: the ray from neutral grey through
    the photo's mean ab. Colourfulness is the 99th percentile of those distances.

    Why not plain chroma sqrt(a² + b²): a sepia or cyanotype print has chroma 20-30, as much as
    a muted colour photo (fog, the Hubble deep field: 15), yet all its colours lie on one hue
    ray, so it only teaches "tint everything brown". Distance from the dominant hue ray is
    near 0 for grey, near-grey and toned photos alike, and large as soon as 1 % of the
    pixels have another hue. The price: a photo whose colours really are a single hue (a
    plain orange sunset ramp) also scores low.

    Args:
        rgb: (H, W, 3) sRGB; float in [0, 1] (clipped) or uint8 0-255. Any size.

    Returns:
        float >= 0, in ab units (a just-noticeable difference is about 2.3). Compare with
        `GREY_CHROMA`.
    """
    lab = color.rgb_to_lab(squashed(rgb, THUMBNAIL_SIDE))  # (64, 64, 3)
    ab = lab[..., 1:].reshape(-1, 2).astype(np.float64)  # (4096, 2)
    mean_ab = ab.mean(axis=0)
    mean_chroma = np.hypot(*mean_ab)
    if mean_chroma < 1e-6:  # no dominant hue: every pixel's distance is its own chroma
        distances = np.hypot(ab[:, 0], ab[:, 1])
    else:
        hue = mean_ab / mean_chroma
        along_hue = np.maximum(ab @ hue, 0.0)  # the opposite hue is as far as grey, not closer
        off_ray = ab - along_hue[:, None] * hue
        distances = np.hypot(off_ray[:, 0], off_ray[:, 1])
    return float(np.percentile(distances, _COLOURFUL_PERCENTILE))


def is_grey(rgb, threshold=GREY_CHROMA):
    """True when a photo has too little colour to learn from (see `colour_spread`).

    Args:
        rgb: (H, W, 3) sRGB; float in [0, 1] or uint8.
        threshold: colourfulness below which the photo counts as grey.
    """
    return colour_spread(rgb) < threshold


def chroma(rgb):
    """How far a photo's colours lie from neutral grey, a tint included: as `colour_spread`,
    the 99th percentile over a 64 x 64 thumbnail, but of each pixel's chroma sqrt(a² + b²).
    About 0 for black and white; a sepia print's brown or yellowed paper counts in full.

    Args:
        rgb: (H, W, 3) sRGB; float in [0, 1] (clipped) or uint8 0-255. Any size.

    Returns:
        float >= 0, in ab units, never below `colour_spread(rgb)`.
    """
    lab = color.rgb_to_lab(squashed(rgb, THUMBNAIL_SIDE))  # (64, 64, 3)
    return float(np.percentile(np.hypot(lab[..., 1], lab[..., 2]), _COLOURFUL_PERCENTILE))


def has_colour(rgb, threshold=GREY_CHROMA):
    """True when a photo is not black and white: its `chroma` reaches the threshold below
    which `is_grey` calls a photo's colours one tint. A sepia, yellowed or cyanotype print
    has colour (one tint: it is still grey to learn from); a scan's faint cast does not.

    Args:
        rgb: (H, W, 3) sRGB; float in [0, 1] or uint8.
        threshold: chroma from which the photo has colour.
    """
    return chroma(rgb) >= threshold


def file_has_colour(path):
    """`has_colour` of the photo at `path`, read as a small thumbnail (`thumbnail`).

    Raises:
        decode.ImageError: one line naming the file, when it cannot be read.
    """
    return has_colour(thumbnail(path))


def squashed(rgb, side):
    """(H, W, 3) float [0, 1] or uint8 → uint8 (side, side, 3), area-averaged, aspect ignored."""
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[-1] != 3 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"rgb must be an (H, W, 3) image, got shape {array.shape}")
    if array.dtype != np.uint8:
        array = _util.to_uint8(array)
    thumbnail = PIL.Image.fromarray(np.ascontiguousarray(array)).resize(
        (side, side), PIL.Image.Resampling.BOX
    )
    return np.asarray(thumbnail)


# ---------------------------------------------------------------------------------------------
# Scanning a folder

# Formats Pillow can decode at 1/2, 1/4 or 1/8 scale ("draft" mode): JPEG and phones' MPO.
_DRAFT_FORMATS = ("JPEG", "MPO")
# How many file names a summary spells out before it says "and N more".
_NAMES_SHOWN = 5


@dataclasses.dataclass
class FolderScan:
    """What `scan_folder` found: the photos to train on, and the ones skipped with reasons."""

    colour: list[pathlib.Path]  # usable colour photos, sorted
    grey: list[pathlib.Path]  # skipped: grey, near-grey or a single tint
    unreadable: list[tuple[pathlib.Path, str]]  # skipped: (path, one-line reason)

    def summary(self):
        """One line, e.g. "412 colour photos; skipped 3 grey (a.jpg, ...), 1 unreadable (...)"."""
        text = _util.plural(len(self.colour), "colour photo")
        skipped = []
        if self.grey:
            skipped.append(f"{len(self.grey)} grey ({_names_of(self.grey)})")
        if self.unreadable:
            reasons = [f"{path.name}: {reason}" for path, reason in self.unreadable]
            reasons_named = _util.name_list(reasons, _NAMES_SHOWN, "; ")
            skipped.append(f"{len(self.unreadable)} unreadable ({reasons_named})")
        return text + (f"; skipped {', '.join(skipped)}" if skipped else "")


def scan_folder(folder, *, progress=True):
    """Sort the photos of a folder (and its subfolders) into colour, grey and unreadable.

    Each photo is read as a small thumbnail: JPEGs are decoded at 1/2 to 1/8 scale (Pillow's
    draft mode), other formats through `decode.load_rgb`: a camera JPEG costs a few percent
    of a full decode, so a scan of a large folder is dominated by reading the files. Files
    that are not images at all are left out (and warned about) by `folders.list_images`.

    Args:
        folder: str or pathlib.Path.
        progress: show a progress bar.

    Returns:
        FolderScan.

    Raises:
        decode.ImageError: the folder is missing or holds no images.
        ValueError: none of the photos is a readable colour photo.
    """
    folder = pathlib.Path(folder)
    colour, greys, unreadable = [], [], []
    paths = folders.list_images(folder)
    for path in tqdm.tqdm(paths, desc="scanning photos", unit="photo", disable=not progress):
        try:
            small = thumbnail(path)
        except decode.ImageError as error:
            unreadable.append((path, decode.problem_of(error)))
            continue
        (greys if is_grey(small) else colour).append(path)
    scan = FolderScan(colour=colour, grey=greys, unreadable=unreadable)
    if not colour:
        raise ValueError(
            f"no colour photos to learn from in '{folder}' ({scan.summary()}): colornet learns "
            f"colour from colour photos, and a photo whose colour spread is below "
            f"{GREY_CHROMA} is grey, near-grey or a single tint such as sepia"
        )
    return scan


def describe_photos(paths, photos):
    """One line per photo: its name, size and colour spread (`colour_spread`)."""
    return "\n".join(
        f"{pathlib.Path(path).name:26} {photo.shape[1]}×{photo.shape[0]} pixels, colour spread "
        f"{colour_spread(photo):4.1f} (grey below {GREY_CHROMA})"
        for path, photo in zip(paths, photos)
    )


def thumbnail(path):
    """The photo at `path` as uint8 or float RGB (h, w, 3), of about THUMBNAIL_SIDE² pixels
    or a little more, as seen on white.

    The fast path decodes a healthy JPEG at a fraction of its size; anything else, including
    a JPEG the fast path stumbles on, goes through `decode.load_reduced_rgb`, whose checks and
    messages then decide, and which never holds the photo as full-size float RGB.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(path) as image:
                width, height = image.size
                if image.format in _DRAFT_FORMATS and 0 < width * height <= (
                    decode.DEFAULT_MAX_PIXELS
                ):
                    image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
                    return np.asarray(image.convert("RGB"))
    except Exception:
        pass  # load_reduced_rgb below names the problem properly
    return decode.load_reduced_rgb(path, THUMBNAIL_SIDE * THUMBNAIL_SIDE)[0]


def _names_of(paths):
    return _util.name_list([path.name for path in paths], _NAMES_SHOWN)


