"""Colorizing: lightness in, a trained model's colour out, recombined with the original L.

The model only ever predicts a and b; the lightness of the result is the input's own, so
every detail of the photo survives whatever the model does. Every way of colorizing (the
Python API, `colornet single`, `colornet colorize`, `colornet video`, the web page, the
notebooks) goes through `predict_ab`, one code path for every colornet model: each takes L*
and gives scaled ab (`colornet.nets.contract`), and only its description
(`models.describe`) sets the working size (`working_shape`):

- a model of a fixed working size (the final colorizer) sees the photo's lightness resized
  to its own S × S;
- a model of any size (Version 1, the pretrained colorizer) sees it shrunk to fit
  `working_size` on its longest side (default `constants.DEFAULT_WORKING_SIZE`, the size
  `colornet single` trains at; never enlarged), or at full size with working_size=None; one
  whose description allows tiles (Version 1) runs in overlapping tiles when larger than
  `tile`;
- either way the predicted ab is resized smoothly back to the photo's size and joined with
  its full-resolution lightness (`color.combine`).

    lightness (H, W) → working shape (h, w) → model → ab (h, w, 2) → ab (H, W, 2) → + L → RGB
"""

import pathlib

import numpy as np

from colornet import _util, color
from colornet.constants import BAND_PIXELS, DEFAULT_TILE, DEFAULT_TILE_OVERLAP, DEFAULT_WORKING_SIZE
from colornet.errors import SettingError
from colornet.io import decode, geometry
from colornet.nets import hints as hint_maps
from colornet.nets import keras_utils, models
from colornet.train.runs import RunFolder

# What `colorize` holds in arrays for one photo of any size: its float RGB result (12 bytes a
# pixel), L* (4) and ab (8), plus band-sized buffers. tests/test_memory.py measures it.
MEMORY_BYTES_PER_PIXEL = 28


def load_model(path=None, precision="auto"):
    """Load a colornet model: a `.keras` file, a training run folder (its best model), or with
    no path the pretrained colorizer that ships with colornet (`colornet.pretrained`).

    Loads with Keras's safe mode (no arbitrary code), through `models.load`. Version 1
    (`colornet single --save-model`) and final colorizers (`colornet train`) both work, files
    saved by earlier colornet versions included.

    Args:
        path: the `.keras` file or run folder; None for the pretrained colorizer.
        precision: as for `models.load`; "auto" computes as the hardware does natively.

    Raises:
        ValueError: one line naming the file or folder, as `models.load` words it.
    """
    if path is None:
        from colornet import pretrained

        return pretrained.load()
    run = RunFolder.holding_a_model(path)
    return models.load(run.best_model_path if run else path, precision=precision)


def working_shape(model, shape, working_size=DEFAULT_WORKING_SIZE):
    """(h, w): the size a model sees a photo of `shape` = (H, W) at; the policy above."""
    side = models.describe(model).working_size
    if side is not None:
        return (side, side)
    height, width = (int(side) for side in shape[:2])
    if working_size is None or max(height, width) <= working_size:
        return (height, width)
    scale = working_size / max(height, width)
    return (max(1, round(height * scale)), max(1, round(width * scale)))


