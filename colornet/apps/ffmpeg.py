"""Reading and writing video with the ffmpeg binary that imageio-ffmpeg ships.

Frames come out of the input as uint8 RGB, one at a time; they go into an H.264 file written
by ffmpeg as our own subprocess, and the input's audio is added to it afterwards. The common
mistakes (no file, an image, a text file, an output over the input) and ffmpeg's failures all
become one `VideoError` line naming the file.
"""

import contextlib
import fractions
import re
import subprocess
import tempfile

import imageio_ffmpeg
import numpy as np

from colornet import _util
from colornet.errors import ColornetError
from colornet.io import folders

# The containers the output can be; all take H.264 video and AAC audio.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")

# x264's constant quality: 18 is its "visually lossless" point (0 lossless, 51 worst).
H264_QUALITY = 18
# Used when the input's audio cannot be copied into the output's container as it is.
FALLBACK_AUDIO = ("-c:a", "aac", "-b:a", "192k")

# What a video that yields not a single frame is told.
NO_FRAMES = "no frame could be decoded; the file may be truncated or corrupt"
# ffmpeg's progress and summary lines, which never say what went wrong.
_FFMPEG_NOISE = ("frame=", "Conversion failed")


class VideoError(ColornetError, ValueError):
    """One-line, user-facing error that names the video and the problem."""


def check_input(path):
    """The common mistakes, said plainly before ffmpeg says them at length."""
    if not path.exists():
        raise unreadable(path, "no such file")
    if path.is_dir():
        raise unreadable(path, "it is a folder, not a video file")
    if path.stat().st_size == 0:
        raise unreadable(path, "the file is empty (0 bytes)")
    # What the file holds, not what its name says: a text file named .jpg is no image.
    if folders.is_image_file(path):
        raise unreadable(path, "it is an image, not a video")
    if _is_text(path):
        raise unreadable(path, "it is a text file, not a video")


def _is_text(path, sample_bytes=4096):
    """True when the start of the file reads as UTF-8 text (videos hold zero bytes early)."""
    with open(path, "rb") as file:
        head = file.read(sample_bytes)
    # A multi-byte character cut by the sample's end may leave one replacement character.
    return b"\0" not in head and head.decode("utf-8", errors="replace").count("\ufffd") <= 1


def check_output(path, input_path):
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


def read_meta(path, reader):
    """The reader's first item: ffmpeg's description of the video (size, fps, duration...)."""
    try:
        meta = next(reader)
    except Exception as error:  # imageio-ffmpeg raises OSError with ffmpeg's whole log
        raise unreadable(path, _read_problem(str(error))) from error
    if "size" not in meta or min(meta["size"]) < 1:
        raise unreadable(path, "ffmpeg found no picture size in it")
    return meta


def decoded_frames(path, reader, shape):
    """uint8 (H, W, 3) RGB frames from the reader, its errors turned into one line."""
    index = 0
    while True:
        try:
            data = next(reader)
        except StopIteration:
            return
        except Exception as error:
            problem = f"decoding failed after frame {index}: {_read_problem(str(error))}"
            raise unreadable(path, problem) from error
        index += 1
        yield np.frombuffer(data, dtype=np.uint8).reshape(*shape, 3)


def frame_rate(path, fps):
    """ffmpeg's printed frame rate as an exact fraction: NTSC's 23.98 is 24000/1001.

    ffmpeg prints two decimals; taken literally, 23.98 instead of 23.976 would put the picture
    1.2 s behind the copied sound by the end of a two-hour film.
    """
    if not fps or fps <= 0:
        raise unreadable(path, "ffmpeg cannot tell its frame rate")
    if abs(fps - round(fps)) < 0.005:
        return fractions.Fraction(round(fps))
    ntsc_base = round(fps * 1.001)
    if abs(fps * 1.001 - ntsc_base) < 0.01:
        return fractions.Fraction(ntsc_base * 1000, 1001)
    return fractions.Fraction(fps).limit_denominator(1001)


def unreadable(path, problem):
    """The VideoError for an input that cannot be read: its path and the problem."""
    return VideoError(f"cannot read video '{path}': {problem}")


def _read_problem(log):
    """What ffmpeg's log says went wrong with an input, in words for a user."""
    if "does not contain any stream" in log:
        return "it has no video stream"
    if "received no packets" in log:
        return NO_FRAMES
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
def encoder(path, output_path, size, rate):
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


def add_audio(video_only, input_path, audio_codec, path, output_path):
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
def scratch_beside(path):
    """A hidden scratch file next to `path` (same disk, same suffix), removed afterwards."""
    scratch = path.with_name(f"{path.stem}.video{path.suffix}")
    try:
        yield scratch
    finally:
        scratch.unlink(missing_ok=True)
