"""Colorizing a video: frames streamed through a model in batches, colour steadied over time.

Each frame is colorized as a photo is (`colornet.apps.colorize`): the model sees only its
lightness, at a working size, and its predicted a and b are resized back and joined with the
frame's own full-resolution lightness. Frames are read, colorized and written one batch at a
time, so memory stays flat however long the video is.

A model colorizes each frame on its own, so the colour of a wall can jump from frame to frame:
flicker, the first complaint about colorized video. `TemporalSmoother` averages the predicted
ab over time where the picture stands still, and `flicker` measures what is left.

Video is decoded and encoded by the ffmpeg binary that imageio-ffmpeg ships. The output is
H.264 at the input's frame rate and size; its audio, when the input has any, is the input's,
copied without re-encoding where the container allows it.
"""

import contextlib
import dataclasses
import fractions
import itertools
import pathlib
import re
import subprocess
import tempfile
import time
import warnings

import imageio_ffmpeg
import numpy as np
import tqdm

from colornet import _util, color, leftovers
from colornet.apps import colorize
from colornet.constants import DEFAULT_SMOOTHING, DEFAULT_WORKING_SIZE
from colornet.io import folders, geometry
from colornet.nets import models

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

# The containers the output can be; all take H.264 video and AAC audio.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")

# The memory `colorize_video` holds in arrays, whatever the video's length: at most
# MEMORY_BYTES_PER_FRAME_PIXEL bytes a frame pixel for each frame of a batch (its decoded
# bytes, 3 a pixel, and its lightness and colours at the working size), plus
# MEMORY_BYTES_PER_PIXEL for the frame being written, plus jobs.MEMORY_OVERHEAD_BYTES.
# tests/test_memory.py measures it; the README says what it means.
MEMORY_BYTES_PER_FRAME_PIXEL = 5
MEMORY_BYTES_PER_PIXEL = 32

# x264's constant quality: 18 is its "visually lossless" point (0 lossless, 51 worst).
H264_QUALITY = 18
# Used when the input's audio cannot be copied into the output's container as it is.
FALLBACK_AUDIO = ("-c:a", "aac", "-b:a", "192k")

# The decoded frames are warned about as truncated below this share of what the header says.
_TRUNCATED_SHARE = 0.9
_NO_FRAMES = "no frame could be decoded; the file may be truncated or corrupt"
# ffmpeg's progress and summary lines, which never say what went wrong.
_FFMPEG_NOISE = ("frame=", "Conversion failed")


class VideoError(ValueError):
    """One-line, user-facing error that names the video and the problem."""


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
    seconds: float

    def summary(self):
        """One line for people: size, frames, audio, flicker before → after, speed."""
        audio = "audio kept" if self.had_audio else "no audio"
        speed = self.frames / self.seconds if self.seconds > 0 else float("inf")
        return (
            f"{self.frames} frames {self.width}×{self.height} at {self.fps:g} fps, {audio}; "
            f"flicker {self.flicker_raw:.2f} → {self.flicker_smoothed:.2f} (mean |Δab|), "
            f"{self.scene_cuts} scene cut(s); {self.seconds:.1f} s ({speed:.1f} frames/s)"
        )


# ---------------------------------------------------------------------------------------------
# Flicker and smoothing


def flicker(ab_frames):
    """Mean absolute change of a and b between consecutive frames: how much colour flickers.

    Args:
        ab_frames: (N, H, W, 2) float a and b, Lab units (about ±128), in frame order.

    Returns:
        float: mean over the N - 1 consecutive pairs, pixels and both channels of
        |ab_t - ab_(t-1)|; 0.0 for fewer than two frames. Scene cuts count like any change.
    """
    meter = _FlickerMeter()
    meter.update(ab_frames)
    return meter.value


class _FlickerMeter:
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
        _check_smoothing(smoothing)
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


