"""Does the fusion layer use what the classifier knows? An ablation on made-up colours.

The final version's one idea is that a frozen ImageNet classifier tells the colorizer what is
in the picture. This module tests that idea directly, on data built so that the right colour
follows from image-level content an ImageNet classifier recognises:

- four photos that ship with scikit-image, each of something ImageNet knows: a cat
  (chelsea), an espresso (coffee), a rocket, a motorcycle;
- random square crops of each (60-90 % of the shorter side, anywhere, mirrored half the time),
  shrunk to `image_size`;
- each crop keeps its own lightness, and its colour is replaced by one flat tint per photo
  (four hues 90° apart around grey, chroma `TINT_CHROMA`), so only knowing which photo a crop
  comes from gives its colour.

The same fusion colorizer is then trained twice on the same crops, in the same order, from the
same initial weights: once fed the backbone's real embedding of each grey crop, once fed a
constant (the training crops' mean embedding, which carries no per-photo information). Held-out
crops (other positions, scales and mirrorings of the same four photos) are scored by PSNR
against their tinted truth. The held-out crops overlap the training crops in content: this
measures whether the fusion uses the embedding, not how well it generalises to new photos.
"""

import dataclasses

import keras
import numpy as np
import skimage.data
from PIL import Image

from colornet import _util, color, metrics
from colornet.constants import DEFAULT_CLASSIFY_BACKBONE
from colornet.nets import backbones, models

# How far each tint lies from grey in the ab plane: a clearly coloured but not garish photo.
TINT_CHROMA = 40.0
# One photo per class, each recognised by ImageNet classifiers even as a small grey crop.
SOURCE_PHOTOS = {
    "cat": skimage.data.chelsea,
    "espresso": skimage.data.coffee,
    "rocket": skimage.data.rocket,
    "motorcycle": lambda: skimage.data.stereo_motorcycle()[0],
}
# Crop sides, as fractions of the photo's shorter side.
_CROP_FRACTIONS = (0.6, 0.9)


@dataclasses.dataclass
class TintedCrops:
    """Crops of the source photos with their class's tint.

    lightness: (N, S, S) float32 L* in [0, 100], the crop's own.
    ab: (N, S, S, 2) float32, the class's flat tint.
    labels: (N,) int, index into `class_names`.
    """

    lightness: np.ndarray
    ab: np.ndarray
    labels: np.ndarray
    class_names: tuple

    def rgb(self, ab=None):
        """(N, S, S, 3) float32 sRGB in [0, 1] of the lightness with `ab` (default: the tint)."""
        ab = self.ab if ab is None else ab
        lab = np.concatenate([self.lightness[..., None], ab], axis=-1)
        return np.clip(keras.ops.convert_to_numpy(color.lab_to_rgb(lab)), 0.0, 1.0)


@dataclasses.dataclass
class AblationResult:
    """Held-out PSNR (dB, mean over crops) of the same fusion colorizer trained two ways."""

    real_embedding_psnr: float  # fed the backbone's embedding of each grey crop
    constant_embedding_psnr: float  # fed the training crops' mean embedding
    grey_psnr: float  # no colour at all (a = b = 0), for scale
    backbone: str
    train_crops: int
    held_out_crops: int
    epochs: int

    @property
    def margin_db(self):
        """How much better the real embedding colours held-out crops, in dB."""
        return self.real_embedding_psnr - self.constant_embedding_psnr

    def summary(self):
        return (
            f"held-out PSNR with the real {self.backbone} embedding "
            f"{self.real_embedding_psnr:.2f} dB, with a constant embedding "
            f"{self.constant_embedding_psnr:.2f} dB (grey {self.grey_psnr:.2f} dB): "
            f"margin {self.margin_db:+.2f} dB ({self.train_crops} training and "
            f"{self.held_out_crops} held-out crops, {self.epochs} epochs)"
        )


def class_tints(count=None):
    """(count, 2) ab tints, one per source photo by default: hues evenly spaced around grey at
    TINT_CHROMA. Their mean is grey, so a colorizer that cannot tell the classes apart does best
    predicting no colour."""
    count = len(SOURCE_PHOTOS) if count is None else count
    angles = 2.0 * np.pi * np.arange(count) / count
    return (TINT_CHROMA * np.stack([np.cos(angles), np.sin(angles)], axis=-1)).astype(np.float32)


