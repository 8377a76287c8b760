"""What the tests build: photos whose colour they know, folders and clips of them, and one
stand-in colour model. Test modules import from here, never from each other."""

import pathlib

import imageio.v2 as imageio
import keras
import numpy as np
from keras import ops

from colornet import color, metrics
from colornet.apps import colorize
from colornet.io import decode, geometry, save
from colornet.nets import contract
from colornet.train import losses, runs

# Scaled ab of the stand-in model: a = 38.4, b = -25.6.
BASE_COLOUR = (0.3, -0.2)
# Training settings that run in seconds: tiny photos, the smallest backbone with random
# weights, float32 pinned so the arithmetic is the same on every machine ("auto" and
# bfloat16 have their own tests in test_precision.py).
FAST = dict(
    image_size=32, batch_size=8, backbone="mobilenet_v3_small", backbone_weights=None,
    backbone_precision="float32", fusion_precision="float32",
)
# A run that learns within its epochs from any seed on any CPU, on `write_lightness_photos`
# (160 of them: 32 steps an epoch), judged against `mean_colour_loss`.
LEARNING = dict(
    epochs=6, augment=False, validation_fraction=0.2,
    **{**FAST, "batch_size": 4, "cache_embeddings": True},
)
# The test clips: 2 seconds of 64×48 at 12 frames a second.
WIDTH, HEIGHT, FPS, FRAMES = 64, 48, 12, 24


# ---------------------------------------------------------------------------------------------
# Photos


def colour_photo(seed, height, width):
    """float32 (height, width, 3) in [0, 1]: a smooth field of random colours. `seed` is an
    int or a numpy Generator."""
    coarse = np.random.default_rng(seed).random((4, 4, 3)).astype(np.float32)
    return geometry.resize_and_crop(coarse, (height, width))


def grey_of(rgb):
    """The photo with its colour removed: three equal channels."""
    return np.repeat(rgb.mean(axis=-1, keepdims=True), 3, axis=-1)


def blobs_photo(size=32, seed=0):
    """A small photo whose colour follows its lightness: dark red blobs on a light blue field."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:size, 0:size]
    blobs = np.zeros((size, size))
    for _ in range(4):
        centre = rng.integers(4, size - 4, size=2)
        distance = (rows - centre[0]) ** 2 + (columns - centre[1]) ** 2
        blobs = np.maximum(blobs, np.exp(-distance / 18))
    lab = np.stack([80 - 45 * blobs, 55 * blobs - 5, 40 * blobs - 30], axis=-1)
    return color.lab_to_rgb(lab)


def content_coloured_photo(rng, size=48):
    """A photo whose colour follows its content: blob photos are warm, stripe photos cool.

    A green frame gives every photo a second hue, so none counts as a toned (one-hue) print.
    The shapes are drawn on a 48-pixel grid and scaled, so every size shows the same photos
    (`benchmarks/small_images.py` uses them at 64, 128 and 256).
    """
    rows, columns = np.mgrid[0:size, 0:size] * (48 / size)
    if rng.random() < 0.5:
        field = np.zeros((size, size))
        for _ in range(5):
            centre, radius = rng.uniform(0, 48, 2), rng.uniform(3, 7)
            distance = (rows - centre[0]) ** 2 + (columns - centre[1]) ** 2
            field += np.exp(-distance / (2 * radius**2))
        field, a, b = np.clip(field, 0, 1), 35.0, 50.0
    else:
        angle, period = rng.uniform(0, np.pi), rng.uniform(6, 12)
        along = rows * np.cos(angle) + columns * np.sin(angle)
        field = 0.5 + 0.5 * np.sin(2 * np.pi * along / period)
        a, b = 10.0, -45.0
    lab = np.stack([30 + 50 * field, np.full_like(field, a), np.full_like(field, b)], axis=-1)
    border = max(1, size // 16)
    frame = np.ones((size, size), bool)
    frame[border:-border, border:-border] = False
    lab[frame] = (60.0, -40.0, 30.0)
    return color.lab_to_rgb(lab)


def write_photos(folder, count, seed=0):
    """`count` content-coloured PNGs 000.png, 001.png, ... in `folder`; returns the folder."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        save.save_image(pathlib.Path(folder) / f"{index:03d}.png", content_coloured_photo(rng))
    return pathlib.Path(folder)


def lightness_coloured_photo(rng, size=48):
    """A photo whose colour follows its lightness pixel by pixel: dark blue where it is dark,
    orange where light, in soft overlapping patches that fill much of the frame."""
    rows, columns = np.mgrid[0:size, 0:size] * (48 / size)
    field = np.zeros((size, size))
    for _ in range(4):
        centre, radius = rng.uniform(0, 48, 2), rng.uniform(6, 14)
        distance = (rows - centre[0]) ** 2 + (columns - centre[1]) ** 2
        field += rng.uniform(0.5, 1) * np.exp(-distance / (2 * radius**2))
    field = np.clip(field, 0, 1)
    lab = np.stack([25 + 60 * field, -10 + 40 * field, -40 + 90 * field], axis=-1)
    return color.lab_to_rgb(lab)


