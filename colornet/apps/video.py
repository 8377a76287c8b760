"""Colorizing a video: frames streamed through a model in batches, colour steadied over time.

Each frame is colorized as a photo is (`colornet.apps.colorize`): the model sees only its
lightness, at a working size, and its predicted a and b are resized back and joined with the
frame's own full-resolution lightness. Frames are read, colorized and written one batch at a
time, so memory stays flat however long the video is.

A model colorizes each frame on its own, so the colour of a wall can jump from frame to frame;
`colornet.apps.flicker` steadies it and measures what is left.

Video is decoded and encoded by the ffmpeg binary that imageio-ffmpeg ships
(`colornet.apps.ffmpeg`). The output is H.264 at the input's frame rate and size; its audio,
when the input has any, is the input's, copied without re-encoding where the container allows
it.
"""

import contextlib
import dataclasses
import itertools
import pathlib
import time
import warnings

import imageio_ffmpeg
import numpy as np
import tqdm

from colornet import _util, color, leftovers
from colornet.apps import colorize, ffmpeg, flicker
from colornet.constants import DEFAULT_SMOOTHING, DEFAULT_WORKING_SIZE
from colornet.errors import SettingError
from colornet.io import geometry
from colornet.nets import models

# The memory `colorize_video` holds in arrays, whatever the video's length: at most
# MEMORY_BYTES_PER_FRAME_PIXEL bytes a frame pixel for each frame of a batch (its decoded
# bytes, 3 a pixel, and its lightness and colours at the working size), plus
# MEMORY_BYTES_PER_PIXEL for the frame being written, plus jobs.MEMORY_OVERHEAD_BYTES.
# tests/test_memory.py measures it; docs/training.md, "Large photos, signals and leftovers", says
# what it means.
MEMORY_BYTES_PER_FRAME_PIXEL = 5
MEMORY_BYTES_PER_PIXEL = 32

# The decoded frames are warned about as truncated below this share of what the header says.
_TRUNCATED_SHARE = 0.9


@dataclasses.dataclass
class VideoReport:
    """What `colorize_video` did. Flicker is measured on the predicted ab at the working size."""

    frames: int
    fps: float
    width: int
    height: int
    had_audio: bool  # the input had audio, and the output carries it
    working_shape: tuple  # (height, width) the model ran at
    flicker_raw: float  # mean |ab change| between consecutive frames as predicted, Lab units
    flicker_smoothed: float  # the same after TemporalSmoother, what the output shows
    scene_cuts: int  # where the smoother started afresh
    smoothed_frames: int  # averaged with the frames before: all but the first and each cut's
    seconds: float

    def summary(self):
        """One line for people: size, frames, audio, flicker before → after, speed."""
        audio = "audio kept" if self.had_audio else "no audio"
        speed = self.frames / self.seconds if self.seconds > 0 else float("inf")
        return (
            f"{self.frames} frames {self.width}×{self.height} at {self.fps:g} fps, {audio}; "
            f"flicker {self.flicker_raw:.2f} → {self.flicker_smoothed:.2f} (mean |Δab|), "
            f"{self.smoothed_frames} frame(s) smoothed, {self.scene_cuts} scene cut(s); "
            f"{self.seconds:.1f} s ({speed:.1f} frames/s)"
        )


def _check_arguments(batch_size, smoothing, working_size):
    if not _util.is_int(batch_size) or batch_size < 1:
        raise SettingError(f"batch_size must be a positive int, got {batch_size!r}")
    flicker.check_smoothing(smoothing)
    too_small = _util.is_int(working_size) and working_size < models.SIZE_MULTIPLE
    if working_size is not None and (not _util.is_int(working_size) or too_small):
        raise SettingError(
            f"working_size must be None or an int of at least {models.SIZE_MULTIPLE}, "
            f"got {working_size!r}"
        )


# ---------------------------------------------------------------------------------------------
# Colorizing a video


