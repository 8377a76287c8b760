"""Training throughput of the final version: colornet against the write-up's way, in one run.

Both pipelines train the same fusion colorizer (`models.fusion_colorizer`) on the sample
photos at 256×256, batch 10, augmentation on, with an InceptionResNetV2 embedding (random
weights: the speed does not depend on them) computed for every batch:

- colornet: `loop.build_training_model`, fed by the dataset `loop.train` feeds `fit`
  (`data.image_dataset`: tf.data decodes, augments and prefetches in the background), stepped
  by `fit`; the backbone runs inside the training graph;
- the write-up's way: `writeup.Training` (benchmarks/writeup.py), one `train_on_batch` step
  of the published generator at a time.

With --cache-embeddings colornet embeds each (un-augmented) photo once before training, as
`TrainingConfig(cache_embeddings=True)` does, and its steps no longer run the backbone; that
one-off cost is printed apart.

Steps alternate, one of each, and after each pair colornet's backbone runs alone, once in
each precision, so all see the same load on a shared machine. Prints the median seconds per
step and images per second of each, their ratio, the first (compiling) step, and where each
step's time goes. Issue goal: colornet ≥ 2.5× the write-up's way on a 2-core CPU; the
measured figures are in docs/performance.md, "Performance". How far bfloat16 moves the
backbone's features and the gradient is asserted in tests/test_precision_numerics.py.

    python benchmarks/training_throughput.py [--steps 5] [--backbone-precision bfloat16]
"""

import argparse
import dataclasses
import itertools
import math
import os
import pathlib
import statistics
import tempfile
import time

import common  # first: quiets TensorFlow before Keras loads it
import keras
import numpy as np
import tensorflow as tf
import writeup

from colornet import color, constants
from colornet.io import decode, geometry, save
from colornet.nets import backbones, models, profiling
from colornet.nets import precision as precisions
from colornet.train import loop, settings

# The write-up's Train folder held thousands of photos; ours holds six, repeated to this many.
MIN_PHOTOS = 20
COLORNET, WRITE_UP = "colornet", "write-up's way"


