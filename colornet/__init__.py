"""colornet: colorize black-and-white photographs with Keras.

The network sees lightness L* and predicts the a*b* colour channels; the colour photo is the
original lightness recombined with the predicted colour (see `colornet.color`).
"""

import os

# TensorFlow's C++ start-up notices (XLA, CPU features) drown the output of a short script;
# keep its warnings and errors. Set TF_CPP_MIN_LOG_LEVEL yourself to choose otherwise. (TF 2.21
# prints its oneDNN notice before reading this setting, so that one line still appears.)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from colornet.color import lab_to_rgb, rgb_to_lab  # noqa: E402

__version__ = "0.1.0"

__all__ = ["lab_to_rgb", "rgb_to_lab", "__version__"]
