"""Training throughput of the final version: colornet against the write-up's way, in one run.

Both pipelines train the same fusion colorizer (`models.fusion_colorizer`) on the sample
photos at 256×256, batch 10, augmentation on, with an InceptionResNetV2 embedding (random
weights: the speed does not depend on them) computed for every batch:

- colornet: `training.build_training_model`, fed by `data.image_dataset` as `training.train`
  feeds it, stepped by `fit`. tf.data decodes, augments and prefetches in the background; the
  backbone runs inside the training graph.
- the write-up's way: the photos in one numpy array; per photo, the affine transform of Keras
  2.2.4's ImageDataGenerator (shear 0.2°, zoom 0.8-1.2 per axis, rotation ±20°, flips; scipy,
  re-implemented here since Keras 3 has none); per batch, scikit-image's gray2rgb(rgb2gray()),
  a loop resizing each photo to 299×299, preprocess_input and a separate InceptionResNetV2's
  `predict`, twice (the published generator computes the embedding twice), rgb2lab for L
  (0-100, as the write-up fed it) and ab / 128, then `train_on_batch`, all float32.

With --cache-embeddings colornet embeds each (un-augmented) photo once before training, as
`TrainingConfig(cache_embeddings=True)` does, and its steps no longer run the backbone; that
one-off cost is printed apart.

Steps alternate, one of each, and after each pair colornet's backbone runs alone, once in
each precision, so all see the same load on a shared machine. Prints the median seconds per step and images per
second of each, their ratio, the first (compiling) step, where each step's time goes, and,
when an option lowers colornet's precision, how far the numbers move. Issue goal: colornet
≥ 2.5× the write-up's way on a 2-core CPU.

    python benchmarks/training_throughput.py [--steps 5] [--backbone-precision bfloat16]
"""

import argparse
import contextlib
import itertools
import math
import os
import pathlib
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import scipy.ndimage  # noqa: E402
import skimage.color  # noqa: E402
import skimage.transform  # noqa: E402
import tensorflow as tf  # noqa: E402

from colornet import backbones, color, data, images, models, profiling, training  # noqa: E402
from colornet import precision as precisions  # noqa: E402

DATA_DIR = pathlib.Path(__file__).resolve().parent.parent / "data"
# The write-up's Train folder held thousands of photos; ours holds six, repeated to this many.
MIN_PHOTOS = 20
INCEPTION_SIZE = 299
# The write-up's ImageDataGenerator(shear_range=0.2, zoom_range=0.2, rotation_range=20,
# horizontal_flip=True) under Keras 2.2.4, which reads the shear in degrees.
ROTATION_DEGREES = 20.0
SHEAR_DEGREES = 0.2
ZOOM_RANGE = 0.2


# ---------------------------------------------------------------------------------------------
# The write-up's way


def image_data_generator_transform(photo, rng):
    """One random transform of Keras 2.2.4's ImageDataGenerator (keras_preprocessing's
    apply_affine_transform): one affine map, bilinear, edges repeated ("nearest"), then a
    50 % horizontal flip. photo: (H, W, 3) float32 in [0, 1]; returns the same shape."""
    theta = np.deg2rad(rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES))
    shear = np.deg2rad(rng.uniform(-SHEAR_DEGREES, SHEAR_DEGREES))
    zoom_x, zoom_y = rng.uniform(1 - ZOOM_RANGE, 1 + ZOOM_RANGE, 2)
    rotation = np.array(
        [[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]]
    )
    shearing = np.array([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]])
    zoom = np.array([[zoom_x, 0, 0], [0, zoom_y, 0], [0, 0, 1]])
    height, width = photo.shape[:2]
    centre = np.array([[1, 0, height / 2 + 0.5], [0, 1, width / 2 + 0.5], [0, 0, 1]])
    back = np.array([[1, 0, -height / 2 - 0.5], [0, 1, -width / 2 - 0.5], [0, 0, 1]])
    transform = centre @ rotation @ shearing @ zoom @ back
    channels = [
        scipy.ndimage.affine_transform(
            photo[..., channel], transform[:2, :2], transform[:2, 2], order=1, mode="nearest"
        )
        for channel in range(photo.shape[-1])
    ]
    transformed = np.stack(channels, axis=-1)
    return transformed[:, ::-1] if rng.random() < 0.5 else transformed


