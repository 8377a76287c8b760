"""The write-up's way: the one implementation every benchmark measures colornet against.

The write-up's two versions, step by step as its notebooks ran them (Keras 2, scikit-image,
numpy), on the same networks colornet builds, so that only the way differs:

- Version 1, `train_version_1`: X = L and Y = ab / 128 of the one photo from rgb2lab, and
  `model.fit(x=X, y=Y, batch_size=1, epochs=1000)`, one Keras epoch a step;

- training, one batch per `Training.step()`: the photos held in one numpy array, each given
  one random transform of Keras 2.2.4's ImageDataGenerator (`image_data_generator_transform`);
  scikit-image's gray2rgb(rgb2gray()); `inception_embedding` (a loop resizing each photo to
  299×299, preprocess_input, a separate InceptionResNetV2's `predict`) computed twice, as the
  published generator does; rgb2lab for L (0-100, as the write-up fed it) and ab / 128;
  `train_on_batch`; all float32;
- colorizing, `colorize_photo`: one photo at a time, one `predict` for its embedding and one
  for its colour, then (past the notebook, which stopped at 256×256) ab resized back onto
  the full-resolution lightness and lab2rgb, so the output is the same job as colornet's.

InceptionResNetV2 has random weights here, as in colornet's benchmarks: the speed does not
depend on them.
"""

import common  # first: quiets TensorFlow before Keras loads it
import keras
import numpy as np
import scipy.ndimage
import skimage.color
import skimage.transform

from colornet import color
from colornet.nets import models
from colornet.train import augmentation

INCEPTION_SIZE = 299

# ImageDataGenerator(shear_range=0.2, zoom_range=0.2, rotation_range=20, horizontal_flip=True),
# from the constants colornet's own augmentation is built from. The shear is replayed as
# Keras 2.2.4 computed it (degrees, vertical, about the centre); colornet/data.py, at
# WRITE_UP_SHEAR_RANGE, says what that means and why colornet trains with another reading.
ROTATION_DEGREES = augmentation.ROTATION_DEGREES
SHEAR_DEGREES = augmentation.WRITE_UP_SHEAR_RANGE
ZOOM_RANGE = augmentation.ZOOM_FACTOR  # Keras 2: height and width each zoomed by [0.8, 1.2]


def image_data_generator_transform(photo, rng):
    """One random transform of Keras 2.2.4's ImageDataGenerator (keras-preprocessing's
    apply_affine_transform, re-implemented since Keras 3 has none): rotation, shear and zoom
    composed into one affine map on (row, column), bilinear, edges repeated ("nearest"), then
    a 50 % horizontal flip.

    photo: (H, W, 3) float32 RGB in [0, 1]; returns the same shape and range.
    """
    theta = np.deg2rad(rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES))
    shear = np.deg2rad(rng.uniform(-SHEAR_DEGREES, SHEAR_DEGREES))
    zoom_x, zoom_y = rng.uniform(1 - ZOOM_RANGE, 1 + ZOOM_RANGE, 2)
    rotation = np.array(
        [[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]]
    )
    shearing = np.array([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]])
    zoom = np.array([[zoom_x, 0, 0], [0, zoom_y, 0], [0, 0, 1]])
    height, width = photo.shape[:2]
    # Keras 2.2.4's transform_matrix_offset_center: about (size / 2 + 0.5), as it was then.
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


def grey_rgb(photos):
    """gray2rgb(rgb2gray(photos)): RGB (..., H, W, 3) in [0, 1] → grey RGB, same shape."""
    return skimage.color.gray2rgb(skimage.color.rgb2gray(photos))


