"""Cleaning a raw folder of photos for training: `colornet prepare RAW_DIR DATA_DIR`.

Drops unreadable, tiny, grey and duplicate photos, shrinks the rest, and splits them
reproducibly into DATA_DIR/train and DATA_DIR/test, saying what it dropped and why. The raw
folder is only read.
"""

import dataclasses
import json
import os
import pathlib
import secrets
import shutil

import numpy as np
import tqdm

from colornet import _util, leftovers
from colornet.constants import DEFAULT_IMAGE_SIZE
from colornet.errors import SettingError
from colornet.io import decode, folders, geometry, greyness, save
from colornet.train import data

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
    image_size=DEFAULT_IMAGE_SIZE,
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
        overwrite: replace an earlier prepare's output: the files its report lists are
            deleted once the new ones are ready; files prepare did not write are never
            deleted (a folder holding some is refused). Without it a non-empty
            DATA_DIR/train or DATA_DIR/test is refused.

    Every file under raw_dir is accounted for: those that are not photos (a text file, an
    empty or corrupt one) are dropped as unreadable, by name. The photos are written to a
    hidden folder in data_dir first and moved into train/ and test/ at the end, so an
    interrupted prepare leaves the earlier output as it was, never a train/ without its
    test/. The test set is round(test_fraction x kept photos) of them (at least one when the
    fraction is above 0 and two or more are kept): those whose hash of (seed, path) is lowest,
    so a photo keeps its side while the folder grows, except near the boundary.

    Returns:
        PrepareReport.

    Raises:
        ValueError: bad arguments, data_dir inside raw_dir (or the other way round), or an
            earlier prepare's output in data_dir without overwrite=True.
        decode.ImageError: raw_dir is missing or holds no images, or a photo cannot be written.
    """
    for name, value in (("image_size", image_size), ("min_side", min_side)):
        _util.check_positive_int(value, name)
    _util.check_fraction(test_fraction, "test_fraction")
    raw_dir, data_dir = pathlib.Path(raw_dir), pathlib.Path(data_dir)
    train_dir, test_dir = data_dir / "train", data_dir / "test"
    _check_apart(raw_dir, data_dir, (train_dir, test_dir))
    paths = folders.list_files(raw_dir)
    if not paths:
        folders.list_images(raw_dir)  # its one-line "no images found in ..." error
    earlier = _earlier_output(data_dir, (train_dir, test_dir), overwrite)  # refused before work
    _remove_stale_work_folders(data_dir)
    work = data_dir / f".prepare.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    work_train, work_test = work / "train", work / "test"
    try:
        report = _prepare_into(
            raw_dir, paths, work_train, work_test, image_size, test_fraction, min_side, seed,
            progress,
        )
        for path in earlier:
            path.unlink(missing_ok=True)
        for output_dir, prepared in ((train_dir, work_train), (test_dir, work_test)):
            _remove_empty_folders(output_dir)
            os.replace(prepared, output_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = PrepareReport(
        train=[train_dir / path.relative_to(work_train) for path in report.train],
        test=[test_dir / path.relative_to(work_test) for path in report.test],
        dropped=report.dropped,
    )
    settings = {
        "image_size": image_size, "test_fraction": test_fraction, "min_side": min_side,
        "seed": seed,
    }
    _write_report(data_dir, raw_dir, report, settings)
    return report


def _prepare_into(raw_dir, paths, train_dir, test_dir, image_size, test_fraction, min_side,
                  seed, progress):
    """The work of `prepare_folder`, into train_dir and test_dir (both created)."""
    train_dir.mkdir(parents=True)
    test_dir.mkdir(parents=True)
    dropped = {reason: [] for reason in DROP_REASONS}
    duplicates = _DuplicateIndex(capacity=len(paths))
    written = {}  # raw path → its file under train_dir
    names_taken = set()
    for path in tqdm.tqdm(paths, desc="preparing photos", unit="photo", disable=not progress):
        if path.suffix.lower() not in folders.IMAGE_SUFFIXES:
            dropped["unreadable"].append((path, f"not a photo ('{path.suffix or path.name}' file)"))
            continue
        try:
            rgb = decode.load_rgb(path)
        except decode.ImageError as error:
            dropped["unreadable"].append((path, decode.problem_of(error)))
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
        written[path] = save.save_image(
            train_dir / relative,
            geometry.shrink(rgb, shorter_side=image_size),
            protected=path,
            quality=_JPEG_QUALITY,
        )

    testing = set(_test_photos(list(written), test_fraction, seed, raw_dir))
    train_files, test_files = [], []
    for path, file in written.items():
        if path not in testing:
            train_files.append(file)
            continue
        target = test_dir / file.relative_to(train_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, target)
        test_files.append(target)
    return PrepareReport(train=train_files, test=test_files, dropped=dropped)


def _test_photos(paths, test_fraction, seed, root):
    """The round(test_fraction x len(paths)) photos with the lowest split hash (at least one
    when the fraction is above 0 and there are two or more, never all)."""
    count = round(test_fraction * len(paths))
    if test_fraction > 0 and len(paths) >= 2:
        count = min(max(count, 1), len(paths) - 1)
    scores = {path: data._split_score(data._split_key(path, root), seed) for path in paths}
    return sorted(paths, key=scores.__getitem__)[:count]


def _earlier_output(data_dir, output_dirs, overwrite):
    """The files of an earlier prepare that `overwrite` lets this one replace.

    Refuses, before any work: a non-empty output folder without overwrite, and with it any
    file there that the earlier prepare's report does not list (prepare never deletes what it
    did not write).
    """
    present = []
    for output_dir in output_dirs:
        if output_dir.is_file():
            raise SettingError(f"'{output_dir}' is a file; prepare needs it as a folder")
        if output_dir.is_dir():
            present += [path for path in output_dir.rglob("*") if path.is_file()]
    if not present:
        return []
    if not overwrite:
        raise SettingError(
            f"'{present[0].parent}' is not empty (an earlier prepare?); prepare again with "
            "the overwrite option (--overwrite) to replace it"
        )
    listed = set()
    report_path = data_dir / REPORT_NAME
    if report_path.is_file():
        report = _util.read_json(report_path, "prepare report")
        for name, output_dir in zip(("train", "test"), output_dirs):
            listed |= {(output_dir / relative).resolve() for relative in report.get(name, [])}
    foreign = [path for path in present if path.resolve() not in listed]
    if foreign:
        names = _util.name_list([str(path) for path in foreign], _NAMES_SHOWN)
        raise SettingError(
            f"{len(foreign)} file(s) in the output folders were not written by prepare "
            f"({names}); overwrite only replaces prepare's own, so move these away first"
        )
    return present


def _remove_empty_folders(folder):
    """Remove `folder` if it holds nothing but empty folders (what deleting an earlier
    prepare's files leaves)."""
    if not folder.is_dir():
        return
    for directory in sorted(folder.rglob("*"), key=lambda path: len(path.parts), reverse=True):
        if directory.is_dir():
            directory.rmdir()
    folder.rmdir()


def _remove_stale_work_folders(data_dir):
    """The hidden work folders of prepares that were killed (their process is gone)."""
    if not data_dir.is_dir():
        return
    for folder in data_dir.glob(".prepare.*.tmp"):
        pid = folder.name.split(".")[2].split("-")[0]
        if folder.is_dir() and pid.isdigit() and leftovers.is_stale_temporary(
            folder.with_name(f".x.{pid}-00000000.tmp")
        ):
            shutil.rmtree(folder, ignore_errors=True)


def _check_apart(raw_dir, data_dir, output_dirs):
    raw, data = raw_dir.resolve(), data_dir.resolve()
    if data == raw or raw in data.parents:
        raise SettingError(
            f"data_dir '{data_dir}' is inside raw_dir '{raw_dir}': the prepared copies would be "
            "mixed with the raw photos; choose a folder outside it"
        )
    for output_dir in output_dirs:
        if raw == output_dir.resolve() or output_dir.resolve() in raw.parents:
            raise SettingError(
                f"raw_dir '{raw_dir}' is inside '{output_dir}', which prepare writes; "
                "move the raw photos elsewhere or choose another data_dir"
            )


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