class WriteUpPipeline:
    """The write-up's generator and `fit_generator`, one batch per `step()`."""

    def __init__(self, photos, batch_size, seed):
        self.photos = photos  # (N, S, S, 3) float32 in [0, 1], as Xtrain = 1.0/255*X
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.inception = keras.applications.InceptionResNetV2(weights=None)
        self.model = models.fusion_colorizer(photos.shape[1])
        self.model.compile(optimizer="adam", loss="mse")  # as the write-up compiled it

    def embedding(self, grayscaled_rgb, seconds):
        """create_inception_embedding: a per-photo resize loop, preprocess_input, predict."""
        with _timed(seconds, "grey, resize loop, preprocess_input ×2"):
            resized = [
                skimage.transform.resize(
                    photo, (INCEPTION_SIZE, INCEPTION_SIZE, 3), mode="constant"
                )
                for photo in grayscaled_rgb
            ]
            resized = keras.applications.inception_resnet_v2.preprocess_input(np.array(resized))
        with _timed(seconds, "InceptionResNetV2 predict ×2"):
            return self.inception.predict(resized, verbose=0)

    def step(self):
        """One training step; returns {piece: seconds}."""
        seconds = {}
        with _timed(seconds, "augmentation (scipy, per photo)"):
            chosen = self.rng.choice(len(self.photos), self.batch_size, replace=False)
            batch = np.array(
                [image_data_generator_transform(self.photos[i], self.rng) for i in chosen]
            )
        with _timed(seconds, "grey, resize loop, preprocess_input ×2"):
            grayscaled_rgb = skimage.color.gray2rgb(skimage.color.rgb2gray(batch))
        self.embedding(grayscaled_rgb, seconds)  # computed, then computed again below
        with _timed(seconds, "rgb2lab"):
            lab_batch = skimage.color.rgb2lab(batch)
            lightness = lab_batch[..., :1]  # (B, S, S, 1), 0-100, as X_batch
            scaled_ab = lab_batch[..., 1:] / color.AB_SCALE  # (B, S, S, 2), as Y_batch
        embedding = self.embedding(grayscaled_rgb, seconds)
        with _timed(seconds, "train_on_batch"):
            self.model.train_on_batch({"lightness": lightness, "embedding": embedding}, scaled_ab)
        return seconds


# ---------------------------------------------------------------------------------------------
# colornet