def _check_arguments(batch_size, smoothing, working_size):
    if not _util.is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    _check_smoothing(smoothing)
    too_small = _util.is_int(working_size) and working_size < models.SIZE_MULTIPLE
    if working_size is not None and (not _util.is_int(working_size) or too_small):
        raise ValueError(
            f"working_size must be None or an int of at least {models.SIZE_MULTIPLE}, "
            f"got {working_size!r}"
        )


def _check_smoothing(smoothing):
    is_number = isinstance(smoothing, (int, float)) and not isinstance(smoothing, bool)
    if not is_number or not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be a number in [0, 1) (0 = off), got {smoothing!r}")


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
    smoothed over time
    (`TemporalSmoother`), resized back, and joined with the frame's full-resolution lightness,
    so the detail is the video's own. Colour input is fine: only its lightness is used.

    The output is H.264 (x264 quality 18) tagged BT.709, 4:2:0 for even sizes (what every
    player plays) and 4:4:4 for odd ones (4:2:0 needs even sides; an odd-sized input was not
    4:2:0 either). It is written to a hidden temporary file beside `output_path` and renamed
    into place when complete, so a failure leaves nothing behind. The input's audio tracks are
    copied as they are, or re-encoded as AAC when the container cannot hold them. A variable
    frame rate input comes out frame for frame at a constant rate, its average.

    Args:
        model: a colornet model (`colorize.load_model`): Version 1 or the final colorizer.
        input_path: any video ffmpeg reads (MP4, MOV, MKV, AVI, WebM, ...).
        output_path: .mp4, .m4v, .mov or .mkv; never the input; parent folders are created.
        batch_size: frames colorized together; memory grows with it (see
            MEMORY_BYTES_PER_FRAME_PIXEL), not with the video.
        smoothing: weight of the past in the moving average of ab, in [0, 1); 0 is off.
        working_size: longest side Version 1 runs at (never enlarged), None for full size;
            the final colorizer always runs at its own size.
        progress: show a progress bar over the frames.

    Returns:
        A `VideoReport`.

    Raises:
        VideoError: one line naming the file, for a missing, empty, unreadable, corrupt or
            non-video input, an output that is the input or has an unsupported suffix, or a
            failure to write.
        ValueError: a bad batch_size, smoothing or working_size, or a model that is not a
            colornet colorizer.
    """
    started = time.perf_counter()
    input_path, output_path = pathlib.Path(input_path), pathlib.Path(output_path)
    _check_arguments(batch_size, smoothing, working_size)
    models.kind(model)  # a model that is not a colorizer fails now
    _check_input(input_path)
    _check_output(output_path, input_path)
    leftovers.remove_stale_temporaries(output_path.parent, recursive=False)

    with contextlib.closing(imageio_ffmpeg.read_frames(str(input_path))) as reader:
        meta = _read_meta(input_path, reader)
        width, height = meta["size"]
        rate = _frame_rate(input_path, meta["fps"])
        had_audio = "audio_codec" in meta
        expected_frames = round(meta["duration"] * rate) if meta.get("duration") else None
        frames = _decoded_frames(input_path, reader, (height, width))
        first_frame = next(frames, None)  # before any output exists: a file of no frames fails here
        if first_frame is None:
            raise _unreadable(input_path, _NO_FRAMES)
        shape = colorize.working_shape(model, (height, width), working_size)
        colorizer = _FrameColorizer(model, shape, batch_size, smoothing)
        bar = tqdm.tqdm(
            total=expected_frames, unit="frame", desc=input_path.name, disable=not progress
        )
        with bar, _util.atomic_output(output_path) as temporary:
            # With audio to add, the frames go to a scratch file first, and both into `temporary`.
            scratch = _scratch_beside(temporary) if had_audio else contextlib.nullcontext(temporary)
            with scratch as video_only:
                with _encoder(video_only, output_path, (width, height), rate) as write:
                    for frame in colorizer(itertools.chain([first_frame], frames)):
                        write(frame)
                        bar.update()
                if had_audio:
                    audio_codec = meta["audio_codec"]
                    _add_audio(video_only, input_path, audio_codec, temporary, output_path)
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
        seconds=time.perf_counter() - started,
    )


class _FrameColorizer:
    """Colorizes a stream of frames batch by batch, smoothing and measuring flicker as it goes."""

    def __init__(self, model, working_shape, batch_size, smoothing):
        self.model = model
        self.working_shape = tuple(working_shape)  # (h, w) the model runs at
        self.batch_size = batch_size
        self.smoother = TemporalSmoother(smoothing)
        self.raw_flicker, self.smoothed_flicker = _FlickerMeter(), _FlickerMeter()
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


# ---------------------------------------------------------------------------------------------
# Checking paths and reading


def _check_input(path):
    """The common mistakes, said plainly before ffmpeg says them at length."""
    if not path.exists():
        raise _unreadable(path, "no such file")
    if path.is_dir():
        raise _unreadable(path, "it is a folder, not a video file")
    if path.stat().st_size == 0:
        raise _unreadable(path, "the file is empty (0 bytes)")
    # What the file holds, not what its name says: a text file named .jpg is no image.
    if folders.is_image_file(path):
        raise _unreadable(path, "it is an image, not a video")
    if _is_text(path):
        raise _unreadable(path, "it is a text file, not a video")


def _is_text(path, sample_bytes=4096):
    """True when the start of the file reads as UTF-8 text (videos hold zero bytes early)."""
    with open(path, "rb") as file:
        head = file.read(sample_bytes)
    # A multi-byte character cut by the sample's end may leave one replacement character.
    return b"\0" not in head and head.decode("utf-8", errors="replace").count("\ufffd") <= 1


def _check_output(path, input_path):
    if _util.same_file(path, input_path):
        raise VideoError(
            f"refusing to write '{path}': it would overwrite the input video '{input_path}'"
        )
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise VideoError(
            f"cannot write '{path}': unsupported suffix '{path.suffix}' "
            f"(use one of {', '.join(VIDEO_SUFFIXES)})"
        )
    if path.is_dir():
        raise VideoError(f"cannot write '{path}': it is a folder")


def _read_meta(path, reader):
    """The reader's first item: ffmpeg's description of the video (size, fps, duration...)."""
    try:
        meta = next(reader)
    except Exception as error:  # imageio-ffmpeg raises OSError with ffmpeg's whole log
        raise _unreadable(path, _read_problem(str(error))) from error
    if "size" not in meta or min(meta["size"]) < 1:
        raise _unreadable(path, "ffmpeg found no picture size in it")
    return meta


def _decoded_frames(path, reader, shape):
    """uint8 (H, W, 3) RGB frames from the reader, its errors turned into one line."""
    index = 0
    while True:
        try:
            data = next(reader)
        except StopIteration:
            return
        except Exception as error:
            problem = f"decoding failed after frame {index}: {_read_problem(str(error))}"
            raise _unreadable(path, problem) from error
        index += 1
        yield np.frombuffer(data, dtype=np.uint8).reshape(*shape, 3)


def _frame_rate(path, fps):
    """ffmpeg's printed frame rate as an exact fraction: NTSC's 23.98 is 24000/1001.

    ffmpeg prints two decimals; taken literally, 23.98 instead of 23.976 would put the picture
    1.2 s behind the copied sound by the end of a two-hour film.
    """
    if not fps or fps <= 0:
        raise _unreadable(path, "ffmpeg cannot tell its frame rate")
    if abs(fps - round(fps)) < 0.005:
        return fractions.Fraction(round(fps))
    ntsc_base = round(fps * 1.001)
    if abs(fps * 1.001 - ntsc_base) < 0.01:
        return fractions.Fraction(ntsc_base * 1000, 1001)
    return fractions.Fraction(fps).limit_denominator(1001)


def _unreadable(path, problem):
    return VideoError(f"cannot read video '{path}': {problem}")


def _read_problem(log):
    """What ffmpeg's log says went wrong with an input, in words for a user."""
    if "does not contain any stream" in log:
        return "it has no video stream"
    if "received no packets" in log:
        return _NO_FRAMES
    return f"not a video, or a truncated or corrupt one (ffmpeg: {_ffmpeg_reason(log)})"


