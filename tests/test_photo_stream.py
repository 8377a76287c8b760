"""`colornet colorize` on an archive: a folder's photos are found as the work reaches them
(the first is colorized before the rest are listed), the stream's memory does not grow with
the number of photos, and `--shard K/N` splits the photos between N processes, every photo in
exactly one shard, each run skipping what any run already did."""

import pathlib
import tracemalloc

import pytest

from colornet import cli
from colornet.apps import jobs, photo_stream
from colornet.io import folders, save
from tests.factories import constant_model, write_photos


def _tree(root, directories, per_directory, real=False):
    """`directories` × `per_directory` photos under `root`: empty files named .png (the
    stream reads no file), or, with `real`, small photos."""
    for index in range(directories):
        folder = root / f"d{index:03d}"
        if real:
            write_photos(folder, per_directory, seed=index)
            continue
        folder.mkdir(parents=True)
        for number in range(per_directory):
            (folder / f"{number:03d}.png").touch()
    return root


@pytest.fixture
def walked(monkeypatch):
    """Every file the folder walk has given so far, in order."""
    seen, walk = [], folders.walk_files

    def counting(*args, **kwargs):
        for path in walk(*args, **kwargs):
            seen.append(path)
            yield path

    monkeypatch.setattr(folders, "walk_files", counting)
    return seen


def test_the_first_photo_comes_before_the_folder_is_listed(tmp_path, walked):
    _tree(tmp_path / "archive", 20, 5)
    stream = photo_stream.PhotoStream([tmp_path / "archive"])
    first = next(iter(stream))
    assert first == (tmp_path / "archive" / "d000" / "000.png", pathlib.Path("d000/000.png"))
    # The check at creation (one file), then one directory and the file that ends it.
    assert len(walked) <= 1 + 5 + 1
    assert len(list(stream)) == 100


def test_colorize_writes_its_first_photo_before_it_lists_the_last_directory(
    tmp_path, walked, monkeypatch
):
    _tree(tmp_path / "archive", 3, 2, real=True)
    listed_at_first_save, real_save = [], save.save_image

    def saving(*args, **kwargs):
        listed_at_first_save.append(len(walked))
        return real_save(*args, **kwargs)

    monkeypatch.setattr(save, "save_image", saving)
    report = jobs.colorize_files(constant_model(), [tmp_path / "archive"], tmp_path / "out",
                                 batch_size=1, progress=False)
    assert len(report.written) == 6
    assert listed_at_first_save[0] < 6


def _peak_bytes_of_streaming(folder):
    tracemalloc.start()
    try:
        count = sum(1 for _ in photo_stream.PhotoStream([folder]))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_streams_memory_does_not_grow_with_the_number_of_photos(tmp_path):
    few = _tree(tmp_path / "few", 2, 10)
    many = _tree(tmp_path / "many", 60, 10)
    _peak_bytes_of_streaming(few)  # warm-up: imports and caches
    (few_count, few_peak), (many_count, many_peak) = (
        _peak_bytes_of_streaming(few), _peak_bytes_of_streaming(many)
    )
    assert (few_count, many_count) == (20, 600)
    # 600 paths kept would be some 100 kB more.
    assert many_peak < few_peak * 1.25 + 30_000, (few_peak, many_peak)


def test_shards_split_the_photos_with_each_in_exactly_one(tmp_path):
    _tree(tmp_path / "archive", 6, 10)
    everything = list(photo_stream.PhotoStream([tmp_path / "archive"]))
    shards = [list(photo_stream.PhotoStream([tmp_path / "archive"], shard=(index, 3)))
              for index in range(3)]
    assert all(shards)  # 60 photos: each shard gets some
    assert sorted(photo for shard in shards for photo in shard) == sorted(everything)
    # The same split every time, and a photo keeps its shard when others are added.
    assert shards[1] == list(photo_stream.PhotoStream([tmp_path / "archive"], shard=(1, 3)))
    _tree(tmp_path / "archive" / "more", 2, 10)
    grown = list(photo_stream.PhotoStream([tmp_path / "archive"], shard=(1, 3)))
    assert set(shards[1]) <= set(grown)


def test_shards_colorize_into_one_folder_and_every_later_run_skips_what_they_did(tmp_path):
    photos = _tree(tmp_path / "archive", 2, 4, real=True)
    out = tmp_path / "out"

    def run(shard=None):
        return jobs.colorize_files(constant_model(), [photos], out, progress=False,
                                   skip_complete=True, shard=shard)

    first, second = run((0, 2)), run((1, 2))
    written = sorted(path.relative_to(out).as_posix()
                     for path in first.written + second.written)
    assert written == sorted(f"d00{d}/00{n}.png" for d in range(2) for n in range(4))
    assert not set(first.written) & set(second.written)
    again = run((0, 2))
    assert again.written == [] and len(again.skipped) == len(first.written)
    whole = run()
    assert whole.written == [] and len(whole.skipped) == 8  # every shard's record read


@pytest.mark.parametrize("value", ["2/2", "1", "a/3", "-1/2"])
def test_a_shard_that_is_not_k_of_n_is_one_line(value, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["colorize", "photos", "-o", "out", "--shard", value])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and error.count("\n") == 1 and "--shard" in error, error
