"""Does the pretrained colorizer grow with more photos? Its recipe on 10, 20, 43 and 86 of the
corpus's training photos, the same steps and seed for each, scored on the held-out split.

Each size is a `colornet pretrain` run on a corpus folder whose train/ holds the first n photos
of one seeded shuffle of the train split (so the 10 are among the 20, the 20 among the 43), and
whose validation/ and held_out/ are the corpus's own. Each run is exported as the shipped model
is (`recipe.export`: the annealed mean's temperature chosen on the validation split), and the
held-out scores are its export's. Runs resume: run the same command again to finish them.

    colornet corpus ~/corpus
    python benchmarks/learning_curve.py ~/corpus --out-dir runs/curve --out curve.json \
        --plot docs/learning_curve.png

`curve.json` is what `benchmarks/figures.json` keeps under "learning_curve".

The fit is PSNR over grey, and colourfulness, against log10(photos): a straight line through
four points, extrapolated to 1,000 and 10,000 photos only to say what the trend would give.
"""

import argparse
import json
import os
import pathlib
import shutil

import common  # first: quiets TensorFlow before Keras loads it
import numpy as np

from colornet import corpus
from colornet.pretrained import recipe, settings

SIZES = (10, 20, 43, 86)
EXTRAPOLATED = (1000, 10000)


def subset_corpus(corpus_dir, folder, size, seed):
    """A corpus folder whose train/ holds `size` photos of the corpus's train split (the first
    of one seeded shuffle, so smaller subsets are inside larger ones), with its validation and
    held-out splits whole. Files are hard links where the file system allows, else copies."""
    folder = pathlib.Path(folder)
    train = corpus.split_paths(corpus_dir, "train")
    if size > len(train):
        raise SystemExit(f"the corpus has {len(train)} training photos, fewer than {size}")
    order = np.random.default_rng(seed).permutation(len(train))
    chosen = {"train": [train[i] for i in order[:size]]}
    for split in ("validation", "held_out"):
        chosen[split] = corpus.split_paths(corpus_dir, split)
    for split, paths in chosen.items():
        (folder / split).mkdir(parents=True, exist_ok=True)
        for path in paths:
            target = folder / split / pathlib.Path(path).name
            if not target.exists():
                try:
                    os.link(path, target)
                except OSError:
                    shutil.copy2(path, target)
    return folder


def run_size(corpus_dir, out_dir, size, config, progress):
    """Train (or resume) and export the run on `size` photos; its export's result."""
    out_dir = pathlib.Path(out_dir)
    result_path = out_dir / f"photos-{size}" / "result.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    sub_corpus = subset_corpus(corpus_dir, out_dir / f"photos-{size}" / "corpus", size,
                               config.seed)
    run_dir = out_dir / f"photos-{size}" / "run"
    recipe.train(sub_corpus, run_dir, config, progress=progress)
    exported = recipe.export(run_dir, sub_corpus, folder=out_dir / f"photos-{size}" / "export",
                             progress=progress)
    result = {"photos": size, "epoch": exported["epoch"],
              "temperature": exported["temperature"], "scores": exported["scores"]}
    result_path.write_text(json.dumps(result, indent=1))
    return result


def fit(rows, key):
    """A straight line through rows' `key` against log10(photos): (slope per decade, intercept)."""
    x = np.log10([row["photos"] for row in rows])
    y = np.array([row[key] for row in rows])
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def summary(results):
    """The table's rows and the fitted trend."""
    rows = []
    for result in results:
        held_out = result["scores"]["held_out"]
        rows.append({"photos": result["photos"],
                     "psnr": held_out["psnr"], "grey_psnr": held_out["grey_psnr"],
                     "psnr_over_grey": held_out["psnr"] - held_out["grey_psnr"],
                     "colourfulness": held_out["colourfulness"],
                     "validation_psnr": result["scores"]["validation"]["psnr"],
                     "temperature": result["temperature"]})
    trend = {}
    for key in ("psnr_over_grey", "colourfulness"):
        slope, intercept = fit(rows, key)
        trend[key] = {"per_decade": slope,
                      "extrapolated": {str(n): slope * np.log10(n) + intercept
                                       for n in EXTRAPOLATED}}
    return rows, trend


def plot(rows, trend, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    photos = [row["photos"] for row in rows]
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for axis, key, label, scale in (
            (axes[0], "psnr_over_grey", "held-out PSNR over grey (dB)", 1),
            (axes[1], "colourfulness", "held-out colourfulness (% of originals')", 100)):
        axis.plot(photos, [row[key] * scale for row in rows], "o-", label="measured")
        slope = trend[key]["per_decade"]
        intercept = np.mean([row[key] - slope * np.log10(row["photos"]) for row in rows])
        line = np.array([photos[0], max(EXTRAPOLATED)])
        axis.plot(line, (slope * np.log10(line) + intercept) * scale, "--", color="grey",
                  label="log-linear fit (extrapolated)")
        axis.set_xscale("log")
        axis.set_xlabel("training photos")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[0].axhline(0, color="black", linewidth=0.8)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--out-dir", default="runs/learning_curve")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps-per-epoch", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--plot", default=None, help="write the curve to this PNG")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    config = settings.RecipeConfig(epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                                   seed=args.seed)
    results = [run_size(args.corpus, args.out_dir, size, config, not args.quiet)
               for size in sorted(args.sizes)]
    rows, trend = summary(results)
    print("photos  PSNR   grey   over grey  colourfulness  (held out)")
    for row in rows:
        print(f"{row['photos']:6d}  {row['psnr']:5.2f}  {row['grey_psnr']:5.2f}  "
              f"{row['psnr_over_grey']:+8.2f}  {row['colourfulness']:12.0%}")
    for key, fitted in trend.items():
        print(f"{key}: {fitted['per_decade']:+.3f} per tenfold photos; extrapolated "
              + ", ".join(f"{n}: {value:.3f}" for n, value in fitted["extrapolated"].items()))
    if args.plot:
        plot(rows, trend, args.plot)
    common.print_json({
        "machine": common.machine_description(),
        "recipe": {"epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch,
                   "batch_size": config.batch_size, "crop_size": config.crop_size,
                   "seed": args.seed},
        "rows": rows, "trend": trend}, args.out)


if __name__ == "__main__":
    main()
