"""A model's scores on a folder of held-out colour photos, next to the baselines it must beat.

`evaluate_folder` (the `colornet evaluate` command) colorizes every photo from its lightness
and scores it (`colornet.metrics`) next to two baselines, grey (a = b = 0) and the training
photos' mean ab (`mean_ab_of`), and writes the table as CSV and JSON with a picture of the
results.
"""

import csv
import dataclasses
import json
import math
import numbers
import os
import pathlib
import warnings

import numpy as np
import tqdm

from colornet import _util, color, metrics
from colornet.apps import colorize, hint_scores, plotting
from colornet.constants import DEFAULT_WORKING_SIZE
from colornet.errors import SettingError
from colornet.io import decode, folders, geometry, greyness

# The table's columns, in order; "original_colourfulness" repeats the original photo's M on
# each of its rows, so every row can be compared with what the photo really holds.
COLUMNS = ("image", "method", "psnr", "ssim", "ab_error", "colourfulness", "auc",
           "original_colourfulness")
SCORES = COLUMNS[2:]
# The `image` of the rows that average a method over all photos. No photo can have this
# name: list_images only lists files with an image suffix.
MEAN_ROW = "mean"

# Method names in the table, in the order they are shown.
COLORIZED, GREY, MEAN_AB = "colorized", "grey", "mean_ab"

# evaluate_folder(reference=OWN_REFERENCE): each photo steered by its own colours.
OWN_REFERENCE = "own"
# Output files, in the out_dir given to evaluate_folder.
CSV_NAME, JSON_NAME, FIGURE_NAME = "scores.csv", "scores.json", "comparison.png"

# Longer side of each picture in the comparison grid: plotting draws a panel 4 inches wide at
# 100 dpi, so more pixels would only make the figure slower to draw.
_GRID_SIDE = 400
# How many file names a summary spells out before it says "and N more".
_NAMES_SHOWN = 5

# Photos larger than this are scored (and trained on, by `colornet single`) shrunk to fit it by
# block means (`decode.load_reduced_rgb`): memory then stays bounded whatever the photo's size
# (docs/training.md, "Large photos, signals and leftovers"), and a score at 4 MP differs from
# one at full size by little.
SCORED_PIXELS = 2**22
# `evaluate_folder` holds at most jobs.MEMORY_BYTES_PER_PIXEL bytes a pixel of the photo
# being read (its decoded pixels) plus this: the scores of a SCORED_PIXELS photo (scikit-image's
# SSIM works in float64) and the grid's small copies. tests/test_memory.py measures it.
MEMORY_OVERHEAD_BYTES = 1280 * 2**20


# ---------------------------------------------------------------------------------------------
# Scores of one image


def mean_ab_of(paths, *, progress=False):
    """The mean a and b of a set of photos, streamed one photo at a time.

    Each photo's own mean ab counts once, whatever its size: training crops and resizes every
    photo to one size, so this is the mean the model sees. Files that cannot be read are
    skipped, each with a warning naming it.

    Args:
        paths: sequence of str or pathlib.Path (e.g. `greyness.scan_folder(folder).colour`).
        progress: show a progress bar.

    Returns:
        float64 array (2,): mean a and mean b, in Lab units.

    Raises:
        ValueError: no paths, a single path instead of a list, or no readable photo.
    """
    _util.check_path_list(paths)
    total, count = np.zeros(2), 0
    for path in tqdm.tqdm(paths, desc="mean ab", unit="photo", disable=not progress):
        try:
            rgb, _ = decode.load_reduced_rgb(path, SCORED_PIXELS)
        except decode.ImageError as error:
            warnings.warn(f"skipped {error}", stacklevel=2)
            continue
        total += metrics.ab_of(rgb).reshape(-1, 2).mean(axis=0, dtype=np.float64)
        count += 1
    if count == 0:
        raise SettingError("no readable photos to take the mean ab of")
    return total / count


# ---------------------------------------------------------------------------------------------
# A whole folder