def predict_ab(
    model, lightness, *, hints=None, reference=None, working_size=DEFAULT_WORKING_SIZE,
    tile=DEFAULT_TILE, batch_size=8
):
    """Predict a and b for photos with any colornet model (see `working_shape`).

    Args:
        model: a colornet model (`load_model`).
        lightness: (H, W) or (N, H, W) float L* in [0, 100], or a list of (H_i, W_i) of any
            sizes from 1×1 up.
        hints: for a hint-aware model, each photo's [(y, x, colour), ...] (as for
            `colorize`): one list for (H, W), a list of lists (or None) for several photos.
        reference: a colour photo (RGB array or path) whose colours steer every photo, or its
            `reference_vector`.
        working_size: a model of any size's longest working side, or None for full size.
        tile: a model whose description allows tiles (Version 1) runs a working shape larger
            than this in overlapping tiles; None never.
        batch_size: photos (or tiles) per forward pass.

    Returns:
        float32 ab in [-128, 128] of each photo's own size: (H, W, 2), (N, H, W, 2), or a list.
    """
    single = not isinstance(lightness, list) and np.ndim(lightness) == 2
    if hints is not None and single:
        hints = [hints]
    check_takes(model, [hint for each in hints or () for hint in each or ()], reference)
    reference = reference_vector(reference)
    if isinstance(lightness, list):
        return _predict_list(model, lightness, working_size, tile, batch_size, hints, reference)
    lightness = np.asarray(lightness, dtype=np.float32)
    if lightness.ndim not in (2, 3):
        raise SettingError(f"lightness must be (H, W) or (N, H, W), got shape {lightness.shape}")
    batch = list(lightness[None] if lightness.ndim == 2 else lightness)
    ab = np.stack(_predict_list(model, batch, working_size, tile, batch_size, hints, reference))
    return ab[0] if lightness.ndim == 2 else ab


def reference_vector(reference):
    """A reference photo as the global hint a model takes (`hints.reference_hint`): from a
    path, an RGB (H, W, 3) array (uint8 or float in [0, 1]), or a vector already made
    (returned as it is); None stays None."""
    if reference is None:
        return None
    if isinstance(reference, (str, pathlib.Path)):
        return hint_maps.reference_hint(decode.load_rgb(reference))
    array = np.asarray(reference)
    if array.ndim == 1 and len(array) == hint_maps.reference_length():
        return array.astype(np.float32)
    return hint_maps.reference_hint(array)


def _predict_list(model, lightness_list, working_size, tile, batch_size, hints=None,
                  reference=None):
    """`predict_ab` for a list: photos that share a working shape go through the model
    together, one forward pass per batch; a model that allows tiles runs larger ones in
    tiles. A hint-aware model gets each photo's hints (a list of hint lists, or None) mapped
    to its working shape, and the reference vector (or none of either)."""
    tiles = models.describe(model).tiles and tile is not None
    lightness_list = [np.asarray(each, dtype=np.float32) for each in lightness_list]
    results = [None] * len(lightness_list)
    same_shape = {}
    for index, lightness in enumerate(lightness_list):
        shape = working_shape(model, lightness.shape, working_size)
        if tiles and max(shape) > tile:
            small = geometry.resize_channels(lightness, shape)
            ab = predict_ab_tiled(
                model, small, tile=tile, overlap=tile_overlap(tile), batch_size=batch_size
            )
            results[index] = geometry.resize_channels(ab, lightness.shape)
        else:
            same_shape.setdefault(shape, []).append(index)
    for (height, width), indices in same_shape.items():
        small = np.stack(
            [geometry.resize_channels(lightness_list[i], (height, width)) for i in indices]
        )
        hint_input = None if hints is None else np.stack([
            hint_maps.join(*hint_maps.hint_map(hints[i] or [], lightness_list[i].shape,
                                               (height, width))) for i in indices])
        ab = predict_at_working_shape(model, small, hint_input, reference, batch_size)
        for index, each in zip(indices, ab):
            results[index] = geometry.resize_channels(each, lightness_list[index].shape)
    return results


def predict_at_working_shape(model, lightness, hints=None, reference=None, batch_size=8):
    """(n, h, w) float L* in [0, 100] already at the working shape → (n, h, w, 2) float32 ab
    in Lab units; the model pads if it must. A hint-aware model also gets hints (n, h, w, 3)
    (`hints.join`; for hints made at the working size, simulated ones) and the reference
    vector (Q + 3,) (`reference_vector`): zeros (none) where not given."""
    description = models.describe(model)
    inputs = [lightness[..., None]]
    if description.hints:
        inputs.append(hint_maps.no_hints(lightness.shape) if hints is None else hints)
    if description.reference:
        vector = hint_maps.no_reference() if reference is None else reference
        inputs.append(np.repeat(vector[None], len(lightness), axis=0))
    scaled_ab = keras_utils.predict_batches(model, inputs if len(inputs) > 1 else inputs[0],
                                            batch_size=batch_size)
    return color.target_to_ab(scaled_ab)


