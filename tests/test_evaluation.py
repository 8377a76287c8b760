"""Scores against hand-computed values and scikit-image."""

import csv
import json
import warnings

import numpy as np
import pytest
import skimage.color

from colornet import color, metrics
from colornet.apps import colorize, evaluation
from colornet.io import decode, save
from colornet.nets import models
from tests.factories import colour_photo, constant_model


def test_psnr_matches_the_formula_by_hand():
    reference = np.zeros((4, 4, 3))
    result = np.full((4, 4, 3), 0.1)
    assert metrics.psnr(reference, result) == pytest.approx(10 * np.log10(1 / 0.01))


def test_ssim_is_one_for_identical_images_and_lower_otherwise():
    image = np.random.default_rng(0).random((32, 32, 3))
    assert metrics.ssim(image, image) == pytest.approx(1.0)
    assert metrics.ssim(image, image[::-1]) < 0.5


def test_ssim_works_on_images_smaller_than_its_window():
    image = np.random.default_rng(0).random((3, 5, 3))
    assert metrics.ssim(image, image) == pytest.approx(1.0)


def test_grey_baseline_keeps_lightness_and_drops_colour():
    rgb = np.random.default_rng(0).random((8, 8, 3))
    grey = metrics.grey_baseline(rgb)
    lab = skimage.color.rgb2lab(grey)
    np.testing.assert_allclose(lab[..., 0], skimage.color.rgb2lab(rgb)[..., 0], atol=1e-3)
    assert np.abs(lab[..., 1:]).max() < 0.01


def test_astronaut_grey_baseline_scores_17_9_db_as_the_issue_states():
    import skimage.data
    import skimage.transform

    rgb = skimage.transform.resize(skimage.data.astronaut(), (256, 256), anti_aliasing=True)
    assert metrics.psnr(rgb, metrics.grey_baseline(rgb)) == pytest.approx(17.9, abs=0.1)


def test_different_shapes_are_refused():
    with pytest.raises(ValueError, match="different shapes"):
        metrics.psnr(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))


# ---------------------------------------------------------------------------------------------
# Colourfulness (Hasler & Süsstrunk 2003)


def test_colourfulness_of_a_red_and_a_blue_pixel_matches_the_formula_by_hand():
    # red (255, 0, 0):  rg = 255, yb = (255 + 0)/2 - 0 = 127.5
    # blue (0, 0, 255): rg = 0,   yb = 0 - 255 = -255
    # μ_rg = 127.5, σ_rg = 127.5;  μ_yb = (127.5 - 255)/2 = -63.75, σ_yb = (127.5 + 255)/2 = 191.25
    # σ_rgyb = sqrt(127.5² + 191.25²) = 127.5 sqrt(3.25) = 229.854
    # μ_rgyb = sqrt(127.5² + 63.75²) = 127.5 sqrt(1.25) = 142.549
    # M = 229.854 + 0.3 · 142.549 = 272.619
    pixels = np.array([[[255, 0, 0], [0, 0, 255]]], dtype=np.uint8)
    expected = 127.5 * np.sqrt(3.25) + 0.3 * 127.5 * np.sqrt(1.25)
    assert metrics.colourfulness(pixels) == pytest.approx(expected)
    assert expected == pytest.approx(272.619, abs=1e-3)
    # Float RGB in [0, 1] is the same picture.
    assert metrics.colourfulness(pixels / 255.0) == pytest.approx(expected)


def test_colourfulness_is_the_papers_signed_formula_not_the_absolute_value_variant():
    # Half pure red, half pure green.
    # Paper: rg = +255 and -255 → μ_rg = 0, σ_rg = 255; yb = 127.5 twice → μ_yb = 127.5, σ_yb = 0
    #        M = sqrt(255² + 0²) + 0.3 · sqrt(0² + 127.5²) = 255 + 38.25 = 293.25
    # |R - G| variant: |rg| = 255 twice → μ = 255, σ = 0; |yb| = 127.5 twice → μ = 127.5, σ = 0
    #        M = 0 + 0.3 · sqrt(255² + 127.5²) = 0.3 · 285.099 = 85.53
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    image[:, :2, 0] = 255
    image[:, 2:, 1] = 255
    assert metrics.colourfulness(image) == pytest.approx(293.25)
    assert metrics.colourfulness(image) != pytest.approx(85.53, abs=1.0)


