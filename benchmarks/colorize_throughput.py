"""Colorizing speed and memory with the final model: colornet against the write-up's way.

Measured in one run, in memory (decoding files costs both the same):

1. 50 photos of 1024×1024, colorized at full resolution by
   - colornet: `colorize.colorize(model, photos, batch_size=...)`: lightness, resizing and
     the backbone inside one batched forward pass per batch, colour resized back onto the
     full-resolution lightness; in float32, and in bfloat16 (`models.set_precision`), which
     `colornet colorize --precision auto` picks where the hardware computes it natively;
   - the write-up's way: `writeup.colorize_photo` (benchmarks/writeup.py), one photo and
     two `predict` calls at a time.
   The three alternate batch by batch, so all see the same load on a shared machine.
   Issue goal: colornet ≥ 3× faster.
2. One 12-megapixel JPEG (4000×3000) read and colorized by colornet: seconds, and the
   process's peak resident memory, measured in a fresh process after the model is loaded
   and traced, at the precision `colornet colorize` picks. Issue goal: ≤ 2 s and ≤ 2 GB.

Both use InceptionResNetV2 with random weights (the speed does not depend on the weights).
The measured figures are in docs/performance.md, "Performance".

    python benchmarks/colorize_throughput.py [--photos 50] [--side 1024] [--batch-size 10]
        [--skip-12mp]
"""

import argparse
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import common  # first: quiets TensorFlow before Keras loads it
import keras
import numpy as np
import writeup

from colornet.apps import colorize
from colornet.io import decode, geometry, save
from colornet.nets import models
from colornet.nets import precision as precisions


