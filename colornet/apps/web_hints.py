"""The web page's hint panel (issue 30): steer a hint-aware model's colours by clicking.

Upload one photo, click on it to place a point hint (its colour picker starts at the colour
the model gives that pixel), choose the colour, and the photo is colorized again; click near a
point to select it, move it or remove it, undo any step, and download the result at full
resolution and the hints as JSON (the file `colornet colorize --hints` reads).

The state of one photo is a `HintSession`; the functions that change it (`click`,
`set_colour`, `remove_selected`, `undo`) and `render`, which colorizes and draws it, know
nothing of Gradio, so tests drive them directly; `colornet.apps.web_hints_panel` lays out
the Gradio components and wires their events to them.
"""

import dataclasses
import json
import pathlib

import numpy as np

from colornet import _util, color
from colornet.apps import colorize
from colornet.errors import SettingError
from colornet.io import decode, geometry, save
from colornet.io import hints as hint_input
from colornet.nets import models

# The clickable preview's longest side; the download has full resolution.
PREVIEW_SIDE = 1024
# A click this many preview pixels from a point selects it instead of adding one.
SELECT_RADIUS = 12
# The drawn marker: a ring of this radius, in preview pixels.
MARKER_RADIUS = 6
# What a click on the photo does.
ADD, MOVE, REMOVE = "add or select", "move the selected point", "remove a point"
CLICK_MODES = (ADD, MOVE, REMOVE)
HINTS_NAME = "hints.json"


@dataclasses.dataclass
class HintSession:
    """One photo being steered: where its files are and its hints."""

    name: str  # the upload's file name
    folder: pathlib.Path  # this photo's files: lightness, result, previews, hints
    shape: tuple  # the photo's (H, W)
    preview_shape: tuple  # the clickable preview's (h, w)
    hints: list = dataclasses.field(default_factory=list)  # [[y, x, "#rrggbb"]] full pixels
    history: list = dataclasses.field(default_factory=list)  # earlier hint lists, for undo
    selected: int | None = None  # index into hints

    def to_full(self, x, y):
        """A preview pixel (x, y) → the photo's (row, column)."""
        (height, width), (small_height, small_width) = self.shape, self.preview_shape
        row = min(height - 1, max(0, int((y + 0.5) * height / small_height)))
        column = min(width - 1, max(0, int((x + 0.5) * width / small_width)))
        return row, column

    def to_preview(self, row, column):
        (height, width), (small_height, small_width) = self.shape, self.preview_shape
        return ((row + 0.5) * small_height / height - 0.5,
                (column + 0.5) * small_width / width - 0.5)

    def hints_json(self):
        return json.dumps([{"y": y, "x": x, "colour": colour} for y, x, colour in self.hints],
                          indent=1)


def start(path, folder, max_pixels, name=None):
    """A `HintSession` for the uploaded photo at `path`, its lightness kept in `folder`.

    Raises:
        decode.ImageError: one line naming the upload (by `name`) and the problem.
    """
    path, folder = pathlib.Path(path), pathlib.Path(folder)
    name = name or path.name
    try:
        rgb, alpha = decode.load_rgb_and_alpha(path, max_pixels=max_pixels)
    except decode.ImageError as error:
        raise decode.ImageError(str(error).replace(f"'{path}'", f"'{name}'")) from None
    np.save(folder / "lightness.npy", color.rgb_to_lightness(rgb))  # (H, W) L*
    if alpha is not None:
        np.save(folder / "alpha.npy", alpha)
    preview = geometry.shrink(rgb, longer_side=PREVIEW_SIDE)
    return HintSession(name, folder, rgb.shape[:2], preview.shape[:2])


def click(session, x, y, mode=ADD, predicted=None):
    """A click at preview pixel (x, y): `mode` says what it does (one of CLICK_MODES). Adding
    gives the new point `predicted` (the colour the result has there, "#rrggbb"). Returns
    whether the hints changed (selecting a point changes none)."""
    nearest = _nearest(session, x, y)
    if mode == ADD:
        if nearest is not None:
            session.selected = nearest
            return False
        _remember(session)
        row, column = session.to_full(x, y)
        session.hints.append([row, column, predicted or "#808080"])
        session.selected = len(session.hints) - 1
        return True
    if mode == MOVE:
        if session.selected is None:
            return False
        _remember(session)
        row, column = session.to_full(x, y)
        session.hints[session.selected][:2] = [row, column]
        return True
    if mode == REMOVE:
        if nearest is None:
            return False
        _remember(session)
        del session.hints[nearest]
        session.selected = None
        return True
    raise SettingError(f"mode must be one of {', '.join(CLICK_MODES)}, got {mode!r}")


def set_colour(session, colour):
    """The selected point takes `colour` ("#rrggbb"); returns whether anything changed."""
    if session.selected is None or colour is None:
        return False
    colour = _hex(hint_input.parse_colour(_short_hex(colour)))
    if session.hints[session.selected][2] == colour:
        return False
    _remember(session)
    session.hints[session.selected][2] = colour
    return True