@dataclasses.dataclass
class EvaluationReport:
    """What `evaluate_folder` measured and where it wrote it."""

    rows: list[dict]  # one per photo and method, then one MEAN_ROW per method; keys COLUMNS
    means: dict[str, dict]  # method -> its mean row
    mean_ab: np.ndarray | None  # the mean-ab baseline's (a, b), None when it was not run
    grey: list[pathlib.Path]  # photos skipped as grey (see `greyness.is_grey`)
    unreadable: list[tuple[pathlib.Path, str]]  # photos skipped: (path, one-line error)
    reduced: list[tuple[pathlib.Path, int]]  # photos over SCORED_PIXELS: (path, block side)
    csv_path: pathlib.Path
    json_path: pathlib.Path
    figure_path: pathlib.Path | None  # None with max_grid_images=0

    def summary(self):
        """The mean of each method as a small text table, and what was skipped."""
        lines = [
            f"{'method':<22}{'PSNR dB':>9}{'SSIM':>8}{'ab error':>10}{'AuC':>8}{'colourful':>11}"
        ]
        for method, row in self.means.items():
            lines.append(
                f"{_method_label(method, self.mean_ab):<22}{row['psnr']:>9.2f}{row['ssim']:>8.3f}"
                f"{row['ab_error']:>10.2f}{row['auc']:>8.3f}{row['colourfulness']:>11.1f}"
            )
        original = next(iter(self.means.values()))["original_colourfulness"]
        lines.append(f"{'original':<22}{'':>35}{original:>11.1f}")
        photos = sum(row["method"] == COLORIZED and row["image"] != MEAN_ROW for row in self.rows)
        counts = f"{photos} photo{'' if photos == 1 else 's'} scored"
        if self.grey:
            counts += f"; skipped {len(self.grey)} grey ({_name_list([p.name for p in self.grey])})"
        if self.unreadable:
            names = _name_list([path.name for path, _ in self.unreadable])
            counts += f"; skipped {len(self.unreadable)} unreadable ({names})"
        if self.reduced:
            names = _name_list([path.name for path, _ in self.reduced])
            limit = f"{SCORED_PIXELS / 2**20:g} MP"
            counts += f"; {len(self.reduced)} over {limit} scored shrunk to {limit} ({names})"
        if self.mean_ab is None:
            counts += "; no mean-ab baseline (give the training photos' folder or their mean ab)"
        written = [self.csv_path, self.json_path] + ([self.figure_path] if self.figure_path else [])
        lines += [counts, "wrote " + ", ".join(str(path) for path in written)]
        return "\n".join(lines)


