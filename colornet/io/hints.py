"""A user's colour hints as the command line and files give them: parsed and checked.

A hint says "this pixel is this colour": `(y, x, colour)`, y and x the pixel's row and column
in the photo (any size, counted from its top-left corner), colour an RGB triple in [0, 1] or a
`"#rrggbb"` string. They come as `--hint Y,X,#RRGGBB` (`parse_hint`), as a hints file, a JSON
list of `{"y": .., "x": .., "colour": "#rrggbb"}` ("color" too; `read_hints_file`), or from
Python; `check_hints` reads any of them into one form, `(y, x, (r, g, b))` with floats, and
says in one line which hint is wrong and why. Turning them into what a network sees is
`colornet.nets.hints.hint_map`.

Plain Python and numpy, no Keras: the command line checks hints before it loads anything.
"""

import json
import math
import numbers
import pathlib

from colornet import _util
from colornet.errors import ColornetError

# What a hints file's entries hold; "color" is read as "colour".
HINT_KEYS = ("y", "x", "colour")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class HintError(ColornetError, ValueError):
    """A colour hint that cannot be used: one line naming the hint and what is wrong."""


def parse_colour(value, what="the colour"):
    """An RGB colour as (r, g, b) floats in [0, 1].

    Args:
        value: "#rrggbb" (case-insensitive) or three numbers in [0, 1] (a list, tuple or
            array).
        what: how a message names it ("hint 2's colour").

    Raises:
        HintError: one line, when it is neither (NaN, outside [0, 1], another length).
    """
    if isinstance(value, str):
        digits = value[1:] if value.startswith("#") else None
        if digits is None or len(digits) != 6 or not set(digits) <= _HEX_DIGITS:
            raise HintError(f"{what} {value!r} is not a colour: write it as #rrggbb "
                            "(six hexadecimal digits, e.g. #c03020)")
        return tuple(int(digits[i:i + 2], 16) / _util.EIGHT_BIT_MAX for i in (0, 2, 4))
    try:
        channels = [value[i] for i in range(len(value))]
    except (TypeError, KeyError, IndexError):
        raise HintError(f"{what} {value!r} is not a colour: give #rrggbb or three numbers "
                        "in [0, 1]") from None
    if len(channels) != 3:
        raise HintError(f"{what} has {len(channels)} numbers, where a colour has 3 "
                        "(red, green, blue in [0, 1])")
    if not all(_is_real(channel) for channel in channels):
        raise HintError(f"{what} {tuple(channels)!r} is not a colour: red, green and blue "
                        "must be numbers in [0, 1]")
    rgb = tuple(float(channel) for channel in channels)
    if not all(0.0 <= channel <= 1.0 for channel in rgb):  # NaN fails this too
        raise HintError(f"{what} {rgb!r} is not a colour: red, green and blue must be in "
                        "[0, 1] (for 0-255 values, write #rrggbb)")
    return rgb


def check_hints(hints, photo_shape, names=None):
    """A user's hints, checked against the photo they are for, in one form.

    Args:
        hints: a list of (y, x, colour): y, x a pixel's row and column in the photo (numbers,
            0 <= y < H and 0 <= x < W), colour as for `parse_colour`.
        photo_shape: the photo's (H, W) (or (H, W, C)).
        names: how a message names each hint, in the caller's words ("--hint 120,80,#c03020",
            "hints.json: hint 2"); default "hint N (y, x, colour)".

    Returns:
        [(y, x, (r, g, b)), ...] with float coordinates and colour.

    Raises:
        HintError: one line naming the first hint that is wrong ("hint 2 (120, 9000, ...)").
    """
    if isinstance(hints, (str, bytes)) or not hasattr(hints, "__iter__"):
        raise HintError(f"hints must be a list of (y, x, colour), got {type(hints).__name__}")
    height, width = (int(side) for side in photo_shape[:2])
    checked = []
    for number, hint in enumerate(hints, 1):
        if isinstance(hint, (str, bytes)) or not hasattr(hint, "__len__") or len(hint) != 3:
            raise HintError(f"hint {number} ({hint!r}) is not (y, x, colour)")
        y, x, colour = hint
        name = names[number - 1] if names is not None else f"hint {number} ({_short(hint)})"
        for axis, value, size in (("y", y, height), ("x", x, width)):
            if not _is_real(value) or not math.isfinite(float(value)):
                raise HintError(f"{name}: {axis} must be a number, got {value!r}")
            if not 0 <= float(value) < size:
                raise HintError(f"{name} is outside the photo: {axis} must be in "
                                f"[0, {size}) for a {height}×{width} photo (row y, column x)")
        checked.append((float(y), float(x), parse_colour(colour, f"{name}'s colour")))
    return checked


