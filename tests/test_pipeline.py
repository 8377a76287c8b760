"""Crops streamed from disk (colornet.train.pipeline): the photo list (recursive, kept in the run
folder), batches equal to those of the same photos in memory, the same batches after a resume,
unreadable photos skipped and named, memory that does not grow with the number of photos."""

import csv
import dataclasses
import importlib
import json
import pathlib
import tracemalloc
import warnings

import numpy as np
import pytest

from colornet import corpus
from colornet.io import save
from colornet.train import crops, pipeline
from tests.factories import colour_photo

# The module, not the function `colornet.corpus.build` that its package exports under its name.
corpus_build = importlib.import_module("colornet.corpus.build")


def write_photo(path, seed=0, height=48, width=64):
    path.parent.mkdir(parents=True, exist_ok=True)
    save.save_image(path, colour_photo(seed, height, width))
    return path


def write_tree(folder, count):
    """`count` photos in two nested class folders, as ImageNet's train/ holds them."""
    return [write_photo(folder / f"n0{index % 2}" / "deeper" / f"photo-{index:03d}.JPEG", index)
            for index in range(count)]


def batches(source, count, first_epoch=0, steps_per_epoch=2, seed=3):
    dataset = pipeline.crop_batches(source, crop_size=32, batch_size=3,
                                    steps_per_epoch=steps_per_epoch, seed=seed,
                                    first_epoch=first_epoch)
    return [(np.asarray(lightness), np.asarray(ab)) for lightness, ab in dataset.take(count)]


# ---------------------------------------------------------------------------------------------
# Which photos


def test_list_photos_walks_every_subfolder_and_leaves_out_hidden_files_and_others(tmp_path):
    expected = [write_photo(tmp_path / "n01" / "a.JPEG"),
                write_photo(tmp_path / "n02" / "sub" / "b.png"),
                write_photo(tmp_path / "top.jpg")]
    write_photo(tmp_path / ".hidden" / "c.jpg")
    write_photo(tmp_path / "n01" / "._a.jpg")
    (tmp_path / "n01" / "notes.txt").write_text("not a photo")
    assert pipeline.list_photos(tmp_path, progress=False) == sorted(expected)


def test_an_empty_tree_lists_no_photos(tmp_path):
    (tmp_path / "empty" / "deeper").mkdir(parents=True)
    assert pipeline.list_photos(tmp_path / "empty", progress=False) == []


def test_a_folder_corpus_is_listed_once_into_the_run_folder_and_read_back(tmp_path):
    corpus_dir, run_dir = tmp_path / "corpus", tmp_path / "run"
    listed = write_tree(corpus_dir / "train", 3)
    assert pipeline.corpus_photos(corpus_dir, "train", run_dir, progress=False) == sorted(listed)
    lines = (run_dir / pipeline.PHOTO_LIST_NAME).read_text().splitlines()
    assert lines == [path.relative_to(corpus_dir).as_posix() for path in sorted(listed)]

    added = write_photo(corpus_dir / "train" / "n00" / "later.png")
    # A run keeps the photos it started with; a new run lists the folder afresh.
    assert pipeline.corpus_photos(corpus_dir, "train", run_dir, progress=False) == sorted(listed)
    assert added in pipeline.corpus_photos(corpus_dir, "train", run_dir, reuse=False,
                                           progress=False)


def test_a_moved_corpus_is_found_through_its_relative_list(tmp_path):
    write_tree(tmp_path / "old" / "train", 2)
    run_dir = tmp_path / "run"
    pipeline.corpus_photos(tmp_path / "old", "train", run_dir, progress=False)
    (tmp_path / "old").rename(tmp_path / "new")
    paths = pipeline.corpus_photos(tmp_path / "new", "train", run_dir, progress=False)
    assert len(paths) == 2 and all(path.is_file() for path in paths)


