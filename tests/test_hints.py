"""Colour hints (issue 30): parsing and checking a user's hints (colornet.io.hints), Zhang et
al.'s simulated hints, the hint maps at any working size and a reference photo's global hint
(colornet.nets.hints). Numpy only: no network is built here."""

import json

import numpy as np
import pytest

from colornet import color
from colornet.io import hints as hint_input
from colornet.nets import hints, zhang

RED = (192 / 255, 48 / 255, 32 / 255)  # #c03020


# ---------------------------------------------------------------------------------------------
# Simulated hints, as Zhang et al.'s official code draws them


def test_the_number_of_points_is_geometric_one_sample_in_eight_has_none():
    rng = np.random.default_rng(0)
    counts = np.array([len(hints.simulate_points(64, 64, rng)) for _ in range(4000)])
    assert abs(np.mean(counts == 0) - 1 / 8) < 0.02  # binomial sd 0.005
    assert abs(counts.mean() - 7) < 0.5  # (1 - p) / p; sd of the mean 0.12
    # P(n) = (7/8)^n / 8: the share with exactly one point is 7/64.
    assert abs(np.mean(counts == 1) - 7 / 64) < 0.02


def test_patch_sides_are_uniform_from_one_to_nine_pixels():
    rng = np.random.default_rng(1)
    sides = [side for _ in range(300) for _, _, side in hints.simulate_points(64, 64, rng, 10)]
    frequencies = np.bincount(sides, minlength=10)[1:] / len(sides)
    assert set(sides) == set(range(1, 10))
    np.testing.assert_allclose(frequencies, 1 / 9, atol=0.015)


def test_positions_are_gaussian_around_the_centre_with_sigma_a_quarter_of_the_side():
    rng = np.random.default_rng(2)
    patches = [patch for _ in range(400)
               for patch in hints.simulate_points(200, 120, rng, 10, patch_sides=(5,))]
    tops, lefts = np.array([(top, left) for top, left, _ in patches]).T
    # Room for the corner: 200 - 5 + 1 = 196 rows, 116 columns; truncation takes 0.5 off.
    assert abs(tops.mean() - (196 / 2 - 0.5)) < 2.5 and abs(tops.std() - 196 / 4) < 3
    assert abs(lefts.mean() - (116 / 2 - 0.5)) < 1.5 and abs(lefts.std() - 116 / 4) < 2.5
    assert tops.min() >= 0 and tops.max() <= 195 and lefts.max() <= 115


def test_points_in_a_photo_smaller_than_a_patch_stay_inside_it():
    rng = np.random.default_rng(3)
    for top, left, side in hints.simulate_points(3, 2, rng, 50):
        assert side <= 2 and 0 <= top <= 3 - side and 0 <= left <= 2 - side


def test_each_hint_is_its_patchs_mean_ab_scaled_and_the_mask_marks_every_patch(rng):
    ab = rng.uniform(-100, 100, (48, 40, 2)).astype(np.float32)
    hint_ab, mask = hints.simulate_hints(ab, np.random.default_rng(7), points=6)
    patches = hints.simulate_points(48, 40, np.random.default_rng(7), 6)  # the same draws
    expected_mask = np.zeros((48, 40), bool)
    for top, left, side in patches:
        expected_mask[top:top + side, left:left + side] = True
    assert hint_ab.shape == (48, 40, 2) and mask.shape == (48, 40, 1)
    assert hint_ab.dtype == mask.dtype == np.float32
    np.testing.assert_array_equal(mask[..., 0], expected_mask)
    assert np.all(hint_ab[~expected_mask] == 0)
    top, left, side = patches[-1]  # the last one drawn is whole: nothing covers it
    mean = ab[top:top + side, left:left + side].reshape(-1, 2).mean(axis=0)
    np.testing.assert_allclose(hint_ab[top:top + side, left:left + side],
                               np.broadcast_to(mean / color.AB_SCALE, (side, side, 2)),
                               rtol=1e-5)