def test_colourfulness_of_any_grey_image_is_zero(rng):
    levels = rng.random((16, 24, 1))
    assert metrics.colourfulness(np.repeat(levels, 3, axis=-1)) == pytest.approx(0.0, abs=1e-9)


def test_colourfulness_refuses_an_image_that_is_not_rgb():
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        metrics.colourfulness(np.zeros((4, 4)))


# ---------------------------------------------------------------------------------------------
# ab error and ab accuracy AuC (Zhang, Isola & Efros 2016)


def rgb_of_lab(lightness, a, b, shape=(6, 8)):
    """float32 RGB (H, W, 3) of one Lab colour everywhere."""
    return color.lab_to_rgb(np.broadcast_to(np.array([lightness, a, b], np.float32), (*shape, 3)))


def test_a_constant_ab_offset_of_10_5_gives_that_error_and_an_auc_of_140_over_151():
    # Grey against (a, b) = (6.3, 8.4): distance sqrt(6.3² + 8.4²) = 10.5 at every pixel.
    # Thresholds t = 0..150: the share within t is 0 for t = 0..10 (11 values) and 1 for
    # t = 11..150 (140 values), so AuC = 140 / 151.
    reference, result = rgb_of_lab(50, 0, 0), rgb_of_lab(50, 6.3, 8.4)
    assert metrics.ab_error(reference, result) == pytest.approx(10.5, abs=0.01)
    assert metrics.ab_accuracy_auc(reference, result) == pytest.approx(140 / 151)
    # With thresholds 0..20 only: 0 for t = 0..10, 1 for t = 11..20, so 10 / 21.
    assert metrics.ab_accuracy_auc(reference, result, max_threshold=20) == pytest.approx(10 / 21)


def test_half_the_pixels_exact_and_half_off_by_10_5_gives_half_the_error_and_auc_by_hand():
    # Exact pixels count at every threshold; the others from t = 11 on:
    # AuC = (11 · 0.5 + 140 · 1) / 151 = 145.5 / 151.
    reference = rgb_of_lab(50, 0, 0)
    result = reference.copy()
    result[:, 4:] = rgb_of_lab(50, 6.3, 8.4)[:, 4:]
    assert metrics.ab_error(reference, result) == pytest.approx(5.25, abs=0.01)
    assert metrics.ab_accuracy_auc(reference, result) == pytest.approx(145.5 / 151)


def test_auc_is_one_for_exact_colour_and_zero_for_errors_beyond_150():
    green, magenta = rgb_of_lab(60, -90, 80), rgb_of_lab(60, 95, -60)  # about 235 apart
    assert metrics.ab_accuracy_auc(green, green) == 1.0
    assert metrics.ab_error(green, magenta) > 150
    assert metrics.ab_accuracy_auc(green, magenta) == 0.0


def test_ab_error_matches_scikit_image_lab(rng):
    reference, result = rng.random((12, 10, 3)), rng.random((12, 10, 3))
    difference = skimage.color.rgb2lab(result)[..., 1:] - skimage.color.rgb2lab(reference)[..., 1:]
    expected = np.sqrt((difference**2).sum(-1)).mean()
    assert metrics.ab_error(reference, result) == pytest.approx(expected, rel=1e-4)


def test_auc_refuses_a_threshold_that_is_not_a_positive_int():
    image = rgb_of_lab(50, 0, 0)
    with pytest.raises(ValueError, match="max_threshold"):
        metrics.ab_accuracy_auc(image, image, max_threshold=0)


# ---------------------------------------------------------------------------------------------
# The mean-ab baseline


def write_lab_photo(path, lightness, a, b, shape):
    return save.save_image(path, rgb_of_lab(lightness, a, b, shape))


def test_mean_ab_of_averages_each_photo_once_whatever_its_size(tmp_path):
    small = write_lab_photo(tmp_path / "small.png", 60, 20, -10, (10, 20))
    large = write_lab_photo(tmp_path / "large.png", 60, -10, 30, (30, 40))
    # Each photo counts once: ((20 - 10)/2, (-10 + 30)/2) = (5, 10). Weighted by pixels
    # (200 and 1200) a would be -5.7. Saving as 8-bit moves ab by well under 1.
    np.testing.assert_allclose(evaluation.mean_ab_of([small, large]), [5.0, 10.0], atol=1.0)


