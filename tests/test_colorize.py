"""Colorizing keeps the input's lightness and size, whatever the size."""

import os
import warnings

import keras
import numpy as np
import pytest

from colornet import color
from colornet.apps import colorize, jobs, ledger
from colornet.io import decode, geometry, modes, save
from colornet.nets import contract, models
from tests.factories import constant_model


def test_mirror_padding_reaches_a_multiple_of_8_and_remembers_the_size():
    padded, size = geometry.pad_to_multiple(np.arange(15.0).reshape(3, 5))
    assert padded.shape == (8, 8) and size == (3, 5)
    np.testing.assert_array_equal(padded[:3, :5], np.arange(15.0).reshape(3, 5))


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (8, 8), (250, 333)])
def test_predict_ab_returns_the_input_size_for_any_size(shape):
    ab = colorize.predict_ab(models.version_1(), np.full(shape, 50.0))
    assert ab.shape == (*shape, 2)
    assert np.abs(ab).max() <= color.AB_SCALE


def test_predicted_ab_is_scaled_back_by_128():
    ab = colorize.predict_ab(constant_model(), np.full((5, 9), 60.0))
    np.testing.assert_allclose(ab[..., 0], 0.3 * 128, rtol=1e-5)
    np.testing.assert_allclose(ab[..., 1], -0.2 * 128, rtol=1e-5)


def test_no_shift_padding_does_not_move_the_image():
    # A model that copies lightness into a: any shift from padding/cropping would show.
    lightness = keras.Input((None, None, 1), name="lightness")
    scaled = contract.scale_lightness()(lightness)
    copy = keras.layers.Concatenate()([scaled, keras.ops.zeros_like(scaled)])
    model = keras.Model(lightness, contract.ColourOutput("version_1", tiles=True)(copy))
    image = np.random.default_rng(0).uniform(0, 100, (13, 21)).astype(np.float32)
    ab = colorize.predict_ab(model, image)
    np.testing.assert_allclose(ab[..., 0], color.lightness_to_input(image) * 128, atol=1e-3)


def test_colorize_keeps_full_resolution_lightness_when_working_smaller():
    rgb = np.random.default_rng(0).random((90, 130, 3)).astype(np.float32)
    result = colorize.colorize(constant_model(), rgb, working_size=48)
    assert result.shape == rgb.shape
    result_lab, input_lab = color.rgb_to_lab(result), color.rgb_to_lab(rgb)
    # Same L wherever the constant colour stays inside the sRGB gamut (no clipping).
    inside = (result > 0.001).all(-1) & (result < 0.999).all(-1)
    assert inside.mean() > 0.5
    np.testing.assert_allclose(result_lab[inside, 0], input_lab[inside, 0], atol=0.05)
    np.testing.assert_allclose(result_lab[inside, 1], 0.3 * 128, atol=0.1)


def test_resizing_ab_is_smooth_not_blocky():
    ab = np.zeros((2, 2, 2), np.float32)
    ab[:, 1] = 100.0
    resized = geometry.resize_channels(ab, (2, 8))
    row = resized[0, :, 0]
    assert len(np.unique(np.round(row, 3))) > 2  # in-between values: interpolated
    assert np.all(np.diff(row) >= 0)


def test_predicted_ab_is_clipped_before_conversion():
    rgb = color.combine(np.full((2, 2), 50.0), np.full((2, 2, 2), 500.0))
    clipped = color.combine(np.full((2, 2), 50.0), np.full((2, 2, 2), 128.0))
    np.testing.assert_allclose(rgb, clipped)


def test_the_final_colorizer_runs_at_its_size_and_returns_the_input_size():
    model = models.colorizer(image_size=32, backbone="mobilenet_v3_small", backbone_weights=None)
    assert models.describe(model) == contract.Description("final", working_size=32)
    ab = colorize.predict_ab(model, np.full((2, 45, 70), 50.0))
    assert ab.shape == (2, 45, 70, 2)


def test_a_model_that_is_not_a_colorizer_is_refused_by_name():
    other = keras.Sequential(
        [keras.Input((4,), name="features"), keras.layers.Dense(2)], name="other",
    )
    with pytest.raises(ValueError, match="other is not a colornet colorizer"):
        colorize.predict_ab(other, np.zeros((8, 8)))