def test_simulated_hints_repeat_for_a_seed_and_differ_for_another():
    ab = np.random.default_rng(4).uniform(-50, 50, (32, 32, 2))
    first = hints.simulate_hints(ab, np.random.default_rng(11), points=8)
    again = hints.simulate_hints(ab, np.random.default_rng(11), points=8)
    other = hints.simulate_hints(ab, np.random.default_rng(12), points=8)
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])


def test_add_simulated_hints_reads_uint8_and_float_rgb_alike():
    rgb = np.random.default_rng(5).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    from_uint8 = hints.add_simulated_hints(rgb, np.random.default_rng(6), points=4)
    from_float = hints.add_simulated_hints(rgb / 255.0, np.random.default_rng(6), points=4)
    np.testing.assert_array_equal(from_uint8[1], from_float[1])
    np.testing.assert_allclose(from_uint8[0], from_float[0], atol=1e-4)
    joined = hints.join(*from_uint8)
    assert joined.shape == (24, 24, 3) and np.array_equal(joined[..., 2:], from_uint8[1])


# ---------------------------------------------------------------------------------------------
# A user's hints as maps at the working size


def test_hint_map_puts_each_hint_on_the_working_pixel_that_covers_it():
    hint_ab, mask = hints.hint_map([(240, 320, "#c03020"), (0, 0, RED), (479, 639, RED)],
                                   (480, 640), (192, 256))
    assert hint_ab.shape == (192, 256, 2) and mask.shape == (192, 256, 1)
    expected = np.zeros((192, 256), bool)
    expected[95:98, 127:130] = True  # (240.5 · 0.4, 320.5 · 0.4) = (96, 128), 3 × 3 around
    expected[0:2, 0:2] = True  # cut at the edges
    expected[190:192, 254:256] = True
    np.testing.assert_array_equal(mask[..., 0], expected)
    red_ab = np.asarray(color.rgb_to_lab(np.array(RED, np.float32)))[1:] / color.AB_SCALE
    np.testing.assert_allclose(hint_ab[expected], np.broadcast_to(red_ab, (expected.sum(), 2)),
                               atol=1e-6)
    assert np.all(hint_ab[~expected] == 0)


@pytest.mark.parametrize("photo_shape, working_shape", [
    ((1, 1), (1, 1)), ((37, 53), (37, 53)), ((3000, 17), (256, 1)), ((17, 3000), (1, 256)),
])
def test_hint_map_fits_any_photo_and_working_size(photo_shape, working_shape):
    corners = [(0, 0, "#ffffff"), (photo_shape[0] - 1, photo_shape[1] - 1, (0.0, 0.0, 1.0))]
    hint_ab, mask = hints.hint_map(corners, photo_shape, working_shape)
    assert hint_ab.shape == (*working_shape, 2) and mask.shape == (*working_shape, 1)
    assert mask[0, 0, 0] == 1 and mask[-1, -1, 0] == 1
    blue_ab = np.asarray(color.rgb_to_lab(np.array([0.0, 0.0, 1.0], np.float32)))[1:]
    np.testing.assert_allclose(hint_ab[-1, -1], blue_ab / color.AB_SCALE, atol=1e-6)


def test_hint_map_of_no_hints_is_all_zero():
    hint_ab, mask = hints.hint_map([], (10, 20), (5, 10))
    assert not hint_ab.any() and not mask.any() and mask.shape == (5, 10, 1)