def test_mean_ab_of_skips_an_unreadable_photo_with_a_warning_naming_it(tmp_path):
    photo = write_lab_photo(tmp_path / "photo.png", 60, 20, -10, (8, 8))
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.warns(UserWarning, match="empty.png"):
        mean_ab = evaluation.mean_ab_of([photo, empty])
    np.testing.assert_allclose(mean_ab, [20.0, -10.0], atol=1.0)
    with pytest.raises(ValueError, match="no readable photos"):
        with pytest.warns(UserWarning):
            evaluation.mean_ab_of([empty])
    with pytest.raises(ValueError, match="list of photo paths"):
        evaluation.mean_ab_of(tmp_path)


def test_mean_ab_baseline_has_the_photos_lightness_and_the_given_ab():
    rgb = 0.3 + 0.4 * np.random.default_rng(0).random((6, 8, 3))  # mid-tones: stays in gamut
    baseline = metrics.mean_ab_baseline(rgb, (12.0, -8.0))
    lab = color.rgb_to_lab(baseline)
    np.testing.assert_allclose(lab[..., 0], color.rgb_to_lab(rgb)[..., 0], atol=0.05)
    np.testing.assert_allclose(lab[..., 1], 12.0, atol=0.05)
    np.testing.assert_allclose(lab[..., 2], -8.0, atol=0.05)


# ---------------------------------------------------------------------------------------------
# A whole folder


