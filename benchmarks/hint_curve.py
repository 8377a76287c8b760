"""What hints are worth: PSNR and colourfulness against the number of point hints simulated
from the originals, and the effect of a reference photo, on a corpus's held-out photos, beside
Zhang et al.'s published curve (issue 30).

The protocol is `colornet.apps.hint_scores`' (Zhang et al.'s test sweep, at our working size):
N points per photo (0, 1, 2, 5, 10, 20, 50, 100), each a square patch of 1×1 to 9×9 working
pixels (side uniform) whose top-left corner is Gaussian around the centre (sigma a quarter of
the room), given the photo's own mean ab over it; seed 0, one generator per photo
(`default_rng([seed, index])`, index in the sorted list), so a photo's first k points are the
same in every count. Photos are read as the shipped model's held-out scores read them
(shrunk to 4 MP at most), colorized at 256 px on the longest side, scored at full size with
`metrics.all_scores`; "colourfulness" is the results' mean colourfulness over the originals'
(the shipped scores' measure), "delta_cf" the originals' mean minus the results' (DDColor's
ΔCF).

The reference photo's effect, with no point hint: each photo steered by its own colour
version, and, as a control, by an unrelated photo (the next one of the sorted list).

Zhang et al. (SIGGRAPH 2017, their official sweep on 1,000 ImageNet validation photos at
256×256) give the points of `ZHANG_2017`: a different data set and network size, so the
shape of the curve compares, not its height.

    python benchmarks/hint_curve.py [CORPUS | FOLDER] [--model hinted.keras] [--seed 0]
        [--counts 0 1 2 5 10 20 50 100] [--plot curve.png] [--out FIGURES.json]

CORPUS is a `colornet corpus` folder (its held_out split is used; default ~/corpus), or any
folder of colour photos.
"""

import argparse
import pathlib

import common  # first: quiets TensorFlow before Keras loads it
import numpy as np

from colornet import corpus, metrics
from colornet.apps import colorize, evaluation, hint_scores
from colornet.io import decode, folders
from colornet.nets import models

# Zhang et al. 2017, "Real-Time User-Guided Image Colorization with Learned Deep Priors": mean
# PSNR (dB) over 1,000 ImageNet validation photos against the number of simulated points.
ZHANG_2017 = {"photos": 1000, "data": "ImageNet validation, 256×256",
              "psnr_by_points": {"0": 24.4, "1": 25.4, "10": 28.4, "100": 31.1}}
