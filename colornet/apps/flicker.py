"""Flicker in colorized video, and the moving average that steadies it.

A model colorizes each frame on its own, so the colour of a wall can jump from frame to frame:
flicker, the first complaint about colorized video. `TemporalSmoother` averages the predicted
ab over time where the picture stands still, and `flicker` measures what is left. Arrays in,
arrays out: `colornet.apps.video` feeds them frame batches.
"""

import numpy as np

from colornet.constants import DEFAULT_SMOOTHING

# A mean |ΔL*| between consecutive frames above this starts the average afresh: a cut to
# another shot. 10 L* is a tenth of black-to-white, about PySceneDetect's default content
# threshold (27 of 255); within a shot, even a pan, frames differ by a few L* on average. A
# false alarm costs one unsmoothed frame; a missed cut drags the old shot's colours into the
# new one, so the threshold errs low.
SCENE_CUT_THRESHOLD = 10.0

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
            raise ValueError(f"ab_frames must be (N, H, W, 2), got shape {ab_frames.shape}")
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
    something moved into takes the new prediction; a frame whose mean |ΔL*| exceeds
    scene_cut_threshold (a cut) starts afresh.

    A causal average, not a centred window: it needs no frames from the future, so it streams
    with one frame of state and adds no delay; its cost is a lag that the motion gate removes
    where it matters most, at moving edges.

    Args:
        smoothing: weight of the past in [0, 1); 0 passes the predictions through unchanged.
        scene_cut_threshold: mean |ΔL*| over a frame that counts as a cut (L* units).
        motion_threshold: per-pixel |ΔL*| at which the past is ignored (L* units).
    """

    def __init__(
        self,
        smoothing=DEFAULT_SMOOTHING,
        *,
        scene_cut_threshold=SCENE_CUT_THRESHOLD,
        motion_threshold=MOTION_THRESHOLD,
    ):
        check_smoothing(smoothing)
        thresholds = {
            "scene_cut_threshold": scene_cut_threshold,
            "motion_threshold": motion_threshold,
        }
        for name, value in thresholds.items():
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        self.smoothing = float(smoothing)
        self.scene_cut_threshold = float(scene_cut_threshold)
        self.motion_threshold = float(motion_threshold)
        self.reset()

    def reset(self):
        """Forget the past, as at the start of a new video."""
        self.scene_cuts = 0  # cuts seen since the last reset
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
            raise ValueError(
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
        change = np.abs(lightness - previous_lightness)  # (H, W)
        if change.mean() > self.scene_cut_threshold:
            self.scene_cuts += 1
            self._ab = ab
            return ab
        weight = self.smoothing * np.clip(1.0 - change / self.motion_threshold, 0.0, 1.0)
        self._ab = weight[..., None] * previous_ab + (1.0 - weight[..., None]) * ab
        return self._ab


def check_smoothing(smoothing):
    """ValueError unless `smoothing` is a number in [0, 1)."""
    is_number = isinstance(smoothing, (int, float)) and not isinstance(smoothing, bool)
    if not is_number or not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be a number in [0, 1) (0 = off), got {smoothing!r}")