def tinted_crops(crops_per_class, image_size=64, seed=0):
    """Random crops of `SOURCE_PHOTOS`, each with its photo's tint (see the module docstring).

    Args:
        crops_per_class: crops of each photo.
        image_size: side of the square crops, in pixels.
        seed: for the crops' positions, sizes and mirroring; use different seeds for training
            and held-out crops.

    Returns:
        `TintedCrops` with crops_per_class × 4 crops, class by class.
    """
    if crops_per_class < 1 or image_size < 8:
        raise ValueError(
            f"need at least one crop per class and image_size >= 8, got {crops_per_class} "
            f"and {image_size}"
        )
    rng = np.random.default_rng(seed)
    tints = class_tints()
    crops, labels = [], []
    for label, load in enumerate(SOURCE_PHOTOS.values()):
        photo = load()
        height, width = photo.shape[:2]
        for _ in range(crops_per_class):
            side = int(min(height, width) * rng.uniform(*_CROP_FRACTIONS))
            top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
            crop = photo[top : top + side, left : left + side]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            shrunk = Image.fromarray(np.ascontiguousarray(crop)).resize(
                (image_size, image_size), Image.BILINEAR
            )
            crops.append(_util.to_unit_float(np.asarray(shrunk)))
            labels.append(label)
    lightness = color.rgb_to_lightness(np.stack(crops))  # (N, S, S) in [0, 100]
    labels = np.array(labels)
    ab = np.broadcast_to(tints[labels][:, None, None, :], (*lightness.shape, 2)).copy()
    return TintedCrops(np.asarray(lightness, np.float32), ab, labels, tuple(SOURCE_PHOTOS))


def embed_crops(crops, backbone=DEFAULT_CLASSIFY_BACKBONE, weights="imagenet"):
    """(N, E) float32: the backbone's embedding of each crop's grey version (its lightness)."""
    model = backbones.grey_embedding_model(backbone, weights=weights)
    return backbones.embed(crops.lightness, model)


def fusion_ablation(
    train,
    held_out,
    train_embedding,
    held_out_embedding,
    epochs=30,
    batch_size=16,
    learning_rate=1e-3,
    seed=0,
    backbone=DEFAULT_CLASSIFY_BACKBONE,
):
    """Train the same fusion colorizer with the real embedding and with a constant one.

    Args:
        train, held_out: `TintedCrops` of one image size.
        train_embedding, held_out_embedding: (N, E) embeddings of their grey crops
            (`embed_crops`), computed once and reused by both runs.
        epochs, batch_size, learning_rate: Adam on the mean squared error of scaled ab.
        seed: initial weights and shuffling, the same for both runs.
        backbone: the backbone's name, for the report.

    Returns:
        `AblationResult`.
    """
    constant = train_embedding.mean(axis=0, keepdims=True)
    runs = {
        "real": (train_embedding, held_out_embedding),
        "constant": (
            np.repeat(constant, len(train_embedding), axis=0),
            np.repeat(constant, len(held_out_embedding), axis=0),
        ),
    }
    truth = held_out.rgb()
    scores = {}
    for name, (embedding, held_out_input) in runs.items():
        predicted_ab = _train_and_predict(
            train, held_out, embedding, held_out_input, epochs, batch_size, learning_rate, seed
        )
        scores[name] = _mean_psnr(truth, held_out.rgb(predicted_ab))
    return AblationResult(
        real_embedding_psnr=scores["real"],
        constant_embedding_psnr=scores["constant"],
        grey_psnr=_mean_psnr(truth, held_out.rgb(np.zeros_like(held_out.ab))),
        backbone=backbone,
        train_crops=len(train.labels),
        held_out_crops=len(held_out.labels),
        epochs=epochs,
    )


def _train_and_predict(
    train, held_out, embedding, held_out_embedding, epochs, batch_size, learning_rate, seed
):
    keras.utils.set_random_seed(seed)
    image_size = train.lightness.shape[1]
    model = models.fusion_colorizer(image_size=image_size, embedding_size=embedding.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mean_squared_error")
    inputs = {
        "lightness": color.lightness_to_input(train.lightness[..., None]),
        "embedding": embedding,
    }
    model.fit(
        inputs,
        color.ab_to_target(train.ab),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
    )
    held_out_inputs = {
        "lightness": color.lightness_to_input(held_out.lightness[..., None]),
        "embedding": held_out_embedding,
    }
    scaled_ab = model.predict(held_out_inputs, batch_size=batch_size, verbose=0)
    return np.asarray(color.target_to_ab(scaled_ab), np.float32)


def _mean_psnr(references, results):
    return float(np.mean([metrics.psnr(ref, res) for ref, res in zip(references, results)]))