# --- photos in, photos out ------------------------------------------------------------------


def seeded_version_1(seed=3):
    keras.utils.set_random_seed(seed)
    return models.version_1()


def test_tiled_prediction_matches_whole_photo_prediction_without_seams():
    model = seeded_version_1()
    lightness = np.random.default_rng(0).uniform(0, 100, (200, 300)).astype(np.float32)
    lightness = geometry.resize_channels(geometry.resize_channels(lightness, (25, 38)), (200, 300))
    whole = colorize.predict_ab_tiled(model, lightness, tile=400, overlap=0)  # one tile
    tiled = colorize.predict_ab_tiled(model, lightness, tile=96, overlap=40)
    assert tiled.shape == (200, 300, 2)
    # Interior pixels see the same context either way; only the blend zones differ a little.
    assert np.abs(tiled - whole).mean() < 0.5
    assert np.abs(tiled - whole).max() < 8.0


def test_a_strip_thinner_than_the_overlap_is_tiled_along_its_length_only():
    model = seeded_version_1()
    lightness = np.random.default_rng(1).uniform(0, 100, (37, 1003)).astype(np.float32)
    whole = colorize.predict_ab_tiled(model, lightness, tile=1024, overlap=0)  # one tile
    tiled = colorize.predict_ab_tiled(model, lightness, tile=512, overlap=64)
    assert tiled.shape == (37, 1003, 2)
    assert np.abs(tiled - whole).mean() < 0.5


def test_tiles_cover_the_photo_and_never_leave_a_zero_weight():
    assert colornet_tile_starts(1000, 512, 64) == [0, 448, 488]
    assert colornet_tile_starts(300, 512, 64) == [0]
    ramp = colorize._ramp(16, 4)
    assert ramp.min() > 0 and ramp.max() == 1.0


def colornet_tile_starts(length, tile, overlap):
    starts = colorize._tile_starts(length, tile, overlap)
    covered = np.zeros(length, bool)
    for start in starts:
        covered[start : start + tile] = True
    assert covered.all()
    return starts


def test_bad_tile_settings_are_refused():
    with pytest.raises(ValueError, match="multiples of 8"):
        colorize.predict_ab_tiled(seeded_version_1(), np.zeros((16, 16)), tile=100, overlap=8)


def test_colorize_takes_one_array_a_batch_a_grey_image_or_a_path(tmp_path):
    model = constant_model()
    rgb = np.random.default_rng(0).random((20, 30, 3)).astype(np.float32)
    one = colorize.colorize(model, rgb)
    assert one.shape == (20, 30, 3)
    many = colorize.colorize(model, [rgb, rgb[:10]])
    assert [each.shape for each in many] == [(20, 30, 3), (10, 30, 3)]
    assert len(colorize.colorize(model, np.stack([rgb, rgb]))) == 2
    grey = (rgb.mean(-1) * 255).astype(np.uint8)
    assert colorize.colorize(model, grey).shape == (20, 30, 3)
    path = save.save_image(tmp_path / "photo.png", rgb)
    np.testing.assert_allclose(colorize.colorize(model, path), one, atol=0.01)


def write_photo(path, rgb=None, alpha=None):
    rgb = np.random.default_rng(len(str(path))).random((24, 40, 3)) if rgb is None else rgb
    save.save_image(path, rgb, alpha=alpha)
    return path


def test_colorize_files_keeps_names_sizes_folders_and_transparency(tmp_path):
    photos = tmp_path / "photos"
    write_photo(photos / "a.png")
    write_photo(photos / "trip" / "b.jpg")
    alpha = np.zeros((24, 40))
    alpha[:, 20:] = 1.0
    write_photo(photos / "logo.png", alpha=alpha)
    single = write_photo(tmp_path / "single.jpg")
    report = jobs.colorize_files(
        constant_model(), [photos, single], tmp_path / "out", progress=False,
    )
    assert not report.failed
    written = sorted(str(path.relative_to(tmp_path / "out")) for path in report.written)
    assert written == ["a.png", "logo.png", "single.jpg", "trip/b.jpg"]
    assert decode.load_rgb(tmp_path / "out" / "trip" / "b.jpg").shape == (24, 40, 3)
    _, kept_alpha = decode.load_rgb_and_alpha(tmp_path / "out" / "logo.png")
    np.testing.assert_allclose(kept_alpha, alpha, atol=1 / 255)


