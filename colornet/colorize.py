"""Colorizing: lightness in, a trained model's colour out, recombined with the original L.

The model only ever predicts a and b; the lightness of the result is the input's own, so
every detail of the photo survives whatever the model does.
"""

import dataclasses
import glob
import pathlib
import zipfile

import keras
import numpy as np
import PIL.Image
import tqdm

from colornet import _util, color, images, keras_utils, leftovers, models
from colornet import precision as _precision
from colornet.config import DEFAULT_TILE, DEFAULT_TILE_OVERLAP
from colornet.runs import RunFolder

# The memory `colorize_files` holds in arrays for one photo, whatever its size up to
# images.DEFAULT_MAX_PIXELS: at most this many bytes a pixel plus a fixed overhead (the
# band-sized buffers of the colour conversion). tests/test_memory.py measures it; the README
# gives what it means for the largest photos.
MEMORY_BYTES_PER_PIXEL = 24
MEMORY_OVERHEAD_BYTES = 256 * 2**20


def load_model(path, precision="auto"):
    """Load a saved colornet model: a `.keras` file, or a training run folder (its best model).

    Loads with Keras's safe mode (no arbitrary code). Version 1 nets (`colornet single
    --save-model`) and final colorizers (`colornet train`) both work.

    Args:
        path: the `.keras` file or run folder.
        precision: how it computes (`colornet.precision`): "float32", "bfloat16" or
            "float16", "auto" (what the hardware computes natively; float32 for Version 1),
            or None to keep what the file says (the precision it was trained in).

    Raises:
        ValueError: one line naming the file, when it is missing, not a Keras file, broken,
            or a Keras model that is not a colornet colorizer.
    """
    run = RunFolder.holding_a_model(path)
    path = run.best_model_path if run else pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"no model at {path}")
    if path.suffix != ".keras":
        raise ValueError(f"{path} is not a .keras model file")
    if not zipfile.is_zipfile(path):  # Keras would say "File not found" of a file that exists
        raise ValueError(f"{path} is not a readable Keras model: not a .keras (zip) archive")
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # Keras raises many kinds for a bad file; all mean the same here
        raise ValueError(f"{path} is not a readable Keras model: {_util.first_line(error)}") from error
    try:
        kind = models.kind(model)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    chosen = _precision.for_model(kind, precision)
    if chosen is not None:
        models.set_precision(model, backbone=chosen, fusion=chosen)
    return model


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
    ab = np.stack(predict_ab_many(model, list(batch), batch_size=batch_size))
    return ab[0] if single else ab


def predict_ab_many(model, lightness_list, batch_size=8, tile=DEFAULT_TILE):
    """`predict_ab` for photos of different sizes: a list of (H_i, W_i) lightness in, a list
    of (H_i, W_i, 2) ab out. The final colorizer runs them in batches at its own size;
    Version 1 runs each at full size, in overlapping tiles when larger than `tile`."""
    side = models.working_size(model)
    if side is None:
        return _predict_single_image_many(model, lightness_list, tile, batch_size)
    small = np.stack([resize_channels(lightness, (side, side)) for lightness in lightness_list])
    scaled_ab = keras_utils.predict_batches(model, small[..., None], batch_size=batch_size)
    return [
        resize_channels(color.target_to_ab(ab), lightness.shape)
        for ab, lightness in zip(scaled_ab, lightness_list)
    ]


def _predict_single_image_many(model, lightness_list, tile, batch_size):
    """Version 1 on (H_i, W_i) lightness: photos of one size that fit in a tile go through
    the net together, one forward pass per batch (video frames, say); larger ones in tiles."""
    results = [None] * len(lightness_list)
    same_size = {}
    for index, lightness in enumerate(lightness_list):
        if tile is None or max(lightness.shape) <= tile:
            same_size.setdefault(lightness.shape, []).append(index)
        else:
            results[index] = predict_ab_tiled(
                model, lightness, tile=tile, overlap=tile_overlap(tile), batch_size=batch_size
            )
    for (height, width), indices in same_size.items():
        padded, _ = pad_to_multiple(np.stack([lightness_list[index] for index in indices]))
        scaled_ab = keras_utils.predict_batches(
            model, color.lightness_to_input(padded)[..., None], batch_size=batch_size
        )
        ab = color.target_to_ab(scaled_ab[:, :height, :width])
        for index, each in zip(indices, ab):
            results[index] = each
    return results


def predict_ab_tiled(model, lightness, tile=DEFAULT_TILE, overlap=DEFAULT_TILE_OVERLAP, batch_size=8):
    """Version 1 on a photo of any size, in overlapping square tiles blended without seams.

    Each tile's prediction is weighted by a window that falls off linearly over `overlap`
    pixels towards the tile's edges, and the weighted predictions are averaged: where tiles
    overlap, the one whose centre is nearer counts more, so no edge shows. With an overlap
    wider than the net's reach, the result matches predicting the whole photo at once.

    Args:
        model: a Version 1 net (`models.single_image_net`).
        lightness: (H, W) float L* in [0, 100], any size.
        tile, overlap: tile side and overlap in pixels, multiples of 8, overlap < tile / 2.

    Returns:
        float32 (H, W, 2) ab.
    """
    if tile % models.SIZE_MULTIPLE or overlap % models.SIZE_MULTIPLE or not 0 <= overlap < tile // 2:
        raise ValueError(
            f"tile ({tile}) and overlap ({overlap}) must be multiples of 8, overlap < tile / 2"
        )
    padded, (height, width) = pad_to_multiple(np.asarray(lightness, np.float32))
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
        scaled_ab = keras_utils.predict_batches(model, color.lightness_to_input(tiles)[..., None], batch_size)
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