def predict_ab_tiled(
    model, lightness, tile=DEFAULT_TILE, overlap=DEFAULT_TILE_OVERLAP, batch_size=8
):
    """A model that allows tiles (`models.describe`; Version 1) on a photo of any size, in
    overlapping square tiles blended without seams.

    Each tile's prediction is weighted by a window that falls off linearly over `overlap`
    pixels towards the tile's edges, and the weighted predictions are averaged: where tiles
    overlap, the one whose centre is nearer counts more, so no edge shows. With an overlap
    wider than the net's reach, the result matches predicting the whole photo at once.

    Args:
        model: a colornet model whose description allows tiles (`models.version_1`).
        lightness: (H, W) float L* in [0, 100], any size.
        tile, overlap: tile side and overlap in pixels, multiples of 8, overlap < tile / 2.

    Returns:
        float32 (H, W, 2) ab.
    """
    if not models.describe(model).tiles:
        raise SettingError(f"{model.name} sees the whole photo at once: it cannot run in tiles")
    multiple = models.SIZE_MULTIPLE
    if tile % multiple or overlap % multiple or not 0 <= overlap < tile // 2:
        raise SettingError(
            f"tile ({tile}) and overlap ({overlap}) must be multiples of {multiple}, "
            "overlap < tile / 2"
        )
    padded, (height, width) = geometry.pad_to_multiple(np.asarray(lightness, np.float32))
    padded_height, padded_width = padded.shape
    tile_height, tile_width = min(tile, padded_height), min(tile, padded_width)
    rows = _tile_starts(padded_height, tile_height, overlap)
    columns = _tile_starts(padded_width, tile_width, overlap)
    # Blend only along an axis that has several tiles: a photo thinner than the overlap (a
    # 1000×37 strip) has one tile across, which needs no ramp and has no room for one.
    window = np.outer(
        _ramp(tile_height, overlap if len(rows) > 1 else 0),
        _ramp(tile_width, overlap if len(columns) > 1 else 0),
    )[..., None]
    total = np.zeros((padded_height, padded_width, 2), np.float32)
    weights = np.zeros((padded_height, padded_width, 1), np.float32)
    corners = [(row, column) for row in rows for column in columns]
    for first in range(0, len(corners), batch_size):
        chunk = corners[first : first + batch_size]
        tiles = np.stack([padded[r : r + tile_height, c : c + tile_width] for r, c in chunk])
        scaled_ab = keras_utils.predict_batches(model, tiles[..., None], batch_size)
        for (row, column), ab in zip(chunk, color.target_to_ab(scaled_ab)):
            total[row : row + tile_height, column : column + tile_width] += ab * window
            weights[row : row + tile_height, column : column + tile_width] += window
    del window, tiles, padded
    np.divide(total, weights, out=total)  # in place: a full-size array fewer
    del weights
    return total[:height, :width]