class Interleaved(keras.callbacks.Callback):
    """Times each colornet `fit` step; after it, runs one write-up step and times colornet's
    backbone forward alone in each precision, so that all see the same load."""

    def __init__(self, write_up, backbone_forwards):
        super().__init__()
        self.write_up = write_up
        self.backbone_forwards = backbone_forwards  # {precision: function}
        self.colornet_seconds = []
        self.backbone_seconds = {precision: [] for precision in backbone_forwards}
        self.write_up_pieces = []

    def on_train_batch_begin(self, batch, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        float(logs["loss"])  # waits for the step to finish
        self.colornet_seconds.append(time.perf_counter() - self.started)

    def on_epoch_end(self, epoch, logs=None):
        self.write_up_pieces.append(self.write_up.step())
        for precision, forward in self.backbone_forwards.items():
            started = time.perf_counter()
            forward()
            self.backbone_seconds[precision].append(time.perf_counter() - started)


def backbone_forwards(colorizer, rgb):
    """{precision: a function running colornet's grey embedding (lightness → grey RGB →
    resize → InceptionResNetV2) on one batch, as the training step does, in that precision}.
    Each is traced here, in its precision; the backbone's precision is left as it was."""
    embedding_model = models.embedding_network(colorizer)
    frozen = embedding_model.get_layer("backbone")
    lightness = color.RgbToLightness()(rgb)
    chosen = frozen.precision
    forwards = {}
    for precision in precisions.POLICIES:
        frozen.precision = precision
        embed = tf.function(lambda lightness: embedding_model(lightness, training=False))
        embed(lightness)  # traces, in this precision
        forwards[precision] = lambda embed=embed: embed(lightness).numpy()
    frozen.precision = chosen
    return forwards


def input_pipeline_seconds(dataset, batches):
    """Seconds per batch of colornet's input pipeline running alone, after a first batch."""
    iterator = iter(dataset)
    next(iterator)
    started = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return (time.perf_counter() - started) / batches


# ---------------------------------------------------------------------------------------------
# How far a lower precision moves the numbers


def backbone_precision_check(colorizer, photos):
    """bfloat16 against float32 on the same weights and photos: the embedding, and the 1536
    average-pooled features under it (random weights give near-uniform class scores, so the
    features say more)."""
    embedding_model = models.embedding_network(colorizer)
    frozen = embedding_model.get_layer("backbone")
    to_backbone_input = keras.Model(
        embedding_model.input, embedding_model.get_layer("backbone_input").output
    )
    to_features = keras.Model(
        frozen.classifier.input, frozen.classifier.get_layer("avg_pool").output
    )
    lightness = color.rgb_to_lab(photos)[..., :1]
    backbone_input = to_backbone_input(lightness)
    results = {}
    precision = frozen.precision
    for checked in ("float32", "bfloat16"):
        frozen.precision = checked  # layers are shared: both models follow
        results[checked] = (
            keras.ops.convert_to_numpy(embedding_model(lightness)),
            keras.ops.convert_to_numpy(keras.ops.cast(to_features(backbone_input), "float32")),
        )
    frozen.precision = precision
    lines = []
    for index, name in enumerate(("embedding (class scores)", "avg-pool features")):
        reference, lowered = results["float32"][index], results["bfloat16"][index]
        difference = np.abs(lowered - reference)
        spread = reference.std(axis=0).mean()  # how much photos differ from each other
        lines.append(
            f"  {name:<25} max |diff| {difference.max():.2e}, mean {difference.mean():.2e}; "
            f"spread between photos {spread:.2e}; mean |diff| / spread "
            f"{difference.mean() / spread:.1%}"
        )
    return lines


def fusion_precision_check(training_model, colorizer, inputs, rgb, precision):
    """The loss and its gradient for one batch, bfloat16 layers against float32: the relative
    error of each layer's kernel and bias gradients, median and largest over the layers.

    Computed in a tf.function, as `fit` computes them. Eagerly, TensorFlow 2.21 sums a
    bfloat16 bias gradient with bfloat16 accumulation and gets it 96 % wrong for a
    10×128×128 batch; in a graph the sum is accurate (0.16 %)."""
    results = {}
    rgb = tf.convert_to_tensor(rgb)  # a tensor, so the loss's Lab is traced into the graph

    def loss_and_gradients():
        with tf.GradientTape() as tape:
            predicted = training_model(inputs, training=True)
            loss = keras.ops.mean(training.ab_loss(rgb, predicted))
        return loss, tape.gradient(loss, training_model.trainable_weights)

    for checked in ("float32", "bfloat16"):
        models.set_precision(colorizer, fusion=checked)
        loss, gradients = tf.function(loss_and_gradients)()  # a new trace, in this precision
        results[checked] = float(loss), [keras.ops.convert_to_numpy(g) for g in gradients]
    models.set_precision(colorizer, fusion=precision)
    (loss_32, gradients_32), (loss_16, gradients_16) = results["float32"], results["bfloat16"]
    lines = [f"  loss {loss_32:.6f} (float32) vs {loss_16:.6f} (bfloat16)"]
    whole_32 = np.concatenate([g.ravel() for g in gradients_32])
    whole_16 = np.concatenate([g.ravel() for g in gradients_16])
    lines.append(
        f"  the whole gradient: relative error {np.linalg.norm(whole_16 - whole_32) / np.linalg.norm(whole_32):.1%}, "
        f"cosine {whole_16 @ whole_32 / np.linalg.norm(whole_16) / np.linalg.norm(whole_32):.4f}"
    )
    for kind in ("kernel", "bias"):
        chosen = [
            (reference, lowered)
            for weight, reference, lowered in zip(
                training_model.trainable_weights, gradients_32, gradients_16
            )
            if weight.name == kind
        ]
        errors = [np.linalg.norm(lowered - reference) / np.linalg.norm(reference) for reference, lowered in chosen]
        share = np.sqrt(sum(np.sum(reference**2) for reference, _ in chosen)) / np.linalg.norm(whole_32)
        lines.append(
            f"  {kind} gradients: relative error median {np.median(errors):.1%}, "
            f"largest {max(errors):.1%} over {len(errors)} layers; {share:.1%} of the gradient's norm"
        )
    return lines


# ---------------------------------------------------------------------------------------------
# Running


def sample_photos(folder, image_size, batch_size):
    """The sample photos centre-cropped to image_size and saved as JPEGs in `folder`, as the
    write-up's Train folder held them; the paths repeated to a whole number of batches."""
    paths = []
    for source in sorted((DATA_DIR / "train").glob("*.jpg")) + sorted(
        (DATA_DIR / "test").glob("*.jpg")
    ):
        photo = images.resize_and_crop(images.load_rgb(source), image_size)
        paths.append(pathlib.Path(folder) / source.name)
        images.save_image(paths[-1], photo)
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
        config, training_model, colorizer = build_colornet(args, folder)

        photos = np.stack([images.load_rgb(path) for path in paths])
        embeddings, embedding_seconds = None, None
        if args.cache_embeddings:
            embedding_model = models.embedding_network(colorizer)
            started = time.perf_counter()
            embeddings = backbones.embed(photos, embedding_model, batch_size=args.batch_size)
            embedding_seconds = time.perf_counter() - started

        def pairs(seed):  # as training.train feeds fit: the photo is the target
            dataset = data.image_dataset(
                paths, args.image_size, args.batch_size,
                augment=True, shuffle=True, repeat=True, seed=seed, extras=embeddings,
            )
            if embeddings is None:
                return dataset.map(lambda rgb: (rgb, rgb))
            return dataset.map(lambda rgb, row: ({"rgb": rgb, "embedding": row}, rgb))

        write_up = WriteUpPipeline(photos, args.batch_size, seed=0)
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

        interleaved = Interleaved(write_up, backbone_forwards(colorizer, photos[: args.batch_size]))
        training_model.fit(
            pairs(seed=0), steps_per_epoch=1, epochs=args.warmup + args.steps,
            shuffle=False, callbacks=[interleaved], verbose=0,
        )
        pipeline = input_pipeline_seconds(pairs(seed=1), batches=2 * args.steps)
        colornet_step, write_up_step = print_steps(interleaved, args)
        print_pieces(interleaved, args, colornet_step, write_up_step, pipeline)
        if embedding_seconds is not None:
            per_photo = embedding_seconds / len(paths)
            print(
                f"  colornet, once before training: embedding the {len(paths)} photos took "
                f"{embedding_seconds:.1f} s with tracing ({per_photo:.2f} s a photo; spread over "
                f"{config.epochs} epochs, {per_photo * args.batch_size / config.epochs:.2f} s "
                f"a step)"
            )

        if args.backbone_precision != "float32":
            distinct = np.stack([images.load_rgb(path) for path in distinct_paths])
            print(f"\nbackbone bfloat16 vs float32, {len(distinct)} sample photos, same weights:")
            print("\n".join(backbone_precision_check(colorizer, distinct)))
        if args.fusion_precision != "float32":
            rgb = photos[: args.batch_size]
            inputs = rgb if embeddings is None else {
                "rgb": rgb, "embedding": embeddings[: args.batch_size]
            }
            print("\nfusion colorizer bfloat16 vs float32, one batch, same weights:")
            print("\n".join(fusion_precision_check(
                training_model, colorizer, inputs, rgb, args.fusion_precision
            )))

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
        "first_step_seconds": interleaved.colornet_seconds[0],
        "input_pipeline_seconds_per_batch": pipeline,
    }


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="measured steps of each pipeline")
    parser.add_argument(
        "--warmup", type=int, default=2, help="untimed steps of each first (at least 1)"
    )
    parser.add_argument("--batch-size", type=int, default=10)
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


