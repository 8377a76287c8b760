"""Scores against hand-computed values and scikit-image."""

import numpy as np
import pytest
import skimage.color

from colornet import evaluation


def test_psnr_matches_the_formula_by_hand():
    reference = np.zeros((4, 4, 3))
    result = np.full((4, 4, 3), 0.1)
    assert evaluation.psnr(reference, result) == pytest.approx(10 * np.log10(1 / 0.01))


def test_ssim_is_one_for_identical_images_and_lower_otherwise():
    image = np.random.default_rng(0).random((32, 32, 3))
    assert evaluation.ssim(image, image) == pytest.approx(1.0)
    assert evaluation.ssim(image, image[::-1]) < 0.5


def test_ssim_works_on_images_smaller_than_its_window():
    image = np.random.default_rng(0).random((3, 5, 3))
    assert evaluation.ssim(image, image) == pytest.approx(1.0)


def test_grey_baseline_keeps_lightness_and_drops_colour():
    rgb = np.random.default_rng(0).random((8, 8, 3))
    grey = evaluation.grey_baseline(rgb)
    lab = skimage.color.rgb2lab(grey)
    np.testing.assert_allclose(lab[..., 0], skimage.color.rgb2lab(rgb)[..., 0], atol=1e-3)
    assert np.abs(lab[..., 1:]).max() < 0.01


def test_astronaut_grey_baseline_scores_17_9_db_as_the_issue_states():
    import skimage.data
    import skimage.transform

    rgb = skimage.transform.resize(skimage.data.astronaut(), (256, 256), anti_aliasing=True)
    assert evaluation.psnr(rgb, evaluation.grey_baseline(rgb)) == pytest.approx(17.9, abs=0.1)


def test_different_shapes_are_refused():
    with pytest.raises(ValueError, match="different shapes"):
        evaluation.psnr(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))
