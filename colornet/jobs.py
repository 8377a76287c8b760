"""Photos on disk in, colorized photos on disk out: the engine of `colornet colorize`.

Inputs are files, folders (searched recursively) and glob patterns; each output keeps its
input's name and its path inside an input folder. Work streams: memory holds one batch of
photos at a time, however many there are. Each photo is colorized by `colornet.colorize`.
"""

import dataclasses
import glob
import pathlib
import warnings

import tqdm

from colornet import color, colorize, images
from colornet.config import DEFAULT_TILE, DEFAULT_WORKING_SIZE


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


def expand_inputs(inputs):
    """Files, folders (searched recursively) and glob patterns → [(photo path, output name)].

    The output name keeps the photo's file name, and for folders its path inside the folder,
    so outputs never collide; a name seen twice gets "-2", "-3"... Nothing matched → ValueError.
    """
    found = []
    for item in inputs:
        item = str(item)
        if pathlib.Path(item).is_dir():
            folder = pathlib.Path(item)
            # By suffix: a corrupt photo in the folder fails by name (exit status 1), not skipped.
            listed = images.list_images(folder, check_headers=False)
            found += [(path, path.relative_to(folder)) for path in listed]
        elif pathlib.Path(item).exists():
            found.append((pathlib.Path(item), pathlib.Path(pathlib.Path(item).name)))
        elif glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                raise ValueError(f"no files match {item}")
            found += [
                (pathlib.Path(path), pathlib.Path(pathlib.Path(path).name))
                for path in matches
                if pathlib.Path(path).is_file()
            ]
        else:
            raise ValueError(f"{item}: no such file or folder")
    seen, unique = {}, []
    for path, name in found:
        key = str(name.with_suffix("")).lower()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            name = name.with_name(f"{name.stem}-{seen[key]}{name.suffix}")
        unique.append((path, name))
    return unique


def colorize_files(
    model, inputs, out_dir, *, batch_size=8, image_format=None,
    working_size=DEFAULT_WORKING_SIZE, tile=DEFAULT_TILE, progress=True,
):
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
    jobs = expand_inputs(inputs)
    inputs_paths = [path for path, _ in jobs]
    out_dir = pathlib.Path(out_dir)
    report = ColorizeReport([], [])
    bar = tqdm.tqdm(total=len(jobs), desc="colorizing", unit="photo", disable=not progress)
    for first in range(0, len(jobs), batch_size):
        loaded = []
        for path, name in jobs[first : first + batch_size]:
            try:
                rgb, alpha = images.load_rgb_and_alpha(path)
                loaded.append((path, name, color.rgb_to_lightness(rgb), alpha))
            except (images.ImageError, ValueError) as error:
                report.failed.append((path, str(error)))
                warnings.warn(str(error), stacklevel=2)
                bar.update()
        if not loaded:
            continue
        abs_ = colorize.predict_ab(
            model, [item[2] for item in loaded], working_size=working_size, tile=tile,
            batch_size=batch_size,
        )
        for (path, name, lightness, alpha), ab in zip(loaded, abs_):
            target = out_dir / name.with_suffix(_output_suffix(path, image_format))
            try:
                images.save_image(
                    target, colorize.combine(lightness, ab), protected=inputs_paths, alpha=alpha
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
