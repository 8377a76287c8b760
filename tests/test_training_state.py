"""The training state: one file keyed by variable path, that any colornet run resumes from."""

import json
import os

import keras
import numpy as np
import pytest

from colornet.nets import models
from colornet.train import loop, settings, state
from colornet.train.runs import RunFolder

CONFIG = settings.TrainingConfig(
    data_dir="unused", image_size=32, batch_size=8, backbone="mobilenet_v3_small",
    backbone_weights=None, backbone_precision="float32", fusion_precision="float32",
)


def trained_looking_model(seed):
    """A training model whose fusion weights and optimizer variables hold random values."""
    training_model, _ = loop.build_training_model(CONFIG)
    training_model.optimizer.build(training_model.trainable_variables)
    rng = np.random.default_rng(seed)
    for variable in [*models.fusion_network(training_model).weights,
                     *training_model.optimizer.variables]:
        shape = tuple(variable.shape)
        variable.assign(rng.normal(size=shape).astype(variable.dtype) if shape
                        else np.asarray(rng.integers(1, 100), variable.dtype))
    return training_model


def values(training_model):
    """The fusion network's weights and the optimizer's variables, as numpy, in order."""
    return [keras.ops.convert_to_numpy(variable) for variable in [
        *models.fusion_network(training_model).weights, *training_model.optimizer.variables]]


def assert_same_state(saved, restored, learning_rate):
    """Every value alike, except the learning rate: the resumed run's own."""
    variables = [*models.fusion_network(restored).weights, *restored.optimizer.variables]
    for before, after, variable in zip(values(saved), values(restored), variables, strict=True):
        if variable.path.endswith("/learning_rate"):
            np.testing.assert_allclose(after, learning_rate, rtol=1e-6)
        else:
            np.testing.assert_array_equal(before, after)


@pytest.fixture(scope="module")
def saved_model():
    return trained_looking_model(seed=1)


def test_the_state_round_trips_weights_and_optimizer_keyed_by_variable_path(saved_model, tmp_path):
    run = RunFolder(tmp_path / "run")
    run.save_training_state(saved_model, 3, 0.25, "val_loss")
    with np.load(run.checkpoint_path) as saved:
        keys = set(saved.files)
        header = json.loads(str(saved["header"]))
    fusion = models.fusion_network(saved_model)
    assert {f"weights/{weight.path}" for weight in fusion.weights} < keys
    assert "weights/decoder_ab/kernel" in keys and "optimizer/iteration" in keys
    assert not any(key.split("/")[-1].isdigit() for key in keys)  # no positions
    assert header["format"] == state.FORMAT and header["processes"] == 1
    assert header["keras_backend"] == keras.backend.backend()
    assert (run.completed_epochs(), run.best_loss()) == (3, 0.25)

    restored, _ = loop.build_training_model(CONFIG)  # another optimizer name: "adam_N"
    run.restore_training_state(restored, learning_rate=5e-4)
    assert_same_state(saved_model, restored, 5e-4)


def test_an_earlier_colornets_positional_checkpoint_resumes_and_is_then_replaced(
    saved_model, tmp_path
):
    run = RunFolder(tmp_path / "run")
    run.legacy_npz_path.parent.mkdir(parents=True)
    # What colornet wrote before: positional arrays, and the epochs in state.json.
    write_positional_checkpoint(saved_model, run.legacy_npz_path)
    run.legacy_state_path.write_text(json.dumps({"epochs": 2, "best": 0.5, "monitor": "loss"}))
    assert (run.completed_epochs(), run.best_loss()) == (2, 0.5)

    restored, _ = loop.build_training_model(CONFIG)
    run.restore_training_state(restored, learning_rate=1e-3)
    assert_same_state(saved_model, restored, 1e-3)
    run.save_training_state(restored, 3, 0.4, "loss")
    assert not run.legacy_npz_path.exists() and not run.legacy_state_path.exists()
    assert run.completed_epochs() == 3


def write_positional_checkpoint(training_model, path):
    """What colornet wrote before for one process: positional arrays."""
    fusion = models.fusion_network(training_model)
    arrays = {f"weight_{i}": value for i, value in enumerate(fusion.get_weights())}
    arrays |= {f"optimizer_{i}": keras.ops.convert_to_numpy(variable)
               for i, variable in enumerate(training_model.optimizer.variables)}
    np.savez(path, **arrays)


def test_an_earlier_run_resumed_on_several_processes_resumes_from_its_newer_keras_file(
    saved_model, tmp_path
):
    """The bug this format ends: one process wrote last.npz, a later job of several wrote
    last.keras, and a resume preferred the stale last.npz."""
    run = RunFolder(tmp_path / "run")
    run.legacy_npz_path.parent.mkdir(parents=True)
    write_positional_checkpoint(trained_looking_model(seed=2), run.legacy_npz_path)
    os.utime(run.legacy_npz_path, ns=(1, 1))  # long before
    saved_model.save(run.legacy_keras_path)
    run.legacy_state_path.write_text(json.dumps({"epochs": 4, "best": 0.3, "monitor": "loss"}))
    restored, _ = loop.build_training_model(CONFIG)
    run.restore_training_state(restored, learning_rate=1e-3)
    assert_same_state(saved_model, restored, 1e-3)


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04 cut short"])
def test_a_corrupt_state_is_one_line_naming_the_file_and_the_remedy(tmp_path, content):
    run = RunFolder(tmp_path / "run")
    run.checkpoint_path.parent.mkdir(parents=True)
    run.checkpoint_path.write_bytes(content)
    with pytest.raises(state.StateError) as error:
        run.completed_epochs()
    message = str(error.value)
    assert "\n" not in message and str(run.checkpoint_path) in message
    assert "not a readable training state" in message and "new run folder" in message


def test_a_state_of_another_network_or_a_newer_colornet_is_refused_in_one_line(
    saved_model, tmp_path
):
    run = RunFolder(tmp_path / "run")
    run.save_training_state(saved_model, 1, 0.5, "loss")
    with np.load(run.checkpoint_path) as saved:
        arrays = dict(saved)
    del arrays["weights/decoder_ab/kernel"]
    np.savez(run.checkpoint_path, **arrays)
    restored, _ = loop.build_training_model(CONFIG)
    with pytest.raises(state.StateError, match=r"does not fit this network: 1 variables missing "
                       r"\(weights/decoder_ab/kernel, \.\.\.\); resume with the settings"):
        run.restore_training_state(restored, learning_rate=1e-3)

    arrays["header"] = np.array(json.dumps({"format": state.FORMAT + 1, "epochs": 1}))
    np.savez(run.checkpoint_path, **arrays)
    with pytest.raises(state.StateError, match="newer colornet.*upgrade colornet"):
        run.completed_epochs()
