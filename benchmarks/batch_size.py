"""Throughput against batch size: colorizing and training the final model at 256×256.

For each batch size and each precision (float32, and bfloat16 mixed precision), in one run:

- colorizing: `colorize.colorize(model, photos, batch_size=B)` on photos already 256×256, so
  the figure is the model's and the colour maths' own rate, in images per second;
- training: one `train_on_batch` step of `loop.build_training_model` (InceptionResNetV2
  embedding in the loop, as `colornet train` runs it) on a batch of B photos, in images per
  second. The input pipeline is left out: in `fit` it runs ahead in the background
  (benchmarks/training_throughput.py measures its cost).

Each point is the median of a few timed repetitions after one untimed call at that batch
size (a new batch shape traces anew). Prints a table and writes a plot, by default
benchmarks/throughput_vs_batch_size.png, which docs/performance.md, "Performance", shows.
All use random weights: the speed does not depend on them.

    python benchmarks/batch_size.py [--colorize-batches 1 2 4 8 16 32]
        [--train-batches 2 5 10 20] [--plot PATH] [--repeats 3]
"""

import argparse
import datetime
import pathlib

import common  # first: quiets TensorFlow before Keras loads it
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from colornet.apps import colorize, plotting  # noqa: E402
from colornet.nets import models  # noqa: E402
from colornet.train import loop, settings  # noqa: E402

PRECISIONS = ("float32", "bfloat16")


def median_seconds(function, repeats):
    """Median seconds of function() at a batch size, after one untimed call (which traces
    anew for the new batch shape)."""
    return common.median_seconds(function, repeats, warmup=1)[0]


def colorizing_rates(batch_sizes, repeats, image_size=256):
    """{precision: [images/s for each batch size]}."""
    rng = np.random.default_rng(0)
    photos = list(rng.random((max(batch_sizes) * 2, image_size, image_size, 3), dtype=np.float32))
    model = models.colorizer(image_size, backbone_weights=None)
    rates = {}
    for precision in PRECISIONS:
        models.set_precision(model, backbone=precision, fusion=precision)
        model.make_predict_function(force=True)  # the traced function keeps its precision
        rates[precision] = []
        for batch_size in batch_sizes:
            chosen = photos[: 2 * batch_size]  # two batches
            seconds = median_seconds(
                lambda chosen=chosen, batch_size=batch_size: colorize.colorize(
                    model, chosen, batch_size=batch_size
                ),
                repeats,
            )
            rates[precision].append(len(chosen) / seconds)
            print(
                f"colorizing  {precision:<9} batch {batch_size:3d}: "
                f"{rates[precision][-1]:7.2f} img/s",
                flush=True,
            )
    return rates


def training_rates(batch_sizes, repeats, image_size=256):
    """{precision: [images/s for each batch size]}."""
    rng = np.random.default_rng(0)
    rates = {}
    for precision in PRECISIONS:
        config = settings.TrainingConfig(
            data_dir=".", image_size=image_size, backbone_weights=None,
            backbone_precision=precision, fusion_precision=precision,
        )
        training_model, _ = loop.build_training_model(config)
        rates[precision] = []
        for batch_size in batch_sizes:
            rgb = rng.random((batch_size, image_size, image_size, 3), dtype=np.float32)
            seconds = median_seconds(
                lambda model=training_model, rgb=rgb: model.train_on_batch(rgb, rgb), repeats
            )
            rates[precision].append(batch_size / seconds)
            print(
                f"training    {precision:<9} batch {batch_size:3d}: "
                f"{rates[precision][-1]:7.2f} img/s",
                flush=True,
            )
    return rates


def plot(figures, path):
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    tasks = (("colorizing", "colorizing"), ("training", "training, embedding in the loop"))
    for axis, (task, label) in zip(axes, tasks):
        batch_sizes = figures[task]["batch_sizes"]
        for precision in PRECISIONS:
            axis.plot(batch_sizes, figures[task][precision], marker="o", label=precision)
        axis.set_xscale("log", base=2)
        axis.set_xticks(batch_sizes, [str(size) for size in batch_sizes])
        axis.set_ylim(bottom=0)
        axis.set_xlabel("batch size")
        axis.set_ylabel("images per second")
        axis.set_title(f"{label}, 256×256")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(f"colornet final model on {figures['machine']}, {figures['date']}")
    plotting.save_figure(figure, path)
    plt.close(figure)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--colorize-batches", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--train-batches", type=int, nargs="+", default=[2, 5, 10, 20])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--plot", type=pathlib.Path, default=common.HERE / "throughput_vs_batch_size.png"
    )
    return parser.parse_args(argv)


def run(args):
    """Measure, print and plot; returns the figures as a dict (`benchmarks/run_all.py`)."""
    machine = common.machine_description()
    print(f"{machine}; InceptionResNetV2 with random weights", flush=True)
    figures = {
        "machine": machine,
        "date": datetime.date.today().isoformat(),
        "colorizing": {
            "batch_sizes": args.colorize_batches,
            **colorizing_rates(args.colorize_batches, args.repeats),
        },
        "training": {
            "batch_sizes": args.train_batches,
            **training_rates(args.train_batches, args.repeats),
        },
    }
    if args.plot:
        plot(figures, args.plot)
        print(f"wrote {args.plot}")
    return figures


if __name__ == "__main__":
    run(parse_arguments())
