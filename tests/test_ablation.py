"""The fusion uses what the classifier knows: trained with the real EfficientNet-Lite0
embedding, the final version colours held-out crops far better than the same model fed a
constant embedding, on crops whose colour follows from which photo they come from
(`colornet.apps.ablation` says how the data is made).
"""

import numpy as np
import pytest

from colornet.apps import ablation


def test_tinted_crops_take_their_lightness_from_the_photo_and_their_colour_from_the_class():
    crops = ablation.tinted_crops(3, image_size=16, seed=0)
    again = ablation.tinted_crops(3, image_size=16, seed=0)
    other = ablation.tinted_crops(3, image_size=16, seed=1)
    assert crops.lightness.shape == (12, 16, 16) and crops.ab.shape == (12, 16, 16, 2)
    np.testing.assert_array_equal(crops.lightness, again.lightness)
    assert not np.allclose(crops.lightness, other.lightness)
    tints = ablation.class_tints()
    np.testing.assert_allclose(np.linalg.norm(tints, axis=-1), ablation.TINT_CHROMA, rtol=1e-6)
    np.testing.assert_allclose(tints.mean(axis=0), 0.0, atol=1e-5)  # the mean colour is grey
    for label in range(4):
        assert np.all(crops.ab[crops.labels == label] == tints[label])
    assert crops.lightness.std() > 5.0  # real photo content, not flat


@pytest.mark.slow
def test_real_embedding_beats_a_constant_one_on_held_out_crops(keras_home):
    train = ablation.tinted_crops(16, image_size=32, seed=0)
    held_out = ablation.tinted_crops(8, image_size=32, seed=1)
    result = ablation.fusion_ablation(
        train, held_out, ablation.embed_crops(train), ablation.embed_crops(held_out), epochs=10
    )
    # Without the embedding the model cannot tell the four tints apart and predicts about
    # grey, whose mean is the tints' mean; with it, it colours each crop with its tint.
    assert result.constant_embedding_psnr < result.grey_psnr + 2.0
    assert result.margin_db > 6.0, result.summary()
