"""What the final version learns by: the write-up's mean squared error on ab (`ab_loss`), or
Zhang et al.'s rebalanced loss over colour bins for the classification head (`BinLoss`, with
the run's `class_weights`).

Both take the true colour from the RGB photo the data pipeline yields, in keras.ops, so
augmentation (applied to RGB) can never misalign lightness and colour.
"""

import keras
import numpy as np

from colornet import _util, color
from colornet.io import decode
from colornet.nets import zhang
from colornet.train import distributed


@keras.saving.register_keras_serializable(package="colornet")
def ab_loss(rgb_true, scaled_ab_predicted):
    """Mean squared error between predicted scaled ab and the true photo's ab / 128.

    The data pipeline yields RGB photos; the true colour is taken from them here, in keras.ops,
    so augmentation (applied to RGB) can never misalign lightness and colour.
    """
    true_ab = color.ab_to_target(color.rgb_to_lab(rgb_true)[..., 1:])
    return keras.ops.mean(keras.ops.square(true_ab - scaled_ab_predicted), axis=(1, 2, 3))


@keras.saving.register_keras_serializable(package="colornet")
class BinLoss(zhang.ClassificationLoss):
    """Zhang et al.'s rebalanced loss for the classification head (`zhang.ClassificationLoss`).

    Like `ab_loss` it takes the true colour from the RGB photo, here averaged over each
    2 × 2 block: the head's logits are at half the photo's size, before the last upsampling.
    """

    def call(self, y_true, y_pred):
        ab = color.rgb_to_lab(keras.ops.cast(y_true, "float32"))[..., 1:]
        return super().call(keras.ops.average_pool(ab, 2, 2), y_pred)


def class_weights_of(paths, pixels=64 * 64):
    """Zhang et al.'s rebalancing weights (Q,) from the colours of the photos at `paths`,
    each read at about `pixels` pixels so that every photo counts alike; photos that fail to
    load are left out."""
    samples = []
    for path in paths:
        try:
            rgb, _ = decode.load_reduced_rgb(path, pixels)
        except (ValueError, OSError):  # skipped in training too, with a warning there
            continue
        samples.append(np.asarray(color.rgb_to_lab(rgb.astype(np.float32)))[..., 1:])
    if not samples:
        raise decode.ImageError("none of the training photos could be read")
    return zhang.rebalancing_weights(np.concatenate([s.reshape(-1, 2) for s in samples]))


def class_weights(config, run, train_paths):
    """The classification head's rebalancing weights, from the training photos, computed once
    per run and kept in it; None for the regression head."""
    if config.head != "classification":
        return None
    path = run.class_weights_path
    if path.is_file():
        return np.load(path)
    weights = class_weights_of(train_paths)
    if distributed.is_chief():
        _util.write_bytes_atomically(path, lambda file: np.save(file, weights))
    return weights
