"""Numbers and words the package spells once: the 8-bit scale, the heads, the size multiples
and the base error class each have one home that every other module uses."""

import ast

import numpy as np
import pytest

from colornet import _util
from tests.test_package import PACKAGE, package_modules

EIGHT_BIT_HOME = PACKAGE / "_util.py"


def _is_255(node):
    return (isinstance(node, ast.Constant) and not isinstance(node.value, bool)
            and isinstance(node.value, (int, float)) and node.value == 255)


def bare_eight_bit_scales(path):
    """Lines of `path` that scale by a literal 255 (`x / 255`, `255.0 * x`, `x *= 255`) or
    keep a private copy of it (`_EIGHT_BIT = 255.0`). Comments and strings do not count."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        scaling = (ast.Mult, ast.Div, ast.FloorDiv)
        if isinstance(node, ast.BinOp) and isinstance(node.op, scaling) and (
            _is_255(node.left) or _is_255(node.right)
        ):
            found.append(node.lineno)
        elif (isinstance(node, ast.AugAssign) and isinstance(node.op, scaling)
              and _is_255(node.value)):
            found.append(node.lineno)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and _is_255(node.value):
            found.append(node.lineno)
    return sorted(found)


def test_no_module_scales_by_a_bare_255_outside_the_one_home_of_the_8_bit_scale():
    offenders = {
        f"{name}:{line}"
        for name, path in package_modules().items() if path != EIGHT_BIT_HOME
        for line in bare_eight_bit_scales(path)
    }
    assert offenders == set(), "use colornet._util.EIGHT_BIT_MAX, to_uint8 or to_unit_float"


def test_the_8_bit_scan_finds_a_division_a_product_and_a_private_copy(tmp_path):
    module = tmp_path / "scaled.py"
    module.write_text('"""255 in a docstring is fine."""\n'
                      "_EIGHT_BIT = 255.0\n"
                      "a = rgb / 255.0  # 255 in a comment is fine\n"
                      "b = 255 * rgb\n"
                      "c = rgb / 128.0\n"
                      "rgb *= 255\n")
    assert bare_eight_bit_scales(module) == [2, 3, 4, 6]


def test_8_bit_values_convert_to_unit_floats_and_back_exactly():
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    unit = _util.to_unit_float(levels)
    assert unit.dtype == np.float32
    assert unit.min() == 0.0 and unit.max() == 1.0
    np.testing.assert_array_equal(_util.to_uint8(unit), levels)


def test_a_float_photo_is_already_in_unit_range_and_passes_through_unchanged():
    photo = np.linspace(0, 1, 12).reshape(2, 2, 3)
    assert _util.to_unit_float(photo) is photo


@pytest.mark.parametrize("value, expected", [(-0.5, 0), (0.5, 128), (1.7, 255)])
def test_to_uint8_clips_and_rounds_to_nearest(value, expected):
    assert _util.to_uint8(np.array([value]))[0] == expected


SHARED_NAMES = ("HEADS", "SIZE_MULTIPLE", "LITE_UNET_SIZE_MULTIPLE", "DEFAULT_IMAGE_SIZE",
                "DEFAULT_WORKING_SIZE")


def literal_bindings(path, names=SHARED_NAMES):
    """Lines of `path` that bind one of `names` to a literal (a number, or a tuple of them):
    a second home for a number `colornet.constants` holds. Importing the name is fine."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id in names for target in node.targets
        ):
            try:
                ast.literal_eval(node.value)
            except ValueError:
                continue
            found.append(node.lineno)
    return sorted(found)


def test_the_heads_and_size_multiples_are_defined_once_in_colornet_constants():
    offenders = {
        f"{name}:{line}"
        for name, path in package_modules().items() if name != "colornet.constants"
        for line in literal_bindings(path)
    }
    assert offenders == set(), "import them from colornet.constants"


def test_the_literal_scan_finds_a_copied_tuple_and_leaves_an_import(tmp_path):
    module = tmp_path / "copied.py"
    module.write_text("from colornet.constants import HEADS\n"
                      "SIZE_MULTIPLE = 32  # as colornet.nets.lite_unet.SIZE_MULTIPLE\n"
                      "HEADS = ('classification', 'regression')\n"
                      "multiple = SIZE_MULTIPLE\n")
    assert literal_bindings(module) == [2, 3]


def test_the_recipe_settings_check_heads_and_crops_against_the_shared_constants():
    from colornet import constants
    from colornet.pretrained import settings

    for head in constants.HEADS:
        settings.RecipeConfig(head=head).check()
    with pytest.raises(ValueError, match=f"multiple of {constants.LITE_UNET_SIZE_MULTIPLE}"):
        settings.RecipeConfig(crop_size=constants.LITE_UNET_SIZE_MULTIPLE + 8).check()
    assert settings.RecipeConfig().working_size == constants.DEFAULT_WORKING_SIZE


BUILTIN_BASES = {"Exception", "ValueError", "RuntimeError", "OSError", "TypeError"}


def _base_names(node):
    return {base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
            for base in node.bases}


