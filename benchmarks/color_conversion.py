"""RGB ↔ Lab on a 12-megapixel photo: colornet against scikit-image, measured in one run.

Prints the median of a few timed repetitions of each direction for both libraries (after one
untimed warm-up, which compiles colornet's kernel), their ratio, and colornet's largest
difference from scikit-image. Issue goal: colornet ≥ 3× faster both ways on a 2-core CPU.

    python benchmarks/color_conversion.py [--repeats 3]
"""

import argparse
import os

import common  # first: quiets TensorFlow before Keras loads it
import keras
import numpy as np
import skimage.color

import colornet
from colornet import color
from colornet.io import decode, geometry


def median_seconds(function, argument, repeats):
    """(median seconds of function(argument), its result), after one untimed call that
    compiles colornet's kernel and fills caches."""
    return common.median_seconds(lambda: function(argument), repeats, warmup=1)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args(argv)


def main():
    run(parse_arguments())


def run(args):
    """Measure and print; returns the figures as a dict (`benchmarks/run_all.py`)."""
    # A real photo blown up to 4000×3000 = 12 megapixels, as 8-bit RGB as a camera would give.
    photo = geometry.resize_and_crop(decode.load_rgb(common.COFFEE), (3000, 4000))
    photo = np.round(photo * 255).astype(np.uint8)
    print(f"photo: {photo.shape[1]}×{photo.shape[0]} uint8, backend {keras.backend.backend()}, "
          f"{os.cpu_count()} CPUs")

    ours_to_lab, our_lab = median_seconds(colornet.rgb_to_lab, photo, args.repeats)
    # Lightness alone, from float RGB in [0, 1] as `decode.load_rgb` gives it to colorizing.
    floats = photo.astype(np.float32) / 255
    ours_lab_floats, _ = median_seconds(colornet.rgb_to_lab, floats, args.repeats)
    ours_lightness, our_lightness = median_seconds(color.rgb_to_lightness, floats, args.repeats)
    theirs_to_lab, their_lab = median_seconds(skimage.color.rgb2lab, photo, args.repeats)
    ours_to_rgb, our_rgb = median_seconds(colornet.lab_to_rgb, their_lab, args.repeats)
    theirs_to_rgb, their_rgb = median_seconds(skimage.color.lab2rgb, their_lab, args.repeats)

    print(
        f"{'direction':<12} {'colornet s':>11} {'skimage s':>10} {'speed-up':>9} "
        f"{'max |diff|':>11}"
    )
    figures = {}
    for key, name, ours, theirs, difference in (
        ("rgb_to_lab", "RGB → Lab", ours_to_lab, theirs_to_lab, np.abs(our_lab - their_lab).max()),
        ("lab_to_rgb", "Lab → RGB", ours_to_rgb, theirs_to_rgb, np.abs(our_rgb - their_rgb).max()),
    ):
        print(f"{name:<12} {ours:11.3f} {theirs:10.3f} {theirs / ours:8.1f}× {difference:11.2e}")
        figures[key] = {
            "colornet_seconds": ours, "scikit_image_seconds": theirs, "speed_up": theirs / ours,
            "largest_difference": float(difference),
        }
    difference = np.abs(our_lightness - their_lab[..., 0]).max()
    print(
        f"float RGB → L* alone: {ours_lightness:.3f} s, against {ours_lab_floats:.3f} s for the "
        f"whole Lab ({ours_lab_floats / ours_lightness:.1f}×); max |diff| from scikit-image "
        f"{difference:.2e}"
    )
    figures["rgb_to_lightness"] = {
        "colornet_seconds": ours_lightness, "colornet_whole_lab_seconds": ours_lab_floats,
        "speed_up": ours_lab_floats / ours_lightness, "largest_difference": float(difference),
    }
    return figures


if __name__ == "__main__":
    main()
