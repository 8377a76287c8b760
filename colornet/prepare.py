"""Cleaning a raw folder of photos for training: `colornet prepare RAW_DIR DATA_DIR`.

Drops unreadable, tiny, grey and duplicate photos, shrinks the rest, and splits them
reproducibly into DATA_DIR/train and DATA_DIR/test, saying what it dropped and why. The raw
folder is only read.
"""

import dataclasses
import json
import os
import pathlib
import shutil

import numpy as np
import tqdm

from colornet import _util, data, greyness, images

# How many file names a summary spells out before it says "and N more".
_NAMES_SHOWN = 5

# Why a photo is left out, in the order the checks run.
DROP_REASONS = ("unreadable", "too small", "grey", "duplicate")
REPORT_NAME = "prepare_report.json"
# Kept photos are re-encoded once, so quality is high and colour is not subsampled.
_JPEG_QUALITY = 95
# Duplicates are compared as 16 x 16 colour thumbnails (area averages, aspect ignored), by
# their mean absolute difference in levels of 255. Measured on scikit-image's photos: a copy
# resaved as JPEG or shrunk (down to 0.3 x, at quality 60) differs by 0.1 to 1.8; the same
# photo shifted by 5 % by 5 to 22. A light edit (3 % brighter: 0.5 to 4.8) may count.
_FINGERPRINT_SIDE = 16
_DUPLICATE_TOLERANCE = 3.0


@dataclasses.dataclass
class PrepareReport:
    """What `prepare_folder` kept, where it wrote it, and what it dropped and why."""

    train: list[pathlib.Path]  # photos written to DATA_DIR/train
    test: list[pathlib.Path]  # photos written to DATA_DIR/test
    dropped: dict[str, list[tuple[pathlib.Path, str]]]  # reason → [(raw path, detail)]

    def summary(self):
        """A few lines: the photos kept, then the ones dropped by reason, with counts."""
        kept = len(self.train) + len(self.test)
        lines = [
            f"kept {_util.plural(kept, 'photo')}: {len(self.train)} for training, "
            f"{len(self.test)} for testing"
        ]
        dropped = sum(len(entries) for entries in self.dropped.values())
        lines.append(f"dropped {_util.plural(dropped, 'photo')}" + (":" if dropped else ""))
        for reason in DROP_REASONS:
            entries = self.dropped.get(reason, [])
            if entries:
                described = [f"{path.name} ({detail})" for path, detail in entries]
                named = _util.name_list(described, _NAMES_SHOWN)
                lines.append(f"  {reason}: {len(entries)}: {named}")
        return "\n".join(lines)


