"""The recipe's hint-aware network and its data_parallel jobs (issues 29 and 30): a run that
starts from the shipped weights, trains with simulated hints and exports a model that takes
them; batches split between processes; two processes on 127.0.0.1 resuming 1 → 2 → 1."""

import dataclasses
import json
import sys

import keras
import numpy as np
import pytest

from colornet import pretrained
from colornet.nets import hints, lite_unet
from colornet.pretrained import recipe
from colornet.train import crops, pipeline
from tests.factories import colour_photo
from tests.test_distributed import finish, free_port, job_environment, processes
from tests.test_recipe import TINY, write_corpus

HINTED = dataclasses.replace(TINY, hints=True, start_from=recipe.SHIPPED)


@pytest.fixture
def tiny_corpus(tmp_path):
    return write_corpus(tmp_path / "corpus", ("train",) * 3 + ("validation", "held_out"))


class Photos:
    """A PhotoSource stand-in: three photos in memory."""

    photos = [(colour_photo(index, 80, 96) * 255).round().astype(np.uint8) for index in range(3)]

    def __len__(self):
        return len(self.photos)

    def photo(self, index):
        return self.photos[index]


# ---------------------------------------------------------------------------------------------
# Batches: shares of a job, and simulated hints


def test_a_single_process_draws_the_batch_it_always_drew_and_each_share_its_own():
    source = Photos()
    draw = dict(photo_at=source.photo, photo_count=3, crop_size=32, seed=4, epoch=1, index=2)
    alone = crops.batch_crops(batch_size=4, **draw)
    np.testing.assert_array_equal(alone, crops.batch_crops(batch_size=4, part=(0, 1), **draw))
    first, second = (crops.batch_crops(batch_size=2, part=(p, 2), **draw) for p in (0, 1))
    assert first.shape == second.shape == (2, 32, 32, 3)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, crops.batch_crops(batch_size=2, part=(0, 2), **draw))


def test_a_share_is_the_global_batch_over_the_processes_and_must_divide_it():
    batches = pipeline.crop_batches(Photos(), crop_size=32, batch_size=4, steps_per_epoch=2,
                                    part=(1, 2))
    lightness, ab = next(iter(batches))
    assert lightness.shape == (2, 32, 32, 1) and ab.shape == (2, 8, 8, 2)
    with pytest.raises(ValueError, match=r"batch_size \(5\) must be a multiple of the job's 2"):
        pipeline.crop_batches(Photos(), crop_size=32, batch_size=5, part=(0, 2))


def test_hint_batches_give_the_networks_three_inputs_from_the_crops_own_colours():
    batches = pipeline.crop_batches(Photos(), crop_size=32, batch_size=4, steps_per_epoch=2,
                                    seed=1, hints=True)
    (inputs, ab), (again, _) = next(iter(batches)), next(iter(batches))
    assert set(inputs) == {"lightness", "hints", "reference"}
    assert inputs["hints"].shape == (4, 32, 32, hints.HINT_CHANNELS)
    assert inputs["reference"].shape == (4, hints.reference_length())
    np.testing.assert_array_equal(inputs["hints"], again["hints"])  # the step decides them
    # Where the mask says a hint is, its ab lies within the crop's own colours there.
    hint_ab, mask = inputs["hints"].numpy()[..., :2], inputs["hints"].numpy()[..., 2]
    assert mask.any()
    rgb = crops.batch_crops(Photos().photo, 3, 4, 32, seed=1, epoch=0, index=0)
    lab = crops.lab_of(rgb)
    scaled = lab[..., 1:] / 128.0
    for channel in range(2):
        hinted = hint_ab[..., channel][mask == 1]
        assert hinted.min() >= scaled[..., channel].min() - 1e-5
        assert hinted.max() <= scaled[..., channel].max() + 1e-5
    assert ab.shape == (4, 8, 8, 2)


# ---------------------------------------------------------------------------------------------
# The hint-aware recipe


@pytest.mark.slow
def test_a_hint_run_starts_from_the_shipped_weights_and_exports_a_model_that_takes_hints(
        tiny_corpus, tmp_path, keras_home):
    # Zero learning: the run's weights stay the ones it started from.
    frozen = dataclasses.replace(HINTED, learning_rate=1e-12)
    rows = recipe.train(tiny_corpus, tmp_path / "run", frozen, progress=False)
    assert [row["epoch"] for row in rows] == [1] and np.isfinite(rows[0]["loss"])

    shipped_weights, _, _ = pretrained.paths()
    with np.load(shipped_weights) as shipped, \
            np.load(tmp_path / "run" / "epochs" / "epoch-001.npz") as trained:
        shared = set(shipped.files) & set(trained.files)
        assert shared == set(shipped.files)  # every shipped weight, and the hint layers
        assert any(name.startswith(lite_unet.HINT_LAYER_PREFIXES) for name in trained.files)
        for name in shared:
            np.testing.assert_allclose(trained[name], shipped[name].astype(np.float32),
                                       atol=1e-3)

    folder = tmp_path / "export"  # as `export` writes it, without choosing a temperature
    recipe.write_shipped_files(tmp_path / "run", 1, tiny_corpus, folder=folder)
    described = json.loads((folder / f"{pretrained.NAME}.json").read_text())
    assert described["network"]["hints"] is True and described["recipe"]["hints"] is True
    model = pretrained.load(folder)
    assert [tensor.name for tensor in model.inputs][:2] == ["lightness", "hints"]