def evaluate_folder(model, data_dir, out_dir, *, mean_ab=None, train_dir=None,
                    max_grid_images=8, working_size=DEFAULT_WORKING_SIZE, progress=True,
                    hint_points=0, reference=None):
    """Score a model on a folder of held-out colour photos, next to the grey and mean-ab baselines.

    Each photo (subfolders included) is read, reduced to its lightness, colorized by the model
    (`colorize.predict_ab`: Version 1 at the photo's size, the final colorizer at its own, its
    colours resized back), and compared with the original at full size (a photo over
    SCORED_PIXELS shrunk to fit it by block means, so memory stays bounded): PSNR and SSIM on
    RGB, ab error, ab accuracy AuC, and the colourfulness of the result (and of the original,
    for reference).
    The grey baseline (a = b = 0) and the mean-ab baseline (one constant ab, the training
    photos' mean) are scored the same way on the same photos. Photos are streamed: memory
    holds one photo plus the small copies kept for the grid.

    Grey photos (`greyness.is_grey`, the test `colornet prepare` and `train` use; their
    colourfulness is about 0, so there is no colour to score against) are skipped and
    counted. Files that cannot be read are skipped with a warning naming each.

    Writes to out_dir, each file atomically:
        scores.csv      the table: COLUMNS, a row per photo and method, then a "mean" row
                        per method (image = "mean")
        scores.json     the same rows, plus the settings and the skipped photos
        comparison.png  grey | colorized | mean ab | original for the first max_grid_images

    Args:
        model: a colornet model (either kind), or the path of one (see colorize.load_model).
        data_dir: str or pathlib.Path of the folder of colour photos, any sizes and formats.
        out_dir: where to write; created if missing; must not lie inside data_dir, where the
            picture would join the photos of the next evaluation.
        mean_ab: (a, b) of the mean-ab baseline, in Lab units.
        train_dir: instead of mean_ab, the folder of training photos: its colour photos (as
            `greyness.scan_folder` finds them, like training does) give the mean via `mean_ab_of`.
            With neither, the mean-ab baseline is left out.
        max_grid_images: how many photos the picture shows; 0 for no picture.
        progress: show progress bars.
        hint_points: a hint-aware model gets this many point hints simulated from each
            original under `hint_scores`' fixed protocol (seed, positions, patch sizes).
        reference: a hint-aware model's reference photo: "own" (each photo's own colours),
            a colour photo (path or RGB) for every photo, or None.

    Returns:
        EvaluationReport.

    Raises:
        decode.ImageError: data_dir is missing or holds no images.
        ValueError: bad arguments, out_dir inside data_dir, no colour photo to score, or a
            model colornet cannot load.
    """
    data_dir, out_dir = pathlib.Path(data_dir), pathlib.Path(out_dir)
    _check_evaluation_arguments(data_dir, out_dir, mean_ab, train_dir, max_grid_images)
    paths = folders.list_images(data_dir)  # a missing or empty folder fails before any work
    model_label = str(model) if isinstance(model, (str, os.PathLike)) else model.name
    if isinstance(model, (str, os.PathLike)):
        model = colorize.load_model(model)
    colorize.check_takes(model, [None] * hint_points, reference)
    own_reference = isinstance(reference, str) and reference == OWN_REFERENCE
    shared_reference = None if own_reference else colorize.reference_vector(reference)
    if mean_ab is not None:
        mean_ab = metrics.check_mean_ab(mean_ab)
    elif train_dir is not None:
        scan = greyness.scan_folder(train_dir, progress=progress)
        mean_ab = mean_ab_of(scan.colour, progress=progress)

    methods = [COLORIZED, GREY] + ([MEAN_AB] if mean_ab is not None else [])
    rows, grid, grey, unreadable, reduced = [], [], [], [], []
    for index, path in enumerate(tqdm.tqdm(paths, desc="evaluating", unit="photo",
                                           disable=not progress)):
        try:
            original, factor = decode.load_reduced_rgb(path, SCORED_PIXELS)
        except decode.ImageError as error:
            warnings.warn(f"skipped {error}", stacklevel=2)
            unreadable.append((path, str(error)))
            continue
        if factor > 1:
            reduced.append((path, factor))
        if greyness.is_grey(original):
            grey.append(path)
            continue
        name = path.relative_to(data_dir).as_posix()
        steer = (index, hint_points, original if own_reference else shared_reference)
        results = _results_of(model, original, mean_ab, working_size, steer)
        photo_rows = _rows_of(name, original, results)
        rows += photo_rows
        if len(grid) < max_grid_images:
            grid.append((name, photo_rows,
                         [geometry.shrink(results[m], longer_side=_GRID_SIDE) for m in methods],
                         geometry.shrink(original, longer_side=_GRID_SIDE)))

    _check_scored(data_dir, rows, grey, unreadable)
    means = {method: _mean_row([row for row in rows if row["method"] == method], method)
             for method in methods}
    rows += list(means.values())
    report = EvaluationReport(
        rows=rows, means=means, mean_ab=mean_ab, grey=grey, unreadable=unreadable,
        reduced=reduced,
        csv_path=out_dir / CSV_NAME, json_path=out_dir / JSON_NAME,
        figure_path=out_dir / FIGURE_NAME if grid else None,
    )
    _write_csv(report)
    _write_json(report, model_label, data_dir, hint_points, reference)
    if grid:
        plotting.save_figure(_grid_figure(grid, methods, mean_ab), report.figure_path)
    return report


def _check_evaluation_arguments(data_dir, out_dir, mean_ab, train_dir, max_grid_images):
    if mean_ab is not None and train_dir is not None:
        raise SettingError("give mean_ab or train_dir, not both")
    if not isinstance(max_grid_images, numbers.Integral) or max_grid_images < 0:
        raise SettingError(f"max_grid_images must be an int >= 0, got {max_grid_images!r}")
    resolved_out = out_dir.resolve()
    if resolved_out == data_dir.resolve() or data_dir.resolve() in resolved_out.parents:
        raise SettingError(
            f"out_dir '{out_dir}' is inside data_dir '{data_dir}': its picture would be "
            "scored as a photo next time; choose a folder outside it"
        )


def _results_of(model, original, mean_ab, working_size, steer):
    """{method: RGB (H, W, 3)}: the model's colorization of the photo and the baselines.
    steer: (the photo's index, simulated hints, reference or None)."""
    lightness = color.rgb_to_lightness(original)  # (H, W)
    index, points, reference = steer
    if points or reference is not None:
        colorized = hint_scores.colorize_with_simulated_hints(
            model, original, points, index, reference=reference, working_size=working_size)
    else:
        colorized = color.combine(lightness, colorize.predict_ab(model, lightness,
                                                                 working_size=working_size))
    results = {COLORIZED: colorized, GREY: metrics.grey_baseline(original)}
    if mean_ab is not None:
        results[MEAN_AB] = metrics.constant_ab(lightness, mean_ab)
    return results


