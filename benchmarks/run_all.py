"""Every benchmark in one run, and one JSON object of figures on standard output.

What it measures, each against the write-up's way in the same run where there is one:

- this machine's matrix-multiply rate (a 4096² matmul, float32 and bfloat16): the limit;
- training the final model at 256×256, batch 10, augmentation on: with the InceptionResNetV2
  embedding in the loop and with it cached, in float32 and in bfloat16 mixed precision, and
  with XLA; the step's FLOPs (`colornet.nets.profiling`) over its time, as a fraction of the
  matmul rate of the same precision;
- colorizing: photos of 256×256 and of 1024×1024, and one 12-megapixel photo's seconds and
  peak memory;
- Lab conversion of a 12-megapixel photo against scikit-image;
- Version 1 on the sample portrait: PSNR after its default training;
- the offline EfficientNet-Lite backbones: embedding cost against InceptionResNetV2, training
  with Lite0 in the loop, and the fusion ablation (`benchmarks/offline_backbones.py`);
- start-up: `colornet --help` against a bare `import tensorflow` (`benchmarks/startup.py`);
- throughput against batch size (and the plot in docs/performance.md, "Performance").

Progress and each benchmark's own report go to standard error; the JSON alone to standard
output (and to --out, written atomically). --quick takes fewer steps and photos and leaves
out the batch-size sweep; the JSON's "seconds" is how long the run took, and
docs/performance.md, "Performance", shows the figures of the last full run
(`benchmarks/figures.json`).

    python benchmarks/run_all.py [--quick] [--out figures.json] > figures.json
"""

import argparse
import contextlib
import datetime
import pathlib
import sys
import time

import batch_size
import color_conversion
import colorize_throughput
import common  # quiets TensorFlow, puts this folder on sys.path (the scripts import it first)
import keras
import offline_backbones
import single_image
import startup
import training_throughput

from colornet.nets import profiling

GOALS = {
    "training_speed_up": 2.5,
    "colorizing_speed_up": 3.0,
    "fraction_of_matmul_rate": 0.6,
    "twelve_megapixel_seconds": 2.0,
    "twelve_megapixel_peak_gb": 2.0,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer steps and photos, no batch-size sweep"
    )
    parser.add_argument("--out", type=pathlib.Path, help="also write the JSON here")
    args = parser.parse_args()
    started = time.perf_counter()
    figures = {"machine": common.machine_description(), "date": datetime.date.today().isoformat(),
               "keras": keras.__version__, "goals": GOALS}

    with contextlib.redirect_stdout(sys.stderr):
        # First, while this process is small: the 12-megapixel photo's peak memory is measured
        # in a child process, which inherits its parent's peak-memory mark.
        section("one 12-megapixel photo")
        figures["twelve_megapixels"] = colorize_throughput.twelve_megapixels(image_size=256)

        section("matrix multiply: the limit")
        figures["matmul_gflop_per_second"] = {
            precision: profiling.matmul_rate(dtype=precision) / 1e9
            for precision in ("float32", "bfloat16")
        }
        print(figures["matmul_gflop_per_second"])

        steps = ["--steps", "2" if args.quick else "5"]
        figures["training"] = {}
        for name, options in (
            ("embedding_in_the_loop_float32", []),
            ("embedding_in_the_loop_bfloat16",
             ["--backbone-precision", "bfloat16", "--fusion-precision", "bfloat16"]),
            ("cached_embeddings_float32", ["--cache-embeddings"]),
            ("cached_embeddings_bfloat16",
             ["--cache-embeddings", "--fusion-precision", "bfloat16"]),
            ("embedding_in_the_loop_float32_xla", ["--jit-compile", "on"]),
        ):
            if args.quick and name.endswith("xla"):
                continue
            section(f"training, {name.replace('_', ' ')}")
            result = training_throughput.run(training_throughput.parse_arguments(steps + options))
            precision = "bfloat16" if "bfloat16" in name else "float32"
            result["fraction_of_matmul_rate"] = (
                result["achieved_gflop_per_second"] / figures["matmul_gflop_per_second"][precision]
            )
            figures["training"][name] = result

        figures["colorizing"] = {}
        for side, count in ((256, 20 if args.quick else 100), (1024, 10 if args.quick else 50)):
            section(f"colorizing {count} photos of {side}×{side}")
            result = colorize_throughput.run(colorize_throughput.parse_arguments(
                ["--side", str(side), "--photos", str(count), "--skip-12mp"]
            ))
            figures["colorizing"].update(result)

        section("Lab conversion, 12 megapixels")
        figures["color_conversion"] = color_conversion.run(
            color_conversion.parse_arguments(["--repeats", "3"])
        )

        section("Version 1 on the portrait")
        figures["version_1"] = single_image.run(single_image.parse_arguments(
            ["--steps", "300" if args.quick else "1000", "--interval", "100"]
        ))

        section("offline backbones: EfficientNet-Lite embedding, training, fusion ablation")
        figures["offline_backbones"] = offline_backbones.run(quick=args.quick)

        section("start-up: colornet --help against import tensorflow")
        figures["startup"] = startup.run(startup.parse_arguments(["--rounds", "3"]))

        if not args.quick:
            section("throughput against batch size")
            sweep = batch_size.run(batch_size.parse_arguments([]))
            figures["batch_size"] = {task: sweep[task] for task in ("colorizing", "training")}

    figures["seconds"] = time.perf_counter() - started
    figures["summary"] = summary(figures)
    common.print_json(figures, args.out)


def summary(figures):
    """The issue's goals next to what this run measured."""
    training = figures["training"]
    twelve = figures["twelve_megapixels"]
    return {
        "training_speed_up_embedding_in_the_loop": {
            precision: training[f"embedding_in_the_loop_{precision}"]["speed_up"]
            for precision in ("float32", "bfloat16")
        },
        "training_speed_up_cached_embeddings": {
            precision: training[f"cached_embeddings_{precision}"]["speed_up"]
            for precision in ("float32", "bfloat16")
        },
        "training_fraction_of_matmul_rate": {
            precision: training[f"embedding_in_the_loop_{precision}"]["fraction_of_matmul_rate"]
            for precision in ("float32", "bfloat16")
        },
        "colorizing_speed_up": {
            size: result["speed_up"] for size, result in figures["colorizing"].items()
        },
        "colorizing_precision": figures["colorizing"]["1024x1024"]["colornet_precision"],
        "twelve_megapixel_seconds": twelve["seconds"],
        "twelve_megapixel_speed_up": twelve["write_ups_way_seconds"] / twelve["seconds"],
        "twelve_megapixel_peak_gb": twelve["peak_memory_gib"] * 2**30 / 1e9,
    }


def section(title):
    print(f"\n=== {title} ===", flush=True)


if __name__ == "__main__":
    main()