def test_a_start_from_file_that_is_not_weights_is_refused_in_one_line(tiny_corpus, tmp_path):
    wrong = tmp_path / "wrong.npz"
    wrong.write_bytes(b"not a zip")
    config = dataclasses.replace(TINY, start_from=str(wrong))
    with pytest.raises(recipe.RecipeError, match="cannot start from .*wrong.npz") as error:
        recipe.train(tiny_corpus, tmp_path / "run", config, progress=False)
    assert "\n" not in str(error.value)


def test_data_parallel_on_tensorflow_is_refused_in_one_line_naming_jax(tiny_corpus, tmp_path):
    with pytest.raises(recipe.RecipeError, match="KERAS_BACKEND=jax"):
        recipe.train(tiny_corpus, tmp_path / "run", TINY, progress=False,
                     distribution="data_parallel")
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------------------------------------
# A job of two processes on 127.0.0.1, resumed on one, two, one


def pretrain_command(corpus_dir, run_dir, epochs):
    return [sys.executable, "-m", "colornet.cli", "pretrain", str(corpus_dir), "--out",
            str(run_dir), "--epochs", str(epochs), "--steps-per-epoch", "2", "--batch-size",
            "4", "--crop-size", "64", "--distribution", "data_parallel", "--quiet"]


@pytest.mark.slow
def test_pretrain_runs_as_one_job_of_two_processes_and_resumes_on_one_two_one(tmp_path):
    corpus_dir = write_corpus(tmp_path / "corpus", ("train",) * 6 + ("validation",))
    run_dir = tmp_path / "run"
    alone = {**job_environment(0, 1, free_port()), "COLORNET_NUM_PROCESSES": "",
             "COLORNET_COORDINATOR": "", "COLORNET_PROCESS_ID": ""}
    with processes() as start:
        for epochs, count in ((1, 1), (2, 2), (3, 1)):
            port = free_port()
            environments = ([alone] if count == 1 else
                            [job_environment(index, count, port) for index in range(count)])
            started = [start(pretrain_command(corpus_dir, run_dir, epochs), environment)
                       for environment in environments]
            for process in started:
                status, _, stderr = finish(process)
                assert status == 0, stderr[-3000:]
            rows = recipe.read_log(run_dir)
            assert [row["epoch"] for row in rows] == list(range(1, epochs + 1))
    with np.load(run_dir / recipe.CHECKPOINT_NAME) as checkpoint:
        assert int(checkpoint["epoch"]) == 3
    # Process 1 wrote nothing of its own: no photo of its share was unreadable.
    assert sorted(path.name for path in run_dir.iterdir()) == sorted(
        [recipe.CONFIG_NAME, recipe.CHECKPOINT_NAME, recipe.LOG_NAME,
         recipe.CLASS_WEIGHTS_NAME, "epochs", "photos.txt"])
    assert all(np.isfinite(row["loss"]) and np.isfinite(row["val_psnr"]) for row in rows)


def test_training_hints_only_leaves_every_automatic_weight_as_it_was():
    trunk = lite_unet.trunk(weights=None, head="regression", image_size=32, hints=True,
                            reference=True)
    before = lite_unet.trainable_weights_dict(trunk)
    lite_unet.train_hints_only(trunk)
    assert lite_unet.trainable_weights_dict(trunk).keys() == before.keys()  # still all saved
    assert all(variable.path.startswith(lite_unet.HINT_LAYER_PREFIXES)
               for variable in trunk.trainable_weights)
    trunk.compile(keras.optimizers.Adam(1e-2), "mse")
    rng = np.random.default_rng(0)
    lightness = rng.uniform(0, 100, (4, 32, 32, 1)).astype(np.float32)
    hint_maps = np.stack([hints.join(*hints.simulate_hints(rng.uniform(-60, 60, (32, 32, 2)),
                                                           rng, points=5)) for _ in range(4)])
    reference = np.stack([hints.reference_hint(rng.uniform(0, 1, (8, 8, 3)))] * 4)
    target = rng.uniform(-1, 1, (4, 8, 8, 2)).astype(np.float32)
    for _ in range(3):
        trunk.train_on_batch([lightness, hint_maps, reference], target)
    after = lite_unet.trainable_weights_dict(trunk)
    changed = {path for path in before if not np.array_equal(before[path], after[path])}
    assert changed and all(path.startswith(lite_unet.HINT_LAYER_PREFIXES) for path in changed)
    lite_unet.set_trainable_weights(trunk, before)  # loads the whole decoder back
    assert all(np.array_equal(before[path], value)
               for path, value in lite_unet.trainable_weights_dict(trunk).items())


def test_hints_only_needs_a_hint_network_that_starts_from_weights():
    with pytest.raises(ValueError, match="hints_only trains the hint layers"):
        dataclasses.replace(TINY, hints_only=True).check()
