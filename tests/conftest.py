"""Shared test settings: quiet TensorFlow, one JAX compilation cache for the whole run, a fixed
seed, and the sample data's location."""

import os
import pathlib
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The suite starts a few dozen JAX processes (distributed jobs, backend round trips) that build
# and compile the same small models: on a CPU, Keras on JAX compiles one program per weight
# shape just to initialise a model. JAX's persistent cache lets each program compile once per
# run instead of once per process. Every process of the run inherits it; it goes at the end.
_JAX_CACHE = tempfile.mkdtemp(prefix="colornet-tests-jax-cache-")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _JAX_CACHE)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def keras_home(tmp_path_factory):
    """A Keras cache of the test module's own ($KERAS_HOME), so tests never touch ~/.keras."""
    home = tmp_path_factory.mktemp("keras_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_HOME", str(home))
        yield home


def pytest_unconfigure(config):
    shutil.rmtree(_JAX_CACHE, ignore_errors=True)
