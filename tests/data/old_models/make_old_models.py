"""How the old model files here were made, with colornet as it was before the model contract
(commit 4f4e024, before branch model-contract): run it with that checkout on PYTHONPATH.

    python tests/data/old_models/make_old_models.py tests/data/old_models

- old_version_1.keras: Version 1 (`models.single_image_net`), random weights, which then took
  scaled lightness (input "scaled_lightness").
- old_final_32.keras: the final colorizer at image_size 32 on "mobilenet_v3_small" with random
  backbone weights. Its kernels keep 2 % of their entries (the rest zero) and the zip is
  deflated, so the file is 1.3 MB rather than 37 MB; Keras reads it as any .keras file.
- *.ab.npy: what that code's `colorize.predict_ab` gave for old_models_lightness.npy
  ((37, 53) float32 L*, a size that is no multiple of 8), float32 (37, 53, 2) ab.
"""

import pathlib
import sys
import zipfile

import keras
import numpy as np

from colornet.apps import colorize
from colornet.nets import models


def main(folder):
    folder = pathlib.Path(folder)
    folder.mkdir(exist_ok=True)
    keras.utils.set_random_seed(0)
    lightness = np.linspace(0, 100, 37 * 53, dtype=np.float32).reshape(37, 53)
    lightness = np.clip(lightness + 10 * np.sin(np.arange(53) / 3.0)[None], 0, 100)
    np.save(folder / "old_models_lightness.npy", lightness.astype(np.float32))
    models.single_image_net().save(folder / "old_version_1.keras")
    keras.utils.set_random_seed(1)
    final = models.colorizer(image_size=32, backbone="mobilenet_v3_small", backbone_weights=None)
    rng = np.random.default_rng(0)
    for variable in final.weights:
        value = keras.ops.convert_to_numpy(variable)
        if value.ndim >= 2 and value.size > 4096:
            keep = rng.random(value.shape) < 0.02
            variable.assign(np.where(keep, value * np.sqrt(50.0), 0.0).astype(value.dtype))
    raw = folder / "raw.keras"
    final.save(raw)
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(
        folder / "old_final_32.keras", "w", zipfile.ZIP_DEFLATED, compresslevel=9
    ) as packed:
        for info in source.infolist():
            packed.writestr(info.filename, source.read(info.filename))
    raw.unlink()
    for name in ("old_version_1", "old_final_32"):
        model = colorize.load_model(folder / f"{name}.keras", precision="float32")
        ab = colorize.predict_ab(model, np.load(folder / "old_models_lightness.npy"))
        np.save(folder / f"{name}.ab.npy", ab.astype(np.float32))


if __name__ == "__main__":
    main(sys.argv[1])