@pytest.mark.parametrize("hint, message", [
    ((480, 5, RED), r"hint 1 \(480, 5, .*\) is outside the photo: y must be in \[0, 480\)"),
    ((5, -1, RED), r"hint 1 .* is outside the photo: x must be in \[0, 640\)"),
    ((float("nan"), 5, RED), "hint 1 .*: y must be a number, got nan"),
    ((True, 5, RED), "hint 1 .*: y must be a number, got True"),
    ((5, 5, "#c0302"), "hint 1 .*'s colour '#c0302' is not a colour: write it as #rrggbb"),
    ((5, 5, "red"), "hint 1 .*'s colour 'red' is not a colour"),
    ((5, 5, (1.0, 0.0)), "hint 1 .*'s colour has 2 numbers, where a colour has 3"),
    ((5, 5, (0.5, float("nan"), 0.0)), r"hint 1 .*'s colour \(0.5, nan, 0.0\) is not a colour"),
    ((5, 5, (2, 0, 0)), r"must be in \[0, 1\] \(for 0-255 values, write #rrggbb\)"),
    ((5, 5, None), "hint 1 .*'s colour None is not a colour"),
    ((5, 5), r"hint 1 \(\(5, 5\)\) is not \(y, x, colour\)"),
    ("5,5,#ffffff", "hint 1 .* is not \\(y, x, colour\\)"),
])
def test_a_wrong_hint_is_refused_in_one_line_naming_it(hint, message):
    with pytest.raises(hint_input.HintError, match=message) as error:
        hints.hint_map([hint], (480, 640), (192, 256))
    assert "\n" not in str(error.value)


def test_the_message_counts_the_hint_that_is_wrong():
    with pytest.raises(hint_input.HintError, match=r"^hint 2 \(9, 9, '#zz0000'\)"):
        hint_input.check_hints([(1, 1, "#000000"), (9, 9, "#zz0000")], (10, 10))
    with pytest.raises(hint_input.HintError, match="hints must be a list"):
        hint_input.check_hints("1,1,#000000", (10, 10))


def test_check_hints_gives_one_form_for_every_spelling():
    checked = hint_input.check_hints(
        [(1, 2, "#C03020"), (3.5, 4, np.array(RED)), (np.int64(5), 6, [0, 1, 0])], (10, 10))
    assert checked == [(1.0, 2.0, RED), (3.5, 4.0, RED), (5.0, 6.0, (0.0, 1.0, 0.0))]


# ---------------------------------------------------------------------------------------------
# The command line's --hint and hints files


def test_parse_hint_reads_y_x_and_a_hex_colour():
    assert hint_input.parse_hint("120,80,#c03020") == (120, 80, RED)
    assert hint_input.parse_hint(" 0, 7 ,#FFFFFF") == (0, 7, (1.0, 1.0, 1.0))


@pytest.mark.parametrize("text, message", [
    ("120,80", r"--hint '120,80' is not Y,X,#RRGGBB"),
    ("120,80,#c03020,1", "is not Y,X,#RRGGBB"),
    ("a,80,#c03020", "Y and X must be whole numbers of pixels"),
    ("1.5,80,#c03020", "Y and X must be whole numbers of pixels"),
    ("-1,80,#c03020", "cannot be negative"),
    ("1,80,c03020", r"--hint '1,80,c03020''s colour 'c03020' is not a colour"),
])
def test_parse_hint_refuses_a_malformed_hint_in_one_line(text, message):
    with pytest.raises(hint_input.HintError, match=message) as error:
        hint_input.parse_hint(text)
    assert "\n" not in str(error.value)


def test_a_hints_file_reads_colour_and_color(tmp_path):
    path = tmp_path / "hints.json"
    path.write_text(json.dumps([{"y": 120, "x": 80, "colour": "#c03020"},
                                {"x": 3, "y": 4, "color": [0, 0, 1]}]))
    assert hint_input.read_hints_file(path) == [(120, 80, RED), (4, 3, (0.0, 0.0, 1.0))]
    path.write_text("[]")
    assert hint_input.read_hints_file(path) == []


