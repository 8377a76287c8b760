"""Colorizing speed of the pretrained colorizer against today's final version.

The real-photos issue asks that colorizing with the shipped model stay as fast as colorizing
with the final version (the write-up's fusion network on InceptionResNetV2). Both colorize
the same photos at full resolution through `colorize.colorize` (lightness, the model at its
working size, colour resized back onto the full-resolution lightness), batch by batch in
alternation, so both see the same load on a shared machine; the ratio of their times is the
figure. Both in float32. The final version has random weights (its speed does not depend on
them); the pretrained colorizer is the shipped one.

    python benchmarks/pretrained_speed.py [--photos 20] [--side 1024] [--batch-size 4]
        [--out FIGURES.json]
"""

import argparse
import os
import statistics

import common  # first: quiets TensorFlow before Keras loads it
import keras
import numpy as np
from colorize_throughput import sample_photos

from colornet import pretrained
from colornet.apps import colorize
from colornet.nets import models


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--out", default=None, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def run(args):
    """Measure and print; returns the figures as a dict."""
    photos = sample_photos(args.photos, args.side)
    shipped = pretrained.load()
    final = models.colorizer(256, backbone_weights=None)
    models.set_precision(final, "float32", "float32")
    ways = {"pretrained": shipped, "final version": final}
    side_by_side = common.SideBySide(warmup=1)
    for start in range(0, len(photos), args.batch_size):
        batch = photos[start:start + args.batch_size]
        for name, model in ways.items():
            side_by_side.time(name, lambda model=model, batch=batch: colorize.colorize(
                model, batch, batch_size=args.batch_size))
    counted = len(photos) - args.batch_size  # the warm-up batch is not counted
    ratios = side_by_side.paired_ratios("final version", "pretrained")
    print(f"backend {keras.backend.backend()}, {os.cpu_count()} CPUs; {counted} photos of "
          f"{args.side}×{args.side} after one warm-up batch, batch {args.batch_size}, "
          "alternating batch by batch:")
    figures = {"photos": counted, "side": args.side, "batch_size": args.batch_size}
    for name in ways:
        seconds = side_by_side.total(name)
        print(f"  {name:<15} {seconds:7.1f} s   {counted / seconds:6.2f} photos/s")
        figures[f"{name.replace(' ', '_')}_images_per_second"] = counted / seconds
    figures["speed_ratio"] = statistics.median(ratios)
    print(f"  the pretrained colorizer takes {1 / figures['speed_ratio']:.2f}× the final "
          "version's time (median of the paired batches; goal ≤ 1)")
    figures["machine"] = common.machine_description()
    return figures


def main():
    args = parse_arguments()
    figures = run(args)
    common.print_json(figures, args.out)


if __name__ == "__main__":
    np.random.seed(0)
    main()