def _rows_of(name, original, results):
    """One row of scores per method for one photo."""
    original_ab = color.rgb_to_lab(original)[..., 1:]  # (H, W, 2)
    original_colourfulness = metrics.colourfulness(original)
    return [
        {
            "image": name, "method": method,
            **metrics.all_scores(original, original_ab, result),
            "original_colourfulness": original_colourfulness,
        }
        for method, result in results.items()
    ]


def _check_scored(data_dir, rows, grey, unreadable):
    if grey:
        names = _name_list([path.relative_to(data_dir).as_posix() for path in grey])
        warnings.warn(
            f"skipped {len(grey)} grey photo(s) in '{data_dir}', which have no colour to "
            f"score against: {names}",
            stacklevel=3,
        )
    if not rows:
        raise SettingError(
            f"no colour photos to score in '{data_dir}' ({len(grey)} grey, "
            f"{len(unreadable)} unreadable)"
        )


def _mean_row(method_rows, method):
    """The arithmetic mean of each score over the photos (PSNR in dB, as usual)."""
    row = {"image": MEAN_ROW, "method": method}
    row.update({name: float(np.mean([r[name] for r in method_rows])) for name in SCORES})
    return row


def _grid_figure(grid, methods, mean_ab):
    """grey | colorized | mean ab | original per photo, each result titled with its scores."""
    order = [GREY, COLORIZED] + ([MEAN_AB] if MEAN_AB in methods else [])
    panels, titles, labels = [], [], []
    for name, method_rows, pictures, original in grid:
        by_method = dict(zip(methods, zip(method_rows, pictures)))
        panels.append([by_method[method][1] for method in order] + [original])
        titles.append(
            [f"{_method_label(method, mean_ab)}\n{_panel_scores(by_method[method][0])}"
             for method in order]
            + [f"original\ncolourfulness {method_rows[0]['original_colourfulness']:.1f}"]
        )
        labels.append(name)
    return plotting.comparison(panels, titles=titles, row_labels=labels)


def _panel_scores(row):
    return f"{row['psnr']:.1f} dB, ab error {row['ab_error']:.1f}, AuC {row['auc']:.2f}"


def _method_label(method, mean_ab):
    if method == MEAN_AB and mean_ab is not None:
        return f"mean ab ({mean_ab[0]:.1f}, {mean_ab[1]:.1f})"
    return {COLORIZED: "colorized", GREY: "grey (a = b = 0)"}.get(method, method)


def _write_csv(report):
    with _util.atomic_output(report.csv_path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=COLUMNS)
            writer.writeheader()
            for row in report.rows:
                writer.writerow({key: _csv_value(value) for key, value in row.items()})


def _csv_value(value):
    return f"{value:.6g}" if isinstance(value, float) else value


def _write_json(report, model_label, data_dir, hint_points, reference):
    content = {
        "model": model_label,
        "data_dir": str(data_dir),
        "hint_points": hint_points,
        "hint_seed": hint_scores.SEED,
        "reference": reference if reference is None or isinstance(reference, str) else
        "a photo",
        "mean_ab": None if report.mean_ab is None else [float(v) for v in report.mean_ab],
        "auc_thresholds": f"0, 1, ..., {metrics.AUC_MAX_THRESHOLD} (Lab units)",
        "columns": list(COLUMNS),
        "rows": [{key: _json_value(value) for key, value in row.items()} for row in report.rows],
        "skipped_grey": [path.relative_to(data_dir).as_posix() for path in report.grey],
        "skipped_unreadable": [
            {"file": path.relative_to(data_dir).as_posix(), "error": message}
            for path, message in report.unreadable
        ],
        "scored_pixels": SCORED_PIXELS,
        "scored_shrunk": [
            {"file": path.relative_to(data_dir).as_posix(), "block": factor}
            for path, factor in report.reduced
        ],
    }
    with _util.atomic_output(report.json_path) as temporary:
        temporary.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", "utf-8")


def _json_value(value):
    """Strict JSON has no infinity (a PSNR of identical images): write it as null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _name_list(names):
    return _util.name_list(names, _NAMES_SHOWN)
