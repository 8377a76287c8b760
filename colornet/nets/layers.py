"""Layers the networks share: `FuseEmbedding`, the final version's fusion of a whole photo's
embedding into every cell of a feature grid, which the pretrained U-Net uses too.

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
