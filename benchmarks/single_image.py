"""Version 1 on the sample portrait: PSNR against training seconds, and colornet's training
against the write-up's way.

Trains `colornet.apps.single_image.train_single_image` with its defaults on data/portrait at
256×256 and prints, every 100 steps, the seconds spent training so far (all of `fit`'s time
but the scoring) and the PSNR of the colorized photo against the original, next to the grey
baseline. Issue goal: ≥ 30 dB (stretch ≥ 34 dB) within 60 seconds on a 2-core CPU.

Then, in alternation (`--rounds` of each, `--compare-steps` steps), the whole of
`train_single_image` against the write-up's way of training the same net
(`writeup.train_version_1`: the arrays given to `fit`, one epoch a step), and their ratio.

    python benchmarks/single_image.py [--steps 1000] [--learning-rate 0.003] [--upsampling nearest]
"""

import argparse
import pathlib
import statistics
import time

import common  # first: quiets TensorFlow before Keras loads it
import keras
import writeup

from colornet import metrics
from colornet.apps import colorize, single_image
from colornet.io import decode, geometry


class PsnrEvery(keras.callbacks.Callback):
    """Score the colorized training photo every `interval` steps, outside the timed part."""

    def __init__(self, run_original, interval):
        super().__init__()
        self.original = run_original
        self.interval = interval
        self.scoring_seconds = 0.0
        self.rows = []

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        # Everything since fit began but the scoring: the steps and what Keras does between
        # them (one epoch a step), which is what a user waits for.
        training_seconds = time.perf_counter() - self.started - self.scoring_seconds
        step = epoch + 1
        if step % self.interval == 0 or step == self.params["epochs"]:
            scoring_started = time.perf_counter()
            colorized = colorize.colorize(self.model, self.original)
            score = metrics.psnr(self.original, colorized)
            self.scoring_seconds += time.perf_counter() - scoring_started
            self.rows.append((step, training_seconds, score))
            print(f"{step:6d} {training_seconds:9.1f} {score:9.2f}", flush=True)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=pathlib.Path, default=common.PORTRAIT)
    defaults = single_image.SingleImageConfig()
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--upsampling", default=defaults.upsampling)
    parser.add_argument("--interval", type=int, default=100)
    parser.add_argument("--compare-steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args(argv)


def main():
    run(parse_arguments())


def run(args):
    """Train, score and print; returns the figures as a dict (`benchmarks/run_all.py`)."""
    config = single_image.SingleImageConfig(
        steps=args.steps, learning_rate=args.learning_rate, upsampling=args.upsampling
    )
    rgb = decode.load_rgb(args.image)
    original = geometry.resize_and_crop(rgb, geometry.fit_size(rgb.shape, config.image_size))
    grey = metrics.psnr(original, metrics.grey_baseline(original))
    print(f"{args.image.name} at {original.shape[1]}×{original.shape[0]}, {config}")
    print(f"grey baseline: {grey:.2f} dB")
    print(f"{'step':>6} {'seconds':>9} {'PSNR dB':>9}")
    # The callback scores the model as it trains.
    tracker = PsnrEvery(original, args.interval)
    run = single_image.train_single_image(rgb, config, progress=False, callbacks=[tracker])
    final_step, final_seconds, final_psnr = tracker.rows[-1]
    within = [row for row in tracker.rows if row[1] <= 60.0]
    best_in_60 = max((row[2] for row in within), default=float("nan"))
    print(
        f"final: {final_psnr:.2f} dB after {final_step} steps, {final_seconds:.1f} s of training "
        f"({run.seconds:.1f} s with scoring); best within 60 s: {best_in_60:.2f} dB; "
        f"grey {grey:.2f} dB"
    )
    return {
        "steps": final_step,
        "training_seconds": final_seconds,
        "psnr_db": final_psnr,
        "best_psnr_db_within_60_s": best_in_60,
        "grey_baseline_psnr_db": grey,
        "against_the_write_up": against_the_write_up(original, args),
    }


def against_the_write_up(photo, args):
    """Seconds of `args.compare_steps` steps of training, colornet's way and the write-up's, in
    alternation, model building and tracing included; the write-up's over colornet's."""
    config = single_image.SingleImageConfig(
        steps=args.compare_steps, learning_rate=args.learning_rate, upsampling=args.upsampling
    )
    side_by_side = common.SideBySide()
    for _ in range(args.rounds):
        side_by_side.time(
            "colornet", lambda: single_image.train_single_image(photo, config, progress=False)
        )
        side_by_side.time(
            "write_up",
            lambda: writeup.train_version_1(photo, config.steps, config.learning_rate),
        )
    ratios = side_by_side.paired_ratios("write_up", "colornet")
    print(
        f"{config.steps} steps, colornet: {common.listed(side_by_side.measured('colornet'))} s; "
        f"the write-up's way: {common.listed(side_by_side.measured('write_up'))} s; "
        f"ratio {common.listed(ratios)}"
    )
    return {
        "steps": config.steps,
        "colornet_seconds": side_by_side.median("colornet"),
        "write_up_seconds": side_by_side.median("write_up"),
        "speed_up": statistics.median(ratios),
        "speed_ups": ratios,
    }


if __name__ == "__main__":
    main()
