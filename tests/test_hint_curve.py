"""The hint measurement (issue 30 item 6): `hint_scores`' fixed protocol, `evaluate_folder` with
simulated hints and a reference, and benchmarks/hint_curve.py's figures, on an untrained
hint-aware model (its hint layers given random weights, so hints change its output) and two
synthetic photos: a contract, not a measurement.
"""

import json
import pathlib
import sys

import numpy as np
import pytest

from colornet.apps import colorize, evaluation, hint_scores
from colornet.io import decode
from tests import factories

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import hint_curve  # noqa: E402  (benchmarks/ is not a package)


@pytest.fixture(scope="module")
def hint_model():
    return factories.random_hint_colorizer()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return factories.write_photos(tmp_path_factory.mktemp("held_out"), 2)


def test_the_protocols_hints_of_a_longer_sweep_contain_a_shorter_ones():
    ab = np.random.default_rng(1).uniform(-60, 60, (50, 70, 2))
    few = hint_scores.simulated_hint_input(ab, (40, 56), 5, hint_scores.rng_for(3))
    many = hint_scores.simulated_hint_input(ab, (40, 56), 10, hint_scores.rng_for(3))
    assert few.shape == (40, 56, 3) and few[..., 2].sum() > 0
    assert np.all(many[..., 2][few[..., 2] == 1] == 1)
    again = hint_scores.simulated_hint_input(ab, (40, 56), 5, hint_scores.rng_for(3))
    np.testing.assert_array_equal(few, again)  # the seed fixes it
    assert not np.array_equal(few, hint_scores.simulated_hint_input(
        ab, (40, 56), 5, hint_scores.rng_for(4)))  # each photo its own


def test_no_simulated_hint_colorizes_as_colorize_does_and_hints_change_it(hint_model, photos):
    original = decode.load_rgb(photos / "000.png")
    plain = hint_scores.colorize_with_simulated_hints(hint_model, original, 0, 0)
    np.testing.assert_allclose(plain, colorize.colorize(hint_model, original), atol=1e-6)
    hinted = hint_scores.colorize_with_simulated_hints(hint_model, original, 10, 0)
    assert np.abs(hinted - plain).max() > 1e-3


def test_a_model_without_hints_refuses_simulated_ones():
    with pytest.raises(ValueError, match="this model was trained without hints"):
        hint_scores.colorize_with_simulated_hints(factories.constant_model(),
                                                  np.zeros((8, 8, 3), np.float32), 1, 0)


def test_the_curve_has_every_count_in_order_and_the_reference_effect(hint_model, photos,
                                                                      tmp_path):
    path = tmp_path / "hinted.keras"
    hint_model.save(path)
    args = hint_curve.parse_arguments([str(photos), "--model", str(path), "--counts", "5", "0",
                                       "1", "--plot", str(tmp_path / "curve.png")])
    figures = hint_curve.run(args)
    assert figures["counts"] == [0, 1, 5] and figures["photos"] == 2
    assert [row["points"] for row in figures["curve"]] == figures["counts"]
    for row in figures["curve"] + list(figures["reference"].values()):
        assert set(row) >= {"psnr", "ssim", "ab_error", "colourfulness", "delta_cf"}
        assert all(np.isfinite(value) for value in row.values())
    assert set(figures["reference"]) == {"own", "unrelated"}
    assert figures["zhang_2017"]["psnr_by_points"]["10"] == 28.4
    assert (tmp_path / "curve.png").stat().st_size > 0
    json.dumps(figures)  # printable as the other benchmarks' JSON

    # evaluate_folder with the same simulated hints scores the same.
    report = evaluation.evaluate_folder(hint_model, photos, tmp_path / "evaluation",
                                        hint_points=5, max_grid_images=0, progress=False)
    five = next(row for row in figures["curve"] if row["points"] == 5)
    assert report.means[evaluation.COLORIZED]["psnr"] == pytest.approx(five["psnr"])
    own = evaluation.evaluate_folder(hint_model, photos, tmp_path / "own", reference="own",
                                     max_grid_images=0, progress=False)
    assert own.means[evaluation.COLORIZED]["psnr"] == pytest.approx(
        figures["reference"]["own"]["psnr"])
    assert json.loads(report.json_path.read_text())["hint_points"] == 5


def test_the_default_counts_are_the_issues_sweep():
    assert hint_curve.parse_arguments([]).counts == [0, 1, 2, 5, 10, 20, 50, 100]
