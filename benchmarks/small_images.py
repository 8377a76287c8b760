"""Training speed at small image sizes: colornet's `train` next to a plain in-memory Keras model.

Researchers iterate at 64×64 and 128×128 first. This benchmark prints, as one JSON object on
standard output (progress on standard error):

- sweep: training throughput (photos a second) and FLOP rate (`colornet.nets.profiling`) against
  image size (64, 128, 256) and batch size, with and without augmentation, with and without
  cached embeddings. colornet is measured as a user runs it: `loop.train` on a folder of
  synthetic photos (colour follows shape and texture) with its progress bar, checkpoints and
  validation, timed epoch by epoch by a callback; the first epoch (tracing) is left out.
  Next to each, in the same run, the floor of what the framework can do: the same fusion
  network (`models.fusion_colorizer`, same precision) compiled plainly and trained by `fit`
  from numpy arrays already in memory (lightness, embedding, ab). The two take turns epoch
  by epoch (`PlainAlongside`), so each pair sees the same load on a shared machine; each
  figure is the median and range over the measured epochs.
- profile: where one 64×64 step's time goes, each piece measured alone: the tf.data pipeline
  (decoding, augmentation, the cached-embedding rows), the augmentation layers on a batch in
  memory, the backbone forward, the training step on batches already in memory (with
  `steps_per_execution` 1 and 8), a per-batch callback that reads the loss, and the plain
  fusion network.
- issue_run (with --issue-run): issue 15's run scaled down, as a user types it: `colornet
  train` at 64×64 with mobilenet_v3_small, random backbone weights and cached embeddings,
  then `colornet evaluate` on the held-out photos; with --baseline SRC it alternates with
  another checkout of colornet (a folder holding its `colornet` package), so the two times
  and PSNRs come from the same run.

The backbone is mobilenet_v3_small with random weights (offline; speed does not depend on
the weights).

    python benchmarks/small_images.py [--quick] [--out figures.json] [--plot curve.png]
    python benchmarks/small_images.py --issue-run --baseline /tmp/colornet_before
"""

import argparse
import contextlib
import dataclasses
import io
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

from colornet import _util, color
from colornet.io import decode, folders, geometry, save
from colornet.nets import backbones, models, profiling
from colornet.train import augmentation, data, loop, losses, runs, settings

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from tests.factories import content_coloured_photo  # noqa: E402 (the repository's root, above)

BACKBONE = "mobilenet_v3_small"
SIZES = (64, 128, 256)
# Photos a measured epoch holds at each size: about the same arithmetic per epoch at every
# size (a 256×256 photo costs 16 of 64×64), and enough steps to average over.
PHOTOS = {64: 320, 128: 120, 256: 40}
QUICK_PHOTOS = {64: 160, 128: 64, 256: 32}


# ---------------------------------------------------------------------------------------------
# Synthetic photos whose colour follows their content (the tests' own, at any size)


def write_photos(folder, count, size, seed):
    """`count` synthetic photos as JPEGs in `folder`; returns the folder."""
    folder = pathlib.Path(folder)
    rng = np.random.default_rng(seed)
    for index in range(count):
        photo = content_coloured_photo(rng, size)
        save.save_image(folder / f"{index:05d}.jpg", photo, quality=95)
    return folder


# ---------------------------------------------------------------------------------------------
# Clocks


class EpochClock(keras.callbacks.Callback):
    """Seconds of each epoch's training steps (to its validation) and of the whole epoch
    (validation and colornet's checkpoints included, when it runs last)."""

    def __init__(self):
        super().__init__()
        self.train_seconds, self.epoch_seconds = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
        self.trained = None

    def on_test_begin(self, logs=None):
        if self.trained is None:
            self.trained = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        ended = time.perf_counter()
        self.train_seconds.append((self.trained or ended) - self.started)
        self.epoch_seconds.append(ended - self.started)