@pytest.mark.parametrize("text, message", [
    ('[{"y": 1, "x": 2, "colour": "#000000"},]', r"is not valid JSON: .* at line 1, column"),
    ('{"y": 1, "x": 2, "colour": "#000000"}', "must hold a JSON list of hints .* not a dict"),
    ('[[1, 2, "#000000"]]', r"hint 1 must be an object like"),
    ('[{"y": 1, "colour": "#000000"}]', "hint 1 has no 'x'"),
    ('[{"colour": "#000000"}]', "hint 1 has no 'y' and no 'x'"),
    ('[{"y": 1, "x": 2, "colour": "#000000"}, {"y": "12", "x": 2, "colour": "#000000"}]',
     "hint 2: 'y' must be a whole number of pixels from 0, got \"12\""),
    ('[{"y": 1.5, "x": 2, "colour": "#000000"}]', "'y' must be a whole number"),
    ('[{"y": 1, "x": 2, "colour": "#00000g"}]', r"hint 1's colour '#00000g' is not a colour"),
    ('[{"y": 1, "x": 2, "colour": 7}]', "hint 1's colour 7 is not a colour"),
    ('[{"y": 1, "x": 2, "colour": "#000000", "color": "#000000"}]', "both \"colour\" and"),
    ('[{"y": 1, "x": 2, "colour": "#000000", "size": 3}]', "unknown key 'size'"),
])
def test_a_bad_hints_file_is_refused_in_one_line_naming_the_file_and_entry(
        tmp_path, text, message):
    path = tmp_path / "hints.json"
    path.write_text(text)
    with pytest.raises(hint_input.HintError, match=message) as error:
        hint_input.read_hints_file(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_a_missing_hints_file_is_refused_in_one_line(tmp_path):
    with pytest.raises(hint_input.HintError, match="cannot read the hints file .*nothing.json"):
        hint_input.read_hints_file(tmp_path / "nothing.json")


# ---------------------------------------------------------------------------------------------
# A reference photo's global hint


def test_a_red_photos_reference_is_all_in_reds_bin_and_fully_saturated():
    red = np.zeros((100, 150, 3), np.uint8)
    red[..., 0] = 255
    reference = hints.reference_hint(red)
    bins = zhang.ab_bins()
    assert reference.shape == (len(bins) + 3,) == (hints.reference_length(),)
    red_ab = np.asarray(color.rgb_to_lab(np.array([1.0, 0.0, 0.0], np.float32)))[1:]
    nearest = np.argmin(((bins - red_ab) ** 2).sum(-1))
    assert reference[nearest] == pytest.approx(1.0) and reference[:-3].sum() == pytest.approx(1)
    np.testing.assert_allclose(reference[-3:], [1.0, 1.0, 1.0])


def test_a_reference_counts_each_colour_by_its_share_of_pixels():
    photo = np.full((40, 40, 3), 0.5, np.float32)  # grey, saturation 0
    photo[:10, :, :] = (0.0, 0.0, 1.0)  # a quarter blue, saturation 1
    reference = hints.reference_hint(photo)
    bins = zhang.ab_bins()
    grey_bin = np.argmin((bins ** 2).sum(-1))
    assert reference[grey_bin] == pytest.approx(0.75)
    assert reference[-2] == pytest.approx(0.25, abs=1e-6)
    np.testing.assert_allclose(hints.reference_hint((photo * 255).round().astype(np.uint8)),
                               reference, atol=1e-6)


def test_a_large_reference_is_shrunk_and_a_tiny_one_kept():
    large = np.random.default_rng(8).uniform(0, 1, (900, 600, 3)).astype(np.float32)
    assert hints.reference_hint(large)[:-3].sum() == pytest.approx(1.0)
    assert hints.reference_hint(large[:1, :1])[:-3].max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"must be RGB \(H, W, 3\), got shape \(4, 4\)"):
        hints.reference_hint(large[:4, :4, 0])


def test_no_reference_is_zeros_and_dropping_zeroes_each_part_with_its_flag():
    reference = hints.reference_hint(np.full((8, 8, 3), (0.2, 0.6, 0.3), np.float32))
    assert not hints.no_reference().any() and len(hints.no_reference()) == len(reference)
    rng = np.random.default_rng(9)
    np.testing.assert_array_equal(hints.drop_reference(reference, rng, keep=1.0), reference)
    assert not hints.drop_reference(reference, rng, keep=0.0).any()
    kept = [hints.drop_reference(reference, rng) for _ in range(400)]
    histogram_kept = np.mean([each[-3] == 1 for each in kept])
    saturation_kept = np.mean([each[-1] == 1 for each in kept])
    assert abs(histogram_kept - 0.5) < 0.1 and abs(saturation_kept - 0.5) < 0.1
    assert all(each[:-3].any() == (each[-3] == 1) for each in kept)
