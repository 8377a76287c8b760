"""How long the web page's hint panel takes to colorize a photo again after a click (issue 30:
within about a second for a 1-megapixel photo on this CPU).

Times `web_hints.render` after each of a series of clicks, each adding a point, on a photo of
SIDE × SIDE pixels (the sample coffee photo resized): the model's forward pass with the hints,
the colour laid over the full-resolution lightness, the full-size download written, the
preview drawn. Not the browser's round trip (Gradio's upload of the preview adds to it). The
default model is the shipped weights in the hint-aware network (`pretrained.load(hints=True)`):
its speed does not depend on how its hint layers were trained.

    python benchmarks/hint_click_speed.py [--model hinted.keras] [--side 1000] [--clicks 10]
        [--out FIGURES.json]
"""

import argparse
import pathlib
import statistics
import tempfile
import time

import common  # first: quiets TensorFlow before Keras loads it
import numpy as np

from colornet import pretrained
from colornet.apps import colorize, web_hints, web_work
from colornet.io import decode, geometry, save


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=pathlib.Path, default=None,
                        help="a hint-aware model (default: the shipped weights in the "
                             "hint-aware network)")
    parser.add_argument("--side", type=int, default=1000)
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--out", default=None, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def run(args):
    """Measure and print; returns the figures as a dict."""
    model = (pretrained.load(hints=True) if args.model is None
             else colorize.load_model(args.model))
    served = web_work.served_model(model, label="hinted")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        photo = geometry.resize_channels(decode.load_rgb(common.COFFEE), (args.side, args.side))
        save.save_image(folder / "photo.jpg", np.clip(photo, 0.0, 1.0))
        session = web_hints.start(folder / "photo.jpg", folder, max_pixels=args.side ** 2)
        web_hints.render(served, session)  # the upload's first colorizing: traces the model
        seconds = []
        height, width = session.preview_shape
        for _ in range(args.clicks):
            x, y = int(rng.integers(width)), int(rng.integers(height))
            web_hints.click(session, x, y, predicted=web_hints.predicted_colour(session, x, y))
            started = time.perf_counter()
            web_hints.render(served, session)
            seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    print(f"{args.side}×{args.side} photo, {args.clicks} clicks: colorized again in "
          f"{median:.2f} s (median; {common.listed(seconds)})")
    return {"side": args.side, "clicks": args.clicks, "median_seconds": median,
            "seconds": seconds, "machine": common.machine_description()}


def main():
    args = parse_arguments()
    common.print_json(run(args), args.out)


if __name__ == "__main__":
    main()