class Interleaved(keras.callbacks.Callback):
    """Times each colornet `fit` step; after it, runs one write-up step and times colornet's
    backbone forward alone in each precision, so that all see the same load."""

    def __init__(self, write_up, backbone_forwards, warmup):
        super().__init__()
        self.write_up = write_up
        self.backbone_forwards = backbone_forwards  # {precision: function}
        self.side_by_side = common.SideBySide(warmup)
        self.write_up_pieces = []  # {piece: seconds} of each write-up step

    def on_train_batch_begin(self, batch, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        float(logs["loss"])  # waits for the step to finish
        self.side_by_side.add(COLORNET, time.perf_counter() - self.started)

    def on_epoch_end(self, epoch, logs=None):
        pieces = self.write_up.step()
        self.write_up_pieces.append(pieces)
        self.side_by_side.add(WRITE_UP, sum(pieces.values()))
        for precision, forward in self.backbone_forwards.items():
            self.side_by_side.time(f"backbone {precision}", forward)


def backbone_forwards(colorizer, rgb):
    """{precision: a function running colornet's grey embedding (lightness → grey RGB →
    resize → InceptionResNetV2) on one batch, as the training step does, in that precision}.
    Each is traced here, in its precision; the backbone's precision is left as it was."""
    embedding_network = models.embedding_network(colorizer)
    backbone = models.backbone_layer(colorizer)
    lightness = color.RgbToLightness()(rgb)
    chosen = backbone.precision
    forwards = {}
    for precision in precisions.POLICIES:
        backbone.precision = precision
        embed = tf.function(lambda lightness: embedding_network(lightness, training=False))
        embed(lightness)  # traces, in this precision
        forwards[precision] = lambda embed=embed: embed(lightness).numpy()
    backbone.precision = chosen
    return forwards


def input_pipeline_seconds(dataset, batches):
    """Seconds per batch of colornet's input pipeline running alone, after a first batch."""
    iterator = iter(dataset)
    next(iterator)
    started = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return (time.perf_counter() - started) / batches


def sample_photos(folder, image_size, batch_size):
    """The sample photos centre-cropped to image_size and saved as JPEGs in `folder`, as the
    write-up's Train folder held them; the paths repeated to a whole number of batches."""
    paths = []
    for source in common.photo_paths("train", "test"):
        photo = geometry.resize_and_crop(decode.load_rgb(source), image_size)
        paths.append(pathlib.Path(folder) / source.name)
        save.save_image(paths[-1], photo)
    count = batch_size * max(2, math.ceil(MIN_PHOTOS / batch_size))
    return list(itertools.islice(itertools.cycle(paths), count)), paths


def main():
    args = parse_arguments()
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    run(args)


def run(args):
    """Measure and print; returns the figures as a dict (`benchmarks/run_all.py` collects
    them)."""
    keras.utils.set_random_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        paths, distinct_paths = sample_photos(folder, args.image_size, args.batch_size)
        print(
            f"{len(paths)} photos ({len(distinct_paths)} distinct) at {args.image_size}×"
            f"{args.image_size}, batch {args.batch_size}, {args.steps} measured steps each "
            f"after {args.warmup} warm-up, interleaved; backend {keras.backend.backend()}, "
            f"{os.cpu_count()} CPUs, threads intra {args.intra_op_threads or 'default'} / "
            f"inter {args.inter_op_threads or 'default'}"
        )
        print(
            f"colornet: backbone {args.backbone_precision}, fusion colorizer "
            f"{args.fusion_precision}, jit_compile {args.jit_compile}, cached embeddings "
            f"{'on' if args.cache_embeddings else 'off'}",
            flush=True,
        )
        colornet = Colornet(args, folder, paths)
        interleaved = measure(args, colornet)
        pipeline = input_pipeline_seconds(colornet.pairs(seed=1), batches=2 * args.steps)
        colornet_step, write_up_step = print_steps(interleaved.side_by_side, args)
        print_pieces(interleaved, args, colornet_step, write_up_step, pipeline)
        colornet.print_embedding_cost()
    figures = summary(args, colornet.colorizer, colornet_step, write_up_step)
    return {
        **figures,
        "first_step_seconds": interleaved.side_by_side.first(COLORNET),
        "input_pipeline_seconds_per_batch": pipeline,
    }


class Colornet:
    """colornet's side: the training model as `colornet train` builds it at the benchmark's
    settings, the photos, and (with --cache-embeddings) their embeddings, computed once."""

    def __init__(self, args, folder, paths):
        self.config = settings.TrainingConfig(
            data_dir=folder, backbone=args.backbone, backbone_weights=None,
            image_size=args.image_size,
            batch_size=args.batch_size, cache_embeddings=args.cache_embeddings,
            backbone_precision=args.backbone_precision, fusion_precision=args.fusion_precision,
        )
        jit_compile = {"auto": "auto", "on": True, "off": False}[args.jit_compile]
        self.training_model, self.colorizer = loop.build_training_model(
            self.config, jit_compile=jit_compile
        )
        self.paths = paths
        self.photos = np.stack([decode.load_rgb(path) for path in paths])  # (N, S, S, 3)
        self.embeddings, self.embedding_seconds = None, None
        if args.cache_embeddings:
            embedding_network = models.embedding_network(self.colorizer)
            started = time.perf_counter()
            self.embeddings = backbones.embed(
                self.photos, embedding_network, batch_size=args.batch_size
            )
            self.embedding_seconds = time.perf_counter() - started

    def pairs(self, seed):
        """The (input, target) batches `loop.train` feeds `fit`, shuffled by `seed`."""
        seeded = dataclasses.replace(self.config, seed=seed)
        return loop.datasets(seeded, self.paths, [], (self.embeddings, None))[0][0]

    def print_embedding_cost(self):
        if self.embedding_seconds is None:
            return
        count, epochs = len(self.paths), self.config.epochs
        per_photo = self.embedding_seconds / count
        print(
            f"  colornet, once before training: embedding the {count} photos took "
            f"{self.embedding_seconds:.1f} s with tracing ({per_photo:.2f} s a photo; spread "
            f"over {epochs} epochs, {per_photo * self.config.batch_size / epochs:.2f} s a step)"
        )


def measure(args, colornet):
    """Warm-up and measured steps of both pipelines, interleaved; returns the `Interleaved`
    callback that holds the seconds."""
    write_up = writeup.Training(colornet.photos, args.batch_size, seed=0)
    forwards = backbone_forwards(colornet.colorizer, colornet.photos[: args.batch_size])
    interleaved = Interleaved(write_up, forwards, args.warmup)
    colornet.training_model.fit(
        colornet.pairs(seed=0), steps_per_epoch=1, epochs=args.warmup + args.steps,
        shuffle=False, callbacks=[interleaved], verbose=0,
    )
    return interleaved


def summary(args, colorizer, colornet_step, write_up_step):
    """Print the throughputs and colornet's FLOP rate; returns them as figures."""
    colornet_rate, write_up_rate = args.batch_size / colornet_step, args.batch_size / write_up_step
    flops = profiling.training_step_flops(colorizer, args.batch_size, args.cache_embeddings)
    print()
    print(
        f"training throughput: colornet {colornet_rate:.2f} img/s, write-up's way "
        f"{write_up_rate:.2f} img/s, ratio {colornet_rate / write_up_rate:.2f}× (goal ≥ 2.5×)"
    )
    counted = "the fusion net forward and back" + (
        "; the backbone is cached" if args.cache_embeddings else ", the backbone forward"
    )
    print(
        f"colornet's step: {flops / 1e9:.0f} GFLOP ({counted}) in {colornet_step:.2f} s = "
        f"{flops / colornet_step / 1e9:.0f} GFLOP/s"
    )
    return {
        "colornet_images_per_second": colornet_rate,
        "write_ups_way_images_per_second": write_up_rate,
        "speed_up": colornet_rate / write_up_rate,
        "step_gflop": flops / 1e9,
        "achieved_gflop_per_second": flops / colornet_step / 1e9,
    }


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="measured steps of each pipeline")
    parser.add_argument(
        "--warmup", type=int, default=2, help="untimed steps of each first (at least 1)"
    )
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument(
        "--backbone", choices=list(backbones.BACKBONES), default=constants.DEFAULT_BACKBONE,
        help="colornet's frozen backbone (the write-up's way always runs InceptionResNetV2)",
    )
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument(
        "--backbone-precision", choices=list(precisions.POLICIES), default="float32",
        help="how colornet's frozen InceptionResNetV2 computes",
    )
    parser.add_argument(
        "--fusion-precision", choices=["float32", "bfloat16"], default="float32",
        help="how colornet's fusion colorizer computes (TrainingConfig.fusion_precision)",
    )
    parser.add_argument(
        "--jit-compile", choices=["auto", "on", "off"], default="auto",
        help="XLA for colornet's training step; 'auto' is build_training_model's (off on CPU)",
    )
    parser.add_argument(
        "--cache-embeddings", action="store_true",
        help="colornet embeds each photo once before training (TrainingConfig.cache_embeddings)",
    )
    parser.add_argument("--intra-op-threads", type=int, default=0, help="0: TensorFlow's")
    parser.add_argument("--inter-op-threads", type=int, default=0, help="0: TensorFlow's")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 1:
        parser.error("--steps and --warmup must be at least 1 (the first step compiles)")
    return args


