"""Colour hints as a network sees them (Zhang et al., "Real-Time User-Guided Image Colorization
with Learned Deep Priors", SIGGRAPH 2017).

Point hints are two maps at the network's input size: the hints' ab, scaled like the output
(ab / `color.AB_SCALE`, 0 where there is none), and a mask, 1 where a hint is and 0 elsewhere.
The network takes them joined, (H, W, 3) = [hint ab, mask] (`join`):

- in training, simulated from the photo's own colour as the authors' official code does it
  (`simulate_points`, `simulate_hints`, `add_simulated_hints`);
- from a user, a list of (y, x, colour) in the full-size photo, mapped to the working size
  (`hint_map`; `colornet.io.hints` parses and checks them).

A reference photo gives a global hint instead, one vector per photo (`reference_hint`): the
histogram of its ab over Zhang et al.'s gamut bins (`zhang.ab_bins`), its mean saturation, and
a flag for each saying it is given. All zeros is no reference, as an all-zero hint map is no
point hint: a network trained with both sees the automatic case as "nothing given".

Numpy in, numpy out. Imports the core, colornet.io and `zhang`.
"""

import numpy as np

from colornet import _util, color
from colornet.io import geometry
from colornet.io import hints as hint_input
from colornet.nets import zhang

# The official code's geometric number of points: after each point another follows with
# probability 1 - p, so with p = 1/8 one sample in eight has none and the mean is 7.
STOP_PROBABILITY = 1 / 8
# Square patches of 1×1 to 9×9 pixels, each side alike likely (its `--sample_Ps 1 ... 9`).
PATCH_SIDES = tuple(range(1, 10))
# A user's point covers this many working pixels a side: small enough to sit inside a small
# thing, and within the sides the network trained on.
USER_PATCH_SIDE = 3
HINT_CHANNELS = 3  # hint a, hint b, mask
# A reference photo is shrunk to at most this side before its histogram is taken (Zhang et
# al. take it at a quarter of their 256 px input).
REFERENCE_SIDE = 64
# The share of training examples that keep each part of a simulated reference (our choice:
# the network must learn both with and without it).
REFERENCE_KEEP = 0.5


def simulate_points(height, width, rng, points=None, stop_probability=STOP_PROBABILITY,
                    patch_sides=PATCH_SIDES):
    """Where simulated hints go, as `add_color_patches_rand_gt` of Zhang et al.'s official
    code (colorization-pytorch's util.py) draws them.

    The number of points is geometric (another point follows with probability
    1 - `stop_probability`) or `points` if given; each point's side is drawn uniformly from
    `patch_sides`, its top-left corner from a Gaussian centred in the photo with sigma a
    quarter of the room there is, (H - side + 1) / 4, clipped to the photo and truncated to a
    whole pixel. The draws come in the official code's order: go on?, side, row, column.

    Args:
        height, width: the photo's size in pixels.
        rng: a `numpy.random.Generator`.

    Returns:
        [(top, left, side), ...] ints, in drawing order (a later patch covers an earlier one).
    """
    patches = []
    while (len(patches) < points) if points is not None else (
            rng.random() < 1 - stop_probability):
        side = min(int(rng.choice(patch_sides)), height, width)
        top = _gaussian_start(rng, height, side)
        left = _gaussian_start(rng, width, side)
        patches.append((top, left, side))
    return patches


def _gaussian_start(rng, length, side):
    room = length - side + 1
    return int(np.clip(rng.normal(room / 2.0, room / 4.0), 0, length - side))


def simulate_hints(ab, rng, points=None):
    """Simulated point hints from a photo's own colour (`simulate_points`): each patch gets
    the photo's mean ab over it.

    Args:
        ab: (H, W, 2) float a and b in Lab units (about ±128).
        rng: a `numpy.random.Generator`.
        points: how many points; None: geometric, as in training.

    Returns:
        (hint ab (H, W, 2) float32 in [-1, 1] (ab / AB_SCALE, 0 off the hints), mask (H, W, 1)
        float32, 1 on the hints, 0 elsewhere).
    """
    ab = np.asarray(ab, np.float32)
    if ab.ndim != 3 or ab.shape[-1] != 2:
        raise ValueError(f"ab must be (H, W, 2), got shape {ab.shape}")
    height, width = ab.shape[:2]
    hint_ab = np.zeros((height, width, 2), np.float32)
    mask = np.zeros((height, width, 1), np.float32)
    for top, left, side in simulate_points(height, width, rng, points):
        rows, columns = slice(top, top + side), slice(left, left + side)
        hint_ab[rows, columns] = ab[rows, columns].mean(axis=(0, 1)) / color.AB_SCALE
        mask[rows, columns] = 1.0
    return hint_ab, mask


def add_simulated_hints(photo, rng, points=None):
    """`simulate_hints` for a training example given as RGB: uint8 (H, W, 3) 0-255 or float in
    [0, 1] (a random crop). Returns (hint ab (H, W, 2), mask (H, W, 1)), float32."""
    ab = np.asarray(color.rgb_to_lab(np.asarray(photo)))[..., 1:]
    return simulate_hints(ab, rng, points)


def join(hint_ab, mask):
    """(hint ab (..., 2), mask (..., 1)) → the network's hint input (..., 3), float32."""
    return np.concatenate([np.asarray(hint_ab, np.float32), np.asarray(mask, np.float32)],
                          axis=-1)


def no_hints(shape):
    """The hint input of photos without hints: zeros (..., H, W, 3) for `shape` (..., H, W)."""
    return np.zeros((*shape, HINT_CHANNELS), np.float32)


