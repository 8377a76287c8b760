"""The model contract: every colornet model maps L* in [0, 100] to scaled ab, and old files
still load and colorize as they did."""

import pathlib

import numpy as np
import pytest

from colornet.apps import colorize

OLD_MODELS = pathlib.Path(__file__).parent / "data" / "old_models"


@pytest.mark.parametrize("name", ["old_version_1", "old_final_32"])
def test_a_model_file_saved_before_the_contract_colorizes_as_it_did(name):
    model = colorize.load_model(OLD_MODELS / f"{name}.keras", precision="float32")
    lightness = np.load(OLD_MODELS / "old_models_lightness.npy")  # (37, 53), no multiple of 8
    expected = np.load(OLD_MODELS / f"{name}.ab.npy")  # what the code of that time gave
    np.testing.assert_allclose(colorize.predict_ab(model, lightness), expected, atol=1e-4)