def sample_photos(count, side):
    """`count` different (side, side, 3) float RGB photos cut from the sample data."""
    sources = [decode.load_rgb(path) for path in common.photo_paths()]
    rng = np.random.default_rng(0)
    photos = []
    for index in range(count):
        source = sources[index % len(sources)]
        zoomed = geometry.resize_and_crop(source, side + int(rng.integers(0, side // 4)))
        top, left = rng.integers(0, zoomed.shape[0] - side + 1, size=2)
        photos.append(zoomed[top : top + side, left : left + side])
    return photos


def measure_12_megapixels(photo_path, image_size, write_ups_way=False):
    """Run in a fresh process: seconds to read and colorize one 4000×3000 JPEG, and the
    process's peak resident memory (model, TensorFlow and all); colornet's way, or the
    write-up's."""
    if write_ups_way:
        model = models.colorizer(image_size, backbone_weights=None)
        fusion = models.fusion_network(model)
        inception = keras.applications.InceptionResNetV2(weights=None)
        warm_up = np.zeros((64, 64, 3), np.float32)
        writeup.colorize_photo(fusion, inception, warm_up, image_size)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = writeup.colorize_photo(fusion, inception, decode.load_rgb(photo_path), image_size)
        seconds = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert result.shape == (3000, 4000, 3)
        print(f"{seconds:.3f} {seconds:.3f} {peak_kib / 2**20:.3f} {before / 2**20:.3f}")
        return
    model = models.colorizer(image_size, backbone_weights=None)
    models.set_precision(model, "auto", "auto")  # as `colornet colorize`
    colorize.colorize(model, np.zeros((64, 64, 3), np.float32))  # warm-up: traces the model
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = colorize.colorize(model, photo_path)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert result.shape == (3000, 4000, 3)
    del result
    started = time.perf_counter()
    colorize.colorize(model, photo_path)  # the next one: the large-photo colour kernels compiled
    again = time.perf_counter() - started
    print(f"{again:.3f} {seconds:.3f} {peak_kib / 2**20:.3f} {before / 2**20:.3f}")


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--skip-12mp", action="store_true", help="leave out the 12-megapixel photo")
    parser.add_argument("--only-12mp", type=pathlib.Path, help=argparse.SUPPRESS)
    parser.add_argument("--write-ups-way", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main():
    args = parse_arguments()
    if args.only_12mp:
        return measure_12_megapixels(args.only_12mp, args.image_size, args.write_ups_way)
    run(args)


def run(args):
    """Measure and print; returns the figures as a dict (`benchmarks/run_all.py` collects
    them)."""
    print(
        f"backend {keras.backend.backend()}, {os.cpu_count()} CPUs, InceptionResNetV2 with "
        "random weights"
    )
    figures = {}
    if not args.skip_12mp:
        figures["twelve_megapixels"] = twelve_megapixels(args.image_size)

    # colornet as `colornet colorize` runs it (precision "auto"), and in float32.
    precision = precisions.resolve("auto")
    model = models.colorizer(args.image_size, backbone_weights=None)
    fast_model = models.colorizer(args.image_size, backbone_weights=None)
    fast_model.set_weights(model.get_weights())
    models.set_precision(fast_model, backbone="bfloat16", fusion="bfloat16")
    inception = keras.applications.InceptionResNetV2(weights=None)
    fusion = models.fusion_network(model)
    photos = sample_photos(args.photos, args.side)

    # Warm-up all with the batch sizes they will run at (Keras traces `predict` anew for a
    # new batch shape): traces the models and compiles the colour kernels.
    colorize.colorize(model, photos[: args.batch_size], batch_size=args.batch_size)
    colorize.colorize(fast_model, photos[: args.batch_size], batch_size=args.batch_size)
    writeup.colorize_photo(fusion, inception, photos[0], args.image_size)

    side_by_side = common.SideBySide()
    ours, theirs, ours_fast = [], [], []
    for start in range(0, len(photos), args.batch_size):
        batch = photos[start : start + args.batch_size]
        ours += side_by_side.time(
            "float32",
            lambda batch=batch: colorize.colorize(model, batch, batch_size=args.batch_size),
        )
        theirs += side_by_side.time(
            "write-up's way",
            lambda batch=batch: [
                writeup.colorize_photo(fusion, inception, photo, args.image_size) for photo in batch
            ],
        )
        ours_fast += side_by_side.time(
            "bfloat16",
            lambda batch=batch: colorize.colorize(fast_model, batch, batch_size=args.batch_size),
        )
    our_seconds, fast_seconds = side_by_side.total("float32"), side_by_side.total("bfloat16")
    their_seconds = side_by_side.total("write-up's way")
    assert ours[0].shape == theirs[0].shape == photos[0].shape
    difference = max(float(np.abs(a - b).max()) for a, b in zip(ours, ours_fast))

    count = len(photos)
    print(
        f"{count} photos of {args.side}×{args.side}, colorized at full resolution, batch "
        f"{args.batch_size}, the three ways alternating batch by batch:"
    )
    for name, seconds, note in (
        ("colornet, float32:", our_seconds, ""),
        ("colornet, bfloat16:", fast_seconds,
         f"   (largest RGB difference from float32: {difference:.4f}; random weights)"),
        ("the write-up's way:", their_seconds, ""),
    ):
        print(f"  {name:<28} {seconds:7.1f} s   {count / seconds:6.2f} photos/s{note}")
    print(
        f"  speed-up: {their_seconds / our_seconds:.1f}× float32, "
        f"{their_seconds / fast_seconds:.1f}× bfloat16 (goal ≥ 3×); `colornet colorize` picks "
        f"{precision} here (--precision auto)"
    )
    # float16 ("auto" on older GPUs) is not timed here: the default is reported as float32 then.
    default_seconds = fast_seconds if precision == "bfloat16" else our_seconds
    precision = "bfloat16" if precision == "bfloat16" else "float32"
    figures[f"{args.side}x{args.side}"] = {
        "photos": count,
        "batch_size": args.batch_size,
        "colornet_images_per_second": count / default_seconds,
        "colornet_precision": precision,
        "colornet_float32_images_per_second": count / our_seconds,
        "colornet_bfloat16_images_per_second": count / fast_seconds,
        "write_ups_way_images_per_second": count / their_seconds,
        "speed_up": their_seconds / default_seconds,
    }
    return figures


def twelve_megapixels(image_size):
    """Seconds and peak memory to read and colorize one 4000×3000 JPEG, in a fresh process."""
    # A child inherits its parent's peak-memory mark across fork and exec, so this must run
    # while the calling process is still small: before any model is built.
    with tempfile.TemporaryDirectory() as folder:
        photo_path = pathlib.Path(folder) / "twelve_megapixels.jpg"
        photo = geometry.resize_and_crop(sample_photos(1, 1024)[0], (3000, 4000))
        save.save_image(photo_path, photo)
        measured = {}
        for way, flags in (("colornet", []), ("write_ups_way", ["--write-ups-way"])):
            fresh = subprocess.run(
                [
                    sys.executable, __file__, "--only-12mp", str(photo_path),
                    "--image-size", str(image_size), *flags,
                ],
                capture_output=True, text=True, check=True,
            )
            measured[way] = [float(value) for value in fresh.stdout.split()[-4:]]
    (again, seconds, peak_gib, loaded_gib) = measured["colornet"]
    (_, their_seconds, their_peak_gib, _) = measured["write_ups_way"]
    print(
        f"one 4000×3000 JPEG, read and colorized: {seconds:.2f} s the first in a fresh process "
        f"(its colour kernels for large photos compiled), {again:.2f} s the next (goal ≤ 2 s); "
        f"peak memory {peak_gib:.2f} GiB (goal ≤ 2 GB; {loaded_gib:.2f} GiB of it with the model "
        f"loaded, before the photo); the write-up's way {their_seconds:.2f} s, "
        f"{their_peak_gib:.2f} GiB"
    )
    return {
        "seconds": seconds, "seconds_next_photo": again, "peak_memory_gib": peak_gib,
        "model_loaded_gib": loaded_gib, "write_ups_way_seconds": their_seconds,
        "write_ups_way_peak_memory_gib": their_peak_gib,
    }


if __name__ == "__main__":
    main()
