"""Layers the networks share: `FuseEmbedding`, the final version's fusion of a whole photo's
embedding into every cell of a feature grid, which the pretrained U-Net uses too; and
`PadToMultiple` with `CropLike`, which let a network of a fixed stride take any size.

Imports keras only.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="colornet")
class FuseEmbedding(keras.layers.Layer):
    """Repeat a per-image embedding over every cell of a feature grid and append it.

    The write-up used `RepeatVector(32 * 32)` and `Reshape([32, 32, 1000])`, which ties the
    model to 256×256 inputs. This layer reads the grid size from the features instead, so the
    same weights run at any input size.

    Call with `[features, embedding]`: features (batch, h, w, C), embedding (batch, E).
    Returns the embedding tiled to (batch, h, w, E) when `concatenate=False`, otherwise the
    features and the tiled embedding joined to (batch, h, w, C + E).
    """

    def __init__(self, concatenate=True, **kwargs):
        super().__init__(**kwargs)
        self.concatenate = concatenate

    def call(self, inputs):
        features, embedding = inputs
        grid_shape = ops.shape(features)
        tiled = ops.broadcast_to(
            embedding[:, None, None, :],
            (grid_shape[0], grid_shape[1], grid_shape[2], ops.shape(embedding)[-1]),
        )
        tiled = ops.cast(tiled, features.dtype)
        if not self.concatenate:
            return tiled
        return ops.concatenate([features, tiled], axis=-1)

    def compute_output_shape(self, input_shapes):
        features_shape, embedding_shape = input_shapes
        channels = embedding_shape[-1]
        if self.concatenate:
            channels = None if features_shape[-1] is None or channels is None else (
                features_shape[-1] + channels
            )
        return (*features_shape[:-1], channels)

    def get_config(self):
        return {**super().get_config(), "concatenate": self.concatenate}


@keras.saving.register_keras_serializable(package="colornet")
class PadToMultiple(keras.layers.Layer):
    """(B, H, W, C) → (B, H', W', C), mirror-padded at the bottom and right to multiples of
    `multiple` (the same photo, so nothing shifts; `CropLike` cuts it back). A side shorter
    than its padding (a 9-pixel strip padded to 32) is mirrored back and forth again."""

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, images):
        # ops.pad's "symmetric" mode cannot pad a side by more than its own length.
        return self._mirror(self._mirror(images, 1), 2)

    def _mirror(self, images, axis):
        length = ops.shape(images)[axis]
        index = ops.arange(length + (-length) % self.multiple) % (2 * length)
        return ops.take(images, ops.where(index < length, index, 2 * length - 1 - index),
                        axis=axis)

    def compute_output_shape(self, input_shape):
        def padded(side):
            return None if side is None else side + (-side) % self.multiple
        return (input_shape[0], padded(input_shape[1]), padded(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="colornet")
class CropLike(keras.layers.Layer):
    """Call with [images, reference]: images cut to the reference's height and width."""

    def call(self, inputs):
        images, reference = inputs
        return images[:, : ops.shape(reference)[1], : ops.shape(reference)[2], :]

    def compute_output_shape(self, input_shapes):
        images, reference = input_shapes
        return (images[0], reference[1], reference[2], images[3])
