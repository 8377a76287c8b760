"""Photos on disk in, colorized photos on disk out: the engine of `colornet colorize`.

Inputs are files, folders (searched recursively) and glob patterns, a folder's photos found
as the work reaches them (`colornet.apps.photo_stream`); each output keeps its input's name and
its path inside an input folder. Work streams: memory holds one batch of photos at a time,
however many there are. Each photo is colorized by `colornet.apps.colorize`.

A run that a kill stopped can be resumed: every output is written whole or not at all
(`save.save_image`), and, when asked, each one is then recorded in the output folder's
`.colornet-colorized.jsonl` (`colornet.apps.ledger`) with the input, model and settings it was
made from, so that the next run skips what is complete and made the same way, and redoes the
rest; a file there that colornet did not write is never replaced unless asked.
"""

import dataclasses
import hashlib
import json
import pathlib

import keras
import numpy as np
import tqdm

from colornet import _util, leftovers
from colornet.apps import colorize, ledger, photo_stream
from colornet.constants import DEFAULT_TILE, DEFAULT_WORKING_SIZE
from colornet.io import decode, greyness, save
from colornet.io import hints as hint_input
from colornet.nets import keras_utils

# The memory `colorize_files` holds in arrays for one photo, whatever its size up to
# decode.DEFAULT_MAX_PIXELS: at most this many bytes a pixel plus a fixed overhead (the
# band-sized buffers of the colour conversion). tests/test_memory.py measures it;
# docs/training.md, "Large photos, signals and leftovers", says what it means for the largest
# photos.
MEMORY_BYTES_PER_PIXEL = 24
MEMORY_OVERHEAD_BYTES = 256 * 2**20
# The record of what colorize wrote in an output folder (`colornet.apps.ledger`).
COMPLETED_RECORD = ledger.RECORD


@dataclasses.dataclass
class ColorizeReport:
    written: list  # output paths
    failed: list  # (input path, one-line reason)
    # (input path, output path) of every photo whose name another input shares, so that
    # a/photo.jpg and b/photo.jpg can be told apart as photo.jpg and photo-2.jpg.
    renamed: list = dataclasses.field(default_factory=list)
    # Output paths an earlier run completed from the same input, model and settings.
    skipped: list = dataclasses.field(default_factory=list)
    # Input paths of the photos read that were not black and white (`greyness.has_colour`:
    # sepia, yellowed, colour), of which only the lightness is used.
    coloured: list = dataclasses.field(default_factory=list)

    def summary(self):
        lines = [f"colorized {len(self.written)} photo{'s' * (len(self.written) != 1)}"]
        if self.skipped:
            lines.append(
                f"skipped {_util.plural(len(self.skipped), 'photo')} an earlier run colorized "
                "from the same input with the same model and settings"
            )
        if self.renamed:
            lines.append("photos of the same name, written as:")
            lines += [f"  {source} -> {target}" for source, target in self.renamed]
        if self.failed:
            lines.append(f"failed {len(self.failed)}:")
            lines += [f"  {path}: {reason}" for path, reason in self.failed]
        return "\n".join(lines)

    def colour_note(self):
        """One line naming the photos that had colour, or "" when none had."""
        if not self.coloured:
            return ""
        names = _util.name_list([pathlib.Path(path).name for path in self.coloured], 5)
        kind = "colour (a tint such as sepia, or colours): only"
        if len(self.coloured) == 1:
            return f"{names} has {kind} its lightness is used"
        return f"{len(self.coloured)} photos have {kind} their lightness is used: {names}"


def check_output_folder(out_dir):
    """ValueError when `out_dir` cannot be the folder of the outputs: a file is in its place,
    or it (or, when it is still to be made, the folder it goes in) cannot be written. A check
    to make once, before any slow work such as loading a model; it creates nothing."""
    out_dir = pathlib.Path(out_dir)
    for folder in (out_dir, *out_dir.parents):
        if folder.exists() and not folder.is_dir():
            raise ValueError(
                f"the output folder {out_dir} cannot be made: {folder} is a file; "
                "give a folder for the colorized photos"
            )
    existing = next(folder for folder in (out_dir, *out_dir.parents, pathlib.Path("."))
                    if folder.is_dir())
    try:  # a probe, as permissions alone do not tell (root, read-only mounts, ACLs)
        probe = leftovers.temporary_path(existing / "probe")
        open(probe, "xb").close()
        probe.unlink()
    except OSError as error:
        raise ValueError(
            f"cannot write the colorized photos to {out_dir}: {existing} is not writable "
            f"({error.strerror}); choose another -o"
        ) from None


