"""The offline EfficientNet-Lite backbones: what they cost, and what they give the colorizer.

In one run, printing one JSON object on standard output (progress on standard error):

- embedding cost: seconds per photo of the grey embedding (lightness → grey RGB → resize →
  classifier, `backbones.grey_embedding_model`) of EfficientNet-Lite0, Lite2 and the
  write-up's InceptionResNetV2, batches of 10 photos of 256×256, median of a few batches,
  float32. InceptionResNetV2 has random weights here (no network); speed does not depend on
  them.
- training throughput with Lite0 in the loop: `benchmarks/training_throughput.py` with
  `--backbone efficientnet_lite0` (colornet's pipeline, batch 10 at 256×256, augmentation on)
  against the write-up's way (InceptionResNetV2 embedding computed twice per batch).
- the fusion ablation (`colornet.apps.ablation`): held-out PSNR of the same fusion colorizer
  trained with the real Lite0 embedding and with a constant one, on crops tinted by class.

    python benchmarks/offline_backbones.py [--quick] [--parts ablation] > offline_backbones.json
"""

import argparse
import contextlib
import json
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import numpy as np
import training_throughput

from colornet.apps import ablation
from colornet.nets import backbones

EMBEDDING_BACKBONES = {
    "efficientnet_lite0": "imagenet",
    "efficientnet_lite2": "imagenet",
    "inception_resnet_v2": None,  # random: its ImageNet weights need the network
}


def embedding_seconds_per_photo(name, weights, batches, batch_size=10, image_size=256):
    """Median seconds per photo of one backbone's grey embedding, after a tracing batch."""
    model = backbones.grey_embedding_model(name, weights=weights)
    rng = np.random.default_rng(0)
    lightness = rng.uniform(0.0, 100.0, (batch_size, image_size, image_size, 1)).astype(np.float32)
    model.predict_on_batch(lightness)  # traces
    seconds = []
    for _ in range(batches):
        started = time.perf_counter()
        model.predict_on_batch(lightness)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) / batch_size


def ablation_figures(crops_per_class, held_out_per_class, image_size, epochs):
    started = time.perf_counter()
    train = ablation.tinted_crops(crops_per_class, image_size=image_size, seed=0)
    held_out = ablation.tinted_crops(held_out_per_class, image_size=image_size, seed=1)
    result = ablation.fusion_ablation(
        train, held_out, ablation.embed_crops(train), ablation.embed_crops(held_out), epochs=epochs
    )
    print(result.summary(), file=sys.stderr)
    return {
        "real_embedding_psnr_db": round(result.real_embedding_psnr, 2),
        "constant_embedding_psnr_db": round(result.constant_embedding_psnr, 2),
        "grey_psnr_db": round(result.grey_psnr, 2),
        "margin_db": round(result.margin_db, 2),
        "image_size": image_size,
        "train_crops": result.train_crops,
        "held_out_crops": result.held_out_crops,
        "epochs": epochs,
        "seconds": round(time.perf_counter() - started, 1),
    }


PARTS = ("embedding", "training", "ablation")


def run(quick=False, parts=PARTS):
    """Measure `parts` (all by default); returns the figures as a dict."""
    figures = {}
    if "embedding" in parts:
        figures["embedding_seconds_per_photo"] = {}
        for name, weights in EMBEDDING_BACKBONES.items():
            seconds = embedding_seconds_per_photo(name, weights, batches=2 if quick else 5)
            figures["embedding_seconds_per_photo"][name] = round(seconds, 4)
            print(f"{name}: {seconds * 1000:.0f} ms a photo", file=sys.stderr, flush=True)

    if "training" in parts:
        arguments = ["--backbone", "efficientnet_lite0", "--steps", "2" if quick else "5"]
        with contextlib.redirect_stdout(sys.stderr):
            training = training_throughput.run(training_throughput.parse_arguments(arguments))
        figures["training_with_lite0_in_the_loop"] = {
            key: round(value, 3) for key, value in training.items()
        }

    if "ablation" in parts:
        figures["fusion_ablation"] = (
            ablation_figures(16, 8, image_size=32, epochs=10)
            if quick
            else ablation_figures(24, 12, image_size=48, epochs=10)
        )
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer batches and steps, the slow test's smaller ablation",
    )
    parser.add_argument(
        "--parts", nargs="+", choices=PARTS, default=list(PARTS), help="which measurements to run"
    )
    args = parser.parse_args()
    print(json.dumps(run(args.quick, args.parts), indent=2))


if __name__ == "__main__":
    main()
