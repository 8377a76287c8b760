"""A large photo stays within a documented memory bound: colorize_files holds at most
jobs.MEMORY_BYTES_PER_PIXEL bytes of arrays a pixel, plus a fixed overhead, so a
144-megapixel photo fits a laptop. Measured with tracemalloc (numpy reports its allocations
to it), on photos of 1, 4 and 16 megapixels, not by timing."""

import tracemalloc

import numpy as np
import pytest

from colornet import _util, color
from colornet.apps import colorize, jobs
from colornet.io import decode, save
from tests.factories import colour_photo, constant_model


def peak_array_bytes(model, photo, out):
    tracemalloc.start()
    try:
        report = jobs.colorize_files(model, [photo], out, image_format="jpg", progress=False)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        assert report.written and not report.failed


@pytest.mark.slow
def test_colorizing_memory_grows_by_the_documented_bytes_per_pixel(tmp_path, rng):
    model = constant_model()  # Version 1's interface, so large photos go through tiles
    save.save_image(tmp_path / "warm_up.jpg", rng.random((600, 700, 3)))
    jobs.colorize_files(model, [tmp_path / "warm_up.jpg"], tmp_path / "out", progress=False)
    peaks = {}
    for side in (1000, 2000, 4000):
        photo = tmp_path / f"photo_{side}.jpg"
        gradient = np.linspace(0.2, 0.8, side, dtype=np.float32)[:, None, None]
        save.save_image(photo, np.broadcast_to(gradient, (side, side, 3)))
        peaks[side * side] = peak_array_bytes(model, photo, tmp_path / "out")
    for pixels, peak in peaks.items():
        bound = jobs.MEMORY_BYTES_PER_PIXEL * pixels + jobs.MEMORY_OVERHEAD_BYTES
        assert peak <= bound, (pixels, peak / 2**20, bound / 2**20)
    # And it is the per-pixel part that grows: the slope between the larger photos.
    slope = (peaks[4000**2] - peaks[2000**2]) / (4000**2 - 2000**2)
    assert slope <= jobs.MEMORY_BYTES_PER_PIXEL, slope


@pytest.mark.slow
def test_colorizing_from_python_holds_the_documented_bytes_per_pixel(tmp_path):
    """`colorize.colorize` returns float RGB (12 bytes a pixel); with the photo's L and ab
    that is colorize.MEMORY_BYTES_PER_PIXEL, and nothing more grows with the photo."""
    model = constant_model()
    colorize.colorize(model, np.full((300, 400, 3), 0.5))  # compiles the colour kernels
    peaks = {}
    for side in (2000, 4000):
        photo = tmp_path / f"photo_{side}.png"
        gradient = np.linspace(0.2, 0.8, side, dtype=np.float32)[:, None, None]
        save.save_image(photo, np.broadcast_to(gradient, (side, side, 3)))
        tracemalloc.start()
        try:
            rgb = colorize.colorize(model, photo)
            peaks[side * side] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert rgb.shape == (side, side, 3) and rgb.dtype == np.float32
        del rgb
    for pixels, peak in peaks.items():
        bound = colorize.MEMORY_BYTES_PER_PIXEL * pixels + jobs.MEMORY_OVERHEAD_BYTES
        assert peak <= bound, (pixels, peak / 2**20, bound / 2**20)
    slope = (peaks[4000**2] - peaks[2000**2]) / (4000**2 - 2000**2)
    assert slope <= colorize.MEMORY_BYTES_PER_PIXEL, slope


def test_lightness_straight_from_the_file_matches_the_float_rgb_route(tmp_path, rng):
    rgb = rng.random((300, 200, 3))
    alpha = rng.random((300, 200))
    save.save_image(tmp_path / "photo.png", rgb, alpha=alpha)
    for composite in (True, False):
        path = tmp_path / "photo.png"
        expected_rgb, expected_alpha = decode.load_rgb_and_alpha(path, composite=composite)
        lightness, kept_alpha = decode.load_lightness_and_alpha(path, composite=composite)
        np.testing.assert_allclose(lightness, colornet_lightness(expected_rgb), atol=1e-4)
        np.testing.assert_array_equal(kept_alpha, expected_alpha)


def colornet_lightness(rgb):
    from colornet import color

    return color.rgb_to_lightness(rgb)


def test_banded_combining_equals_combining_the_whole_photo(rng):
    lightness = (rng.random((37, 23)) * 100).astype(np.float32)
    ab = ((rng.random((37, 23, 2)) - 0.5) * 300).astype(np.float32)
    whole = _util.to_uint8(color.combine(lightness, ab))
    np.testing.assert_array_equal(colorize.combine_to_uint8(lightness, ab, rows=5), whole)


