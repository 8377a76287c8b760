"""Version 1 learns one photo's colours, and refuses what it cannot learn from."""

import numpy as np
import pytest

from colornet import color, metrics
from colornet.apps import colorize, single_image, single_job
from colornet.io import decode, geometry, greyness, save
from tests.factories import blobs_photo


@pytest.mark.slow
def test_version_1_learns_a_photo_and_beats_the_grey_baseline():
    photo = blobs_photo()
    run = single_image.train_single_image(
        photo, single_image.SingleImageConfig(steps=300), progress=False
    )
    assert len(run.losses) == 300
    assert run.losses[-1] < run.losses[0] / 20
    colorized = run.colorize()
    grey = metrics.grey_baseline(photo)
    assert metrics.psnr(photo, colorized) > metrics.psnr(photo, grey) + 6


def test_fit_size_keeps_aspect_and_divides_by_8():
    assert geometry.fit_size((512, 512, 3), 256) == (256, 256)
    assert geometry.fit_size((300, 451, 3), 256) == (168, 256)
    assert geometry.fit_size((20, 20, 3), 256) == (16, 16)  # never upscaled, rounded to 8
    assert geometry.fit_size((9, 4000, 3), 256) == (8, 256)


def test_a_grey_photo_is_refused_with_a_clear_error():
    grey = np.repeat(np.linspace(0, 1, 32 * 32).reshape(32, 32, 1), 3, axis=-1)
    with pytest.raises(ValueError, match=r"grey\.png is grey .*colour photo"):
        single_image.train_single_image(grey, progress=False, name="grey.png")


@pytest.mark.parametrize("shape", [(1, 1, 3), (4, 30, 3)])
def test_a_photo_smaller_than_8_pixels_is_refused(shape):
    with pytest.raises(ValueError, match="too small"):
        single_image.train_single_image(np.ones(shape) * [1, 0, 0], progress=False)


def test_a_non_rgb_array_is_refused():
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        single_image.train_single_image(np.zeros((32, 32)), progress=False)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"steps": 0}, "steps"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"image_size": 4}, "image_size"),
    ],
)
def test_bad_config_values_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        single_image.SingleImageConfig(**arguments)


def test_a_trained_run_colorizes_other_sizes_at_full_resolution():
    run = single_image.train_single_image(
        blobs_photo(), single_image.SingleImageConfig(steps=2), progress=False
    )
    big = np.random.default_rng(0).random((77, 131, 3)).astype(np.float32)
    colorized = run.colorize(big)
    assert colorized.shape == big.shape
    # The lightness is the input's own, pixel for pixel, wherever the colour is inside the
    # sRGB gamut (clipping at the gamut's edge moves L a little).
    inside = (colorized > 0.001).all(-1) & (colorized < 0.999).all(-1)
    assert inside.mean() > 0.9
    np.testing.assert_allclose(
        color.rgb_to_lab(colorized)[inside, 0], color.rgb_to_lab(big)[inside, 0], atol=0.5
    )
    assert colorize.colorize(run.model, big).shape == big.shape


def test_a_sepia_print_is_refused_as_training_and_prepare_refuse_it():
    # One definition of "too grey to learn from" (colornet.io.greyness) for single, train, prepare.
    ramp = np.linspace(0, 1, 64 * 64).reshape(64, 64, 1)
    sepia = np.clip(ramp * np.array([1.0, 0.85, 0.65]), 0, 1)
    assert greyness.is_grey(sepia)
    with pytest.raises(ValueError, match=r"sepia\.png is grey \(or near-grey, or a single tint"):
        single_image.train_single_image(sepia, progress=False, name="sepia.png")


def test_the_single_workflow_is_a_library_call_that_writes_its_files_and_returns_a_report(
    tmp_path,
):
    """What `colornet single` does, from Python: the command line only prints the report."""
    photo = save.save_image(tmp_path / "blobs.png", blobs_photo())
    report = single_job.train_and_colorize(
        photo, tmp_path / "out" / "blobs.png", save_model=tmp_path / "v1.keras",
        config=single_image.SingleImageConfig(steps=2), progress=False,
    )
    assert report.output.is_file() and report.model_path.is_file()
    assert report.figure == tmp_path / "out" / "blobs_comparison.png" and report.figure.is_file()
    assert len(report.run.losses) == 2 and report.scored_size is None
    assert report.scores["psnr"] == pytest.approx(
        metrics.psnr(decode.load_rgb(photo), report.run.colorize(decode.load_rgb(photo)))
    )
    lines = report.summary().splitlines()
    assert lines[0].startswith("trained 2 steps in ") and lines[1].startswith("colorized: PSNR ")
    assert lines[2] == f"wrote {report.output} and {report.figure} and {report.model_path}"