def build_colornet(args, folder):
    """build_training_model at the benchmark's settings, with the options applied; returns
    (config, training_model, colorizer)."""
    config = training.TrainingConfig(
        data_dir=folder, backbone_weights=None, image_size=args.image_size,
        batch_size=args.batch_size, cache_embeddings=args.cache_embeddings,
        backbone_precision=args.backbone_precision, fusion_precision=args.fusion_precision,
    )
    training_model, colorizer = training.build_training_model(config)
    if args.jit_compile != "auto":
        training_model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate), loss=training.ab_loss,
            jit_compile=args.jit_compile == "on",
        )
    return config, training_model, colorizer


def print_steps(interleaved, args):
    """The table of seconds per step and images per second; returns both medians."""
    colornet_steps = interleaved.colornet_seconds[args.warmup:]
    write_up_all = [sum(pieces.values()) for pieces in interleaved.write_up_pieces]
    write_up_steps = write_up_all[args.warmup:]
    colornet_step = statistics.median(colornet_steps)
    write_up_step = statistics.median(write_up_steps)
    print()
    print(f"{'pipeline':<16} {'s/step':>7} {'img/s':>7} {'first step s':>13}")
    for name, step, first in (
        ("colornet", colornet_step, interleaved.colornet_seconds[0]),
        ("write-up's way", write_up_step, write_up_all[0]),
    ):
        print(f"{name:<16} {step:7.2f} {args.batch_size / step:7.2f} {first:13.1f}")
    print(f"{'ratio':<16} {write_up_step / colornet_step:14.2f}×")
    paired = [theirs / ours for ours, theirs in zip(colornet_steps, write_up_steps)]
    print("  (first step: tracing and compiling included; left out of the medians)")
    print(
        f"  each step, s: colornet {_listed(colornet_steps)}; write-up's way "
        f"{_listed(write_up_steps)}; step by step ratio {statistics.median(paired):.2f}× "
        f"(median; {min(paired):.2f}-{max(paired):.2f})"
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
        precision: statistics.median(seconds[args.warmup:])
        for precision, seconds in interleaved.backbone_seconds.items()
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


def _listed(seconds):
    return " ".join(f"{value:.2f}" for value in seconds)


@contextlib.contextmanager
def _timed(seconds, piece):
    """Add the seconds the block takes to seconds[piece]."""
    started = time.perf_counter()
    yield
    seconds[piece] = seconds.get(piece, 0.0) + time.perf_counter() - started


if __name__ == "__main__":
    main()
