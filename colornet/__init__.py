"""colornet: colorize black-and-white photographs with Keras.

The network sees lightness L* and predicts the a*b* colour channels; the colour photo is the
original lightness recombined with the predicted colour (see `colornet.color`).

The package is in layers, each a folder that imports only those before it: the core here
(`color`, `metrics`, `constants`), then `io` (photos on disk), `nets` (the networks), `train`,
`apps` (colorizing, video, evaluation, the web page) and `cli`. Submodules load on first use
(PEP 562), so `import colornet` and `colornet --help` start without TensorFlow:
`colornet.apps`, `colornet.rgb_to_lab` and the like import what they need when first touched.
"""

import importlib
import os

# TensorFlow's C++ start-up notices (XLA, CPU features) drown the output of a short script;
# keep its warnings and errors. Set TF_CPP_MIN_LOG_LEVEL yourself to choose otherwise. (TF 2.21
# prints its oneDNN notice before reading this setting, so that one line still appears; the
# command line holds it back, `colornet --verbose` shows it and the rest.)
TF_LOG_LEVEL_CHOSEN = "TF_CPP_MIN_LOG_LEVEL" in os.environ
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_SUBMODULES = (
    "apps", "cli", "color", "constants", "corpus", "io", "metrics", "nets", "pretrained", "train",
)
_FUNCTIONS = {"lab_to_rgb": "color", "rgb_to_lab": "color"}

__all__ = ["__version__", *_FUNCTIONS, *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"colornet.{name}")
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(f"colornet.{_FUNCTIONS[name]}"), name)
    raise AttributeError(f"module 'colornet' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
