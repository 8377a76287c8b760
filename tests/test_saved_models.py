"""A colornet model saved with Keras's own `save` loads back in a new process: through
`colornet.load_model` and through `colornet colorize --model`. A fresh interpreter is the
point: in the process that built the model every layer's module is already imported."""

import subprocess
import sys

import keras

import colornet
from colornet.io import save
from colornet.nets import models
from tests.factories import blobs_photo

_LOAD_EACH = (
    "import sys, colornet\n"
    "for path in sys.argv[1:]:\n"
    "    print(colornet.load_model(path).name)\n"
)


def test_every_colornet_model_saved_with_keras_save_loads_in_a_fresh_process(tmp_path):
    keras.utils.set_random_seed(0)
    pretrained, version_1 = tmp_path / "pretrained.keras", tmp_path / "version_1.keras"
    colornet.load_model().save(pretrained)
    models.version_1().save(version_1)
    loaded = subprocess.run([sys.executable, "-c", _LOAD_EACH, pretrained, version_1],
                            capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert len(loaded.stdout.splitlines()) == 2

    save.save_image(tmp_path / "photo.png", blobs_photo(32))
    colorized = subprocess.run(
        [sys.executable, "-m", "colornet.cli", "colorize", tmp_path / "photo.png", "-o",
         tmp_path / "out", "--model", pretrained, "--quiet"],
        capture_output=True, text=True, timeout=300,
    )
    assert colorized.returncode == 0, colorized.stderr[-2000:]
    assert (tmp_path / "out" / "photo.png").is_file()


def test_a_keras_model_colornet_did_not_make_is_one_line_saying_what_a_colorizer_is(
    tmp_path, capsys
):
    from colornet import cli

    @keras.saving.register_keras_serializable(package="elsewhere")
    class Doubling(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2

    inputs = keras.Input((8, 8, 3))
    keras.Model(inputs, Doubling()(inputs), name="other").save(tmp_path / "other.keras")
    # As in a process that never defined it: the class another program registered is unknown.
    del keras.saving.get_custom_objects()["elsewhere>Doubling"]
    save.save_image(tmp_path / "photo.png", blobs_photo(32))
    status = cli.main(["colorize", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out"),
                       "--model", str(tmp_path / "other.keras"), "--quiet"])
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1, error
    assert "other.keras is not a colornet colorizer" in error and "Doubling" in error
    assert "lightness" in error  # what a colornet colorizer is
    assert "deserialized" not in error and "..." not in error