def _ffmpeg_reason(log):
    """The last line of an ffmpeg log that says something, without its "[muxer @ 0x…]" tag."""
    lines = [re.sub(r"^\[[^\]]*\]\s*", "", line).strip() for line in log.splitlines()]
    lines = [line for line in lines if line and not line.startswith(_FFMPEG_NOISE)]
    return lines[-1] if lines else "ffmpeg failed without a message"


# ---------------------------------------------------------------------------------------------
# Writing. ffmpeg runs as our own subprocess rather than through imageio_ffmpeg.write_frames,
# which neither checks ffmpeg's exit status (a failure at the end would go unnoticed) nor keeps
# its messages for ours.


@contextlib.contextmanager
def _encoder(path, output_path, size, rate):
    """Start ffmpeg encoding RGB frames to `path`; yields write(frame (H, W, 3) uint8).

    Raises VideoError naming `output_path` when ffmpeg refuses a frame or exits with an error.
    """
    width, height = size
    pixel_format = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(rate),
        "-i", "-",
        # sRGB frames → BT.709 YCbCr, and tagged so, whatever ffmpeg's defaults for the size.
        "-vf", f"setparams=color_primaries=bt709:color_trc=bt709,"
        f"scale=out_color_matrix=bt709:out_range=tv,format={pixel_format}",
        "-colorspace", "bt709", "-color_range", "tv",
        "-c:v", "libx264", "-crf", str(H264_QUALITY), "-an", str(path),
    ]  # fmt: skip
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a full pipe would stall ffmpeg
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log
        )

        def write(frame):
            try:
                process.stdin.write(memoryview(frame))
            except OSError:  # a broken pipe: ffmpeg has stopped
                process.wait()
                raise _unwritable(output_path, log) from None

        try:
            yield write
            process.stdin.close()
            if process.wait() != 0:
                raise _unwritable(output_path, log)
        finally:
            if process.poll() is None:  # we are leaving on an error: stop ffmpeg now
                process.kill()
                process.wait()
            with contextlib.suppress(OSError):
                process.stdin.close()