def inception_embedding(inception, grey_photos, seconds=None):
    """create_inception_embedding: a loop resizing each grey photo to 299×299,
    preprocess_input on the [0, 1] values (as published), InceptionResNetV2's `predict`.

    grey_photos: (B, H, W, 3) float in [0, 1]. Returns the (B, 1000) class scores. With a
    `seconds` dict, adds the time of each part to it.
    """
    seconds = {} if seconds is None else seconds
    with common.timed(seconds, "grey, resize loop, preprocess_input ×2"):
        resized = [
            skimage.transform.resize(photo, (INCEPTION_SIZE, INCEPTION_SIZE, 3), mode="constant")
            for photo in grey_photos
        ]
        resized = keras.applications.inception_resnet_v2.preprocess_input(np.array(resized))
    with common.timed(seconds, "InceptionResNetV2 predict ×2"):
        return inception.predict(resized, verbose=0)


class Training:
    """The write-up's generator and `fit_generator`, one batch per `step()`, training its own
    fusion colorizer (`models.fusion_colorizer`)."""

    def __init__(self, photos, batch_size, seed):
        self.photos = photos  # (N, S, S, 3) float32 in [0, 1], as Xtrain = 1.0/255*X
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.inception = keras.applications.InceptionResNetV2(weights=None)
        self.model = models.fusion_colorizer(photos.shape[1])
        self.model.compile(optimizer="adam", loss="mse")  # as the write-up compiled it

    def step(self):
        """One training step; returns {piece: seconds}."""
        seconds = {}
        with common.timed(seconds, "augmentation (scipy, per photo)"):
            chosen = self.rng.choice(len(self.photos), self.batch_size, replace=False)
            batch = np.array(
                [image_data_generator_transform(self.photos[i], self.rng) for i in chosen]
            )
        with common.timed(seconds, "grey, resize loop, preprocess_input ×2"):
            grey = grey_rgb(batch)
        inception_embedding(self.inception, grey, seconds)  # computed, then again below
        with common.timed(seconds, "rgb2lab"):
            lab_batch = skimage.color.rgb2lab(batch)
            lightness = lab_batch[..., :1]  # (B, S, S, 1), 0-100, as X_batch
            scaled_ab = lab_batch[..., 1:] / color.AB_SCALE  # (B, S, S, 2), as Y_batch
        embedding = inception_embedding(self.inception, grey, seconds)
        with common.timed(seconds, "train_on_batch"):
            self.model.train_on_batch({"lightness": lightness, "embedding": embedding}, scaled_ab)
        return seconds


def train_version_1(photo, steps, learning_rate):
    """Train the Version 1 net on one photo for `steps` steps as the write-up did: the arrays
    given to `fit`, one epoch per step. The optimizer is colornet's (Adam, cosine-decayed), so
    the two ways do the same arithmetic.

    photo: (H, W, 3) float RGB in [0, 1], sides divisible by 8. Returns the loss per step.
    """
    lab = skimage.color.rgb2lab(photo)[None].astype(np.float32)
    lightness, scaled_ab = lab[..., :1], lab[..., 1:] / color.AB_SCALE  # X, Y
    model = models.single_image_net()
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    history = model.fit(x=lightness, y=scaled_ab, batch_size=1, epochs=steps, verbose=0)
    return history.history["loss"]


def colorize_photo(colour_model, inception, photo, image_size=256):
    """One photo, as the write-up's notebook colorized it, finished at full resolution.

    colour_model: a fusion colorizer ({"lightness": L (1, S, S, 1) 0-100, "embedding"} →
    scaled ab); photo: (H, W, 3) float RGB in [0, 1]. Returns (H, W, 3) float RGB in [0, 1].
    """
    grey = grey_rgb(photo)
    small = skimage.transform.resize(grey, (image_size, image_size, 3), mode="constant")
    embedding = inception_embedding(inception, small[None])
    lightness = skimage.color.rgb2lab(small)[None, :, :, :1]  # (1, S, S, 1), 0-100
    scaled_ab = colour_model.predict({"lightness": lightness, "embedding": embedding}, verbose=0)
    ab = scaled_ab[0] * color.AB_SCALE  # (S, S, 2)
    full_ab = skimage.transform.resize(ab, (*photo.shape[:2], 2), order=1)
    full_lightness = skimage.color.rgb2lab(grey)[:, :, 0]
    return skimage.color.lab2rgb(np.dstack([full_lightness, full_ab]))
