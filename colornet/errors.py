"""`ColornetError`: the one base class of the errors colornet raises on purpose.

Nothing here imports anything, so every layer may import it.
"""


class ColornetError(Exception):
    """An error colornet raises on purpose: a problem the user can fix (a missing or broken
    photo, a run folder of another kind, a setting out of range), with a one-line message that
    names it and the remedy. The command line prints such an error as one line and exits with
    status 1; any other exception is a bug and shows its traceback.

    Each of the library's named errors subclasses it and also the builtin it has always been
    (`class ImageError(ColornetError, ValueError)`), so `except ValueError` still catches them.
    """


class SettingError(ColornetError, ValueError):
    """A setting, option or argument the caller chose that colornet cannot use (a number out of
    its range, a name not among the choices, an output path it cannot write, a settings file
    it cannot read, a model path that holds no colornet colorizer), named in one line with what
    it may be. Still a ValueError, as Python's own argument checks are."""