def _add_audio(video_only, input_path, audio_codec, path, output_path):
    """Write `path`: the video of `video_only` and the audio tracks of `input_path`, copied.

    When the container cannot hold the input's audio as it is, the audio is re-encoded as AAC
    instead; so is PCM bound for MP4, which ffmpeg writes in an extension ("ipcm") that few
    players read. The video is copied either way.
    """
    attempts = [("-c:a", "copy"), FALLBACK_AUDIO]
    if path.suffix.lower() in (".mp4", ".m4v") and audio_codec.startswith("pcm_"):
        attempts = [FALLBACK_AUDIO]
    base = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-i", str(video_only), "-i", str(input_path),
        "-map", "0:v:0", "-map", "1:a", "-c:v", "copy",
    ]  # fmt: skip
    for audio in attempts:
        finished = subprocess.run(
            [*base, *audio, str(path)], capture_output=True, text=True, errors="replace"
        )
        if finished.returncode == 0:
            return
    raise VideoError(
        f"cannot write video '{output_path}': adding the audio failed: "
        f"{_ffmpeg_reason(finished.stderr)}"
    )


def _unwritable(output_path, log):
    log.seek(0)
    reason = _ffmpeg_reason(log.read().decode(errors="replace"))
    return VideoError(f"cannot write video '{output_path}': ffmpeg: {reason}")


@contextlib.contextmanager
def _scratch_beside(path):
    """A hidden scratch file next to `path` (same disk, same suffix), removed afterwards."""
    scratch = path.with_name(f"{path.stem}.video{path.suffix}")
    try:
        yield scratch
    finally:
        scratch.unlink(missing_ok=True)