def test_a_corpus_with_a_manifest_lists_its_split_in_manifest_order(tmp_path):
    corpus_dir = tmp_path / "corpus"
    rows = []
    for index, split in enumerate(["train", "validation", "train"]):
        file = f"{split}/z-{9 - index}.png"
        write_photo(corpus_dir / file, index)
        rows.append(dict.fromkeys(corpus_build.COLUMNS, "x")
                    | {"file": file, "split": split, "width": 64, "height": 48})
    with open(corpus_dir / corpus.MANIFEST, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=corpus_build.COLUMNS, delimiter="\t",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    paths = pipeline.corpus_photos(corpus_dir, "train", tmp_path / "run", progress=False)
    assert paths == [corpus_dir / "train/z-9.png", corpus_dir / "train/z-7.png"]


def test_a_split_without_photos_writes_no_list(tmp_path):
    (tmp_path / "corpus" / "train").mkdir(parents=True)
    assert pipeline.corpus_photos(tmp_path / "corpus", "train", tmp_path / "run",
                                  progress=False) == []
    assert not (tmp_path / "run" / pipeline.PHOTO_LIST_NAME).exists()


# ---------------------------------------------------------------------------------------------
# The batches


def test_streamed_batches_are_the_crops_of_the_same_photos_in_memory(tmp_path):
    paths = write_tree(tmp_path, 4)
    streamed = batches(pipeline.PhotoSource(paths), 3)
    in_memory = crops.load_photos(paths, progress=False)
    for step, (lightness, ab) in enumerate(streamed):
        epoch, index = divmod(step, 2)
        rgb = crops.batch_crops(in_memory.__getitem__, 4, 3, 32, seed=3, epoch=epoch,
                                index=index)
        expected_lightness, expected_ab = crops.lightness_and_ab_target(rgb)
        assert lightness.shape == (3, 32, 32, 1) and ab.shape == (3, 8, 8, 2)
        np.testing.assert_array_equal(lightness, expected_lightness)
        np.testing.assert_array_equal(ab, expected_ab)


def test_a_resumed_run_draws_the_crops_of_epoch_e_batch_s_an_uninterrupted_one_drew(tmp_path):
    source = pipeline.PhotoSource(write_tree(tmp_path, 5))
    straight = batches(source, 6)  # epochs 0, 1, 2 of two batches
    resumed = batches(source, 2, first_epoch=2)
    for (lightness, ab), (again_lightness, again_ab) in zip(straight[4:], resumed):
        np.testing.assert_array_equal(lightness, again_lightness)
        np.testing.assert_array_equal(ab, again_ab)
    assert not np.array_equal(straight[0][0], straight[2][0])  # epochs differ
    assert not np.array_equal(straight[0][0], batches(source, 1, seed=4)[0][0])  # seeds too


@pytest.mark.parametrize("arguments, message", [
    (dict(crop_size=100), "crop_size must be a multiple of 32"),
    (dict(min_scale=0.0), r"min_scale must be in \(0, 1\]"),
    (dict(batch_size=0), "batch_size must be a whole number"),
    (dict(steps_per_epoch=0), "steps_per_epoch must be a whole number"),
])
def test_crop_batches_refuses_bad_arguments_by_name(tmp_path, arguments, message):
    source = pipeline.PhotoSource([write_photo(tmp_path / "a.png")])
    with pytest.raises(ValueError, match=message):
        pipeline.crop_batches(source, **arguments)


@pytest.mark.parametrize("cache_bytes", [0, 300_000])
def test_memory_does_not_grow_with_the_number_of_photos_beyond_the_cache(tmp_path, cache_bytes):
    """Six times the photos, the same peak of arrays: the decoded photos' cache stops at its
    budget, and nothing else is kept from one batch to the next (all the photos would take
    3.5 MB here). Both counts fill the cache, so both keep decoding photos all along."""

    def peak_bytes(count):
        paths = [write_photo(tmp_path / f"{count}" / f"{index:03d}.png", index, 120, 160)
                 for index in range(count)]
        source = pipeline.PhotoSource(paths, cache_bytes=cache_bytes)
        batches(source, 1)  # tf.data's own first allocations, outside the measure
        tracemalloc.start()
        try:
            batches(source, 40)  # about 50 of the 60 photos drawn
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    few, many = peak_bytes(10), peak_bytes(60)
    assert many < few + 1_500_000, (few, many)  # the run-to-run spread is under 1 MB


def test_decoded_photos_are_kept_for_their_next_crops_up_to_the_budget(tmp_path):
    paths = [write_photo(tmp_path / f"{index}.png", index) for index in range(3)]
    photo_bytes = crops.load_photo(paths[0]).nbytes
    source = pipeline.PhotoSource(paths, cache_bytes=2 * photo_bytes)
    first = [source.photo(index) for index in range(3)]
    for path in paths:
        path.unlink()
    np.testing.assert_array_equal(source.photo(0), first[0])  # kept: not read again
    np.testing.assert_array_equal(source.photo(1), first[1])
    # The third did not fit: read again, it is gone, and the next readable photo stands in.
    np.testing.assert_array_equal(source.photo(2), first[0])
    assert list(source.skipped) == [str(paths[2])]


# ---------------------------------------------------------------------------------------------
# Photos that cannot be read


def test_an_unreadable_photo_is_skipped_named_and_stands_for_the_next_readable_one(
        tmp_path, capsys):
    paths = write_tree(tmp_path / "photos", 4)
    broken = write_photo(tmp_path / "photos" / "n00" / "broken.jpg", 9, 96, 128)
    broken.write_bytes(broken.read_bytes()[:600])  # a copy cut short
    paths.insert(1, broken)
    run_dir = tmp_path / "run"
    source = pipeline.PhotoSource(paths, run_dir)

    streamed = batches(source, 8)

    assert len(streamed) == 8 and all(lightness.shape == (3, 32, 32, 1)
                                      for lightness, _ in streamed)
    assert list(source.skipped) == [str(broken)]
    name, problem = (run_dir / pipeline.SKIPPED_NAME).read_text().splitlines()[0].split("\t")
    assert name == str(broken) and "cannot decode it" in problem
    np.testing.assert_array_equal(source.photo(1), source.photo(2))
    # Another session reads the record and draws the same crops without trying the file.
    again = pipeline.PhotoSource(paths, run_dir)
    assert list(again.skipped) == [str(broken)]
    for (lightness, _), (again_lightness, _) in zip(streamed, batches(again, 8)):
        np.testing.assert_array_equal(lightness, again_lightness)

    pipeline.SkippedReport(again.skipped).on_epoch_end(0)
    assert capsys.readouterr().out == (
        f"1 photo could not be read: see {run_dir / pipeline.SKIPPED_NAME}\n")


def test_no_report_when_every_photo_was_read(tmp_path, capsys):
    source = pipeline.PhotoSource([write_photo(tmp_path / "a.png")], tmp_path / "run")
    batches(source, 2)
    pipeline.SkippedReport(source.skipped).on_epoch_end(0)
    assert capsys.readouterr().out == ""
    assert not (tmp_path / "run" / pipeline.SKIPPED_NAME).exists()


def test_photos_none_of_which_can_be_read_are_refused_in_one_line(tmp_path):
    paths = [tmp_path / "empty.jpg", tmp_path / "text.png"]
    paths[0].write_bytes(b"")
    paths[1].write_text("not an image")
    source = pipeline.PhotoSource(paths, tmp_path / "run")
    with pytest.raises(pipeline.PipelineError) as error:
        source.check_readable("the test folder")
    message = str(error.value)
    assert "none of the 2 photos of the test folder can be read" in message
    assert "empty" in message and "\n" not in message
    assert len(source.skipped) == 2


def test_check_readable_stops_at_the_first_readable_photo(tmp_path):
    paths = [write_photo(tmp_path / "a.png"), tmp_path / "b.png"]
    paths[1].write_text("not an image")
    source = pipeline.PhotoSource(paths)
    source.check_readable("here")
    assert source.skipped == {}  # b.png was never tried


# ---------------------------------------------------------------------------------------------
# The class weights' sample


def test_the_colour_sample_is_every_photo_when_few_and_a_seeded_subset_when_many(tmp_path):
    paths = [write_photo(tmp_path / f"{index}.png", index) for index in range(5)]
    source = pipeline.PhotoSource(paths)
    every = list(source.sample(5, progress=False))
    for photo, path in zip(every, paths):
        np.testing.assert_array_equal(photo, crops.load_photo(path))
    some = list(source.sample(2, seed=1, progress=False))
    again = list(source.sample(2, seed=1, progress=False))
    assert len(some) == 2 and all(np.array_equal(a, b) for a, b in zip(some, again))


# ---------------------------------------------------------------------------------------------
# The same record for `colornet train`'s stream (colornet.train.data)


def test_the_final_versions_stream_names_an_unreadable_photo_in_the_run_folder(tmp_path):
    from colornet.train import data

    paths = [write_photo(tmp_path / f"{index}.png", index) for index in range(3)]
    paths[1].write_bytes(paths[1].read_bytes()[:100])
    (tmp_path / "run").mkdir()
    skipped = pipeline.SkippedPhotos(tmp_path / "run" / pipeline.skipped_name(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # named in the file, not warned about
        batch = next(iter(data.image_dataset(paths, 32, 3, augment=False, shuffle=False,
                                             skipped=skipped)))
    assert batch.shape == (2, 32, 32, 3)
    name, problem = (tmp_path / "run" / "skipped.txt").read_text().splitlines()[0].split("\t")
    assert name == str(paths[1]) and "truncated or corrupt" in problem


def test_each_process_of_a_job_names_its_skipped_photos_in_a_file_of_its_own():
    assert pipeline.skipped_name(0) == "skipped.txt"
    assert pipeline.skipped_name(2) == "skipped-process-2.txt"


@pytest.mark.slow
def test_a_final_version_run_skips_a_photo_that_became_unreadable_and_says_so(
        tmp_path, capsys):
    from colornet.train import loop, settings
    from tests.factories import FAST, write_photos

    folder = write_photos(tmp_path / "train", 12)
    config = settings.TrainingConfig(data_dir=str(folder), epochs=1, **FAST)
    loop.train(config, tmp_path / "run", progress=False)
    train_paths = json.loads((tmp_path / "run" / "split.json").read_text())["train"]
    broken = pathlib.Path(train_paths[0])
    broken.write_bytes(broken.read_bytes()[:100])  # after the split: mid-run, as it were
    capsys.readouterr()

    loop.train(dataclasses.replace(config, epochs=2), tmp_path / "run", progress=False)

    name, _ = (tmp_path / "run" / "skipped.txt").read_text().splitlines()[0].split("\t")
    assert name == str(broken)
    assert (f"1 photo could not be read: see {tmp_path / 'run' / 'skipped.txt'}"
            in capsys.readouterr().out)