def print_steps(side_by_side, args):
    """The table of seconds per step and images per second; returns both medians."""
    colornet_step, write_up_step = side_by_side.median(COLORNET), side_by_side.median(WRITE_UP)
    print()
    print(f"{'pipeline':<16} {'s/step':>7} {'img/s':>7} {'first step s':>13}")
    for name, step in ((COLORNET, colornet_step), (WRITE_UP, write_up_step)):
        first = side_by_side.first(name)
        print(f"{name:<16} {step:7.2f} {args.batch_size / step:7.2f} {first:13.1f}")
    print(f"{'ratio':<16} {write_up_step / colornet_step:14.2f}×")
    paired = side_by_side.paired_ratios(WRITE_UP, COLORNET)
    print("  (first step: tracing and compiling included; left out of the medians)")
    print(
        f"  each step, s: colornet {common.listed(side_by_side.measured(COLORNET))}; write-up's "
        f"way {common.listed(side_by_side.measured(WRITE_UP))}; step by step ratio "
        f"{statistics.median(paired):.2f}× (median; {min(paired):.2f}-{max(paired):.2f})"
    )
    return colornet_step, write_up_step


def print_pieces(interleaved, args, colornet_step, write_up_step, pipeline):
    """Where each pipeline's step goes, in median seconds."""
    print()
    print("where a step's time goes, median seconds")
    measured = interleaved.write_up_pieces[args.warmup:]
    for piece in measured[0]:
        seconds = statistics.median(pieces[piece] for pieces in measured)
        print(f"  write-up's way  {piece:<44} {seconds:6.2f}")
    backbone = {
        precision: interleaved.side_by_side.median(f"backbone {precision}")
        for precision in interleaved.backbone_forwards
    }
    used = args.backbone_precision
    rows = [
        (f"backbone forward alone, {precision}{' (used)' * (precision == used)}", value)
        for precision, value in backbone.items()
    ]
    in_step = 0.0 if args.cache_embeddings else backbone[used]  # cached: not in the step
    rows += [
        ("rest: fusion net forward + backward, Adam, Lab", colornet_step - in_step),
        ("input pipeline, s/batch (alone; overlapped)", pipeline),
    ]
    for piece, seconds in rows:
        print(f"  colornet        {piece:<44} {seconds:6.2f}")
    if args.fusion_precision == "float32":
        fusion_step = statistics.median(pieces["train_on_batch"] for pieces in measured)
        print(
            f"  bound: both train the same float32 fusion net ({fusion_step:.2f} s a step in "
            f"the write-up's way), so even a free backbone caps the ratio near "
            f"{write_up_step / fusion_step:.2f}×"
        )


if __name__ == "__main__":
    main()