def errors_outside_the_base_class(path):
    """Error classes of `path` that derive from a builtin exception but not `ColornetError`."""
    return sorted(
        node.name for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Error")
        and _base_names(node) & BUILTIN_BASES and "ColornetError" not in _base_names(node)
    )


def test_every_named_error_of_the_library_is_a_colornet_error():
    offenders = {
        f"{name}.{error}"
        for name, path in package_modules().items() if name != "colornet.errors"
        for error in errors_outside_the_base_class(path)
    }
    assert offenders == set(), "subclass colornet.errors.ColornetError beside the builtin"


def test_the_error_scan_finds_a_builtin_error_and_leaves_a_subclass_and_a_loss(tmp_path):
    module = tmp_path / "errors_here.py"
    module.write_text("class LooseError(ValueError): pass\n"
                      "class GoodError(ColornetError, ValueError): pass\n"
                      "class NarrowError(GoodError): pass\n"
                      "class _ScaledAbError(keras.losses.Loss): pass\n")
    assert errors_outside_the_base_class(module) == ["LooseError"]


def test_the_named_errors_are_colornet_errors_and_still_their_builtin():
    import colornet
    from colornet.errors import ColornetError
    from colornet.io import decode, hints
    from colornet.train import distributed

    assert colornet.ColornetError is ColornetError
    assert issubclass(decode.ImageError, ColornetError)
    assert issubclass(decode.ImageError, ValueError)
    assert issubclass(decode.TooManyPixelsError, ColornetError)
    assert issubclass(hints.HintError, ValueError)
    assert issubclass(distributed.DistributedError, RuntimeError)
    assert issubclass(distributed.DistributedError, ColornetError)


def _raise_colornet_error(args):
    from colornet.errors import ColornetError

    raise ColornetError("the model folder holds no model; train one first")


def test_a_colornet_error_in_a_command_is_one_line_and_status_1(tmp_path, monkeypatch, capsys):
    from colornet import cli
    from colornet.cli import photo_commands

    monkeypatch.delenv("COLORNET_DEBUG", raising=False)
    monkeypatch.setattr(photo_commands, "_run_lab", _raise_colornet_error)
    status = cli.main(["lab", str(tmp_path / "photo.png"), "-o", str(tmp_path / "lab.png")])
    error = capsys.readouterr().err
    assert status == 1
    assert error == "colornet lab: error: the model folder holds no model; train one first\n"


def test_under_colornet_debug_a_colornet_error_shows_its_traceback(tmp_path, monkeypatch):
    from colornet import cli
    from colornet.cli import photo_commands
    from colornet.errors import ColornetError

    monkeypatch.setenv("COLORNET_DEBUG", "1")
    monkeypatch.setattr(photo_commands, "_run_lab", _raise_colornet_error)
    with pytest.raises(ColornetError, match="holds no model"):
        cli.main(["lab", str(tmp_path / "photo.png"), "-o", str(tmp_path / "lab.png")])


# Modules whose every user-facing check raises a named colornet error. The command line still
# catches a plain ValueError or RuntimeError as a one-line error, because the rest of the
# package's checks raise them; once every module is on this list that catch can go, and a bug
# that raises one will show its traceback.
NAMED_ERRORS_ONLY = ("colornet.cli.support", "colornet.cli.training_commands",
                     "colornet.train.settings", "colornet.pretrained.settings",
                     "colornet.apps.colorize", "colornet.apps.photo_stream",
                     "colornet.apps.evaluation", "colornet.apps.prepare", "colornet.apps.flicker",
                     "colornet.apps.video", "colornet.apps.single_image", "colornet.apps.web",
                     "colornet.apps.web_work", "colornet.apps.web_hints",
                     "colornet.apps.hint_scores", "colornet.cli.hint_options",
                     "colornet.cli.data_commands", "colornet.nets.precision",
                     "colornet.nets.backbones", "colornet.nets.models",
                     "colornet.nets.lite_unet", "colornet.nets.contract",
                     "colornet.nets.classify")


def plain_builtin_raises(path):
    """Lines of `path` that raise a bare ValueError or RuntimeError."""
    return sorted(
        node.lineno for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
        and getattr(node.exc.func, "id", None) in ("ValueError", "RuntimeError")
    )


def test_the_modules_converted_to_named_errors_raise_no_plain_value_error():
    modules = package_modules()
    offenders = {f"{name}:{line}" for name in NAMED_ERRORS_ONLY
                 for line in plain_builtin_raises(modules[name])}
    assert offenders == set(), "raise colornet.errors.SettingError (or a named error) instead"


def test_a_setting_out_of_range_is_a_setting_error_and_still_a_value_error():
    from colornet.errors import ColornetError, SettingError
    from colornet.train import settings

    with pytest.raises(SettingError, match="image_size must be a multiple of 8, got 12"):
        settings.TrainingConfig(data_dir="photos", image_size=12)
    with pytest.raises(ValueError, match="steps must be a whole number of at least 1"):
        _util.check_positive_int(0, "steps")
    assert issubclass(SettingError, ColornetError) and issubclass(SettingError, ValueError)