def test_semi_transparent_pixels_keep_their_own_lightness(tmp_path):
    rgb = np.full((24, 40, 3), 0.45)  # L* 48
    alpha = np.ones((24, 40))
    alpha[8:16] = 0.5  # a half-transparent band
    write_photo(tmp_path / "in" / "logo.png", rgb, alpha=alpha)
    for image_format in ("png", "jpg"):
        jobs.colorize_files(constant_model(), [tmp_path / "in"], tmp_path / image_format,
                                image_format=image_format, progress=False)
    written, written_alpha = decode.load_rgb_and_alpha(
        tmp_path / "png" / "logo.png", composite=False,
    )
    lightness = color.rgb_to_lightness(written)
    own_rgb = decode.load_rgb_and_alpha(tmp_path / "in" / "logo.png", composite=False)[0]
    own = color.rgb_to_lightness(own_rgb)
    np.testing.assert_allclose(lightness, own, atol=0.5)  # the band is not lightened
    np.testing.assert_allclose(written_alpha, alpha, atol=1 / 255)
    # What a viewer shows on white is the input as shown on white, alpha applied once (within
    # 1 L*: mixing a colour with white in sRGB moves its lightness a little from a grey's).
    on_white = color.rgb_to_lightness(modes.composite_on_white(written, written_alpha))
    input_on_white = color.rgb_to_lightness(decode.load_rgb(tmp_path / "in" / "logo.png"))
    np.testing.assert_allclose(on_white, input_on_white, atol=1.0)
    # A JPEG has no alpha: the photo as on white, once.
    jpeg = color.rgb_to_lightness(decode.load_rgb(tmp_path / "jpg" / "logo.jpg"))
    np.testing.assert_allclose(jpeg, on_white, atol=1.5)


def test_colorize_files_takes_globs_and_a_forced_format(tmp_path):
    for name in ("x1.png", "x2.png", "y.png"):
        write_photo(tmp_path / name)
    report = jobs.colorize_files(
        constant_model(), [str(tmp_path / "x*.png")], tmp_path / "out", image_format="jpg",
        progress=False,
    )
    assert sorted(path.name for path in report.written) == ["x1.jpg", "x2.jpg"]