def hint_map(hints, photo_shape, working_shape, patch_side=USER_PATCH_SIDE):
    """A user's point hints as the network's maps at the working size.

    Each hint's pixel (y, x) of the photo is taken to the working pixel that covers it, and a
    square of `patch_side` working pixels around it (cut at the photo's edges) gets the hint's
    a and b: those of its colour at its own lightness (`color.rgb_to_lab`), scaled by
    AB_SCALE. A later hint covers an earlier one where they overlap.

    Args:
        hints: [(y, x, colour), ...] as for `colornet.io.hints.check_hints`: y, x the row and
            column in the full-size photo, colour an RGB triple in [0, 1] or "#rrggbb".
        photo_shape: the photo's (H, W).
        working_shape: the (h, w) the network sees it at (`colorize.working_shape`).

    Returns:
        (hint ab (h, w, 2) float32 in [-1, 1], mask (h, w, 1) float32 in {0, 1}).

    Raises:
        colornet.io.hints.HintError: one line naming the first hint that is wrong.
    """
    checked = hint_input.check_hints(hints, photo_shape)
    height, width = (int(side) for side in photo_shape[:2])
    working_height, working_width = (int(side) for side in working_shape[:2])
    hint_ab = np.zeros((working_height, working_width, 2), np.float32)
    mask = np.zeros((working_height, working_width, 1), np.float32)
    if not checked:
        return hint_ab, mask
    colours = np.array([colour for _, _, colour in checked], np.float32)  # (N, 3) RGB
    scaled_ab = np.asarray(color.rgb_to_lab(colours))[:, 1:] / color.AB_SCALE  # (N, 2)
    before = (patch_side - 1) // 2
    for (y, x, _), each in zip(checked, scaled_ab):
        row = min(working_height - 1, int((y + 0.5) * working_height / height))
        column = min(working_width - 1, int((x + 0.5) * working_width / width))
        rows = slice(max(0, row - before), row - before + patch_side)
        columns = slice(max(0, column - before), column - before + patch_side)
        hint_ab[rows, columns] = each
        mask[rows, columns] = 1.0
    return hint_ab, mask


def reference_length():
    """The length of a reference vector: Q bins, then three numbers (`reference_hint`)."""
    return len(zhang.ab_bins()) + 3


def reference_hint(photo):
    """A reference photo's global hint, as Zhang et al.'s global-hints network takes it.

    Args:
        photo: RGB (H, W, 3), uint8 0-255 or float in [0, 1], any size (shrunk to at most
            `REFERENCE_SIDE` a side first, as the authors take it at a quarter size).

    Returns:
        float32 (Q + 3,): the normalised histogram of its ab over `zhang.ab_bins()` (each
        pixel counted in its nearest bin; sums to 1), 1 (the histogram is given), its mean
        HSV saturation in [0, 1], 1 (the saturation is given).
    """
    rgb = np.asarray(photo)
    if rgb.ndim != 3 or rgb.shape[-1] != 3 or 0 in rgb.shape:
        raise ValueError(f"a reference photo must be RGB (H, W, 3), got shape {rgb.shape}")
    rgb = _util.to_unit_float(rgb).astype(np.float32, copy=False)
    scale = REFERENCE_SIDE / max(rgb.shape[:2])
    if scale < 1:
        shape = (max(1, round(rgb.shape[0] * scale)), max(1, round(rgb.shape[1] * scale)))
        rgb = np.clip(geometry.resize_channels(rgb, shape), 0.0, 1.0)
    ab = np.asarray(color.rgb_to_lab(rgb))[..., 1:].reshape(-1, 2)
    bins = zhang.ab_bins()
    counts = np.bincount(np.asarray(zhang.nearest_bin(ab, bins)), minlength=len(bins))
    brightest = rgb.max(axis=-1)
    saturation = np.where(brightest > 0, (brightest - rgb.min(axis=-1)) /
                          np.maximum(brightest, 1e-12), 0.0)
    return np.concatenate([counts / counts.sum(), [1.0, saturation.mean(), 1.0]]).astype(
        np.float32)


def no_reference():
    """The global hint of no reference: zeros (Q + 3,)."""
    return np.zeros(reference_length(), np.float32)


def drop_reference(reference, rng, keep=REFERENCE_KEEP):
    """A training example's reference with its histogram and its saturation each kept with
    probability `keep` and otherwise zeroed with its flag, independently (Zhang et al. drop
    the global hints at random, so the network learns with and without them)."""
    reference = np.array(reference, np.float32)
    bins = len(reference) - 3
    if rng.random() >= keep:
        reference[:bins + 1] = 0.0
    if rng.random() >= keep:
        reference[bins + 1:] = 0.0
    return reference


def training_inputs(rgb, lab, rng, reference=True):
    """A training batch's simulated hints: for each crop, point hints from its own colour
    (`simulate_hints`, the geometric count) and, with `reference`, its own global hint
    (`reference_hint`), parts dropped at random (`drop_reference`).

    Args:
        rgb: the crops, RGB (B, S, S, 3), uint8 or float in [0, 1].
        lab: the same crops in Lab (B, S, S, 3), float.
        rng: a `numpy.random.Generator`; the same state gives the same hints.
        reference: also give the reference vectors.

    Returns:
        hints float32 (B, S, S, 3) (`join`), and with `reference` the reference vectors
        float32 (B, Q + 3): a tuple of one or two arrays.
    """
    rgb, lab = np.asarray(rgb), np.asarray(lab)
    maps = np.stack([join(*simulate_hints(crop[..., 1:], rng)) for crop in lab])
    if not reference:
        return (maps,)
    vectors = np.stack([drop_reference(reference_hint(crop), rng) for crop in rgb])
    return maps, vectors
