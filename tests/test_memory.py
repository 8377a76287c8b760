"""A large photo stays within a documented memory bound: colorize_files holds at most
jobs.MEMORY_BYTES_PER_PIXEL bytes of arrays a pixel, plus a fixed overhead, so a
144-megapixel photo fits a laptop. Measured with tracemalloc (numpy reports its allocations
to it), on photos of 1, 4 and 16 megapixels, not by timing."""

import tracemalloc

import numpy as np
import pytest

from colornet import colorize, images, jobs
from tests.factories import constant_model


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
    images.save_image(tmp_path / "warm_up.jpg", rng.random((600, 700, 3)))
    jobs.colorize_files(model, [tmp_path / "warm_up.jpg"], tmp_path / "out", progress=False)
    peaks = {}
    for side in (1000, 2000, 4000):
        photo = tmp_path / f"photo_{side}.jpg"
        gradient = np.linspace(0.2, 0.8, side, dtype=np.float32)[:, None, None]
        images.save_image(photo, np.broadcast_to(gradient, (side, side, 3)))
        peaks[side * side] = peak_array_bytes(model, photo, tmp_path / "out")
    for pixels, peak in peaks.items():
        bound = jobs.MEMORY_BYTES_PER_PIXEL * pixels + jobs.MEMORY_OVERHEAD_BYTES
        assert peak <= bound, (pixels, peak / 2**20, bound / 2**20)
    # And it is the per-pixel part that grows: the slope between the larger photos.
    slope = (peaks[4000**2] - peaks[2000**2]) / (4000**2 - 2000**2)
    assert slope <= jobs.MEMORY_BYTES_PER_PIXEL, slope


def test_lightness_straight_from_the_file_matches_the_float_rgb_route(tmp_path, rng):
    rgb = rng.random((300, 200, 3))
    alpha = rng.random((300, 200))
    images.save_image(tmp_path / "photo.png", rgb, alpha=alpha)
    for composite in (True, False):
        path = tmp_path / "photo.png"
        expected_rgb, expected_alpha = images.load_rgb_and_alpha(path, composite=composite)
        lightness, kept_alpha = images.load_lightness_and_alpha(path, composite=composite)
        np.testing.assert_allclose(lightness, colornet_lightness(expected_rgb), atol=1e-4)
        np.testing.assert_array_equal(kept_alpha, expected_alpha)


def colornet_lightness(rgb):
    from colornet import color

    return color.rgb_to_lightness(rgb)


def test_banded_combining_equals_combining_the_whole_photo(rng):
    lightness = (rng.random((37, 23)) * 100).astype(np.float32)
    ab = ((rng.random((37, 23, 2)) - 0.5) * 300).astype(np.float32)
    whole = images._util.to_uint8(colorize.combine(lightness, ab))
    np.testing.assert_array_equal(colorize.combine_to_uint8(lightness, ab, rows=5), whole)
