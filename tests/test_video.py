"""Colorizing a video keeps its frames, rate, size, audio and lightness, steadies its colour,
and turns every bad file into one line."""

import subprocess
import wave
from fractions import Fraction

import imageio_ffmpeg
import keras
import numpy as np
import pytest

from colornet import color
from colornet.apps import colorize as colornet_colorize
from colornet.apps import ffmpeg, flicker, video
from colornet.io import save
from colornet.nets import models
from tests.factories import (
    BASE_COLOUR,
    FPS,
    FRAMES,
    HEIGHT,
    WIDTH,
    constant_model,
    moving_shapes,
    write_clip,
)

# ---------------------------------------------------------------------------------------------
# Test clips and stand-in models


def add_tone(video_path, path, audio_codec="aac"):
    """Mux a 440 Hz sine (numpy + wave) under the video; returns `path`."""
    rate = 8000
    seconds = np.arange(FRAMES // FPS * rate) / rate
    samples = (np.sin(2 * np.pi * 440 * seconds) * 10000).astype(np.int16)
    tone = path.with_suffix(".wav")
    with wave.open(str(tone), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(samples.tobytes())
    run_ffmpeg(["-i", video_path, "-i", tone, "-map", "0:v", "-map", "1:a",
            "-c:v", "copy", "-c:a", audio_codec, path])  # fmt: skip
    tone.unlink()
    return path


def run_ffmpeg(arguments):
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run([*command, *map(str, arguments)], check=True)


def read_video(path):
    """(meta, uint8 frames (N, H, W, 3)) as ffmpeg decodes them."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = [np.frombuffer(frame, np.uint8).reshape(height, width, 3) for frame in reader]
    return meta, np.stack(frames)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    silent = write_clip(folder / "silent.mp4", moving_shapes())
    return {
        "silent": silent,
        "grey": write_clip(folder / "grey.mp4", moving_shapes(grey=True)),
        "audio": add_tone(silent, folder / "with_audio.mp4"),
        "pcm": add_tone(silent, folder / "pcm_audio.mkv", audio_codec="pcm_s16le"),
    }


@pytest.fixture(scope="module")
def version_1():
    keras.utils.set_random_seed(0)
    return models.version_1()


def colorize(model, source, output, **options):
    return video.colorize_video(model, source, output, progress=False, **options)


def files_in(folder):
    return sorted(path.name for path in folder.iterdir())


# ---------------------------------------------------------------------------------------------
# What comes out


def test_output_keeps_frame_count_rate_and_size_and_has_no_audio_when_the_input_has_none(
    clips, version_1, tmp_path
):
    output = tmp_path / "out.mp4"
    report = colorize(version_1, clips["silent"], output)
    meta, frames = read_video(output)
    assert frames.shape == (FRAMES, HEIGHT, WIDTH, 3)
    assert meta["fps"] == pytest.approx(FPS, abs=0.01)
    assert "audio_codec" not in meta
    assert (report.frames, report.width, report.height, report.fps, report.had_audio) == (
        FRAMES, WIDTH, HEIGHT, FPS, False,
    )  # fmt: skip
    assert files_in(tmp_path) == ["out.mp4"]  # no temporary file left beside it


def test_audio_track_is_copied_when_the_input_has_one(clips, version_1, tmp_path):
    output = tmp_path / "out.mp4"
    report = colorize(version_1, clips["audio"], output)
    meta, frames = read_video(output)
    assert report.had_audio and meta["audio_codec"] == "aac"
    assert len(frames) == FRAMES and meta["fps"] == pytest.approx(FPS, abs=0.01)
    seconds = imageio_ffmpeg.count_frames_and_secs(str(output))[1]
    assert seconds == pytest.approx(FRAMES / FPS, abs=0.1)
    assert files_in(tmp_path) == ["out.mp4"]  # the video-only scratch file is gone too


def test_pcm_audio_is_reencoded_as_aac_for_mp4_and_copied_into_mkv(clips, tmp_path):
    model = constant_model()
    colorize(model, clips["pcm"], tmp_path / "out.mp4")
    colorize(model, clips["pcm"], tmp_path / "out.mkv")
    assert read_video(tmp_path / "out.mp4")[0]["audio_codec"] == "aac"
    assert read_video(tmp_path / "out.mkv")[0]["audio_codec"].startswith("pcm_s16le")


def test_output_lightness_is_the_input_lightness_within_codec_tolerance(clips, version_1, tmp_path):
    output = tmp_path / "out.mp4"
    colorize(version_1, clips["silent"], output)
    input_lightness = color.rgb_to_lab(read_video(clips["silent"])[1])[..., 0]
    output_lightness = color.rgb_to_lab(read_video(output)[1])[..., 0]
    difference = np.abs(output_lightness - input_lightness)
    assert difference.mean() < 1.0  # x264 at quality 18, and 4:2:0 colour at sharp edges
    assert np.median(difference) < 0.5


def test_grey_frames_get_the_models_colour_and_keep_their_lightness(clips, tmp_path):
    output = tmp_path / "out.mp4"
    colorize(constant_model(), clips["grey"], output)
    input_lab = color.rgb_to_lab(read_video(clips["grey"])[1])
    output_lab = color.rgb_to_lab(read_video(output)[1])
    assert np.abs(input_lab[..., 1:]).max() < 3  # the input really is grey
    # Where the model's colour fits in sRGB at that lightness (not clipped), it is what shows.
    inside = (input_lab[..., 0] > 35) & (input_lab[..., 0] < 75)
    expected_ab = np.array(BASE_COLOUR) * color.AB_SCALE
    np.testing.assert_allclose(np.median(output_lab[inside][:, 1:], axis=0), expected_ab, atol=2.0)
    assert np.abs(output_lab[..., 0] - input_lab[..., 0])[inside].mean() < 1.0


def test_a_fixed_size_model_runs_at_its_own_size_and_the_output_at_the_videos(clips, tmp_path):
    model = constant_model(size=32)
    report = colorize(model, clips["silent"], tmp_path / "out.mp4")
    # The working-size policy of every colorizing path: the final colorizer sees S × S.
    expected_shape = colornet_colorize.working_shape(model, (HEIGHT, WIDTH))
    assert report.working_shape == expected_shape == (32, 32)
    assert read_video(tmp_path / "out.mp4")[1].shape == (FRAMES, HEIGHT, WIDTH, 3)


def test_a_truncated_video_with_its_header_intact_is_colorized_as_far_as_it_decodes(
    clips, tmp_path
):
    # With the index at the front (faststart), the first frames survive cutting the file.
    whole = tmp_path / "whole.mp4"
    run_ffmpeg(["-i", clips["silent"], "-c", "copy", "-movflags", "+faststart", whole])
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.9)])
    with pytest.warns(UserWarning, match="truncated"):
        report = colorize(constant_model(), truncated, tmp_path / "out.mp4")
    assert 0 < report.frames < FRAMES
    assert len(read_video(tmp_path / "out.mp4")[1]) == report.frames


@pytest.mark.parametrize(
    "printed, exact",
    [(12.0, Fraction(12)), (12.5, Fraction(25, 2)), (23.98, Fraction(24000, 1001)),
     (29.97, Fraction(30000, 1001)), (59.94, Fraction(60000, 1001))],
)  # fmt: skip
def test_ffmpegs_rounded_frame_rates_are_read_as_the_exact_ntsc_rates(printed, exact):
    # 23.98 taken literally would drift 1.2 s from the copied sound over two hours.
    assert ffmpeg.frame_rate("clip.mp4", printed) == exact


# ---------------------------------------------------------------------------------------------
# Flicker and smoothing


def test_flicker_is_the_mean_absolute_ab_change_between_consecutive_frames():
    ab_frames = np.zeros((3, 1, 2, 2), dtype=np.float32)
    ab_frames[1] = [[[2, -2], [0, 4]]]
    ab_frames[2] = [[[2, 0], [0, 0]]]
    # frame 0 → 1: |2| + |-2| + |0| + |4| = 8; frame 1 → 2: 0 + 2 + 0 + 4 = 6; 8 values in all.
    assert flicker.flicker(ab_frames) == pytest.approx((8 + 6) / 8)
    assert flicker.flicker(ab_frames[:1]) == 0.0
    with pytest.raises(ValueError, match="N, H, W, 2"):
        flicker.flicker(np.zeros((3, 4, 4)))


def jittering_ab(rng, frames=60, shape=(8, 8), spread=10.0):
    """A still scene whose predicted colour jitters from frame to frame: (lightness, ab)."""
    lightness = np.full((frames, *shape), 50.0, dtype=np.float32)
    ab = np.array([30.0, -20.0]) + spread * rng.standard_normal((frames, *shape, 2))
    return lightness, ab.astype(np.float32)


def test_smoothing_divides_the_flicker_of_a_jittering_prediction_by_more_than_four(rng):
    lightness, ab = jittering_ab(rng)
    smoothed = flicker.TemporalSmoother()(lightness, ab)
    assert flicker.flicker(smoothed) < flicker.flicker(ab) / 4
    # The colour itself is kept: the average stays where the predictions are centred.
    np.testing.assert_allclose(smoothed[20:].mean(axis=(0, 1, 2)), [30.0, -20.0], atol=1.0)


def test_smoothing_zero_passes_the_predictions_through(rng):
    lightness, ab = jittering_ab(rng)
    np.testing.assert_array_equal(flicker.TemporalSmoother(0)(lightness, ab), ab)


def test_smoothing_batch_by_batch_equals_smoothing_in_one_go(rng):
    lightness, ab = jittering_ab(rng, frames=10)
    whole = flicker.TemporalSmoother()(lightness, ab)
    streaming = flicker.TemporalSmoother()
    pieces = [
        streaming(lightness[start : start + 3], ab[start : start + 3]) for start in range(0, 10, 3)
    ]
    np.testing.assert_allclose(np.concatenate(pieces), whole, rtol=1e-6)


def test_a_scene_cut_resets_the_smoother_even_where_the_lightness_is_unchanged():
    # Scene A: L* 30, predicted a = +40. Scene B: the left quarter still L* 30, the rest L* 90
    # (new content over most of the frame, a cut), predicted a = -40 everywhere.
    lightness = np.full((8, 4, 4), 30.0, dtype=np.float32)
    lightness[4:, :, 1:] = 90.0
    ab = np.zeros((8, 4, 4, 2), dtype=np.float32)
    ab[:4, ..., 0], ab[4:, ..., 0] = 40.0, -40.0

    smoother = flicker.TemporalSmoother()
    smoothed = smoother(lightness, ab)
    assert smoother.scene_cuts == 1
    np.testing.assert_allclose(smoothed[4:], ab[4:])  # none of scene A's colour is dragged in

    # Without the cut detector, the unchanged half would keep 3/4 of scene A's colour.
    dragged = flicker.TemporalSmoother(scene_cut_threshold=1e9)(lightness, ab)
    assert dragged[4, 0, 0, 0] == pytest.approx(0.75 * 40 + 0.25 * -40)


def test_smoothing_leaves_no_colour_trail_where_something_moved():
    # A dark object (L* 20, a = +50) moves into the right half of a still grey scene (L* 60).
    lightness = np.full((6, 4, 4), 60.0, dtype=np.float32)
    ab = np.zeros((6, 4, 4, 2), dtype=np.float32)
    lightness[3:, :, 3], ab[3:, :, 3, 0] = 20.0, 50.0  # a quarter of the frame: not a cut
    smoother = flicker.TemporalSmoother()
    smoothed = smoother(lightness, ab)
    assert smoother.scene_cuts == 0
    np.testing.assert_allclose(smoothed[3, :, 3], ab[3, :, 3])  # the object's own colour at once


def test_smoothing_divides_the_flicker_of_a_video_by_more_than_three(clips, tmp_path):
    model = constant_model(jitter=0.1)  # about ±13 a and b from frame to frame
    raw = colorize(model, clips["silent"], tmp_path / "raw.mp4", smoothing=0)
    smooth = colorize(model, clips["silent"], tmp_path / "smooth.mp4")
    assert raw.flicker_smoothed == raw.flicker_raw > 5
    # Less than on a still scene (>4×): moving edges keep their raw prediction by design.
    assert smooth.flicker_smoothed < smooth.flicker_raw / 3
    # The moving block and the bar that turns green are one shot: every frame after the first
    # is smoothed, and the report says so.
    assert (smooth.scene_cuts, smooth.smoothed_frames, raw.smoothed_frames) == (0, FRAMES - 1, 0)
    assert f"{FRAMES - 1} frame(s) smoothed, 0 scene cut(s)" in smooth.summary()
    # What the output shows follows: the decoded colour flickers less too.
    shown = {
        name: flicker.flicker(color.rgb_to_lab(read_video(tmp_path / f"{name}.mp4")[1])[..., 1:])
        for name in ("raw", "smooth")
    }
    assert shown["smooth"] < shown["raw"] / 3


# ---------------------------------------------------------------------------------------------
# Bad files and bad paths


def bad_inputs(folder, clips):
    random_bytes = folder / "random.mp4"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(5000))
    truncated = folder / "truncated.mp4"  # its index (moov) is at the end, so it is cut off
    truncated.write_bytes(clips["silent"].read_bytes()[: clips["silent"].stat().st_size // 2])
    text = folder / "notes.txt"
    text.write_text("not a video\n")
    empty = folder / "empty.mp4"
    empty.touch()
    text_named_as_a_photo = folder / "text.jpg"
    text_named_as_a_photo.write_text("shopping list: milk, eggs\n")
    photo = save.save_image(folder / "photo.jpg", np.full((16, 16, 3), 0.5))
    audio_only = folder / "tone.m4a"
    run_ffmpeg(["-i", clips["audio"], "-map", "0:a", "-c", "copy", audio_only])
    return {
        "random bytes": (random_bytes, "not a video"),
        "truncated": (truncated, "truncated or corrupt"),
        "text file": (text, "it is a text file, not a video"),
        "text named .jpg": (text_named_as_a_photo, "it is a text file, not a video"),
        "photo": (photo, "it is an image, not a video"),
        "empty file": (empty, "empty"),
        "audio only": (audio_only, "no video stream"),
        "missing file": (folder / "missing.mp4", "no such file"),
        "folder": (folder, "folder"),
    }


BAD_INPUTS = [
    "random bytes", "truncated", "text file", "text named .jpg", "photo", "empty file",
    "audio only", "missing file",
]


@pytest.mark.parametrize("kind", [*BAD_INPUTS, "folder"])
def test_an_unreadable_input_is_one_line_naming_the_file_and_leaves_nothing(clips, tmp_path, kind):
    path, problem = bad_inputs(tmp_path, clips)[kind]
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    with pytest.raises(ffmpeg.VideoError, match=problem) as error:
        colorize(constant_model(), path, out_folder / "out.mp4")
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    assert files_in(out_folder) == []


@pytest.mark.parametrize("spelling", ["same", "other spelling"])
def test_writing_over_the_input_is_refused_and_the_input_is_unchanged(clips, tmp_path, spelling):
    source = tmp_path / "clip.mp4"
    source.write_bytes(clips["silent"].read_bytes())
    (tmp_path / "sub").mkdir()
    output = source if spelling == "same" else tmp_path / "sub" / ".." / "clip.mp4"
    with pytest.raises(ffmpeg.VideoError, match="overwrite the input"):
        colorize(constant_model(), source, output)
    assert source.read_bytes() == clips["silent"].read_bytes()
    assert files_in(tmp_path) == ["clip.mp4", "sub"]


def test_an_unsupported_output_suffix_is_refused(clips, tmp_path):
    with pytest.raises(ffmpeg.VideoError, match=r"unsupported suffix '\.gif'"):
        colorize(constant_model(), clips["silent"], tmp_path / "out.gif")


def test_a_failure_midway_leaves_no_output_and_no_temporary_files(clips, tmp_path, monkeypatch):
    predict = video._FrameColorizer._predict
    calls = []

    def fails_on_the_second_batch(self, lightness):
        calls.append(len(lightness))
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        return predict(self, lightness)

    monkeypatch.setattr(video._FrameColorizer, "_predict", fails_on_the_second_batch)
    with pytest.raises(RuntimeError, match="out of memory"):
        colorize(constant_model(), clips["audio"], tmp_path / "out.mp4", batch_size=8)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    "option, value",
    [("smoothing", 1.0), ("smoothing", -0.1), ("batch_size", 0), ("working_size", 4)],
)
def test_bad_options_are_refused_before_any_work(clips, tmp_path, option, value):
    with pytest.raises(ValueError, match=option):
        colorize(constant_model(), clips["silent"], tmp_path / "out.mp4", **{option: value})
    assert files_in(tmp_path) == []