def test_a_reduced_photo_is_the_mean_of_its_blocks_as_scikit_image_computes_it(tmp_path, rng):
    from skimage.measure import block_reduce

    rgb = (rng.random((90, 120, 3)) * 255).astype(np.uint8)
    save.save_image(tmp_path / "photo.png", rgb)
    reduced, factor = decode.load_reduced_rgb(tmp_path / "photo.png", pixels=30 * 40)
    assert factor == 3 and reduced.shape == (30, 40, 3)
    np.testing.assert_allclose(reduced, block_reduce(rgb / 255, (3, 3, 1), np.mean), atol=1e-6)
    # Blocks that would stick out are left out; a small photo comes back as it is.
    reduced, factor = decode.load_reduced_rgb(tmp_path / "photo.png", pixels=29 * 40)
    assert factor == 4 and reduced.shape == (22, 30, 3)
    whole, factor = decode.load_reduced_rgb(tmp_path / "photo.png", pixels=10**6)
    assert factor == 1
    np.testing.assert_array_equal(whole, decode.load_rgb(tmp_path / "photo.png"))


@pytest.mark.slow
def test_single_on_a_large_photo_stays_in_the_bound_and_writes_it_full_size(
    tmp_path, rng, monkeypatch, capsys
):
    from colornet import cli
    from colornet.apps import evaluation
    from tests.factories import blobs_photo

    monkeypatch.setattr(evaluation, "SCORED_PIXELS", 2**16)  # scoring stays small and quick
    side = 3000
    small = blobs_photo(side // 30)
    photo = tmp_path / "large.jpg"
    save.save_image(photo, np.repeat(np.repeat(small, 30, axis=0), 30, axis=1))
    arguments = ["single", str(photo), "-o", str(tmp_path / "out.jpg"), "--steps", "3",
                 "--size", "64", "--quiet"]
    tracemalloc.start()
    try:
        status = cli.main(arguments)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert "(scored at 250×250)" in printed.out  # blocks of 12 × 12: 250² ≤ 2**16 pixels
    assert decode.load_rgb(tmp_path / "out.jpg").shape == (side, side, 3)
    assert peak <= jobs.MEMORY_BYTES_PER_PIXEL * side**2 + jobs.MEMORY_OVERHEAD_BYTES, peak / 2**20


def smooth_colour(height, width, seed=0):
    """uint8 RGB (height, width, 3): `factories.colour_photo`, cheap to encode and not grey."""
    return (colour_photo(seed, height, width) * 255).astype(np.uint8)


@pytest.mark.slow
def test_evaluating_a_large_photo_scores_it_shrunk_within_the_documented_bound(tmp_path):
    """A photo over evaluation.SCORED_PIXELS is scored shrunk to fit it (and the report says
    so); memory is its decoded pixels plus a fixed amount, not 200-odd bytes a pixel of float
    copies (228 at full size before)."""
    from colornet.apps import evaluation

    photos = tmp_path / "photos"
    photos.mkdir()
    save.save_image(photos / "at_the_limit.jpg", smooth_colour(2048, 2048))  # 4 MP, as it is
    save.save_image(photos / "large.jpg", smooth_colour(3000, 3000, seed=1))  # 9 MP
    tracemalloc.start()
    try:
        report = evaluation.evaluate_folder(
            constant_model(), photos, tmp_path / "out", mean_ab=(5, 10), progress=False
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= jobs.MEMORY_BYTES_PER_PIXEL * 3000**2 + evaluation.MEMORY_OVERHEAD_BYTES, (
        peak / 2**20
    )
    assert report.reduced == [(photos / "large.jpg", 2)]  # blocks of 2 × 2: 1500² ≤ 4 MP
    assert "1 over 4 MP scored shrunk to 4 MP (large.jpg)" in report.summary()
    written = report.json_path.read_text()
    assert '"scored_shrunk"' in written and '"block": 2' in written


@pytest.mark.slow
def test_colorizing_a_video_holds_the_documented_bytes_a_frame_pixel(tmp_path):
    """Memory grows with the batch by the frames' decoded bytes alone (before: 9 bytes a frame
    pixel, each frame's float lightness held over the batch) and stays in the bound."""
    from colornet.apps import video
    from tests.factories import write_clip

    height, width = 720, 1280
    base = smooth_colour(height, width)
    clip = write_clip(tmp_path / "clip.mp4",
                      [np.roll(base, 8 * index, axis=1) for index in range(24)])
    model = constant_model()
    video.colorize_video(model, clip, tmp_path / "warm_up.mp4", batch_size=2, progress=False)
    peaks = {}
    for batch in (2, 12):
        tracemalloc.start()
        try:
            video.colorize_video(model, clip, tmp_path / f"out_{batch}.mp4", batch_size=batch,
                                 progress=False)
            peaks[batch] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        per_pixel = video.MEMORY_BYTES_PER_FRAME_PIXEL * batch + video.MEMORY_BYTES_PER_PIXEL
        assert peaks[batch] <= per_pixel * height * width + jobs.MEMORY_OVERHEAD_BYTES, (
            batch, peaks[batch] / 2**20
        )
    slope = (peaks[12] - peaks[2]) / (10 * height * width)
    assert slope <= video.MEMORY_BYTES_PER_FRAME_PIXEL, slope
