"""Version 1 on the sample portrait: PSNR against training seconds.

Trains `colornet.single_image.train_single_image` with its defaults on data/portrait at
256×256 and prints, every 100 steps, the seconds spent training so far and the PSNR of the
colorized photo against the original, next to the grey baseline. Issue goal: ≥ 30 dB (stretch
≥ 34 dB) within 60 seconds on a 2-core CPU.

    python benchmarks/single_image.py [--steps 1000] [--learning-rate 0.003] [--upsampling nearest]
"""

import argparse
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from colornet import colorize, evaluation, images, single_image  # noqa: E402

PORTRAIT = pathlib.Path(__file__).resolve().parent.parent / "data" / "portrait" / "astronaut.jpg"


class PsnrEvery(keras.callbacks.Callback):
    """Score the colorized training photo every `interval` steps, outside the timed part."""

    def __init__(self, run_original, interval):
        super().__init__()
        self.original = run_original
        self.interval = interval
        self.training_seconds = 0.0
        self.rows = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.training_seconds += time.perf_counter() - self.started
        step = epoch + 1
        if step % self.interval == 0 or step == self.params["epochs"]:
            colorized = colorize.colorize(self.model, self.original)
            score = evaluation.psnr(self.original, colorized)
            self.rows.append((step, self.training_seconds, score))
            print(f"{step:6d} {self.training_seconds:9.1f} {score:9.2f}", flush=True)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=pathlib.Path, default=PORTRAIT)
    defaults = single_image.SingleImageConfig()
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--upsampling", default=defaults.upsampling)
    parser.add_argument("--interval", type=int, default=100)
    return parser.parse_args(argv)


def main():
    run(parse_arguments())


def run(args):
    """Train, score and print; returns the figures as a dict (`benchmarks/run_all.py`)."""
    config = single_image.SingleImageConfig(
        steps=args.steps, learning_rate=args.learning_rate, upsampling=args.upsampling
    )
    rgb = images.load_rgb(args.image)
    original = images.resize_and_crop(rgb, images.fit_size(rgb.shape, config.image_size))
    grey = evaluation.psnr(original, evaluation.grey_baseline(original))
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
    }


if __name__ == "__main__":
    main()
