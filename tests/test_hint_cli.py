"""`colornet colorize --hint / --hints / --reference` (issue 30): each wrong hint, file or
reference fails in one line naming it, before any model loads; a model trained without hints
refuses them in one line; a hint-aware model's output follows them; `colorize_file` and
`colorize_files` take them as the library's `colorize` does.

The hint-aware model is an untrained `lite_unet.trunk(hints=True, reference=True)` whose
hint layers get random weights, so that a hint visibly changes its output.
"""

import json
import pathlib
import re

import numpy as np
import pytest

from colornet import cli
from colornet.apps import colorize, jobs
from colornet.io import decode, save
from tests.factories import blobs_photo, random_hint_colorizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
OLD_MODEL = ROOT / "tests" / "data" / "old_models" / "old_final_32.keras"


@pytest.fixture(scope="module")
def hint_model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("hint_model") / "hinted.keras"
    random_hint_colorizer().save(path)
    return path


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "in" / "photo.png"
    save.save_image(path, blobs_photo(48))  # 48 rows × 48 columns
    return path


def colorize_command(capsys, *arguments):
    status = cli.main(["colorize", *map(str, arguments), "--quiet"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# A model path that does not exist: an error about it would mean the model was loaded first.
NO_MODEL = "no_such_model.keras"


@pytest.mark.parametrize("hint, says", [
    ("120,80", r"--hint '120,80' is not Y,X,#RRGGBB"),
    ("a,80,#c03020", r"--hint 'a,80,#c03020': Y and X must be whole numbers"),
    ("10,10,#c0302", r"--hint '10,10,#c0302''s colour '#c0302' is not a colour"),
    ("10,10,red", r"is not a colour: write it as #rrggbb"),
])
def test_a_malformed_hint_is_a_one_line_usage_error(capsys, photo, tmp_path, hint, says):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--hint", hint,
                  "--model", NO_MODEL])
    assert exit_info.value.code == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("colornet colorize: error: argument --hint: ")
    assert re.search(says, line), line


def test_a_hint_outside_the_photo_is_named_before_the_model_loads(capsys, photo, tmp_path):
    status, _, err = colorize_command(capsys, photo, "-o", tmp_path / "out", "--model", NO_MODEL,
                                      "--hint", "10,10,#c03020", "--hint", "20,48,#2040ff")
    assert status == 1
    line = one_error_line(err)
    assert f"{photo}: --hint 20,48,#2040ff is outside the photo: x must be in [0, 48)" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, says", [
    ("[{\"y\": 1, \"x\": 2}]", r"hints\.json: hint 1 has no 'colour'"),
    ("{\"y\": 1}", r"hints\.json must hold a JSON list of hints"),
    ("[{\"y\": 1, \"x\": 2, \"colour\": \"#c03020\"", r"hints\.json is not valid JSON"),
    ("[{\"y\": 1, \"x\": 2, \"colour\": \"#c03020\"}, {\"y\": 60, \"x\": 2, \"colour\": "
     "\"#c03020\"}]", r"hints\.json: hint 2 is outside the photo: y must be in \[0, 48\)"),
    ("[{\"y\": 1, \"x\": 2, \"colour\": [1, 2, 3]}]", r"hint 1's colour .* must be in \[0, 1\]"),
])
def test_a_bad_hints_file_is_named_in_one_line_before_the_model_loads(
        capsys, photo, tmp_path, content, says):
    hints_file = tmp_path / "hints.json"
    hints_file.write_text(content)
    status, _, err = colorize_command(capsys, photo, "-o", tmp_path / "out", "--model", NO_MODEL,
                                      "--hints", hints_file)
    assert status == 1
    assert re.search(says, one_error_line(err))


def test_hints_for_several_photos_and_an_unreadable_reference_fail_before_the_model(
        capsys, photo, tmp_path):
    save.save_image(photo.with_name("other.png"), blobs_photo(48, seed=1))
    status, _, err = colorize_command(capsys, photo.parent, "-o", tmp_path / "out",
                                      "--model", NO_MODEL, "--hint", "1,1,#c03020")
    assert status == 1
    assert "hints are for one photo, and the inputs name 2" in one_error_line(err)
    status, _, err = colorize_command(capsys, photo, "-o", tmp_path / "out", "--model", NO_MODEL,
                                      "--reference", tmp_path / "missing.jpg")
    assert status == 1
    assert "cannot read image" in one_error_line(err) and "missing.jpg" in err


def test_a_model_trained_without_hints_refuses_them_in_one_line(capsys, photo, tmp_path,
                                                                keras_home):
    for option in (["--hint", "1,1,#c03020"], ["--reference", str(photo)]):
        status, _, err = colorize_command(capsys, photo, "-o", tmp_path / "out",
                                          "--model", OLD_MODEL, *option)
        assert status == 1
        assert "this model was trained without" in one_error_line(err)
    assert not list((tmp_path / "out").glob("*.png"))


def test_a_hint_aware_model_follows_the_hints_and_the_reference(capsys, photo, tmp_path,
                                                                hint_model_path):
    outputs = {}
    hints_file = tmp_path / "hints.json"
    hints_file.write_text(json.dumps([{"y": 30, "x": 12, "colour": "#2040ff"}]))
    for name, options in [("plain", []), ("hint", ["--hint", "10,10,#c03020"]),
                          ("file", ["--hints", hints_file]), ("reference", ["--reference",
                                                                            photo])]:
        status, out, err = colorize_command(capsys, photo, "-o", tmp_path / name,
                                            "--model", hint_model_path, *options)
        assert status == 0, err
        outputs[name] = decode.load_rgb(tmp_path / name / "photo.png")
    for name in ("hint", "file", "reference"):
        assert np.abs(outputs[name] - outputs["plain"]).max() > 2 / 255, name
    # Other hints into the same folder are other settings: colorized again, not skipped.
    status, out, _ = colorize_command(capsys, photo, "-o", tmp_path / "hint", "--model",
                                      hint_model_path, "--hint", "40,40,#20ff40")
    assert status == 0 and "colorized 1 photo" in out and "skipped" not in out


def test_colorize_file_and_files_take_hints_as_colorize_does(photo, tmp_path, hint_model_path):
    model = colorize.load_model(hint_model_path)
    hints = [(10, 10, "#c03020"), (30, 40, (0.1, 0.2, 0.9))]
    jobs.colorize_file(model, photo, tmp_path / "one.png", hints=hints, reference=photo)
    expected = colorize.colorize(model, decode.load_rgb(photo), hints=hints, reference=photo)
    written = decode.load_rgb(tmp_path / "one.png")
    assert np.abs(written - expected).max() <= 1 / 255 + 1e-6
    report = jobs.colorize_files(model, [photo], tmp_path / "many", hints=hints,
                                 reference=photo, progress=False)
    np.testing.assert_array_equal(decode.load_rgb(report.written[0]), written)
    with pytest.raises(ValueError, match="hints are for one photo, and the inputs name 2"):
        jobs.colorize_files(model, [photo, tmp_path / "one.png"], tmp_path / "two",
                            hints=hints, progress=False)
