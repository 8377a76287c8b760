"""Vivid or sepia: the pretrained colorizer's network trained with Zhang et al.'s classification
loss against the write-up's mean squared error, on the corpus, scored on whole photos.

Both runs are `colornet pretrain` runs of the same recipe (same crops, seed and schedule) but for
the head; this scores one epoch of each on the validation and held-out splits, with the grey
photo and the training photos' mean colour beside them:

    colornet pretrain CORPUS --out runs/zhang --until 4
    colornet pretrain CORPUS --out runs/mse --head regression --until 4
    python benchmarks/loss_comparison.py CORPUS runs/zhang runs/mse --epoch 4 [--out F.json]
"""

import argparse
import json
import pathlib

import common  # first: quiets TensorFlow before Keras loads it
import numpy as np

from colornet import corpus, metrics
from colornet.apps import evaluation
from colornet.io import decode
from colornet.nets import lite_unet
from colornet.pretrained import recipe, settings


def colorizer_of_epoch(run_dir, epoch):
    """The run's colorizer with the weights of one epoch (temperature 0.38 for bins)."""
    run_dir = pathlib.Path(run_dir)
    config = settings.RecipeConfig(**json.loads((run_dir / recipe.CONFIG_NAME).read_text()))
    trunk = lite_unet.trunk(config.variant, "imagenet", config.head)
    with np.load(run_dir / "epochs" / f"epoch-{epoch:03d}.npz") as saved:
        lite_unet.set_trainable_weights(trunk, {key: saved[key] for key in saved.files})
    return lite_unet.colorizer(trunk)


def baselines(paths, mean_ab):
    """Mean PSNR and colourfulness share of the grey photo and of one constant colour."""
    rows = {"grey": [], "mean colour": []}
    for path in paths:
        original, _ = decode.load_reduced_rgb(path, evaluation.SCORED_PIXELS)
        for name, result in (("grey", metrics.grey_baseline(original)),
                             ("mean colour", metrics.mean_ab_baseline(original, mean_ab))):
            rows[name].append((metrics.psnr(original, result),
                               metrics.colourfulness(result),
                               metrics.colourfulness(original)))
    return {name: {"psnr": float(np.mean([r[0] for r in values])),
                   "colourfulness": float(sum(r[1] for r in values) / sum(r[2] for r in values))}
            for name, values in rows.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("classification_run")
    parser.add_argument("regression_run")
    parser.add_argument("--epoch", type=int, required=True)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    mean_ab = evaluation.mean_ab_of(corpus.split_paths(args.corpus, "train"))
    figures = {"epoch": args.epoch, "machine": common.machine_description()}
    runs = {"classification (Zhang et al.)": args.classification_run,
            "regression (MSE)": args.regression_run}
    for split in ("validation", "held_out"):
        paths = corpus.split_paths(args.corpus, split)
        table = baselines(paths, mean_ab)
        for name, run_dir in runs.items():
            table[name] = recipe.score_photos(colorizer_of_epoch(run_dir, args.epoch), paths)
        figures[split] = table
        print(f"{split} ({len(paths)} photos), epoch {args.epoch}:")
        for name, scores in table.items():
            print(f"  {name:<32} PSNR {scores['psnr']:6.2f} dB   colourfulness "
                  f"{100 * scores['colourfulness']:5.1f} % of the originals'")
    common.print_json(figures, args.out)


if __name__ == "__main__":
    main()
