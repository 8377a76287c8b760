"""Small helpers every module needs: atomic writes, one-line messages, argument checks.

Nothing here knows about colour, images or models, and nothing imports Keras.
"""

import contextlib
import json
import numbers
import os
import pathlib

import numpy as np

from colornet import leftovers
from colornet.errors import SettingError

# Hidden temporary files that `atomic_output` writes beside their target:
# ".NAME.PID-XXXXXXXX.tmp.EXT" (`leftovers.temporary_path`).
TEMPORARY_MARK = ".tmp"
# The largest 8-bit value: uint8 0-255 stands for [0, 1]. Its one home in the package;
# `to_uint8` and `to_unit_float` convert each way.
EIGHT_BIT_MAX = 255.0


@contextlib.contextmanager
def atomic_output(path):
    """Write a file under a temporary name, then rename it into place.

    Yields the temporary path to write to; once the block ends without error it replaces
    `path` in one step, so a reader (or a crash) never sees half a file. On error the old file
    stays as it was and the temporary one is removed. Parent folders are created.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Hidden, so list_images never picks up debris; random, so parallel saves do not collide;
    # with this process's id, so a later run can tell a killed run's debris (`leftovers`).
    temporary = leftovers.temporary_path(path)
    try:
        # "x" creates the file (never reuses one) with the usual permissions (0o666 - umask).
        open(temporary, "xb").close()
        try:
            yield temporary
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)  # gone after a successful replace; debris otherwise
    except OSError as error:
        if error.filename != str(temporary):
            raise
        # The user asked for `path`; the temporary name is ours and would only puzzle them.
        raise type(error)(error.errno, error.strerror, str(path)) from None


def write_bytes_atomically(path, write):
    """`write(file)` into a binary file that appears at `path` whole, flushed to disk first."""
    with atomic_output(path) as temporary:
        with open(temporary, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the name points at them


def write_json_atomically(path, value):
    """Write `value` as indented JSON to `path`, atomically and flushed to disk."""
    write_bytes_atomically(path, lambda file: file.write(json.dumps(value, indent=2).encode()))


def read_json(path, what="file"):
    """The JSON value in `path`; ValueError naming the file when it is not valid JSON."""
    path = pathlib.Path(path)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a valid {what} ({first_line(error)})") from error


def name_list(names, shown, separator=", "):
    """The first `shown` names joined by `separator`, then "and N more" for the rest: how a
    one-line message names a long list of files."""
    names = list(names)
    more = len(names) - shown
    return separator.join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def plural(number, noun):
    """"1 photo", "2 photos"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def first_line(error, limit=200):
    """An exception's message cut to its first line (at most `limit` characters), or its type's
    name when it has none: how an error from a library is quoted inside one of ours. A first
    line that ends in a colon announces the next one (Keras: "Example error message for
    object <Conv2D ...>:"), so that one is joined to it rather than the sentence cut there."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    message = lines[0] if lines else type(error).__name__
    if message.endswith(":") and len(lines) > 1:
        message = f"{message} {lines[1]}"
    return message if len(message) <= limit else message[: limit - 3] + "..."


def is_int(value):
    """True for Python and numpy integers, False for bools (which Python counts as ints)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_positive_int(value, name):
    """SettingError (a ValueError) unless `value` is an int of at least 1."""
    if not is_int(value) or value < 1:
        raise SettingError(f"{name} must be a whole number of at least 1, got {value!r}")
    return int(value)


def same_file(path, other):
    """True when both name one file: the same inode where both exist (a hard link, another
    spelling), else the same resolved path (a file about to be created over `other`)."""
    try:
        return os.path.samefile(path, other)
    except OSError:
        return pathlib.Path(path).resolve() == pathlib.Path(other).resolve()


def to_uint8(rgb):
    """Float RGB or grey in [0, 1] (clipped) → contiguous uint8 0-255, rounded to nearest."""
    return np.ascontiguousarray(np.rint(np.clip(rgb, 0.0, 1.0) * EIGHT_BIT_MAX).astype(np.uint8))


def to_unit_float(rgb):
    """uint8 0-255 (any shape) → float32 in [0, 1]; any other array is returned as it is
    (float is already read as [0, 1])."""
    rgb = np.asarray(rgb)
    return rgb.astype(np.float32) / np.float32(EIGHT_BIT_MAX) if rgb.dtype == np.uint8 else rgb


def check_path_list(paths, what="photo paths", error=ValueError):
    """`error` (a ValueError) when one path is given where a list of them is expected (a
    string would otherwise be read as a list of one-letter paths)."""
    if isinstance(paths, (str, os.PathLike)):
        raise error(
            f"expected a list of {what}, got one path ('{paths}'); for a folder, list it first "
            "(colornet.io.folders.list_images)"
        )


def check_fraction(fraction, name):
    """SettingError (a ValueError) unless `fraction` is a number in [0, 1)."""
    if (
        not isinstance(fraction, numbers.Real)
        or isinstance(fraction, bool)
        or not 0 <= fraction < 1
    ):
        raise SettingError(f"{name} must be a number in [0, 1), got {fraction!r}")


def keras_home():
    """Keras's home folder, by the rules of keras.src.backend.config and get_file, but read
    now rather than at import, so that a changed KERAS_HOME counts."""
    if "KERAS_HOME" in os.environ:
        home = pathlib.Path(os.environ["KERAS_HOME"]).expanduser()
    else:
        user_home = pathlib.Path("~").expanduser()
        home = (user_home if os.access(user_home, os.W_OK) else pathlib.Path("/tmp")) / ".keras"
    # keras.utils.get_file falls back to /tmp/.keras when it cannot write to the home.
    return home if os.access(home, os.W_OK) else pathlib.Path("/tmp/.keras")