def spread(values):
    """{"median", "min", "max"} of a list of numbers."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


# ---------------------------------------------------------------------------------------------
# colornet as a user runs it, and the plain floor


class PlainAlongside(keras.callbacks.Callback):
    """The floor, run in turn with colornet: after each of colornet's epochs (its
    checkpoints included), one epoch of `models.fusion_colorizer` compiled plainly and
    trained by `fit` from numpy arrays in memory; so each pair of epochs sees the same load."""

    def __init__(self, arrays, batch_size, precision):
        super().__init__()
        self.lightness, self.embeddings, self.scaled_ab = arrays
        self.batch_size = batch_size
        self.plain = models.fusion_colorizer(
            self.lightness.shape[1], self.embeddings.shape[1], dtype=precision
        )
        self.plain.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        self.clock = EpochClock()

    def on_epoch_end(self, epoch, logs=None):
        self.plain.fit(
            {"lightness": self.lightness, "embedding": self.embeddings}, self.scaled_ab,
            batch_size=self.batch_size, epochs=1, callbacks=[self.clock], verbose=0,
        )

    def images_per_second(self):
        return [len(self.lightness) / seconds for seconds in self.clock.train_seconds]

    def photo_flops(self):
        return 3 * profiling.forward_flops(self.plain)


def colornet_run(folder, run_dir, size, batch_size, augment, cached, epochs, arrays, precision):
    """`loop.train` on `folder`, with the plain floor alongside (`PlainAlongside`);
    returns (colornet, plain) figures from the epochs after the first (tracing) one."""
    config = settings.TrainingConfig(
        data_dir=str(folder), image_size=size, epochs=epochs, backbone=BACKBONE,
        backbone_weights=None, augment=augment, cache_embeddings=cached,
        backbone_precision=precision, fusion_precision=precision,
        **({} if batch_size is None else {"batch_size": batch_size}),
    )
    # The number train would choose, for the plain model too.
    config = dataclasses.replace(config, batch_size=config.resolved_batch_size())
    clock = EpochClock()
    plain = PlainAlongside(arrays, config.batch_size, precision)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        loop.train(config, run_dir, progress=True, callbacks=[clock, plain])
    run = runs.RunFolder(run_dir)
    photos = len(run.split()[0])
    colorizer = keras.saving.load_model(run.best_model_path, safe_mode=True)
    step_flops = profiling.training_step_flops(colorizer, 1, cached)  # one photo's
    ours = [photos / seconds for seconds in clock.train_seconds[1:]]
    floor = plain.images_per_second()[1:]
    return {
        "batch_size": config.batch_size,
        "photos_per_epoch": photos,
        "images_per_second": ours,
        "gflop_per_second": [rate * step_flops / 1e9 for rate in ours],
        "epoch_seconds_with_validation_and_checkpoints": clock.epoch_seconds[1:],
        "first_epoch_seconds": clock.epoch_seconds[0],
        "plain_images_per_second": floor,
        "plain_gflop_per_second": [rate * plain.photo_flops() / 1e9 for rate in floor],
        "plain_over_colornet": [theirs / mine for mine, theirs in zip(ours, floor)],
    }


def in_memory_arrays(folder, size):
    """The folder's photos as the plain model's inputs: scaled lightness (N, S, S, 1),
    random embeddings (N, 1000) and scaled ab (N, S, S, 2), float32."""
    rgb = np.stack([
        geometry.resize_and_crop(decode.load_rgb(path), size)
        for path in folders.list_images(folder)
    ]).astype(np.float32)
    lab = keras.ops.convert_to_numpy(color.rgb_to_lab(rgb))
    lightness = keras.ops.convert_to_numpy(color.lightness_to_input(lab[..., :1]))
    scaled_ab = keras.ops.convert_to_numpy(color.ab_to_target(lab[..., 1:]))
    embedding_size = backbones.get_backbone(BACKBONE).embedding_size
    embeddings = np.random.default_rng(0).random((len(rgb), embedding_size), np.float32)
    return lightness.astype(np.float32), embeddings, scaled_ab.astype(np.float32)


def sweep(args, workspace):
    """Every (size, batch, augment, cached) row, each next to the plain model; a list."""
    photos = QUICK_PHOTOS if args.quick else PHOTOS
    precision = settings.training_precisions(
        settings.TrainingConfig(
            data_dir="", backbone=BACKBONE, backbone_precision=args.precision,
            fusion_precision=args.precision,
        )
    )[1]
    rows = []
    for size in args.sizes:
        # Photos for the validation split too (a tenth), so an epoch trains about photos[size].
        folder = write_photos(workspace / f"photos_{size}", int(photos[size] / 0.9), size, seed=0)
        arrays = in_memory_arrays(folder, size)
        variants = [(None, True, True)]  # train's default batch, augmentation, cached
        if not args.quick and size == min(args.sizes):
            variants += [(None, False, True), (None, True, False)]
        if size < max(SIZES):  # train's default batch is larger there: the others beside it
            variants += [(batch, True, True) for batch in args.batch_sizes]
        for batch_size, augment, cached in variants:
            repeats = []
            for repeat in range(args.repeats if (augment and cached) else 1):
                run_dir = workspace / f"run_{size}_{batch_size}_{augment}_{cached}_{repeat}"
                measured = colornet_run(
                    folder, run_dir, size, batch_size, augment, cached, args.epochs,
                    arrays, precision,
                )
                repeats.append(measured)
                print(
                    f"{size}×{size} batch {measured['batch_size']:>3} augment {augment:d} "
                    f"cached {cached:d}: colornet "
                    f"{statistics.median(measured['images_per_second']):6.1f} img/s "
                    f"{statistics.median(measured['gflop_per_second']):5.0f} GFLOP/s; plain "
                    f"{statistics.median(measured['plain_images_per_second']):6.1f} img/s; "
                    f"plain / colornet {statistics.median(measured['plain_over_colornet']):.2f}",
                    file=sys.stderr, flush=True,
                )
            rows.append(summarised_row(size, augment, cached, repeats))
    return rows


def summarised_row(size, augment, cached, repeats):
    """One row of the sweep: each figure's median and range over every measured epoch of
    every repeat."""

    def pooled(key):
        return spread([value for measured in repeats for value in measured[key]])

    return {
        "image_size": size,
        "batch_size": repeats[0]["batch_size"],
        "augment": augment,
        "cached_embeddings": cached,
        "repeats": len(repeats),
        "measured_epochs": sum(len(measured["images_per_second"]) for measured in repeats),
        "photos_per_epoch": repeats[0]["photos_per_epoch"],
        **{
            name: pooled(key)
            for name, key in (
                ("colornet_images_per_second", "images_per_second"),
                ("colornet_gflop_per_second", "gflop_per_second"),
                ("plain_images_per_second", "plain_images_per_second"),
                ("plain_gflop_per_second", "plain_gflop_per_second"),
                ("plain_over_colornet", "plain_over_colornet"),
                ("colornet_epoch_seconds_with_validation_and_checkpoints",
                 "epoch_seconds_with_validation_and_checkpoints"),
            )
        },
    }


# ---------------------------------------------------------------------------------------------
# Where a 64×64 step's time goes


def batch_seconds(iterator, batches):
    """A function timing `batches` calls of `next(iterator)`: seconds per batch."""

    def timed():
        started = time.perf_counter()
        for _ in range(batches):
            next(iterator)
        return (time.perf_counter() - started) / batches

    return timed


def call_seconds(function, calls):
    """A function timing `calls` calls of `function()`: seconds per call."""

    def timed():
        started = time.perf_counter()
        for _ in range(calls):
            function()
        return (time.perf_counter() - started) / calls

    return timed


class ReadsLoss(keras.callbacks.Callback):
    """What a per-batch progress bar or NaN check does: read the loss after every batch."""

    def on_train_batch_end(self, batch, logs=None):
        float(logs["loss"])


def fit_seconds(model, dataset, steps, callbacks=()):
    """A function timing one `fit` epoch of `steps` steps on `dataset`: seconds per step."""

    def timed():
        clock = EpochClock()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, callbacks=[*callbacks, clock],
                  verbose=0)
        return clock.train_seconds[0] / steps

    return timed


def four_layer_augmentation():
    """colornet's augmentation before `augmentation.RandomAffine`: Keras 3's RandomRotation,
    RandomShear, RandomZoom and RandomFlip in turn, each resampling the photo."""
    return keras.Sequential([
        keras.layers.RandomRotation(augmentation.ROTATION_DEGREES / 360.0, fill_mode="reflect"),
        keras.layers.RandomShear(
            x_factor=augmentation.SHEAR_FACTOR, y_factor=0.0, fill_mode="reflect"
        ),
        keras.layers.RandomZoom(augmentation.ZOOM_FACTOR, fill_mode="reflect"),
        keras.layers.RandomFlip("horizontal"),
    ])


def profile(args, workspace, size=64):
    """Seconds per batch of each piece of a `train` step at `size`, each measured alone.

    Every piece runs once untimed (tracing), then the pieces take turns for --rounds rounds,
    so that all see the same load; each piece's median and range over the rounds."""
    batch_size = args.profile_batch_size
    folder = write_photos(workspace / f"profile_{size}", 8 * batch_size, size, seed=1)
    paths = folders.list_images(folder)
    config = settings.TrainingConfig(
        data_dir=str(folder), image_size=size, batch_size=batch_size, backbone=BACKBONE,
        backbone_weights=None, cache_embeddings=True,
    )
    precision = settings.training_precisions(config)[1]
    training_model, colorizer = loop.build_training_model(config)
    embedding_model = models.embedding_network(colorizer)
    rgb = np.stack([decode.load_rgb(path) for path in paths]).astype(np.float32)
    embeddings = backbones.embed(rgb, embedding_model, batch_size=batch_size)
    batches = len(paths) // batch_size

    def dataset(**options):
        return iter(data.image_dataset(
            paths, size, batch_size, shuffle=True, repeat=True, seed=0, **options
        ))

    augmenter = augmentation.augmentation_layers(seed=0)
    batch = tf.constant(rgb[:batch_size])
    augment = tf.function(lambda photos: augmenter(photos, training=True))
    four_layers = four_layer_augmentation()
    augment_four_times = tf.function(lambda photos: four_layers(photos, training=True))
    lightness = color.rgb_to_lightness(rgb[:batch_size])[..., None]

    # Training steps on one batch already in memory: no input pipeline at all.
    inputs = {"rgb": rgb[:batch_size], "embedding": embeddings[:batch_size]}
    in_memory = tf.data.Dataset.from_tensors((inputs, rgb[:batch_size])).repeat()
    stepped_8, _ = loop.build_training_model(config)
    stepped_8.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate), loss=losses.ab_loss,
        steps_per_execution=8,
    )
    plain = models.fusion_colorizer(size, embeddings.shape[1], dtype=precision)
    plain.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    lab = color.rgb_to_lab(rgb[:batch_size])
    plain_batch = tf.data.Dataset.from_tensors((
        {"lightness": color.lightness_to_input(lab[..., :1]), "embedding": embeddings[:batch_size]},
        color.ab_to_target(lab[..., 1:]),
    )).repeat()
    steps = 8
    pieces = {
        "tf.data: decode and resize, no augmentation": batch_seconds(
            dataset(augment=False), batches
        ),
        "tf.data: decode, resize and augment": batch_seconds(dataset(augment=True), batches),
        "tf.data: decode, resize, augment, cached-embedding rows (train's)": batch_seconds(
            dataset(augment=True, extras=embeddings), batches
        ),
        "augmentation layers alone, on a batch in memory": call_seconds(
            lambda: augment(batch).numpy(), batches
        ),
        "augmentation as colornet had it: four Keras layers, four resamples": call_seconds(
            lambda: augment_four_times(batch).numpy(), batches
        ),
        "backbone forward alone (what cached embeddings save)": call_seconds(
            lambda: embedding_model.predict_on_batch(lightness), 4
        ),
        "train step, batches in memory, steps_per_execution 1": fit_seconds(
            training_model, in_memory, steps
        ),
        "train step, batches in memory, + a callback reading the loss": fit_seconds(
            training_model, in_memory, steps, [ReadsLoss()]
        ),
        "train step, batches in memory, steps_per_execution 8": fit_seconds(
            stepped_8, in_memory, steps
        ),
        "plain fusion network step, batches in memory": fit_seconds(plain, plain_batch, steps),
    }
    for timed in pieces.values():
        timed()  # traces
    seconds = {piece: [] for piece in pieces}
    for _ in range(args.rounds):
        for piece, timed in pieces.items():
            seconds[piece].append(timed())
    step_flops = profiling.training_step_flops(colorizer, batch_size, cached_embeddings=True)
    milliseconds = {
        piece: {key: value * 1e3 for key, value in spread(values).items()}
        for piece, values in seconds.items()
    }
    for piece, values in milliseconds.items():
        print(f"  {piece:<68} {values['median']:7.1f} ms ({values['min']:.1f}-"
              f"{values['max']:.1f})", file=sys.stderr)
    return {
        "image_size": size,
        "batch_size": batch_size,
        "step_gflop": step_flops / 1e9,
        "rounds": args.rounds,
        "milliseconds_per_batch": milliseconds,
    }


