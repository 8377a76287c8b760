"""`colornet colorize`'s colour hints: `--hint Y,X,#RRGGBB` (repeatable), `--hints FILE` and
`--reference PHOTO`, defined and checked here before any slow work.

`read` turns them into what `colornet.apps.jobs.colorize_files` takes, or fails in one line
naming the hint and what is wrong: malformed, outside the photo, not a colour, a broken hints
file, an unreadable reference. It reads the one photo hints are for (to know its size) and the
reference, but loads no model: a model that cannot take them refuses them after it loads
(`colorize.check_takes`).

Imports only the standard library and `colornet.io.hints` at import time, like the rest of
the command line.
"""

import argparse
import pathlib

from colornet.errors import SettingError
from colornet.io import hints as hint_input


def add(command):
    """Add --hint, --hints and --reference to a command's parser."""
    command.add_argument(
        "--hint", action="append", type=_hint, default=None, metavar="Y,X,#RRGGBB",
        help="the pixel at row Y, column X of the photo (from its top-left corner) is this "
             "colour; repeat for more points. Needs a hint-aware model (--model) and one photo",
    )
    command.add_argument(
        "--hints", type=pathlib.Path, default=None, metavar="HINTS.json",
        help='point hints from a file: a JSON list of {"y": 120, "x": 80, "colour": '
             '"#c03020"}, added after any --hint (the web page\'s hint panel downloads one)',
    )
    command.add_argument(
        "--reference", type=pathlib.Path, default=None, metavar="PHOTO",
        help="a colour photo whose colours steer the whole result (a hint-aware model)",
    )


def _hint(text):
    """argparse type of --hint: its syntax, (y, x, (r, g, b)); the photo's bounds come later."""
    try:
        return text, hint_input.parse_hint(text)
    except hint_input.HintError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def read(args, photos):
    """(hints, reference RGB or None) from the parsed options, checked.

    Args:
        args: the parsed command line (its hint, hints and reference).
        photos: [(path, output name)] of the inputs (`jobs.expand_inputs`).

    Returns:
        ([(y, x, (r, g, b)), ...] or None, float32 RGB (H, W, 3) in [0, 1] or None).

    Raises:
        ValueError: one line: a malformed hints file or entry, hints for several photos (or
            none), a hint outside its photo, an unreadable photo or reference.
    """
    named = [(f"--hint {text}", hint) for text, hint in args.hint or ()]
    if args.hints is not None:
        from_file = hint_input.read_hints_file(args.hints)
        named += [(f"{args.hints}: hint {number}", hint)
                  for number, hint in enumerate(from_file, 1)]
    hints = None
    if named:
        if len(photos) != 1:
            raise SettingError(f"hints are for one photo, and the inputs name {len(photos)}: "
                               "colorize each photo with its own --hint or --hints")
        from colornet.io import decode

        path = photos[0][0]
        shape = decode.load_lightness(path).shape
        try:
            hints = hint_input.check_hints([hint for _, hint in named], shape,
                                           names=[name for name, _ in named])
        except hint_input.HintError as error:
            raise hint_input.HintError(f"{path}: {error}") from None
    reference = None
    if args.reference is not None:
        from colornet.io import decode

        reference = decode.load_rgb(args.reference)
    return hints, reference
