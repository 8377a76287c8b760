"""Training as a whole on JAX, and models that move between backends through their .keras file.

Each backend runs in its own Python, chosen by KERAS_BACKEND in the environment, as a user
would choose it; the test process itself may run any backend.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.factories import write_photos

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
FAST = dict(
    image_size=32, batch_size=8, backbone="mobilenet_v3_small", backbone_weights=None,
    backbone_precision="float32", fusion_precision="float32",
)
# The same photo through the same weights on two backends: float32 kernels that differ in
# their order of summation, nothing more (RGB in [0, 1]).
ACROSS_BACKENDS = 1e-3


def run_on(backend, script, **values):
    """Run `script` (with `values` as JSON in VALUES) in a fresh Python on `backend`; its
    last stdout line, as JSON."""
    completed = subprocess.run(
        [sys.executable, "-c",
         f"import json\nVALUES = json.loads({json.dumps(json.dumps(values))})\n"
         + textwrap.dedent(script)],
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


TRAIN_RESUME_EVALUATE_COLORIZE = """
    import keras, numpy as np
    from colornet.apps import colorize, evaluation
    from colornet.io import decode
    from colornet.train import loop, settings
    config = settings.TrainingConfig(**VALUES["config"], epochs=1)
    first = loop.train(config, VALUES["run"], progress=False)
    config = settings.TrainingConfig(**VALUES["config"], epochs=2)
    resumed = loop.train(config, VALUES["run"], progress=False)
    model = colorize.load_model(VALUES["run"], precision="float32")
    report = evaluation.evaluate_folder(model, VALUES["test"], VALUES["evaluation"], progress=False,
                                        mean_ab=(0.0, 0.0))
    photo = decode.load_rgb(VALUES["photo"])
    np.save(VALUES["colorized"], colorize.colorize(model, photo))
    print(json.dumps({"backend": keras.backend.backend(), "first": first.history["loss"],
                      "resumed": resumed.history["loss"]}))
"""

COLORIZE = """
    import keras, numpy as np
    from colornet.apps import colorize
    from colornet.io import decode
    model = colorize.load_model(VALUES["model"], precision="float32")
    colorized = colorize.colorize(model, decode.load_rgb(VALUES["photo"]))
    np.save(VALUES["colorized"], colorized)
    print(json.dumps({"backend": keras.backend.backend()}))
"""


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    return write_photos(root / "train", 24, seed=0), write_photos(root / "test", 3, seed=1)


def train_on(backend, folders, root, cache_embeddings):
    """Train 1 epoch, resume to 2, evaluate and colorize a held-out photo, all on `backend`."""
    train_dir, test_dir = folders
    values = {
        "config": {**FAST, "data_dir": str(train_dir), "cache_embeddings": cache_embeddings},
        "run": str(root / "run"), "test": str(test_dir), "evaluation": str(root / "evaluation"),
        "photo": str(sorted(test_dir.iterdir())[0]), "colorized": str(root / "colorized.npy"),
    }
    return {**run_on(backend, TRAIN_RESUME_EVALUATE_COLORIZE, **values), **values}


@pytest.fixture(scope="module")
def runs(folders, tmp_path_factory):
    """One run per backend, trained lazily: JAX with the backbone in the loop (the default),
    TensorFlow with cached embeddings."""
    trained = {}

    def run(backend):
        if backend not in trained:
            root = tmp_path_factory.mktemp(backend)
            trained[backend] = train_on(backend, folders, root, backend == "tensorflow")
        return trained[backend]

    return run


@pytest.mark.slow
def test_jax_trains_resumes_evaluates_and_colorizes(runs):
    result = runs("jax")
    assert result["backend"] == "jax"
    assert len(result["first"]) == 1 and len(result["resumed"]) == 1  # epoch 2 only
    run = pathlib.Path(result["run"])
    from colornet.train.runs import RunFolder

    assert RunFolder(run).completed_epochs() == 2
    assert (pathlib.Path(result["evaluation"]) / "scores.csv").is_file()
    colorized = np.load(result["colorized"])
    assert colorized.shape == (48, 48, 3) and np.isfinite(colorized).all()


@pytest.mark.slow
@pytest.mark.parametrize("trained_on, colorized_on", [("jax", "tensorflow"), ("tensorflow", "jax")])
def test_a_model_trained_on_one_backend_colorizes_alike_on_another(
    runs, tmp_path, trained_on, colorized_on
):
    trained = runs(trained_on)
    elsewhere = tmp_path / "elsewhere.npy"
    result = run_on(
        colorized_on, COLORIZE, model=trained["run"], photo=trained["photo"],
        colorized=str(elsewhere),
    )
    assert result["backend"] == colorized_on
    np.testing.assert_allclose(
        np.load(elsewhere), np.load(trained["colorized"]), rtol=0, atol=ACROSS_BACKENDS
    )