def remove_selected(session):
    if session.selected is None:
        return False
    _remember(session)
    del session.hints[session.selected]
    session.selected = None
    return True


def undo(session):
    """Back to the hints before the last change; returns whether there was one."""
    if not session.history:
        return False
    session.hints = session.history.pop()
    session.selected = None
    return True


def render(served, session, working_size=None, colorize_again=True):
    """Colorize the session's photo with its hints (unless `colorize_again` is False: a click
    that only selected a point) and draw its points; returns (the preview with the points
    drawn, the full-resolution download, the hints file), paths in the session's folder."""
    stem = pathlib.Path(session.name).stem or "photo"
    download = session.folder / f"{stem}_colorized{save.output_suffix(session.name)}"
    if colorize_again or not download.is_file():
        lightness = np.load(session.folder / "lightness.npy")  # (H, W) L*
        alpha_path = session.folder / "alpha.npy"
        hints = [(y, x, colour) for y, x, colour in session.hints]
        options = {} if working_size is None else {"working_size": working_size}
        ab = colorize.predict_ab(served.model, lightness, hints=hints or None, **options)
        colorized = color.combine(lightness, ab)  # (H, W, 3) RGB in [0, 1]
        alpha = np.load(alpha_path) if alpha_path.is_file() else None
        save.save_image(download, colorized, alpha=alpha)
        preview = _util.to_uint8(geometry.resize_channels(colorized, session.preview_shape))
        np.save(session.folder / "preview.npy", preview)  # for `predicted_colour`
    preview = np.load(session.folder / "preview.npy")  # (h, w, 3) uint8
    marked = save.save_image(session.folder / "preview.jpg", draw_points(preview, session),
                             quality=90)
    hints_file = session.folder / HINTS_NAME
    _util.write_bytes_atomically(hints_file, lambda file: file.write(
        (session.hints_json() + "\n").encode()))
    return marked, download, hints_file


def predicted_colour(session, x, y):
    """The colour the last result has at preview pixel (x, y), "#rrggbb"."""
    preview = np.load(session.folder / "preview.npy")
    row = min(preview.shape[0] - 1, max(0, int(y)))
    column = min(preview.shape[1] - 1, max(0, int(x)))
    return "#" + "".join(f"{int(value):02x}" for value in preview[row, column])


def draw_points(preview, session):
    """(h, w, 3) uint8 RGB → float RGB in [0, 1] with each point drawn as a ring, black and
    white so it shows on any colour, filled with its colour; the selected point's ring is
    yellow."""
    marked = _util.to_unit_float(preview)
    rows, columns = np.mgrid[:marked.shape[0], :marked.shape[1]]
    for index, (y, x, colour) in enumerate(session.hints):
        centre_row, centre_column = session.to_preview(y, x)
        distance = np.hypot(rows - centre_row, columns - centre_column)
        outer = (1.0, 0.85, 0.0) if index == session.selected else (0.0, 0.0, 0.0)
        marked[distance <= MARKER_RADIUS + 2] = outer
        marked[distance <= MARKER_RADIUS] = (1.0, 1.0, 1.0)
        marked[distance <= MARKER_RADIUS - 2] = hint_input.parse_colour(colour)
    return marked


def points_text(session):
    """Markdown: the points, the selected one marked."""
    if not session.hints:
        return "No point yet: click on the photo to place one."
    lines = [f"{'**' if index == session.selected else ''}{index + 1}. row {y}, column {x}: "
             f"{colour}{' (selected)**' if index == session.selected else ''}"
             for index, (y, x, colour) in enumerate(session.hints)]
    return "\n".join(f"- {line}" for line in lines)


def hint_models(served):
    """The served models that take point hints, {label: ServedModel}."""
    return {label: entry for label, entry in served.items()
            if models.describe(entry.model).hints}


def _nearest(session, x, y):
    best, best_distance = None, SELECT_RADIUS
    for index, (row, column, _) in enumerate(session.hints):
        preview_row, preview_column = session.to_preview(row, column)
        distance = float(np.hypot(preview_row - y, preview_column - x))
        if distance <= best_distance:
            best, best_distance = index, distance
    return best


def _remember(session):
    session.history.append([list(hint) for hint in session.hints])


def _hex(rgb):
    return "#" + "".join(f"{round(channel * _util.EIGHT_BIT_MAX):02x}" for channel in rgb)


def _short_hex(colour):
    """A browser's colour ("#RRGGBB", "#rgb", "rgba(r, g, b, a)") as "#rrggbb"."""
    colour = str(colour).strip()
    if colour.startswith("#") and len(colour) == 4:
        return "#" + "".join(digit * 2 for digit in colour[1:])
    if colour.startswith("rgb"):
        numbers = [float(part) for part in colour[colour.index("(") + 1:-1].split(",")[:3]]
        return "#" + "".join(f"{round(value):02x}" for value in numbers)
    return colour.lower()