def check_outputs(photos, out_dir, *, image_format=None, overwrite=False):
    """`ledger.OutputTaken` (one line) when an output of `photos` (a `PhotoStream`, or the
    inputs to make one of) would replace a file in `out_dir` that colornet did not write from
    the same input, as `colorize_files` would find: a check to make before any slow work,
    such as loading a model. It checks every photo of files and globs, and with a folder
    among the inputs only the first photo (listing a folder is what a run does as it goes).
    """
    out_dir = pathlib.Path(out_dir)
    if overwrite or not out_dir.is_dir():
        return
    if not isinstance(photos, photo_stream.PhotoStream):
        photos = photo_stream.PhotoStream(photos, out_dir)
    record = ledger.Ledger(out_dir, keep=False)
    for index, (path, name) in enumerate(photos):
        if index and photos.has_folders:
            break
        record.check_replaceable(
            path, out_dir / name.with_suffix(save.output_suffix(path, image_format))
        )


def expand_inputs(inputs, out_dir=None):
    """Files, folders (searched recursively) and glob patterns → [(photo path, output name)],
    named and checked as `photo_stream.PhotoStream` says. An `out_dir` that is a file, or
    cannot be written → ValueError."""
    if out_dir is not None:
        check_output_folder(out_dir)
    return list(photo_stream.PhotoStream(inputs, out_dir))


def colorize_files(
    model, inputs, out_dir, *, batch_size=8, image_format=None,
    working_size=DEFAULT_WORKING_SIZE, tile=DEFAULT_TILE, progress=True, skip_complete=None,
    hints=None, reference=None, overwrite=False, shard=None,
):
    """Colorize photos on disk into `out_dir`, streaming: memory holds one batch at a time,
    and a folder's photos are found as the work reaches them (`photo_stream`), so that the
    first is colorized at once however many follow.

    Each output keeps its input's file name (and its path inside an input folder), size and
    orientation, and its transparency when written as PNG. The format is `image_format`
    ("png" or "jpg") or else the input's own when that is PNG or JPEG, PNG otherwise. Photos
    that fail to load are reported by name and skipped; an output that would overwrite an
    input is refused.

    `skip_complete`: None keeps no record. True records each output written in
    `out_dir/COMPLETED_RECORD` and skips every photo whose output an earlier recorded run
    wrote from the same input (path, size, modification time) with the same model (weights
    and precision) and settings, and that is still as that run left it; False keeps the
    record but colorizes every photo again.

    A file already in `out_dir` under an output's name is replaced only when the record says
    colornet wrote it from that same input (and it is unchanged since), or with `overwrite`;
    any other (a user's own file, the result of another photo of the same name) is refused
    with `ledger.OutputTaken` before that photo is read: the run stops there, every photo
    before it complete and recorded.

    `inputs`: files, folders and glob patterns, or a `photo_stream.PhotoStream` of them.
    `shard`: (K, N) to colorize only the photos of shard K of N (`photo_stream`), as one of N
    processes or machines that share the inputs and `out_dir`; each keeps its own record.

    `hints` ([(y, x, colour), ...], as for `colorize.colorize`) are for one photo: `inputs`
    must then name exactly one. `reference` (a colour photo's path or RGB array) steers every
    photo. Both need a hint-aware model (`colorize.check_takes`), and both count among the
    settings a completed output is recorded with.

    Returns:
        A `ColorizeReport` of what was written, skipped and failed.
    """
    reference = _check_arguments(model, image_format, batch_size, hints, reference)
    check_output_folder(out_dir)
    photos = inputs if isinstance(inputs, photo_stream.PhotoStream) else (
        photo_stream.PhotoStream(inputs, out_dir, shard)
    )
    count = sum(1 for _ in photos) if hints else 1  # hints come with a photo or two, not more
    if count != 1:
        raise ValueError(f"hints are for one photo, and the inputs name {count}: "
                         "colorize each photo with its own hints")
    out_dir = pathlib.Path(out_dir)
    if photos.shard is None:  # with shards, another machine's temporaries may look stale here
        leftovers.remove_stale_temporaries(out_dir)  # a killed run's half-written files
    report = ColorizeReport([], [])
    made_by = None
    if skip_complete is not None:
        made_by = _fingerprint(model, image_format, working_size, tile, hints, reference)
    record = ledger.Ledger(out_dir, made_by, keep=skip_complete is not None, shard=photos.shard)
    bar = tqdm.tqdm(desc="colorizing", unit="photo", disable=not progress)
    for batch in _batches(photos, out_dir, image_format, record, report, skip_complete,
                          overwrite, batch_size):
        loaded = []
        for path, name in batch:
            try:
                lightness, alpha = _read(path, image_format, report.coloured)
                loaded.append((path, name, lightness, alpha))
            except (decode.ImageError, ValueError) as error:
                report.failed.append((path, str(error)))  # the summary names it, once
                bar.update()
        if not loaded:
            continue
        abs_ = colorize.predict_ab(
            model, [item[2] for item in loaded], working_size=working_size, tile=tile,
            batch_size=batch_size, hints=[hints] if hints else None, reference=reference,
        )
        for (path, name, lightness, alpha), ab in zip(loaded, abs_):
            target = out_dir / name.with_suffix(save.output_suffix(path, image_format))
            try:
                record.claim(path, target)
                _save(target, lightness, ab, alpha, protected=[path, *photos.explicit])
                report.written.append(target)
                record.add(path, target)
            except decode.ImageError as error:
                report.failed.append((path, str(error)))
            bar.update()
    bar.close()
    report.renamed = [(path, out_dir / name.with_suffix(save.output_suffix(path, image_format)))
                      for path, name in photos.sharing]
    return report