def colorize_video(
    model,
    input_path,
    output_path,
    *,
    batch_size=16,
    smoothing=DEFAULT_SMOOTHING,
    working_size=DEFAULT_WORKING_SIZE,
    progress=True,
):
    """Colorize a video frame by frame, keeping its frame rate, size and audio.

    Frames are read, colorized and written `batch_size` at a time. The model sees each frame's
    lightness at `colorize.working_shape` (the policy every colorizing follows); its ab is
    smoothed over time (`flicker.TemporalSmoother`), resized back, and joined with the frame's
    full-resolution lightness, so the detail is the video's own. Colour input is fine: only its
    lightness is used.

    The output is H.264 (x264 quality 18) tagged BT.709, 4:2:0 for even sizes (what every
    player plays) and 4:4:4 for odd ones (4:2:0 needs even sides; an odd-sized input was not
    4:2:0 either). It is written to a hidden temporary file beside `output_path` and renamed
    into place when complete, so a failure leaves nothing behind. The input's audio tracks are
    copied as they are, or re-encoded as AAC when the container cannot hold them. A variable
    frame rate input comes out frame for frame at a constant rate, its average.

    Args:
        model: a colornet model (`colorize.load_model`): Version 1, a final colorizer, the
            pretrained one.
        input_path: any video ffmpeg reads (MP4, MOV, MKV, AVI, WebM, ...).
        output_path: .mp4, .m4v, .mov or .mkv; never the input; parent folders are created.
        batch_size: frames colorized together; memory grows with it (see
            MEMORY_BYTES_PER_FRAME_PIXEL), not with the video.
        smoothing: weight of the past in the moving average of ab, in [0, 1); 0 is off.
        working_size: longest side a model of any size runs at (never enlarged), None for
            full size; a model of a fixed size (the final colorizer) runs at its own.
        progress: show a progress bar over the frames.

    Returns:
        A `VideoReport`.

    Raises:
        ffmpeg.VideoError: one line naming the file, for a missing, empty, unreadable, corrupt or
            non-video input, an output that is the input or has an unsupported suffix, or a
            failure to write.
        ValueError: a bad batch_size, smoothing or working_size, or a model that is not a
            colornet colorizer.
    """
    started = time.perf_counter()
    input_path, output_path = pathlib.Path(input_path), pathlib.Path(output_path)
    _check_arguments(batch_size, smoothing, working_size)
    models.describe(model)  # a model that is not a colornet colorizer fails now
    ffmpeg.check_input(input_path)
    ffmpeg.check_output(output_path, input_path)
    leftovers.remove_stale_temporaries(output_path.parent, recursive=False)

    with contextlib.closing(imageio_ffmpeg.read_frames(str(input_path))) as reader:
        meta = ffmpeg.read_meta(input_path, reader)
        width, height = meta["size"]
        rate = ffmpeg.frame_rate(input_path, meta["fps"])
        had_audio = "audio_codec" in meta
        expected_frames = round(meta["duration"] * rate) if meta.get("duration") else None
        frames = ffmpeg.decoded_frames(input_path, reader, (height, width))
        first_frame = next(frames, None)  # before any output exists: a file of no frames fails here
        if first_frame is None:
            raise ffmpeg.unreadable(input_path, ffmpeg.NO_FRAMES)
        shape = colorize.working_shape(model, (height, width), working_size)
        colorizer = _FrameColorizer(model, shape, batch_size, smoothing)
        bar = tqdm.tqdm(
            total=expected_frames, unit="frame", desc=input_path.name, disable=not progress
        )
        with bar, _util.atomic_output(output_path) as temporary:
            # With audio to add, the frames go to a scratch file first, and both into `temporary`.
            scratch = (
                ffmpeg.scratch_beside(temporary) if had_audio
                else contextlib.nullcontext(temporary)
            )
            with scratch as video_only:
                with ffmpeg.encoder(video_only, output_path, (width, height), rate) as write:
                    for frame in colorizer(itertools.chain([first_frame], frames)):
                        write(frame)
                        bar.update()
                if had_audio:
                    audio_codec = meta["audio_codec"]
                    ffmpeg.add_audio(video_only, input_path, audio_codec, temporary, output_path)
            bar.total = bar.n  # the header's count was an estimate; this one is exact
            bar.refresh()
    if expected_frames and colorizer.frames < _TRUNCATED_SHARE * expected_frames:
        warnings.warn(
            f"'{input_path}': decoded {colorizer.frames} frames where its header promises about "
            f"{expected_frames}; the file may be truncated (colorized what could be read)",
            stacklevel=2,
        )
    return VideoReport(
        frames=colorizer.frames,
        fps=float(rate),
        width=width,
        height=height,
        had_audio=had_audio,
        working_shape=colorizer.working_shape,
        flicker_raw=colorizer.raw_flicker.value,
        flicker_smoothed=colorizer.smoothed_flicker.value,
        scene_cuts=colorizer.smoother.scene_cuts,
        smoothed_frames=colorizer.smoother.smoothed_frames,
        seconds=time.perf_counter() - started,
    )


class _FrameColorizer:
    """Colorizes a stream of frames batch by batch, smoothing and measuring flicker as it goes."""

    def __init__(self, model, working_shape, batch_size, smoothing):
        self.model = model
        self.working_shape = tuple(working_shape)  # (h, w) the model runs at
        self.batch_size = batch_size
        self.smoother = flicker.TemporalSmoother(smoothing)
        self.raw_flicker, self.smoothed_flicker = flicker.FlickerMeter(), flicker.FlickerMeter()
        self.frames = 0

    def __call__(self, frames):
        """uint8 (H, W, 3) RGB frames in, the same frames colorized out, in order."""
        while batch := list(itertools.islice(frames, self.batch_size)):
            # Only the uint8 frames are held over a batch (3 bytes a pixel): each frame's
            # full-resolution lightness is taken again when it is written, one frame at a time.
            small = np.stack([
                geometry.resize_channels(color.rgb_to_lightness(frame), self.working_shape)
                for frame in batch
            ])
            ab = self._predict(small)  # (N, h, w, 2)
            smoothed = self.smoother(small, ab)
            self.raw_flicker.update(ab)
            self.smoothed_flicker.update(smoothed)
            for frame, frame_ab in zip(batch, smoothed):
                lightness = color.rgb_to_lightness(frame)
                full_ab = geometry.resize_channels(frame_ab, lightness.shape)
                self.frames += 1
                yield colorize.combine_to_uint8(lightness, full_ab)

    def _predict(self, lightness):
        """(N, h, w) L* in [0, 100] → float32 (N, h, w, 2) ab; frames share one size, so
        `predict_ab` runs the whole batch in one forward pass."""
        return colorize.predict_ab(
            self.model, lightness, working_size=None, tile=None, batch_size=self.batch_size
        )