DEFAULT_CORPUS = pathlib.Path.home() / "corpus"


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="?", type=pathlib.Path, default=DEFAULT_CORPUS,
                        help="a corpus folder (its held_out split) or a folder of colour photos")
    parser.add_argument("--model", type=pathlib.Path, default=None,
                        help="a hint-aware .keras model or run folder (default: the shipped one)")
    parser.add_argument("--counts", type=int, nargs="+", default=list(hint_scores.POINT_COUNTS))
    parser.add_argument("--seed", type=int, default=hint_scores.SEED)
    parser.add_argument("--plot", type=pathlib.Path, default=None, help="also draw the curve")
    parser.add_argument("--out", default=None, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def photo_paths(folder):
    """A corpus's held-out photos, or a plain folder's, sorted by path."""
    folder = pathlib.Path(folder)
    if (folder / corpus.MANIFEST).is_file() or (folder / "held_out").is_dir():
        paths = corpus.split_paths(folder, "held_out")
    else:
        paths = folders.list_images(folder)
    if not paths:
        raise ValueError(f"no photos in {folder}: give a corpus folder or a folder of photos")
    return sorted(paths)


def summary(originals, results):
    """Mean scores of results against their originals, as the shipped model's are given."""
    rows = [metrics.all_scores(original, metrics.ab_of(original), result)
            for original, result in zip(originals, results)]
    original_cf = float(np.mean([metrics.colourfulness(original) for original in originals]))
    result_cf = float(np.mean([row["colourfulness"] for row in rows]))
    means = {key: float(np.mean([row[key] for row in rows]))
             for key in ("psnr", "ssim", "ab_error", "auc")}
    return {**means, "colourfulness": result_cf / original_cf if original_cf else 0.0,
            "delta_cf": original_cf - result_cf}


def run(args):
    """Measure and print; returns the figures as a dict."""
    counts = sorted(set(args.counts))
    if counts[0] < 0:
        raise ValueError(f"--counts must be 0 or more, got {counts[0]}")
    model = colorize.load_model(args.model)
    description = models.describe(model)
    if not description.hints:
        raise ValueError(f"{model.name} ({description.variant}) takes no hints: give a "
                         "hint-aware model with --model")
    paths = photo_paths(args.photos)
    originals = [decode.load_reduced_rgb(path, evaluation.SCORED_PIXELS)[0] for path in paths]
    print(f"{len(originals)} photos from {args.photos}, seed {args.seed}; simulated points:")
    curve = []
    for points in counts:
        results = [hint_scores.colorize_with_simulated_hints(model, original, points, index,
                                                             seed=args.seed)
                   for index, original in enumerate(originals)]
        row = {"points": points, **summary(originals, results)}
        curve.append(row)
        print(f"  {points:>4} points  PSNR {row['psnr']:6.2f} dB   colourfulness "
              f"{100 * row['colourfulness']:5.1f} %   ΔCF {row['delta_cf']:6.2f}")
    figures = {"photos": len(originals), "seed": args.seed, "counts": counts,
               "protocol": "colornet.apps.hint_scores", "curve": curve,
               "zhang_2017": ZHANG_2017, "reference": reference_effect(model, originals)}
    figures["machine"] = common.machine_description()
    if args.plot is not None:
        draw(curve, args.plot)
        print(f"wrote {args.plot}")
    return figures


def reference_effect(model, originals):
    """Scores with no point hint and each photo's own colours, or the next photo's, as its
    reference; None for a model that takes no reference or a single photo."""
    if not models.describe(model).reference or len(originals) < 2:
        return None
    effect = {}
    for name, offset in (("own", 0), ("unrelated", 1)):
        results = [hint_scores.colorize_with_simulated_hints(
            model, original, 0, index, reference=originals[(index + offset) % len(originals)])
            for index, original in enumerate(originals)]
        effect[name] = summary(originals, results)
        print(f"  reference {name:<9}  PSNR {effect[name]['psnr']:6.2f} dB   colourfulness "
              f"{100 * effect[name]['colourfulness']:5.1f} %")
    return effect


def draw(curve, path):
    """PSNR against points (ours and Zhang et al.'s), colourfulness on a second axis."""
    import matplotlib.figure

    from colornet.apps import plotting

    figure = matplotlib.figure.Figure(figsize=(7, 4), layout="constrained")
    axis = figure.subplots()
    # Zero points on a log axis: drawn at 0.5, labelled 0.
    where = [max(row["points"], 0.5) for row in curve]
    axis.plot(where, [row["psnr"] for row in curve], "o-", label="colornet, held-out photos")
    zhang = ZHANG_2017["psnr_by_points"]
    axis.plot([max(int(points), 0.5) for points in zhang], list(zhang.values()), "s--",
              label="Zhang et al. 2017, ImageNet")
    axis.set_xscale("log")
    axis.set_xticks(where, [str(row["points"]) for row in curve])
    axis.set_xlabel("simulated point hints")
    axis.set_ylabel("PSNR (dB)")
    second = axis.twinx()
    second.plot(where, [100 * row["colourfulness"] for row in curve], "^:", color="C2",
                label="colourfulness (% of the originals')")
    second.set_ylabel("colourfulness (% of the originals')")
    second.set_ylim(0, 110)  # from zero: a change of a tenth of a point looks like one
    lines = axis.get_legend_handles_labels()
    extra = second.get_legend_handles_labels()
    axis.legend(lines[0] + extra[0], lines[1] + extra[1], loc="lower right")
    axis.grid(True, alpha=0.3)
    plotting.save_figure(figure, path)


def main():
    args = parse_arguments()
    figures = run(args)
    common.print_json(figures, args.out)


if __name__ == "__main__":
    main()
