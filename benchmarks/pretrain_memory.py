"""Peak memory of a short `colornet pretrain` against the number of training photos.

Writes synthetic 800 × 600 JPEG photos (smooth random colours with some grain, about as
large on disk as a camera's at that size) into a corpus folder of the `train/` layout, then
trains the recipe for one short epoch on 20 of them and on 300 (`--photos`), each in a fresh
process, and reads that process's peak resident memory (`ru_maxrss`). No validation photos,
so no epoch-end scoring: the figure is the training's own.

`--checkout DIR` imports colornet from another checkout instead of this one, to measure the
recipe of another commit on the same photos, e.g. the one before photos were streamed:

    git archive 5e76fb3 colornet | tar -x -C /tmp/before
    python benchmarks/pretrain_memory.py --checkout /tmp/before --photos 20 100

    python benchmarks/pretrain_memory.py                    # 20 and 300 photos, this checkout
    python benchmarks/pretrain_memory.py --photos 60 3000   # the issue's goal

Prints one JSON object: the machine, the settings, and for each count the peak RSS in MB
and the seconds the process took.
"""

import argparse
import json
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import common  # first: quiets TensorFlow before Keras loads it
import numpy as np
import PIL.Image

WIDTH, HEIGHT = 800, 600


def write_photos(folder, count, seed=0):
    """`count` synthetic 800 × 600 JPEGs in folder/train/ (those already there are kept)."""
    train = pathlib.Path(folder) / "train"
    train.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        path = train / f"photo-{index:05d}.jpg"
        if path.is_file():
            continue
        rng = np.random.default_rng([seed, index])
        coarse = PIL.Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
        smooth = np.asarray(coarse.resize((WIDTH, HEIGHT), PIL.Image.Resampling.BICUBIC))
        grain = rng.normal(0, 6, smooth.shape)
        pixels = np.clip(smooth + grain, 0, 255).astype(np.uint8)
        PIL.Image.fromarray(pixels).save(path, quality=90)


def child(args):
    """In the measured process: train, then print its peak RSS as JSON."""
    if args.checkout:
        sys.path.insert(0, str(pathlib.Path(args.checkout).resolve()))
    from colornet.pretrained import recipe

    started = time.perf_counter()
    config = recipe.RecipeConfig(crop_size=args.crop_size, batch_size=args.batch_size,
                                 steps_per_epoch=args.steps, epochs=1)
    recipe.train(args.corpus, args.run, config, progress=False)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"peak_rss_mb": peak_kb / 1024, "seconds": time.perf_counter() - started,
                      "colornet": str(pathlib.Path(recipe.__file__).parents[2])}))


def measure(args, count, workdir):
    corpus, run = pathlib.Path(workdir) / f"corpus-{count}", pathlib.Path(workdir) / f"run-{count}"
    write_photos(corpus, count)
    shutil.rmtree(run, ignore_errors=True)  # a new run each time, not a resumed one
    command = [sys.executable, __file__, "--child", "--corpus", str(corpus), "--run", str(run),
               "--steps", str(args.steps), "--batch-size", str(args.batch_size),
               "--crop-size", str(args.crop_size)]
    if args.checkout:
        command += ["--checkout", args.checkout]
    environment = dict(os.environ)
    if args.checkout:  # the other checkout's colornet first, in the child's own imports too
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(pathlib.Path(args.checkout).resolve()), environment.get("PYTHONPATH", "")])
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode:
        raise SystemExit(f"the run on {count} photos failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, nargs="+", default=[20, 300])
    parser.add_argument("--steps", type=int, default=5, help="training steps")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crop-size", type=int, default=128)
    parser.add_argument("--checkout", default=None,
                        help="a checkout whose colornet/ is measured (default: this one)")
    parser.add_argument("--workdir", default=None,
                        help="where the photos and runs go (default: a temporary folder)")
    parser.add_argument("--out", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    with tempfile.TemporaryDirectory(prefix="pretrain-memory-") as temporary:
        workdir = args.workdir or temporary
        runs = {}
        for count in args.photos:
            runs[str(count)] = measure(args, count, workdir)
            print(f"{count} photos: {runs[str(count)]}", file=sys.stderr, flush=True)
    colornet_folder = next(iter(runs.values()))["colornet"]
    common.print_json({
        "machine": common.machine_description(),
        "date": time.strftime("%Y-%m-%d"),
        "colornet": colornet_folder,
        "settings": {"photo_size": f"{WIDTH}x{HEIGHT}", "steps": args.steps,
                     "batch_size": args.batch_size, "crop_size": args.crop_size},
        "peak_rss_mb": {count: run["peak_rss_mb"] for count, run in runs.items()},
        "seconds": {count: run["seconds"] for count, run in runs.items()},
    }, args.out)


if __name__ == "__main__":
    main()