def parse_hint(text):
    """One `--hint` of the command line, "Y,X,#RRGGBB", as (y, x, (r, g, b)).

    Y and X are whole pixels (the row and column in the photo). Whether the point lies inside
    the photo is `check_hints`' to say, once the photo's size is known.

    Raises:
        HintError: one line quoting the hint and saying what is wrong.
    """
    parts = [part.strip() for part in str(text).split(",")]
    if len(parts) != 3:
        raise HintError(f"--hint {text!r} is not Y,X,#RRGGBB (row, column, colour; e.g. "
                        "--hint 120,80,#c03020)")
    try:
        y, x = int(parts[0]), int(parts[1])
    except ValueError:
        raise HintError(f"--hint {text!r}: Y and X must be whole numbers of pixels (row, "
                        "column)") from None
    if y < 0 or x < 0:
        raise HintError(f"--hint {text!r}: Y and X count pixels from the top-left corner, "
                        "so they cannot be negative")
    return (y, x, parse_colour(parts[2], f"--hint {text!r}'s colour"))


def read_hints_file(path):
    """A hints file: a JSON list of {"y": .., "x": .., "colour": "#rrggbb"} ("color" is read
    too; a colour may also be three numbers in [0, 1]).

    Returns:
        [(y, x, (r, g, b)), ...], in the file's order.

    Raises:
        HintError: one line naming the file and, for a bad entry, which one and what is wrong
            (missing or unreadable file, malformed JSON, not a list, a missing key, a value of
            the wrong type).
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise HintError(f"cannot read the hints file {path}: {_util.first_line(error)}") from None
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        raise HintError(f"{path} is not valid JSON: {error.msg} at line {error.lineno}, "
                        f"column {error.colno}") from None
    if not isinstance(entries, list):
        raise HintError(f"{path} must hold a JSON list of hints ([{{\"y\": 120, \"x\": 80, "
                        f"\"colour\": \"#c03020\"}}, ...]), not a {type(entries).__name__}")
    return [_read_entry(entry, f"{path}: hint {number}") for number, entry in
            enumerate(entries, 1)]


def _read_entry(entry, name):
    if not isinstance(entry, dict):
        raise HintError(f"{name} must be an object like {{\"y\": 120, \"x\": 80, \"colour\": "
                        f"\"#c03020\"}}, got {json.dumps(entry)}")
    if "colour" in entry and "color" in entry:
        raise HintError(f"{name} has both \"colour\" and \"color\": give one")
    entry = {("colour" if key == "color" else key): value for key, value in entry.items()}
    missing = [key for key in HINT_KEYS if key not in entry]
    if missing:
        raise HintError(f"{name} has no {' and no '.join(repr(key) for key in missing)} "
                        f"(each hint needs \"y\", \"x\" and \"colour\")")
    unknown = sorted(set(entry) - set(HINT_KEYS))
    if unknown:
        raise HintError(f"{name} has an unknown key {unknown[0]!r} (a hint holds \"y\", "
                        "\"x\" and \"colour\")")
    for axis in ("y", "x"):
        value = entry[axis]
        if not _util.is_int(value) or value < 0:
            raise HintError(f"{name}: {axis!r} must be a whole number of pixels from 0, got "
                            f"{json.dumps(value)}")
    return (entry["y"], entry["x"], parse_colour(entry["colour"], f"{name}'s colour"))


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _short(hint):
    """A hint as a message quotes it: (120, 80, '#c03020')."""
    y, x, colour = hint
    if not isinstance(colour, str) and hasattr(colour, "__len__") and len(colour) == 3:
        colour = tuple(round(float(c), 3) if _is_real(c) else c for c in colour)
    return f"{y!r}, {x!r}, {colour!r}"