# ---------------------------------------------------------------------------------------------
# Issue 15's run, scaled down, against another checkout


def issue_run(args, workspace):
    """`colornet train` then `colornet evaluate`, as issue 15 ran them; each source in turn."""
    data_dir = write_photos(workspace / "issue" / "train", args.issue_photos, 64, seed=2)
    test_dir = write_photos(workspace / "issue" / "test", args.issue_test_photos, 64, seed=3)
    sources = {"this checkout": pathlib.Path(__file__).resolve().parent.parent}
    if args.baseline:
        sources = {"baseline": pathlib.Path(args.baseline).resolve(), **sources}
    results = {name: [] for name in sources}
    for repeat in range(args.repeats):
        for name, source in sources.items():
            run_dir = workspace / "issue" / f"run_{name.replace(' ', '_')}_{repeat}"
            environment = {**os.environ, "PYTHONPATH": str(source)}
            command = [sys.executable, "-m", "colornet.cli"]
            started = time.perf_counter()
            subprocess.run(
                [*command, "train", str(data_dir), "--out", str(run_dir), "--image-size", "64",
                 "--epochs", str(args.issue_epochs), "--backbone", BACKBONE,
                 "--backbone-weights", "none", "--cache-embeddings",
                 "--backbone-precision", args.precision, "--fusion-precision", args.precision],
                env=environment, check=True, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, cwd=workspace,  # not a folder holding a colornet/
            )
            trained = time.perf_counter()
            report = subprocess.run(
                [*command, "evaluate", str(test_dir), "--model", str(run_dir), "--quiet",
                 "--precision", args.precision],
                env=environment, check=True, capture_output=True, text=True, cwd=workspace,
            ).stdout
            ended = time.perf_counter()
            config = json.loads((run_dir / "config.json").read_text())
            package = subprocess.run(  # which colornet ran: the source's, not another
                [sys.executable, "-c", "import colornet; print(colornet.__file__)"],
                env=environment, check=True, capture_output=True, text=True, cwd=workspace,
            ).stdout.strip()
            results[name].append({
                "package": package,
                "train_seconds": trained - started,
                "train_and_evaluate_seconds": ended - started,
                "batch_size": config["batch_size"],
                "evaluate_report": report.strip().splitlines()[:6],
            })
            print(f"issue run, {name}: {trained - started:.1f} s training, "
                  f"{ended - started:.1f} s with evaluate", file=sys.stderr, flush=True)
    summary = {
        name: {
            "train_seconds": spread([run["train_seconds"] for run in runs]),
            "train_and_evaluate_seconds": spread(
                [run["train_and_evaluate_seconds"] for run in runs]
            ),
            "batch_size": runs[0]["batch_size"],
            "package": runs[0]["package"],
            "evaluate_report": runs[0]["evaluate_report"],
        }
        for name, runs in results.items()
    }
    if args.baseline:
        summary["after_over_before"] = spread([
            after["train_and_evaluate_seconds"] / before["train_and_evaluate_seconds"]
            for before, after in zip(results["baseline"], results["this checkout"])
        ])
    summary["settings"] = {
        "photos": args.issue_photos, "test_photos": args.issue_test_photos,
        "epochs": args.issue_epochs, "image_size": 64, "backbone": BACKBONE,
    }
    return summary


