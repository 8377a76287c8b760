"""Memory stays flat however many photos or frames: colorizing streams, it does not collect.

Two kinds of evidence: how many photos or frames are held at once (read but not yet written)
never exceeds a batch, and the peak of numpy's allocations (tracemalloc sees them) does not
grow with the number of files or frames."""

import contextlib
import tracemalloc

import keras
import numpy as np
import pytest

from colornet.apps import ffmpeg, jobs, video
from colornet.io import decode, save
from colornet.nets import models
from tests.factories import moving_shapes, write_clip, write_photos


@pytest.fixture(scope="module")
def version_1():
    keras.utils.set_random_seed(0)
    return models.version_1()


class InFlight:
    """Counts items taken in and given out; remembers the most held at once."""

    def __init__(self):
        self.taken = self.given = self.most = 0

    def take(self):
        self.taken += 1
        self.most = max(self.most, self.taken - self.given)

    def give(self):
        self.given += 1


def peak_numpy_bytes(function):
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_colorize_files_holds_at_most_one_batch_of_photos(version_1, tmp_path, monkeypatch):
    folder = write_photos(tmp_path / "in", 50)
    counter = InFlight()
    real_load, real_save = decode.load_lightness_and_alpha, save.save_image

    def counting_load(*args, **kwargs):
        counter.take()
        return real_load(*args, **kwargs)

    def counting_save(*args, **kwargs):
        counter.give()
        return real_save(*args, **kwargs)

    monkeypatch.setattr(decode, "load_lightness_and_alpha", counting_load)
    monkeypatch.setattr(save, "save_image", counting_save)
    report = jobs.colorize_files(
        version_1, [folder], tmp_path / "out", batch_size=8, progress=False,
    )
    assert len(report.written) == counter.given == 50
    assert counter.most == 8


def test_colorize_files_peak_memory_does_not_grow_with_the_number_of_files(version_1, tmp_path):
    few, many = write_photos(tmp_path / "few", 16), write_photos(tmp_path / "many", 160)
    jobs.colorize_files(version_1, [few], tmp_path / "warm-up", batch_size=8, progress=False)

    def run(folder):
        return lambda: jobs.colorize_files(
            version_1, [folder], tmp_path / f"out-{folder.name}", batch_size=8, progress=False,
        )

    peak_few, peak_many = peak_numpy_bytes(run(few)), peak_numpy_bytes(run(many))
    # 160 photos of 64×96 held at once would add 160 × 74 kB of float32 RGB alone.
    assert peak_many < peak_few * 1.25 + 200_000, (peak_few, peak_many)


def test_colorize_video_holds_at_most_one_batch_of_frames(version_1, tmp_path, monkeypatch):
    source = write_clip(tmp_path / "clip.mp4", moving_shapes(frames=60))
    counter = InFlight()
    decoded, encoder = ffmpeg.decoded_frames, ffmpeg.encoder

    def counting_frames(*args, **kwargs):
        for frame in decoded(*args, **kwargs):
            counter.take()
            yield frame

    @contextlib.contextmanager
    def counting_encoder(*args, **kwargs):
        with encoder(*args, **kwargs) as write:
            def counting_write(frame):
                counter.give()
                write(frame)
            yield counting_write

    monkeypatch.setattr(ffmpeg, "decoded_frames", counting_frames)
    monkeypatch.setattr(ffmpeg, "encoder", counting_encoder)
    report = video.colorize_video(
        version_1, source, tmp_path / "out.mp4", batch_size=8, progress=False,
    )
    assert report.frames == counter.given == 60
    assert counter.most <= 8 + 1  # a batch, and the next frame read to see whether one follows


@pytest.mark.slow
def test_colorize_video_peak_memory_does_not_grow_with_its_length(version_1, tmp_path):
    short = write_clip(tmp_path / "short.mp4", moving_shapes(frames=24))
    long = write_clip(tmp_path / "long.mp4", np.concatenate([moving_shapes(frames=24)] * 10))
    video.colorize_video(version_1, short, tmp_path / "warm-up.mp4", batch_size=8, progress=False)

    def run(source):
        return lambda: video.colorize_video(
            version_1, source, tmp_path / f"out-{source.stem}.mp4", batch_size=8, progress=False,
        )

    peak_short, peak_long = peak_numpy_bytes(run(short)), peak_numpy_bytes(run(long))
    # 240 frames of 64×48 held at once would add 240 × 37 kB of float32 lightness and more.
    assert peak_long < peak_short * 1.25 + 200_000, (peak_short, peak_long)