def write_lightness_photos(folder, count, seed=0):
    """`count` lightness-coloured PNGs (`lightness_coloured_photo`) in `folder`; returns it.

    The fusion network learns their colour within a few epochs from any start. Colour that
    follows content (`write_photos`) waits on a plateau at the mean colour for 4 to 15 epochs
    first, longer or shorter with every seed and CPU (docs/performance.md, "Performance")."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        photo = lightness_coloured_photo(rng)
        save.save_image(pathlib.Path(folder) / f"{index:03d}.png", photo)
    return pathlib.Path(folder)


def mean_colour_loss(run_dir):
    """The training loss (`losses.ab_loss`) of the best constant colour on a run's
    validation photos at its image size: what a run that learned only the mean colour would
    score."""
    run = runs.RunFolder(run_dir)
    _, paths = run.split()
    size = run.load_config().image_size
    rgb = np.stack([geometry.resize_and_crop(decode.load_rgb(path), size) for path in paths])
    ab = color.ab_to_target(color.rgb_to_lab(rgb)[..., 1:])
    mean = np.broadcast_to(ab.mean(axis=(0, 1, 2)), ab.shape).astype(np.float32)
    return float(np.mean(losses.ab_loss(rgb, mean)))


def gains_over_grey(colorizer, photos):
    """PSNR of each colorized photo minus that of its grey version (a = b = 0), in dB."""
    return [
        metrics.psnr(photo, colorize.colorize(colorizer, photo))
        - metrics.psnr(photo, metrics.grey_baseline(photo))
        for photo in photos
    ]


# ---------------------------------------------------------------------------------------------
# Clips


def moving_shapes(frames=FRAMES, grey=False):
    """uint8 (frames, HEIGHT, WIDTH, 3): a red block moving over a grey gradient, and a bar
    that turns from blue to green and back every half second (a colour change, no motion)."""
    columns = np.linspace(40, 200, WIDTH, dtype=np.float32)
    clip = np.empty((frames, HEIGHT, WIDTH, 3), dtype=np.uint8)
    for index in range(frames):
        frame = np.repeat(np.tile(columns, (HEIGHT, 1))[..., None], 3, axis=-1)
        frame[8:24, 2 + 2 * index : 18 + 2 * index] = (220, 40, 40)
        frame[30:40, :] = (30, 60, 200) if index % 12 < 6 else (30, 160, 90)
        clip[index] = frame.mean(axis=-1, keepdims=True) if grey else frame
    return clip


def write_clip(path, frames):
    imageio.mimwrite(
        path, list(frames), fps=FPS, codec="libx264", quality=9, macro_block_size=1,
        ffmpeg_log_level="error",
    )  # fmt: skip
    return path


# ---------------------------------------------------------------------------------------------
# The stand-in colour model


class ConstantColour(keras.layers.Layer):
    """Predicts BASE_COLOUR everywhere, at the input's size, plus, with jitter > 0, a random
    offset per photo or frame: the flicker of a model that colours each frame on its own."""

    def __init__(self, jitter=0.0, **kwargs):
        super().__init__(**kwargs)
        self.jitter = jitter
        self.seed_generator = keras.random.SeedGenerator(0)

    def call(self, lightness):
        ones = ops.ones_like(lightness)
        colour = ops.concatenate([ones * BASE_COLOUR[0], ones * BASE_COLOUR[1]], axis=-1)
        if self.jitter:
            frames = ops.shape(lightness)[0]
            offsets = keras.random.normal((frames, 1, 1, 2), seed=self.seed_generator)
            colour = colour + self.jitter * offsets
        return colour

    def get_config(self):
        return {**super().get_config(), "jitter": self.jitter}


def constant_model(jitter=0.0, size=None, name="constant"):
    """A colornet model predicting `ConstantColour`: described as Version 1 (any size, tiles)
    or, with a size, as a final colorizer working at size × size."""
    lightness = keras.Input((size, size, 1), name="lightness")
    variant = "version_1" if size is None else "final"
    ab = contract.ColourOutput(variant, working_size=size, tiles=size is None)(
        ConstantColour(jitter)(lightness)
    )
    return keras.Model(lightness, ab, name=name)


def random_hint_colorizer(seed=0):
    """A hint-aware lite U-Net colorizer with a random backbone and random hint layers (their
    zero start replaced), so that a hint changes its colours: the stand-in for a trained one."""
    from colornet.nets import lite_unet

    keras.utils.set_random_seed(seed)
    trunk = lite_unet.trunk(weights=None, hints=True, reference=True)
    rng = np.random.default_rng(seed)
    for variable in trunk.trainable_weights:
        if variable.path.startswith(lite_unet.HINT_LAYER_PREFIXES):
            variable.assign(rng.normal(0, 0.5, variable.shape).astype(np.float32))
    return lite_unet.colorizer(trunk)