def prepare_folder(
    raw_dir,
    data_dir,
    *,
    image_size=256,
    test_fraction=0.1,
    min_side=64,
    seed=0,
    progress=True,
    overwrite=False,
):
    """Clean a raw folder of photos into DATA_DIR/train and DATA_DIR/test.

    Every photo under raw_dir (subfolders included) is decoded once and dropped when it is
    unreadable, too small (shorter side below min_side), grey (`greyness.is_grey`), or a duplicate
    of a photo kept before it in path order: the same picture after decoding, whether copied,
    resaved or rescaled (16 x 16 colour thumbnails within 3 levels of 255 on average; a
    crop, a flip or a shifted copy is a different photo). Kept photos are shrunk so that their
    shorter side is image_size (aspect kept, never enlarged), turned upright, and written as
    JPEG (quality 95, no chroma subsampling) under the same relative path, then split by
    `data.split(test_fraction, seed)`, which keeps each photo on its side when raw_dir grows.
    DATA_DIR/prepare_report.json records the settings, the photos kept and those dropped.
    raw_dir is only read.

    Args:
        raw_dir: str or pathlib.Path of the folder of photos, in any format and size.
        data_dir: where to write train/, test/ and the report; must not lie inside raw_dir.
        image_size: shorter side of the written photos, in pixels.
        test_fraction: expected share of test photos, in [0, 1).
        min_side: drop photos whose shorter side is smaller than this, in pixels.
        seed: seed of the train/test split.
        progress: show a progress bar.
        overwrite: delete what DATA_DIR/train and DATA_DIR/test hold first; without it a
            non-empty one is refused.

    Returns:
        PrepareReport.

    Raises:
        ValueError: bad arguments, data_dir inside raw_dir (or the other way round), or an
            earlier prepare's output in data_dir without overwrite=True.
        images.ImageError: raw_dir is missing or holds no images, or a photo cannot be written.
    """
    for name, value in (("image_size", image_size), ("min_side", min_side)):
        _util.check_positive_int(value, name)
    _util.check_fraction(test_fraction, "test_fraction")
    raw_dir, data_dir = pathlib.Path(raw_dir), pathlib.Path(data_dir)
    train_dir, test_dir = data_dir / "train", data_dir / "test"
    _check_apart(raw_dir, data_dir, (train_dir, test_dir))
    paths = images.list_images(raw_dir)  # fails on an empty raw_dir before anything is deleted
    _clear_outputs((train_dir, test_dir), overwrite)

    dropped = {reason: [] for reason in DROP_REASONS}
    duplicates = _DuplicateIndex(capacity=len(paths))
    written = {}  # raw path → its file under train_dir
    names_taken = set()
    for path in tqdm.tqdm(paths, desc="preparing photos", unit="photo", disable=not progress):
        try:
            rgb = images.load_rgb(path)
        except images.ImageError as error:
            dropped["unreadable"].append((path, images.problem_of(error)))
            continue
        height, width = rgb.shape[:2]
        if min(height, width) < min_side:
            dropped["too small"].append((path, f"{width} x {height} pixels"))
            continue
        spread = greyness.colour_spread(rgb)
        if spread < greyness.GREY_CHROMA:
            dropped["grey"].append((path, f"colour spread {spread:.1f}"))
            continue
        fingerprint = greyness.squashed(rgb, _FINGERPRINT_SIDE)
        original = duplicates.find(fingerprint)
        if original is not None:
            same = original.relative_to(raw_dir).as_posix()
            dropped["duplicate"].append((path, f"same photo as {same}"))
            continue
        duplicates.add(fingerprint, path)
        relative = _output_name(path.relative_to(raw_dir), names_taken)
        written[path] = images.save_image(
            train_dir / relative,
            images.shrink(rgb, shorter_side=image_size),
            protected=path,
            quality=_JPEG_QUALITY,
        )

    training, testing = data.split(list(written), test_fraction, seed, root=raw_dir)
    train_files = [written[path] for path in training]
    test_files = []
    for path in testing:
        target = test_dir / written[path].relative_to(train_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(written[path], target)
        test_files.append(target)

    report = PrepareReport(train=train_files, test=test_files, dropped=dropped)
    settings = dict(
        image_size=image_size, test_fraction=test_fraction, min_side=min_side, seed=seed
    )
    _write_report(data_dir, raw_dir, report, settings)
    return report


def _check_apart(raw_dir, data_dir, output_dirs):
    raw, data = raw_dir.resolve(), data_dir.resolve()
    if data == raw or raw in data.parents:
        raise ValueError(
            f"data_dir '{data_dir}' is inside raw_dir '{raw_dir}': the prepared copies would be "
            "mixed with the raw photos; choose a folder outside it"
        )
    for output_dir in output_dirs:
        if raw == output_dir.resolve() or output_dir.resolve() in raw.parents:
            raise ValueError(
                f"raw_dir '{raw_dir}' is inside '{output_dir}', which prepare writes; "
                "move the raw photos elsewhere or choose another data_dir"
            )


def _clear_outputs(output_dirs, overwrite):
    for output_dir in output_dirs:
        if output_dir.is_file():
            raise ValueError(f"'{output_dir}' is a file; prepare needs it as a folder")
        if output_dir.is_dir() and any(output_dir.iterdir()):
            if not overwrite:
                raise ValueError(
                    f"'{output_dir}' is not empty (an earlier prepare?); pass overwrite=True "
                    "(--overwrite) to delete its contents and prepare again"
                )
            shutil.rmtree(output_dir)


class _DuplicateIndex:
    """Fingerprints of the photos kept so far, to find an earlier copy of a new photo.

    A new photo is compared only with those whose mean brightness is within the tolerance
    (a mean absolute difference bounds the difference of means), so the cost per photo is
    one vectorised pass over the means plus a handful of full comparisons.
    """

    def __init__(self, capacity):
        size = _FINGERPRINT_SIDE * _FINGERPRINT_SIDE * 3
        self._fingerprints = np.empty((capacity, size), dtype=np.uint8)
        self._means = np.empty(capacity, dtype=np.float64)
        self._paths = []

    def find(self, fingerprint):
        """The path of a kept photo that `fingerprint` (uint8 (16, 16, 3)) duplicates, or None."""
        count = len(self._paths)
        values = fingerprint.reshape(-1).astype(np.int16)
        near = np.flatnonzero(np.abs(self._means[:count] - values.mean()) <= _DUPLICATE_TOLERANCE)
        if near.size == 0:
            return None
        differences = np.abs(self._fingerprints[near].astype(np.int16) - values).mean(axis=1)
        closest = int(np.argmin(differences))
        return self._paths[near[closest]] if differences[closest] <= _DUPLICATE_TOLERANCE else None

    def add(self, fingerprint, path):
        index = len(self._paths)
        self._fingerprints[index] = fingerprint.reshape(-1)
        self._means[index] = fingerprint.mean()
        self._paths.append(path)


def _output_name(relative, names_taken):
    """a/photo.png → a/photo.jpg; a/photo_png.jpg when a/photo.jpg is already taken."""
    candidate = relative.with_suffix(".jpg")
    if candidate.as_posix().lower() in names_taken:
        candidate = relative.with_name(f"{relative.stem}_{relative.suffix.lstrip('.')}.jpg")
        number = 2
        while candidate.as_posix().lower() in names_taken:
            candidate = relative.with_name(f"{relative.stem}_{number}.jpg")
            number += 1
    names_taken.add(candidate.as_posix().lower())
    return candidate


def _write_report(data_dir, raw_dir, report, settings):
    train_dir, test_dir = data_dir / "train", data_dir / "test"
    content = {
        "raw_dir": str(raw_dir),
        **settings,
        "kept": {"train": len(report.train), "test": len(report.test)},
        "dropped_counts": {reason: len(entries) for reason, entries in report.dropped.items()},
        "train": [path.relative_to(train_dir).as_posix() for path in report.train],
        "test": [path.relative_to(test_dir).as_posix() for path in report.test],
        "dropped": {
            reason: [
                {"file": path.relative_to(raw_dir).as_posix(), "detail": detail}
                for path, detail in entries
            ]
            for reason, entries in report.dropped.items()
        },
    }
    with _util.atomic_output(data_dir / REPORT_NAME) as temporary:
        temporary.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", "utf-8")
