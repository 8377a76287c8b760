"""Flicker in colorized video, and the moving average that steadies it.

A model colorizes each frame on its own, so the colour of a wall can jump from frame to frame:
flicker, the first complaint about colorized video. `TemporalSmoother` averages the predicted
ab over time where the picture stands still, and `flicker` measures what is left. Arrays in,
arrays out: `colornet.apps.video` feeds them frame batches.
"""

import numpy as np

from colornet.constants import DEFAULT_SMOOTHING
from colornet.errors import SettingError

# A frame is a cut to another shot when more than SCENE_CUT_SHARE of it shows content the last
# frame did not have, even at the best global shift of the last frame: a pan or tilt moves the
# picture, a cut replaces it. Both frames shrink to thumbnails (sides at most
# CUT_THUMBNAIL_SIDE, so grain and codec noise average out); a thumbnail pixel is new content
# when its L* falls more than CUT_PIXEL_CHANGE outside the range of the 2 × 2 pixels of the
# last frame it lands on (a shift that falls between thumbnail pixels), for every whole shift
# up to CUT_MAX_SHIFT of the frame's side a frame. A share, not a mean |ΔL*|: a door opening
# or a light coming on changes a part of the frame by a lot and is no cut; a cut between two
# photos of the same tones changes most of it by a little. tests/test_flicker.py holds the
# thresholds to the sample photos: a pan of 2 to 33 px a frame shows next to no new content,
# a cut between any two of them well over a third, a bar of a fifth of the frame turning from
# blue to green well under. A cut that leaves half the old picture where it was can pass for
# a pan (the shift that hides the new half); the motion gate still restarts every pixel that
# changed. A false alarm costs one unsmoothed frame; a missed cut drags the old shot's colours
# into the new one where the lightness happens to match.
SCENE_CUT_SHARE = 1 / 3
CUT_PIXEL_CHANGE = 2.0  # L*
CUT_THUMBNAIL_SIDE = 32
CUT_MAX_SHIFT = 0.25

# A pixel whose L* changed by this much since the last frame shows something else now (it
# moved there), so it takes the new prediction as it is; below, the weight of the past falls
# linearly from `smoothing` (no change) to 0 (this change). Codec noise and film grain,
# after shrinking to the working size, stay around 1 L*.
MOTION_THRESHOLD = 10.0


def flicker(ab_frames):
    """Mean absolute change of a and b between consecutive frames: how much colour flickers.

    Args:
        ab_frames: (N, H, W, 2) float a and b, Lab units (about ±128), in frame order.

    Returns:
        float: mean over the N - 1 consecutive pairs, pixels and both channels of
        |ab_t - ab_(t-1)|; 0.0 for fewer than two frames. Scene cuts count like any change.
    """
    meter = FlickerMeter()
    meter.update(ab_frames)
    return meter.value


class FlickerMeter:
    """`flicker` over a stream of batches, the pair across each batch boundary included."""

    def __init__(self):
        self.total, self.count, self.previous = 0.0, 0, None

    def update(self, ab_frames):
        ab_frames = np.asarray(ab_frames, dtype=np.float32)
        if ab_frames.ndim != 4 or ab_frames.shape[-1] != 2:
            raise SettingError(f"ab_frames must be (N, H, W, 2), got shape {ab_frames.shape}")
        if len(ab_frames) == 0:
            return
        if self.previous is not None:
            ab_frames = np.concatenate([self.previous[None], ab_frames])
        changes = np.abs(np.diff(ab_frames, axis=0))  # (N - 1 or N, H, W, 2)
        self.total += float(changes.sum(dtype=np.float64))
        self.count += changes.size
        self.previous = ab_frames[-1]

    @property
    def value(self):
        return self.total / self.count if self.count else 0.0