def tile_overlap(tile):
    """The overlap tiles of side `tile` (a multiple of 8) blend over: the default, or for a
    small tile the widest multiple of 8 below half of it (none for tiles of 8 and 16)."""
    widest = (tile // 2 - 1) // models.SIZE_MULTIPLE * models.SIZE_MULTIPLE
    return max(0, min(DEFAULT_TILE_OVERLAP, widest))


def _tile_starts(length, tile, overlap):
    """Start offsets of tiles of side `tile` covering `length`, overlapping by >= `overlap`."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def _ramp(length, overlap):
    """1 in the middle, falling linearly to 1/(overlap + 1) at both ends: never 0, so every
    pixel has weight, and a lone tile at the photo's border still counts fully after
    normalising."""
    if overlap == 0:
        return np.ones(length, np.float32)
    edge = np.arange(1, overlap + 1, dtype=np.float32) / (overlap + 1)
    ramp = np.ones(length, np.float32)
    ramp[:overlap], ramp[-overlap:] = edge, edge[::-1]
    return ramp


def combine_to_uint8(lightness, ab, rows=None):
    """`color.combine`, rounded to uint8 RGB (H, W, 3) 0-255, for one (H, W) photo, band by band:
    the float RGB of the whole photo (12 bytes a pixel) is never held."""
    height, width = np.shape(lightness)
    rgb = np.empty((height, width, 3), np.uint8)
    rows = rows or max(1, BAND_PIXELS // max(width, 1))
    for top in range(0, height, rows):
        band = color.combine(lightness[top : top + rows], ab[top : top + rows])
        rgb[top : top + rows] = _util.to_uint8(band)
    return rgb


def colorize(
    model, photos, *, hints=None, reference=None, working_size=DEFAULT_WORKING_SIZE,
    tile=DEFAULT_TILE, batch_size=8
):
    """Colorize one photo or many, each from its lightness (and the user's hints, for a model
    that takes them; see `predict_ab`).

    Args:
        model: a colornet model (see `load_model`).
        photos: one photo or a list of them; each an RGB (H, W, 3) or grey (H, W) array
            (float in [0, 1] or uint8; colour is dropped), or a path to an image file. An
            (N, H, W, 3) array is a batch.
        hints: for one photo, [(y, x, colour), ...]: y, x a pixel's row and column in it,
            colour an RGB triple in [0, 1] or "#rrggbb" (`colornet.nets.hints.hint_map`).
        reference: a colour photo (RGB array or path) whose colours steer the whole result.
        working_size, tile, batch_size: as for `predict_ab`.

    Returns:
        float32 RGB (H, W, 3) in [0, 1] of each photo's full size, or a list of them for a
        list or batch.

    Raises:
        ValueError: one line, for hints or a reference given to a model trained without them,
            or a hint that is wrong (`colornet.io.hints.HintError`).
    """
    check_takes(model, hints, reference)
    single = isinstance(photos, (str, pathlib.Path)) or (
        isinstance(photos, np.ndarray)
        and photos.ndim in (2, 3)
        and (photos.ndim == 2 or photos.shape[-1] in (1, 3))
    )
    if hints and not single:
        raise SettingError("hints are for one photo: colorize each photo with its own hints")
    reference = reference_vector(reference)
    batch = [photos] if single else list(photos)
    results = []
    for first in range(0, len(batch), batch_size):  # memory holds one batch at a time
        chunk = [_lightness_of(photo) for photo in batch[first : first + batch_size]]
        abs_ = _predict_list(model, chunk, working_size, tile, batch_size,
                             [hints] if hints else None, reference)
        results += [color.combine(each, ab) for each, ab in zip(chunk, abs_)]
    return results[0] if single else results


def check_takes(model, hints=None, reference=None):
    """ValueError, one line, for hints or a reference that this model cannot take (a model
    trained before hints); none given is always fine."""
    description = models.describe(model)
    if hints and not description.hints:
        raise SettingError(f"this model was trained without hints: {model.name} "
                         f"({description.variant}) colorizes from the lightness alone; drop "
                         "the hints, or use a hint-aware model")
    if reference is not None and not description.reference:
        raise SettingError(f"this model was trained without a reference photo: {model.name} "
                         f"({description.variant}) colorizes from the lightness alone; drop "
                         "the reference, or use a model that takes one")


def _lightness_of(photo):
    if isinstance(photo, (str, pathlib.Path)):
        return decode.load_lightness(photo)
    array = np.asarray(photo)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:  # grey: as a neutral RGB, so uint8 and float read alike
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise SettingError(f"a photo must be (H, W, 3) RGB or (H, W) grey, got shape {array.shape}")
    return color.rgb_to_lightness(array)
