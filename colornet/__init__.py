"""colornet: colorize black-and-white photographs with Keras.

The network sees lightness L* and predicts the a*b* colour channels; the colour photo is the
original lightness recombined with the predicted colour (see `colornet.color`).
"""

from colornet.color import lab_to_rgb, rgb_to_lab

__version__ = "0.1.0"

__all__ = ["lab_to_rgb", "rgb_to_lab", "__version__"]