def resize_channels(image, shape):
    """Resize (H, W) or (H, W, C) float data smoothly to `shape` = (h, w), values kept as they
    are (no clipping to [0, 1]), with Pillow on 32-bit float planes: an order of magnitude
    faster than scikit-image on 12-megapixel photos.

    Shrinking is bicubic over the whole footprint (no aliasing), the filter
    `images.resize_and_crop` gives training photos, so a model sees lightness as it was
    trained on (0.8 dB better on the sample portrait than bilinear). Enlarging, which here
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


def combine(lightness, ab):
    """Lightness (..., H, W) and ab (..., H, W, 2) → RGB (..., H, W, 3) in [0, 1].

    The ab values are clipped to ±128 first, the range the models are trained on.
    """
    lightness = np.asarray(lightness)
    lab = np.empty((*lightness.shape, 3), dtype=np.float32)  # one array: no clipped copy of ab
    lab[..., 0] = lightness
    np.clip(ab, -color.AB_SCALE, color.AB_SCALE, out=lab[..., 1:])
    return color.lab_to_rgb(lab)


def combine_to_uint8(lightness, ab, rows=None):
    """`combine`, rounded to uint8 RGB (H, W, 3) 0-255, for one (H, W) photo, band by band:
    the float Lab and RGB of the whole photo (24 bytes a pixel) are never held at once."""
    height, width = np.shape(lightness)
    rgb = np.empty((height, width, 3), np.uint8)
    rows = rows or max(1, images._BAND_PIXELS // max(width, 1))
    for top in range(0, height, rows):
        band = combine(lightness[top : top + rows], ab[top : top + rows])
        rgb[top : top + rows] = _util.to_uint8(band)
    return rgb


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
    lightness = color.rgb_to_lightness(rgb)
    if working_shape is None or tuple(working_shape) == lightness.shape:
        return colorize_lightness(model, lightness, batch_size=batch_size)
    ab = predict_ab(model, resize_channels(lightness, working_shape), batch_size=batch_size)
    return combine(lightness, resize_channels(ab, lightness.shape))


# ---------------------------------------------------------------------------------------------
# Photos in, photos out: the API for scripts and notebooks, and the engine of `colornet colorize`.


def colorize(model, photos, batch_size=8, tile=DEFAULT_TILE):
    """Colorize one photo or many, each from its lightness alone, at its own full size.

    Args:
        model: a colornet model (see `load_model`).
        photos: one photo or a list of them; each an RGB (H, W, 3) or grey (H, W) array
            (float in [0, 1] or uint8; colour is dropped), or a path to an image file. An
            (N, H, W, 3) array is a batch.
        batch_size: photos per forward pass (the final colorizer batches across photos).
        tile: Version 1 runs photos larger than this in overlapping tiles (None: never).

    Returns:
        float32 RGB (H, W, 3) in [0, 1], or a list of them for a list or batch.
    """
    single = isinstance(photos, (str, pathlib.Path)) or (
        isinstance(photos, np.ndarray) and photos.ndim in (2, 3) and (photos.ndim == 2 or photos.shape[-1] in (1, 3))
    )
    batch = [photos] if single else list(photos)
    lightness = [_lightness_of(photo) for photo in batch]
    results = []
    for first in range(0, len(lightness), batch_size):
        chunk = lightness[first : first + batch_size]
        abs_ = predict_ab_many(model, chunk, batch_size=batch_size, tile=tile)
        results += [combine(each, ab) for each, ab in zip(chunk, abs_)]
    return results[0] if single else results


def _lightness_of(photo):
    if isinstance(photo, (str, pathlib.Path)):
        return images.load_lightness(photo)
    array = np.asarray(photo)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:  # grey: as a neutral RGB, so uint8 and float read alike
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"a photo must be (H, W, 3) RGB or (H, W) grey, got shape {array.shape}")
    return color.rgb_to_lightness(array)


@dataclasses.dataclass
class ColorizeReport:
    written: list  # output paths
    failed: list  # (input path, one-line reason)

    def summary(self):
        lines = [f"colorized {len(self.written)} photo{'s' * (len(self.written) != 1)}"]
        if self.failed:
            lines.append(f"failed {len(self.failed)}:")
            lines += [f"  {path}: {reason}" for path, reason in self.failed]
        return "\n".join(lines)


def expand_inputs(inputs, out_dir=None):
    """Files, folders (searched recursively) and glob patterns → [(photo path, output name)].

    The output name is the photo's file name, and for a folder its path inside the folder.
    Distinct photos whose names would collide (the same name from two folders, or x.png and
    x.tif, which both become x.png) keep the first one's name, and each later one gets the
    first free "-2", "-3"... of its stem, free meaning no other input has that name: names
    depend only on the inputs, and a photo's own unique name is never taken from it. A photo
    given twice (a file and a glob that matches it) is colorized once.

    Files inside `out_dir` found through a folder or a glob are left out, so an output folder
    inside an input folder is never read as input on the next run. Nothing matched, or an
    input folder that is `out_dir` itself → ValueError.
    """
    out_dir = None if out_dir is None else pathlib.Path(out_dir).resolve()

    def outside_output(path):
        return out_dir is None or not path.resolve().is_relative_to(out_dir)

    found = []
    for item in inputs:
        item = str(item)
        if pathlib.Path(item).is_dir():
            folder = pathlib.Path(item)
            if out_dir is not None and folder.resolve() == out_dir:
                raise ValueError(
                    f"the output folder {folder} is also an input folder; choose another -o"
                )
            # By suffix: a corrupt photo in the folder fails by name (exit status 1), not skipped.
            listed = images.list_images(folder, check_headers=False, exclude=out_dir)
            found += [(path, path.relative_to(folder)) for path in listed]
        elif pathlib.Path(item).exists():
            found.append((pathlib.Path(item), pathlib.Path(pathlib.Path(item).name)))
        elif glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                raise ValueError(f"no files match {item}")
            files = [pathlib.Path(path) for path in matches if pathlib.Path(path).is_file()]
            found += [(path, pathlib.Path(path.name)) for path in files if outside_output(path)]
        else:
            raise ValueError(f"{item}: no such file or folder")
    return _unique_names(found)


def _unique_names(found):
    """[(path, name)] → the same with each photo once and no two names alike (see
    `expand_inputs`). Names are compared without suffix and case, as outputs may change
    suffix (.tif → .png) and land on case-insensitive disks."""

    def key(name):
        return str(name.with_suffix("")).lower()

    seen_paths, distinct = set(), []
    for path, name in found:
        if path.resolve() not in seen_paths:
            seen_paths.add(path.resolve())
            distinct.append((path, name))
    taken = {key(name) for _, name in distinct}
    owners, unique = set(), []
    for path, name in distinct:
        if key(name) in owners:
            number = 2
            while key(name.with_name(f"{name.stem}-{number}{name.suffix}")) in taken:
                number += 1
            name = name.with_name(f"{name.stem}-{number}{name.suffix}")
            taken.add(key(name))
        owners.add(key(name))
        unique.append((path, name))
    return unique


def colorize_files(model, inputs, out_dir, *, batch_size=8, image_format=None, tile=DEFAULT_TILE, progress=True):
    """Colorize photos on disk into `out_dir`, streaming: memory holds one batch at a time.

    Each output keeps its input's file name (and its path inside an input folder), size and
    orientation, and its transparency when written as PNG. The format is `image_format`
    ("png" or "jpg") or else the input's own when that is PNG or JPEG, PNG otherwise. Photos
    that fail to load are reported by name and skipped; an output that would overwrite an
    input is refused.

    Returns:
        A `ColorizeReport` of what was written and what failed.
    """
    if image_format not in (None, "png", "jpg"):
        raise ValueError(f"image_format must be 'png' or 'jpg', got {image_format!r}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number of 1 or more, got {batch_size!r}")
    jobs = expand_inputs(inputs, out_dir)
    inputs_paths = [path for path, _ in jobs]
    out_dir = pathlib.Path(out_dir)
    leftovers.remove_stale_temporaries(out_dir)  # a killed run's half-written files
    report = ColorizeReport([], [])
    bar = tqdm.tqdm(total=len(jobs), desc="colorizing", unit="photo", disable=not progress)
    for first in range(0, len(jobs), batch_size):
        loaded = []
        for path, name in jobs[first : first + batch_size]:
            # A PNG keeps the alpha, so it gets each pixel's own lightness, not the lighter
            # one over white; a JPEG has no alpha and shows the photo as on white.
            keeps_alpha = _output_suffix(path, image_format) == ".png"
            try:
                lightness, alpha = images.load_lightness_and_alpha(path, composite=not keeps_alpha)
                loaded.append((path, name, lightness, alpha))
            except (images.ImageError, ValueError) as error:
                report.failed.append((path, str(error)))  # the summary names it, once
                bar.update()
        if not loaded:
            continue
        abs_ = predict_ab_many(model, [item[2] for item in loaded], batch_size=batch_size, tile=tile)
        for (path, name, lightness, alpha), ab in zip(loaded, abs_):
            target = out_dir / name.with_suffix(_output_suffix(path, image_format))
            try:
                images.save_image(
                    target, combine_to_uint8(lightness, ab), protected=inputs_paths, alpha=alpha
                )
                report.written.append(target)
            except images.ImageError as error:
                report.failed.append((path, str(error)))
            bar.update()
    bar.close()
    return report


def _output_suffix(path, image_format):
    if image_format is not None:
        return f".{image_format}"
    suffix = path.suffix.lower()
    return suffix if suffix in (".png", ".jpg", ".jpeg") else ".png"