@pytest.fixture
def test_photos(tmp_path):
    """DATA_DIR with 3 colour photos of different sizes (one in a subfolder), a grey photo and
    a truncated PNG."""
    folder = tmp_path / "test"
    save.save_image(folder / "a.png", colour_photo(1, 24, 32))
    save.save_image(folder / "b.png", colour_photo(2, 40, 30))
    save.save_image(folder / "trip" / "c.png", colour_photo(3, 33, 47))
    grey = colour_photo(4, 20, 20).mean(axis=-1)
    save.save_image(folder / "grey.png", np.repeat(grey[..., None], 3, axis=-1))
    content = (folder / "a.png").read_bytes()
    (folder / "broken.png").write_bytes(content[: len(content) // 2])
    return folder


def test_evaluate_folder_writes_the_table_and_the_picture_and_skips_broken_and_grey(
    tmp_path, test_photos
):
    model = constant_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = evaluation.evaluate_folder(
            model, test_photos, tmp_path / "out", mean_ab=(5.0, -3.0), progress=False
        )
    messages = [str(warning.message) for warning in caught]
    assert any("broken.png" in message for message in messages)
    assert any("1 grey photo" in message and "grey.png" in message for message in messages)
    assert [path.name for path, _ in report.unreadable] == ["broken.png"]
    assert [path.name for path in report.grey] == ["grey.png"]

    # The CSV: every photo with every method, then a mean row per method.
    with open(tmp_path / "out" / "scores.csv", newline="") as file:
        reader = csv.DictReader(file)
        assert tuple(reader.fieldnames) == evaluation.COLUMNS
        table = list(reader)
    methods = ["colorized", "grey", "mean_ab"]
    expected_keys = [(image, method) for image in ("a.png", "b.png", "trip/c.png")
                     for method in methods] + [("mean", method) for method in methods]
    assert [(row["image"], row["method"]) for row in table] == expected_keys

    # The JSON holds the same rows, the settings and the skipped photos.
    saved = json.loads((tmp_path / "out" / "scores.json").read_text())
    assert [(row["image"], row["method"]) for row in saved["rows"]] == expected_keys
    assert saved["mean_ab"] == [5.0, -3.0]
    assert saved["skipped_grey"] == ["grey.png"]
    assert saved["skipped_unreadable"][0]["file"] == "broken.png"
    for csv_row, json_row in zip(table, saved["rows"]):
        for name in evaluation.SCORES:
            assert float(csv_row[name]) == pytest.approx(json_row[name], rel=1e-5)

    assert (tmp_path / "out" / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [path for path in (tmp_path / "out").iterdir() if path.name.startswith(".")]

    # The numbers are those of the metric functions on the same photo.
    original = decode.load_rgb(test_photos / "trip" / "c.png")
    results = {
        "colorized": colorize.colorize(model, original),
        "grey": metrics.grey_baseline(original),
        "mean_ab": metrics.mean_ab_baseline(original, (5.0, -3.0)),
    }
    for method, result in results.items():
        row = next(r for r in saved["rows"] if r["image"] == "trip/c.png" and r["method"] == method)
        assert row["psnr"] == pytest.approx(metrics.psnr(original, result), rel=1e-5)
        assert row["ssim"] == pytest.approx(metrics.ssim(original, result), rel=1e-5)
        assert row["ab_error"] == pytest.approx(metrics.ab_error(original, result), rel=1e-5)
        assert row["auc"] == pytest.approx(metrics.ab_accuracy_auc(original, result), rel=1e-5)
        assert row["colourfulness"] == pytest.approx(metrics.colourfulness(result), rel=1e-5)
        assert row["original_colourfulness"] == pytest.approx(metrics.colourfulness(original))

    # The mean rows average the photos, and the grey baseline has no colour.
    colorized_rows = [r for r in report.rows if r["method"] == "colorized" and r["image"] != "mean"]
    assert report.means["colorized"]["psnr"] == pytest.approx(
        np.mean([r["psnr"] for r in colorized_rows])
    )
    assert report.means["grey"]["colourfulness"] == pytest.approx(0.0, abs=0.5)
    summary = report.summary()
    assert "3 photos scored" in summary and "1 grey" in summary and "1 unreadable" in summary


def test_evaluate_folder_takes_the_mean_ab_from_the_colour_photos_of_train_dir(
    tmp_path, test_photos
):
    train = tmp_path / "train"
    # Two photos of two hues each (one tint would count as grey): mean ab (10, 20) and
    # (20, -10), so (15, 5) over the photos. A grey photo, which training skips, is left out.
    for name, (left, right) in {
        "one.png": ((30, 20), (-10, 20)),
        "two.png": ((20, -30), (20, 10)),
    }.items():
        rgb = rgb_of_lab(60, *left, (16, 16))
        rgb[:, 8:] = rgb_of_lab(60, *right, (16, 8))
        save.save_image(train / name, rgb)
    save.save_image(train / "grey.png", np.full((16, 16, 3), 0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = evaluation.evaluate_folder(
            constant_model(), test_photos, tmp_path / "out", train_dir=train,
            max_grid_images=0, progress=False,
        )
    np.testing.assert_allclose(report.mean_ab, [15.0, 5.0], atol=1.0)
    assert report.figure_path is None and not (tmp_path / "out" / "comparison.png").exists()
    assert {row["method"] for row in report.rows} == {"colorized", "grey", "mean_ab"}


@pytest.mark.slow
def test_evaluate_folder_works_with_the_final_colorizer_loaded_from_a_path(tmp_path, test_photos):
    model = models.colorizer(image_size=32, backbone="mobilenet_v3_small", backbone_weights=None)
    model.save(tmp_path / "colorizer.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = evaluation.evaluate_folder(
            tmp_path / "colorizer.keras", test_photos, tmp_path / "out", progress=False
        )
    assert {row["method"] for row in report.rows} == {"colorized", "grey"}  # no mean-ab given
    assert "no mean-ab baseline" in report.summary()
    assert np.isfinite(report.means["colorized"]["psnr"])


def test_evaluate_folder_refuses_bad_folders_and_arguments(tmp_path, test_photos):
    model = constant_model()
    with pytest.raises(decode.ImageError, match="folder not found"):
        evaluation.evaluate_folder(model, tmp_path / "missing", tmp_path / "out", progress=False)
    with pytest.raises(ValueError, match="inside data_dir"):
        evaluation.evaluate_folder(model, test_photos, test_photos / "scores", progress=False)
    with pytest.raises(ValueError, match="not both"):
        evaluation.evaluate_folder(
            model, test_photos, tmp_path / "out", mean_ab=(0, 0), train_dir=test_photos
        )
    with pytest.raises(ValueError, match="mean_ab must be two finite numbers"):
        evaluation.evaluate_folder(model, test_photos, tmp_path / "out", mean_ab=(0, np.nan))
    only_grey = tmp_path / "only_grey"
    save.save_image(only_grey / "grey.png", np.full((8, 8, 3), 0.5))
    with pytest.raises(ValueError, match="no colour photos to score"):
        with pytest.warns(UserWarning, match="grey"):
            evaluation.evaluate_folder(model, only_grey, tmp_path / "out", progress=False)
