"""colornet: colorize black-and-white photographs with Keras.

The network sees lightness L* and predicts the a*b* colour channels; the colour photo is the
original lightness recombined with the predicted colour (see `colornet.color`).

The public API is the names in `__all__`; what a user may rely on from one version to the next:

    import colornet

    model = colornet.load_model()          # the pretrained colorizer; or a .keras file, a run
    colour = colornet.colorize(model, colornet.load_rgb("old.jpg"))   # RGB (H, W, 3) in [0, 1]
    colornet.save_image("old_colour.png", colour)
    colornet.colorize(hinted, photo, hints=[(120, 80, "#c03020")])  # a hint-aware model
    colornet.colorize_file(model, "old.jpg", "old_colour.png")      # full size, keeps alpha
    colornet.colorize_video(model, "old.mp4", "old_colour.mp4")
    colornet.evaluate_folder(model, "held_out/", "report/")         # scores, grid, CSV, JSON
    colornet.train_colorizer(colornet.TrainingConfig(data_dir="photos/"), "runs/mine")  # final
    run = colornet.train_single_image(colornet.load_rgb("photo.jpg"))         # Version 1
    lab = colornet.rgb_to_lab(colour)      # and colornet.lab_to_rgb(lab)
    colornet.pretrained.info()             # what the shipped colorizer was trained on, its scores

colornet's named errors (an unreadable photo's `ImageError`, a bad file's `WeightsError`...)
are each a `colornet.ColornetError`, and still the ValueError or RuntimeError they were; their
message is one line that names the problem and the remedy.

Everything else (the subpackages `io`, `nets`, `train`, `apps`, `cli`, `corpus` and their
modules) is internal: importable, documented, but free to change. The package is in layers, each
a folder that imports only those before it: the core here (`color`, `metrics`, `constants`,
`errors`), then `io` (photos on disk), `nets` (the networks), `train`, `apps` (colorizing,
video, evaluation, the web page) and `cli`. Names load on first use (PEP 562), so `import colornet`
and `colornet --help` start without TensorFlow.
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

# The public API: each name and the module (":name" where it differs) that defines it,
# imported when first touched.
_PUBLIC = {
    "load_model": "colornet.apps.colorize",
    "colorize": "colornet.apps.colorize",
    "colorize_file": "colornet.apps.jobs",
    "colorize_video": "colornet.apps.video",
    "evaluate_folder": "colornet.apps.evaluation",
    "train_colorizer": "colornet.train.loop:train",  # `train` is the subpackage's name
    "TrainingConfig": "colornet.train.settings",
    "train_single_image": "colornet.apps.single_image",
    "load_rgb": "colornet.io.decode",
    "save_image": "colornet.io.save",
    "rgb_to_lab": "colornet.color",
    "lab_to_rgb": "colornet.color",
    "ColornetError": "colornet.errors",
}
# Subpackages and core modules reachable as attributes; only `pretrained` is public.
_SUBMODULES = (
    "apps", "cli", "color", "constants", "corpus", "io", "metrics", "nets", "pretrained", "train",
)

__all__ = ["__version__", "pretrained", *_PUBLIC]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"colornet.{name}")
    if name in _PUBLIC:
        module, _, attribute = _PUBLIC[name].partition(":")
        return getattr(importlib.import_module(module), attribute or name)
    raise AttributeError(f"module 'colornet' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