def test_colorize_files_reports_broken_photos_and_goes_on(tmp_path):
    write_photo(tmp_path / "in" / "good.png")
    good_bytes = (tmp_path / "in" / "good.png").read_bytes()
    (tmp_path / "in" / "broken.png").write_bytes(good_bytes[: len(good_bytes) // 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reported once, in the report, not also as a warning
        report = jobs.colorize_files(
            constant_model(), [tmp_path / "in"], tmp_path / "out", progress=False,
        )
    assert [path.name for path in report.written] == ["good.png"]
    assert [path.name for path, _ in report.failed] == ["broken.png"]
    assert "broken.png" in report.summary()


def test_colorize_files_reports_the_photos_that_have_colour(tmp_path):
    write_photo(tmp_path / "in" / "colour.png")
    grey = decode.load_rgb(tmp_path / "in" / "colour.png").mean(axis=-1)
    save.save_image(tmp_path / "in" / "grey.png", grey)
    report = jobs.colorize_files(constant_model(), [tmp_path / "in"], tmp_path / "out",
                                 progress=False)
    assert [path.name for path in report.coloured] == ["colour.png"]
    assert report.colour_note() == (
        "colour.png has colour (a tint such as sepia, or colours): only its lightness is used"
    )
    assert "colour" not in report.summary()  # the note is the command's to print, or not


def _times(folder):
    """{output name: modification time in ns} of the photos in `folder`."""
    return {path.name: path.stat().st_mtime_ns for path in folder.glob("*.png")}


def _change(photo, seed):
    """Another photo under the same name, with a time of its own however coarse the clock."""
    save.save_image(photo, np.random.default_rng(seed).random((16, 48, 3)))
    later = photo.stat().st_mtime_ns + 10**9
    os.utime(photo, ns=(later, later))


def test_a_rerun_skips_what_an_earlier_run_completed_and_redoes_a_changed_photo(tmp_path):
    for name in ("a.png", "b.png", "c.png"):
        write_photo(tmp_path / "in" / name)
    out = tmp_path / "out"
    first = jobs.colorize_files(constant_model(), [tmp_path / "in"], out, progress=False,
                                skip_complete=True)
    assert len(first.written) == 3 and first.skipped == []
    written = _times(out)
    again = jobs.colorize_files(constant_model(), [tmp_path / "in"], out, progress=False,
                                skip_complete=True)
    assert again.written == [] and sorted(path.name for path in again.skipped) == [
        "a.png", "b.png", "c.png"
    ]
    assert "skipped 3 photos an earlier run colorized" in again.summary()
    assert _times(out) == written  # not rewritten
    _change(tmp_path / "in" / "b.png", seed=7)
    third = jobs.colorize_files(constant_model(), [tmp_path / "in"], out, progress=False,
                                skip_complete=True)
    assert [path.name for path in third.written] == ["b.png"]
    assert decode.load_rgb(out / "b.png").shape == (16, 48, 3)
    assert {name: time for name, time in _times(out).items() if name != "b.png"} == {
        name: time for name, time in written.items() if name != "b.png"
    }


def test_presence_alone_is_not_completeness(tmp_path):
    for name in ("a.png", "b.png"):
        write_photo(tmp_path / "in" / name)
    out = tmp_path / "out"
    jobs.colorize_files(constant_model(), [tmp_path / "in"], out, progress=False,
                        skip_complete=True)
    record = out / jobs.COMPLETED_RECORD
    # What a kill leaves: b's completion cut short as it was written (its claim is whole).
    *earlier, last = record.read_text().splitlines()
    record.write_text("\n".join([*earlier, last[: len(last) // 2]]))
    report = jobs.colorize_files(constant_model(), [tmp_path / "in"], out, progress=False,
                                 skip_complete=True)
    assert [path.name for path in report.written] == ["b.png"]  # redone, not refused
    # An output of the same name that the record does not describe, a.png replaced by hand,
    # is neither complete nor colornet's to replace.
    save.save_image(out / "a.png", np.zeros((4, 4, 3)))
    with pytest.raises(ledger.OutputTaken, match=r"a\.png is already there .*--overwrite"):
        jobs.colorize_files(constant_model(), [tmp_path / "in"], out, progress=False,
                            skip_complete=True)
    assert decode.load_rgb(out / "a.png").shape == (4, 4, 3)
    report = jobs.colorize_files(constant_model(), [tmp_path / "in"], out, progress=False,
                                 skip_complete=False, overwrite=True)
    assert sorted(path.name for path in report.written) == ["a.png", "b.png"]
    assert decode.load_rgb(out / "a.png").shape == (24, 40, 3)
    again = jobs.colorize_files(constant_model(), [tmp_path / "in"], out, progress=False,
                                skip_complete=True)
    assert again.written == [] and len(again.skipped) == 2
    assert len(record.read_text().splitlines()) == 2  # compacted: one line an output


def test_another_model_or_setting_or_skip_complete_false_colorizes_again(tmp_path):
    write_photo(tmp_path / "in" / "a.png")
    out = tmp_path / "out"

    def run(model, **options):
        report = jobs.colorize_files(model, [tmp_path / "in"], out, progress=False, **options)
        return len(report.written), len(report.skipped)

    model = constant_model()
    assert run(model, skip_complete=True) == (1, 0)
    assert run(model, skip_complete=True) == (0, 1)
    keras.utils.set_random_seed(0)
    assert run(models.version_1(), skip_complete=True) == (1, 0)
    assert run(model, skip_complete=True) == (1, 0)  # back to the first model: made anew
    assert run(model, skip_complete=True, working_size=64) == (1, 0)
    assert run(model, skip_complete=False, working_size=64) == (1, 0)
    assert run(model, skip_complete=True, working_size=64) == (0, 1)


def test_without_skip_complete_no_record_is_kept(tmp_path):
    write_photo(tmp_path / "in" / "a.png")
    jobs.colorize_files(constant_model(), [tmp_path / "in"], tmp_path / "out", progress=False)
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["a.png"]


def test_colorize_files_never_overwrites_an_input(tmp_path):
    photo = write_photo(tmp_path / "photo.png")
    before = photo.read_bytes()
    with pytest.raises(ledger.OutputTaken, match="colornet did not write it"):
        jobs.colorize_files(constant_model(), [photo], tmp_path, progress=False)
    report = jobs.colorize_files(constant_model(), [photo], tmp_path, progress=False,
                                 overwrite=True)
    assert report.failed and "overwrite the input" in report.failed[0][1]
    assert photo.read_bytes() == before


def test_same_names_from_different_folders_do_not_collide(tmp_path):
    first, second = write_photo(tmp_path / "a" / "p.png"), write_photo(tmp_path / "b" / "p.png")
    names = [str(name) for _, name in jobs.expand_inputs([first, second])]
    assert names == ["p.png", "p-2.png"]


def test_distinct_photos_with_equal_names_never_overwrite_each_other(tmp_path):
    # B/x.jpg must not take A/x-2.jpg's own name (it did, and replaced its result).
    inputs = [write_photo(tmp_path / "A" / "x.jpg"), write_photo(tmp_path / "A" / "x-2.jpg"),
              write_photo(tmp_path / "B" / "x.jpg")]
    names = [str(name) for _, name in jobs.expand_inputs(inputs)]
    assert names == ["x.jpg", "x-2.jpg", "x-3.jpg"]
    assert names == [str(name) for _, name in jobs.expand_inputs(inputs)]  # deterministic
    report = jobs.colorize_files(constant_model(), inputs, tmp_path / "out", progress=False)
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == sorted(names)
    assert len(report.written) == 3 and not report.failed


def test_outputs_that_would_change_suffix_into_one_name_stay_apart(tmp_path):
    folder = tmp_path / "in"
    write_photo(folder / "scan.png")
    save.save_image(folder / "scan.jpg", np.zeros((8, 8, 3)))
    (folder / "scan.tif").write_bytes((folder / "scan.png").read_bytes())  # a PNG named .tif
    names = [str(name) for _, name in jobs.expand_inputs([folder])]
    assert names == ["scan.jpg", "scan-2.png", "scan-3.tif"]


def test_folders_keep_their_inner_paths_and_a_photo_given_twice_is_done_once(tmp_path):
    write_photo(tmp_path / "A" / "trip" / "x.png")
    write_photo(tmp_path / "B" / "trip" / "x.png")
    found = jobs.expand_inputs([tmp_path / "A", tmp_path / "B", tmp_path / "A" / "trip" / "x.png"])
    assert [str(name) for _, name in found] == ["trip/x.png", "trip/x-2.png"]


def test_an_output_folder_inside_the_input_folder_is_not_read_on_the_next_run(tmp_path):
    photos = tmp_path / "photos"
    write_photo(photos / "a.png")
    write_photo(photos / "trip" / "b.png")
    for _ in range(2):
        report = jobs.colorize_files(
            constant_model(), [photos], photos / "colorized", progress=False, overwrite=True,
        )
        assert sorted(str(path.relative_to(photos)) for path in report.written) == [
            "colorized/a.png", "colorized/trip/b.png"
        ]
    report = jobs.colorize_files(
        constant_model(), [str(photos / "**" / "*.png")], photos / "colorized", progress=False,
        overwrite=True,
    )
    assert sorted(path.name for path in report.written) == ["a.png", "b.png"]
    assert not (photos / "colorized" / "colorized").exists()


def test_an_output_folder_that_is_the_input_folder_is_refused(tmp_path):
    write_photo(tmp_path / "photos" / "a.png")
    with pytest.raises(ValueError, match="also an input folder"):
        jobs.colorize_files(
            constant_model(), [tmp_path / "photos"], tmp_path / "photos", progress=False,
        )


def test_a_pattern_whose_files_are_all_in_the_output_folder_is_refused(tmp_path):
    write_photo(tmp_path / "in" / "a.png")
    with pytest.raises(ValueError, match=r"every file matching .*a\*\.png is in the output"):
        jobs.colorize_files(
            constant_model(), [str(tmp_path / "in" / "a*.png")], tmp_path / "in",
            progress=False,
        )
    (tmp_path / "in" / "folder.png").mkdir()
    with pytest.raises(ValueError, match="no files match .*, only folders"):
        jobs.expand_inputs([str(tmp_path / "in" / "f*.png")])


def test_an_output_folder_where_a_file_is_is_refused_before_any_photo(tmp_path):
    photo = write_photo(tmp_path / "photo.png")
    (tmp_path / "taken.mp4").write_bytes(b"a video")
    for out_dir in (tmp_path / "taken.mp4", tmp_path / "taken.mp4" / "inner"):
        with pytest.raises(ValueError, match=r"taken.mp4 is a file; give a folder"):
            jobs.colorize_files(constant_model(), [photo], out_dir, progress=False)
    assert (tmp_path / "taken.mp4").read_bytes() == b"a video"


def test_photos_of_the_same_name_are_reported_with_their_outputs(tmp_path):
    first, second = write_photo(tmp_path / "a" / "p.png"), write_photo(tmp_path / "b" / "p.png")
    alone = write_photo(tmp_path / "b" / "q.png")
    report = jobs.colorize_files(
        constant_model(), [first, second, alone], tmp_path / "out", progress=False,
    )
    assert report.renamed == [(first, tmp_path / "out" / "p.png"),
                              (second, tmp_path / "out" / "p-2.png")]
    summary = report.summary()
    assert f"{first} -> {tmp_path / 'out' / 'p.png'}" in summary
    assert f"{second} -> {tmp_path / 'out' / 'p-2.png'}" in summary
    assert "q.png" not in summary


def test_missing_inputs_are_named(tmp_path):
    with pytest.raises(ValueError, match="nowhere.png: no such file"):
        jobs.expand_inputs([tmp_path / "nowhere.png"])
    with pytest.raises(ValueError, match="no files match"):
        jobs.expand_inputs([str(tmp_path / "*.tif")])


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda path: None, "no model at"),
        (lambda path: path.write_bytes(b"not a zip"), "not a readable Keras model: not a .keras"),
        (lambda path: path.mkdir(), "not a training run"),
    ],
)
def test_load_model_errors_name_the_file(tmp_path, setup, message):
    path = tmp_path / "model.keras"
    setup(path)
    with pytest.raises(ValueError, match=message):
        colorize.load_model(path)


def test_load_model_refuses_a_keras_model_that_is_not_a_colorizer(tmp_path):
    other = keras.Sequential(
        [keras.Input((4,), name="features"), keras.layers.Dense(2)], name="other",
    )
    other.save(tmp_path / "other.keras")
    with pytest.raises(ValueError, match="other.keras: other is not a colornet colorizer"):
        colorize.load_model(tmp_path / "other.keras")


def test_a_saved_version_1_loads_and_colorizes_the_same(tmp_path):
    model = seeded_version_1()
    model.save(tmp_path / "v1.keras")
    loaded = colorize.load_model(tmp_path / "v1.keras")
    rgb = np.random.default_rng(1).random((16, 24, 3)).astype(np.float32)
    np.testing.assert_array_equal(colorize.colorize(loaded, rgb), colorize.colorize(model, rgb))


def test_a_saved_colorizer_can_run_in_bfloat16_with_nearly_the_same_colours(tmp_path):
    model = models.colorizer(image_size=32, backbone="mobilenet_v3_small", backbone_weights=None)
    model.save(tmp_path / "colorizer.keras")
    as_saved = colorize.load_model(tmp_path / "colorizer.keras", precision=None)  # float32
    faster = colorize.load_model(tmp_path / "colorizer.keras", precision="bfloat16")
    backbone = models.backbone_layer(faster)
    assert backbone.precision == "bfloat16"
    photo = np.random.default_rng(0).random((40, 56, 3)).astype(np.float32)
    # Random backbone weights give near-uniform class scores either way; the colours must agree.
    np.testing.assert_allclose(
        colorize.colorize(faster, photo), colorize.colorize(as_saved, photo), atol=0.02,
    )