# ---------------------------------------------------------------------------------------------
# Running


def plot(rows, path):
    """Photos a second and GFLOP/s against image size, colornet and the plain floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = [row for row in rows if row["augment"] and row["cached_embeddings"]]
    defaults = {}
    for row in chosen:  # the first row of each size is train's default batch
        defaults.setdefault(row["image_size"], row)
    sizes = sorted(defaults)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label, style in (
        ("colornet", "colornet train (default batch)", "o-"),
        ("plain", "plain fusion net, numpy in memory", "s--"),
    ):
        for axis, figure_name in ((left, "images_per_second"), (right, "gflop_per_second")):
            values = [defaults[s][f"{key}_{figure_name}"] for s in sizes]
            medians = np.array([value["median"] for value in values])
            ranges = [medians - [value["min"] for value in values],
                      [value["max"] for value in values] - medians]
            axis.errorbar(sizes, medians, yerr=ranges, fmt=style, capsize=3, label=label)
    for axis, ylabel in ((left, "training photos / s"), (right, "GFLOP/s")):
        axis.set_xscale("log", base=2)
        axis.set_xticks(sizes, [f"{s}²" for s in sizes])
        axis.set_xlabel("image size")
        axis.set_ylabel(ylabel)
        axis.grid(alpha=0.3)
    left.set_yscale("log")
    right.set_ylim(bottom=0)
    left.legend()
    figure.suptitle("Training speed against image size (cached embeddings, augmentation on)")
    figure.tight_layout()
    with _util.atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="64 and 128 only (unless --sizes), cached and augmented only, "
                             "fewer photos")
    parser.add_argument("--sizes", type=int, nargs="+", help="image sizes (default 64 128 256)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[10],
                        help="batch sizes tried besides train's default, below 256×256 "
                             "(default: the write-up's 10, train's default before issue 15)")
    parser.add_argument("--precision", choices=["auto", "float32", "bfloat16"], default="auto",
                        help="how colornet and the plain model compute; float32 is what a CPU "
                             "without bfloat16 (issue 15's) runs")
    parser.add_argument("--epochs", type=int, default=3,
                        help="epochs of each run; the first (tracing) is not measured")
    parser.add_argument("--repeats", type=int, default=1,
                        help="repeats of the main rows (augmented, cached) and of the issue run")
    parser.add_argument("--profile-batch-size", type=int, default=10,
                        help="batch of the 64×64 profile (the issue's run used 10)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the profile")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--skip-profile", action="store_true")
    parser.add_argument("--issue-run", action="store_true", help="also run issue 15's run")
    parser.add_argument("--baseline", help="another checkout of colornet to time the issue run of")
    parser.add_argument("--issue-photos", type=int, default=300,
                        help="training photos of the scaled issue run (the issue: 1,200)")
    parser.add_argument("--issue-test-photos", type=int, default=50,
                        help="held-out photos evaluated after it (the issue: 100)")
    parser.add_argument("--issue-epochs", type=int, default=4, help="the issue: 12")
    parser.add_argument("--out", type=pathlib.Path, help="also write the JSON here")
    parser.add_argument("--plot", type=pathlib.Path, help="draw the curve against image size")
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = [64, 128] if args.quick else list(SIZES)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first traces and is not measured)")
    return args


def main():
    args = parse_arguments()
    figures = {
        "backbone": BACKBONE,
        "precision": settings.training_precisions(
            settings.TrainingConfig(
                data_dir="", backbone=BACKBONE, backbone_precision=args.precision,
                fusion_precision=args.precision,
            )
        )[1],
        "matmul_gflop_per_second": {},
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workspace:
        workspace = pathlib.Path(workspace)
        figures["matmul_gflop_per_second"][figures["precision"]] = (
            profiling.matmul_rate(dtype=figures["precision"]) / 1e9
        )
        if not args.skip_profile:
            print("where a 64×64 step's time goes, each piece alone:", file=sys.stderr)
            figures["profile"] = profile(args, workspace)
        if not args.skip_sweep:
            figures["sweep"] = sweep(args, workspace)
        if args.issue_run:
            figures["issue_run"] = issue_run(args, workspace)
    figures["seconds"] = time.perf_counter() - started
    text = json.dumps(figures, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        with _util.atomic_output(args.out) as temporary:
            temporary.write_text(text + "\n", "utf-8")
    if args.plot and "sweep" in figures:
        plot(figures["sweep"], args.plot)


if __name__ == "__main__":
    main()