def _batches(photos, out_dir, image_format, record, report, skip_complete, overwrite, size):
    """Lists of up to `size` (path, name) to colorize, as the stream gives them: those an
    earlier run completed are counted as skipped, and a name taken by a file colornet may not
    replace stops the run (`ledger.OutputTaken`)."""
    batch = []
    for path, name in photos:
        target = out_dir / name.with_suffix(save.output_suffix(path, image_format))
        if skip_complete and record.is_complete(path, target):
            report.skipped.append(target)
            continue
        record.check_replaceable(path, target, overwrite)
        batch.append((path, name))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_arguments(model, image_format, batch_size, hints, reference):
    """`colorize_files`' checks before any work; returns the reference as a vector (or None)."""
    colorize.check_takes(model, hints, reference)
    if image_format not in (None, "png", "jpg"):
        raise ValueError(f"image_format must be 'png' or 'jpg', got {image_format!r}")
    if not _util.is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number of 1 or more, got {batch_size!r}")
    return colorize.reference_vector(reference)


def _fingerprint(model, image_format, working_size, tile, hints=None, reference=None):
    """A hash of what decides an output besides its input: the model's weights and the
    precision of each of its layers, and the settings (hints and reference included)."""
    digest = hashlib.sha256()
    for variable in model.weights:  # one variable in memory at a time
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(variable))
        digest.update(f"{variable.path}:{value.dtype}:{value.shape}".encode())
        digest.update(value.tobytes())
    policies = [layer.dtype_policy.name for layer in keras_utils.nested_layers(model)]
    settings = [policies, image_format, working_size, tile]
    if hints or reference is not None:  # absent otherwise: earlier records stay valid
        settings.append([(float(y), float(x), hint_input.parse_colour(colour))
                         for y, x, colour in hints or ()])
        settings.append(None if reference is None else np.asarray(reference).tolist())
    digest.update(json.dumps(settings).encode())
    return digest.hexdigest()


def colorize_file(
    model, path, target, *, working_size=DEFAULT_WORKING_SIZE, tile=DEFAULT_TILE, protected=(),
    hints=None, reference=None,
):
    """Colorize one photo file into `target` (PNG or JPEG by its suffix; a PNG keeps the
    input's transparency), in the memory `colorize_files` needs for it. The input itself and
    `protected` are never overwritten. `hints` and `reference` as for `colorize.colorize`.

    Raises:
        colornet.io.decode.ImageError: the photo cannot be read, or `target` cannot be written.
    """
    keeps_alpha = save.SAVE_FORMATS.get(pathlib.Path(target).suffix.lower()) == "PNG"
    lightness, alpha = decode.load_lightness_and_alpha(path, composite=not keeps_alpha)
    [ab] = colorize.predict_ab(model, [lightness], working_size=working_size, tile=tile,
                               hints=[hints] if hints else None, reference=reference)
    return _save(target, lightness, ab, alpha, protected=[path, *protected])


def _read(path, image_format, coloured):
    """The photo's L* and alpha (`decode.load_lightness_and_alpha`) for an output in
    `image_format`; `path` joins the list `coloured` when the photo has colour."""
    # A PNG keeps the alpha, so it gets each pixel's own lightness, not the lighter one over
    # white; a JPEG has no alpha and shows the photo as on white.
    keeps_alpha = save.output_suffix(path, image_format) == ".png"
    lightness, alpha = decode.load_lightness_and_alpha(path, composite=not keeps_alpha)
    if greyness.file_has_colour(path):
        coloured.append(path)
    return lightness, alpha


def _save(target, lightness, ab, alpha, protected):
    return save.save_image(
        target, colorize.combine_to_uint8(lightness, ab), protected=protected, alpha=alpha
    )
