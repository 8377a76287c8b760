"""Scene cuts follow content, not motion: a pan of any speed is one shot, a cut between two
photos is a cut, and a change to a part of the frame is neither (the motion gate takes it)."""

import itertools

import numpy as np
import pytest

from colornet import color
from colornet.apps import flicker
from colornet.io import decode
from tests.conftest import DATA_DIR
from tests.factories import moving_shapes

# The frames the smoother sees at the default working size: 256 × 192.
FRAME_HEIGHT, FRAME_WIDTH = 192, 256
SAMPLE_PHOTOS = sorted(DATA_DIR.glob("*/*.jpg"))


def sample_lightness(path):
    """float32 (H, W) L* in [0, 100] of a sample photo at its own size."""
    return color.rgb_to_lab(decode.load_rgb(path))[..., 0].astype(np.float32)


def pan(lightness, speed, frames=30):
    """(N, 192, 256) windows moving right by `speed` px a frame and down by a third of it, as
    many as fit in the photo, up to `frames`."""
    height, width = lightness.shape
    fit = min((width - FRAME_WIDTH) // speed, (height - FRAME_HEIGHT) // max(1, speed // 3))
    return np.stack(
        [
            lightness[(step * (speed // 3)) :, step * speed :][:FRAME_HEIGHT, :FRAME_WIDTH]
            for step in range(min(frames, fit + 1))
        ]
    )


def still_ab(frames):
    """One colour for every frame, shape (N, 192, 256, 2)."""
    return np.full((frames, FRAME_HEIGHT, FRAME_WIDTH, 2), [20.0, -10.0], dtype=np.float32)


@pytest.mark.parametrize("speed", [2, 5, 11, 33])
@pytest.mark.parametrize("photo", ["coffee", "chelsea"])
def test_a_smooth_pan_of_any_speed_is_one_shot_and_every_frame_is_smoothed(speed, photo):
    path = next(path for path in SAMPLE_PHOTOS if path.stem == photo)
    frames = pan(sample_lightness(path), speed)
    assert len(frames) >= 5  # a pan, not a still
    # The old rule, a mean |ΔL*| over 10, found cuts in all four pans of 11 and 33 px a frame.
    smoother = flicker.TemporalSmoother()
    smoother(frames, still_ab(len(frames)))
    assert (smoother.scene_cuts, smoother.smoothed_frames) == (0, len(frames) - 1)


def test_a_cut_between_any_two_sample_photos_is_found():
    crops = {
        path.stem: sample_lightness(path)[:FRAME_HEIGHT, :FRAME_WIDTH] for path in SAMPLE_PHOTOS
    }
    missed = [
        (before, after)
        for before, after in itertools.permutations(crops, 2)
        if flicker.new_content_share(crops[before], crops[after]) <= flicker.SCENE_CUT_SHARE
    ]
    assert len(crops) >= 6 and missed == []


def test_a_cut_in_the_middle_of_a_pan_restarts_the_average_once():
    coffee, rocket = (
        pan(sample_lightness(DATA_DIR / folder / f"{name}.jpg"), 5, frames=4)
        for folder, name in (("train", "coffee"), ("test", "rocket"))
    )
    lightness = np.concatenate([coffee, rocket])  # a cut after frame 3
    ab = still_ab(8)
    ab[4:] = [-30.0, 40.0]
    smoother = flicker.TemporalSmoother()
    smoothed = smoother(lightness, ab)
    assert (smoother.scene_cuts, smoother.smoothed_frames) == (1, 6)
    np.testing.assert_array_equal(smoothed[4], ab[4])  # none of the first shot's colour


def test_a_fifth_of_the_frame_changing_is_no_cut():
    # The test clip's bar turns from blue to green every half second: 28 L* over a fifth of the
    # frame, a mean |ΔL*| as large as the smallest cut between two sample photos.
    lightness = color.rgb_to_lab(moving_shapes() / 255.0)[..., 0]
    shares = [flicker.new_content_share(*pair) for pair in itertools.pairwise(lightness)]
    assert max(shares) < flicker.SCENE_CUT_SHARE * 0.75
    smoother = flicker.TemporalSmoother()
    smoother(lightness, np.zeros((*lightness.shape, 2), dtype=np.float32))
    assert (smoother.scene_cuts, smoother.smoothed_frames) == (0, len(lightness) - 1)


def test_no_frame_is_counted_as_smoothed_when_smoothing_is_off():
    frames = pan(sample_lightness(DATA_DIR / "train" / "coffee.jpg"), 5, frames=6)
    smoother = flicker.TemporalSmoother(0)
    smoother(frames, still_ab(6))
    assert smoother.smoothed_frames == 0
    smoother.reset()
    assert (smoother.scene_cuts, smoother.smoothed_frames) == (0, 0)