class TemporalSmoother:
    """A motion-aware exponential moving average of ab over frames, fed batch by batch.

    For each frame: smoothed = w · previous smoothed + (1 - w) · predicted, per pixel, with
    w = smoothing × max(0, 1 - |ΔL*| / motion_threshold), ΔL* the pixel's lightness change
    since the previous frame. Still parts of the picture get the full average; a pixel that
    something moved into takes the new prediction; a frame of which more than
    scene_cut_threshold shows new content (`new_content_share`: a cut, not motion) starts
    afresh.

    A causal average, not a centred window: it needs no frames from the future, so it streams
    with one frame of state and adds no delay; its cost is a lag that the motion gate removes
    where it matters most, at moving edges.

    Args:
        smoothing: weight of the past in [0, 1); 0 passes the predictions through unchanged.
        scene_cut_threshold: share of a frame showing new content (`new_content_share`)
            that makes it a cut, in (0, 1]; above 1 no frame is.
        motion_threshold: per-pixel |ΔL*| at which the past is ignored (L* units).
    """

    def __init__(
        self,
        smoothing=DEFAULT_SMOOTHING,
        *,
        scene_cut_threshold=SCENE_CUT_SHARE,
        motion_threshold=MOTION_THRESHOLD,
    ):
        check_smoothing(smoothing)
        thresholds = {
            "scene_cut_threshold": scene_cut_threshold,
            "motion_threshold": motion_threshold,
        }
        for name, value in thresholds.items():
            if not value > 0:
                raise SettingError(f"{name} must be positive, got {value!r}")
        self.smoothing = float(smoothing)
        self.scene_cut_threshold = float(scene_cut_threshold)
        self.motion_threshold = float(motion_threshold)
        self.reset()

    def reset(self):
        """Forget the past, as at the start of a new video."""
        self.scene_cuts = 0  # cuts seen since the last reset
        self.smoothed_frames = 0  # frames averaged with the past since the last reset
        self._lightness = None  # (H, W) L* of the last frame
        self._ab = None  # (H, W, 2) smoothed ab of the last frame

    def __call__(self, lightness, ab):
        """Smooth the next frames.

        Args:
            lightness: (N, H, W) float L* in [0, 100] of the frames, as the model saw them.
            ab: (N, H, W, 2) float predicted a and b of the same frames.

        Returns:
            float32 (N, H, W, 2) smoothed a and b.
        """
        lightness = np.asarray(lightness, dtype=np.float32)
        ab = np.asarray(ab, dtype=np.float32)
        if lightness.ndim != 3 or ab.shape != (*lightness.shape, 2):
            raise SettingError(
                "expected lightness (N, H, W) and ab (N, H, W, 2), "
                f"got {lightness.shape} and {ab.shape}"
            )
        smoothed = np.empty_like(ab)
        for index in range(len(ab)):
            smoothed[index] = self._step(lightness[index], ab[index])
        return smoothed

    def _step(self, lightness, ab):
        previous_lightness, previous_ab = self._lightness, self._ab
        self._lightness = lightness
        if previous_lightness is None or previous_lightness.shape != lightness.shape:
            self._ab = ab
            return ab
        if new_content_share(previous_lightness, lightness) > self.scene_cut_threshold:
            self.scene_cuts += 1
            self._ab = ab
            return ab
        if self.smoothing > 0:
            self.smoothed_frames += 1
        change = np.abs(lightness - previous_lightness)  # (H, W)
        weight = self.smoothing * np.clip(1.0 - change / self.motion_threshold, 0.0, 1.0)
        self._ab = weight[..., None] * previous_ab + (1.0 - weight[..., None]) * ab
        return self._ab


def new_content_share(previous_lightness, lightness):
    """The share of a frame showing what the last frame did not, motion set aside: what tells
    a cut from a pan.

    Both frames shrink to thumbnails (sides at most CUT_THUMBNAIL_SIDE, block means). The last
    frame's thumbnail is shifted by every whole number of thumbnail pixels up to CUT_MAX_SHIFT
    of each side; at each shift, a pixel of the new thumbnail is new content when its L* lies
    more than CUT_PIXEL_CHANGE outside the range of the 2 × 2 old pixels it lands on (where a
    shift between two pixels would put it). The answer is the smallest share over the shifts,
    of the new pixels that land on the old frame: about 0 for a still shot, pan or tilt of any
    speed below the limit, most of the frame for another shot.

    Args:
        previous_lightness, lightness: (H, W) float L* in [0, 100] of two consecutive frames.

    Returns:
        float in [0, 1].
    """
    old, new = _thumbnail(previous_lightness), _thumbnail(lightness)  # (h, w) each
    low, high = _neighbour_range(old)
    height, width = new.shape
    rows, columns = int(height * CUT_MAX_SHIFT), int(width * CUT_MAX_SHIFT)
    pad = ((rows, rows), (columns, columns))
    # (2 rows + 1, 2 columns + 1, h, w): the old range under each new pixel at each shift,
    # unbounded where the shift leaves the old frame (nothing there is new).
    low, high = (
        np.lib.stride_tricks.sliding_window_view(
            np.pad(bound, pad, constant_values=edge), (height, width)
        )
        for bound, edge in ((low, -np.inf), (high, np.inf))
    )
    is_new = (new - high > CUT_PIXEL_CHANGE) | (low - new > CUT_PIXEL_CHANGE)
    overlap = np.outer(  # new pixels that land on the old frame, per shift
        height - np.abs(np.arange(-rows, rows + 1)),
        width - np.abs(np.arange(-columns, columns + 1)),
    )
    return float((is_new.sum(axis=(2, 3)) / overlap).min())


def _thumbnail(lightness):
    """(H, W) → (h, w) block means, neither side over CUT_THUMBNAIL_SIDE."""
    blocks = [max(1, -(-side // CUT_THUMBNAIL_SIDE)) for side in lightness.shape]  # ceil
    height, width = (side // block for side, block in zip(lightness.shape, blocks))
    cropped = lightness[: height * blocks[0], : width * blocks[1]].astype(np.float32)
    return cropped.reshape(height, blocks[0], width, blocks[1]).mean(axis=(1, 3))


def _neighbour_range(thumbnail):
    """(h, w) → (min, max) of each pixel and its right, lower and lower-right neighbours."""
    padded = np.pad(thumbnail, ((0, 1), (0, 1)), mode="edge")
    corners = np.stack([padded[:-1, :-1], padded[1:, :-1], padded[:-1, 1:], padded[1:, 1:]])
    return corners.min(axis=0), corners.max(axis=0)


def check_smoothing(smoothing):
    """ValueError unless `smoothing` is a number in [0, 1)."""
    is_number = isinstance(smoothing, (int, float)) and not isinstance(smoothing, bool)
    if not is_number or not 0 <= smoothing < 1:
        raise SettingError(f"smoothing must be a number in [0, 1) (0 = off), got {smoothing!r}")
