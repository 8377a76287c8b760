"""The command line as a user meets it: help, results on disk, one-line errors."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from colornet import cli
from colornet.cli import photo_commands, support
from colornet.io import decode, save
from tests.factories import blobs_photo, moving_shapes, write_clip, write_photos


def run_cli(*arguments):
    """Run `colornet ARGS` in a fresh interpreter, as a user's shell would."""
    return subprocess.run(
        [sys.executable, "-m", "colornet.cli", *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def photo_path(tmp_path):
    path = tmp_path / "blobs.png"
    save.save_image(path, blobs_photo(64))
    return path


def test_help_explains_every_option_of_single(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["single", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for option in (
        "--output", "--size", "--steps", "--learning-rate", "--seed", "--figure", "--save-model",
    ):
        assert option in help_text


def test_no_subcommand_prints_usage(capsys):
    assert cli.main([]) == 2
    assert "single" in capsys.readouterr().out


@pytest.mark.slow
def test_single_writes_the_colorized_photo_figure_and_model_and_prints_scores(tmp_path, photo_path):
    output = tmp_path / "out" / "colorized.png"
    model_path = tmp_path / "v1.keras"
    before = photo_path.read_bytes()
    result = run_cli("single", photo_path, "-o", output, "--steps", "60", "--size", "64",
                     "--save-model", model_path, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "PSNR" in result.stdout and "grey baseline" in result.stdout
    assert decode.load_rgb(output).shape == (64, 64, 3)
    assert Image.open(tmp_path / "out" / "colorized_comparison.png").size[0] > 600
    assert model_path.stat().st_size > 0
    assert photo_path.read_bytes() == before


@pytest.mark.parametrize(
    "make_input, message",
    [
        (lambda tmp_path: tmp_path / "missing.jpg", "missing.jpg"),
        (lambda tmp_path: _write(tmp_path / "notes.jpg", b"not an image"), "notes.jpg"),
        (lambda tmp_path: _save(tmp_path / "grey.png", np.full((32, 32, 3), 0.5)), "is grey"),
        (
            lambda tmp_path: _save(tmp_path / "tiny.png", np.ones((1, 1, 3)) * [1, 0, 0]),
            "too small",
        ),
    ],
)
def test_single_bad_input_gets_one_line_error_and_status_1(tmp_path, capsys, make_input, message):
    path = make_input(tmp_path)
    status = cli.main(
        ["single", str(path), "-o", str(tmp_path / "out.png"), "--steps", "1", "--quiet"],
    )
    error = capsys.readouterr().err
    assert status == 1
    assert message in error
    assert error.count("\n") == 1 and "Traceback" not in error
    assert not (tmp_path / "out.png").exists()


def test_single_refuses_to_overwrite_its_input(tmp_path, photo_path, capsys):
    before = photo_path.read_bytes()
    status = cli.main(["single", str(photo_path), "-o", str(photo_path), "--steps", "1", "--quiet"])
    assert status == 1
    assert "input" in capsys.readouterr().err
    assert photo_path.read_bytes() == before


def test_lab_writes_a_channel_figure(tmp_path, photo_path):
    output = tmp_path / "lab.png"
    assert cli.main(["lab", str(photo_path), "-o", str(output)]) == 0
    assert Image.open(output).size[0] > 800


# What TensorFlow 2.21 prints on import whatever TF_CPP_MIN_LOG_LEVEL says, and what it
# prints when its level allows information lines.
START_UP_NOTICES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796588913.616811   10305 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results.\n"
    "I0000 00:00:1796588913.801824   10305 cpu_feature_guard.cc:227] This TensorFlow binary "
    "is optimized to use available CPU instructions in performance-critical operations.\n"
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild "
    "TensorFlow with the appropriate compiler flags.\n"
)
NATIVE_ERROR = "E0000 00:00:1796588913.9   10305 mkl_util.h:99] a kernel's own error\n"


def test_tensorflows_start_up_notices_are_held_back_and_its_errors_shown(capfd):
    with support.native_notices_hidden():
        os.write(2, (START_UP_NOTICES + NATIVE_ERROR + START_UP_NOTICES).encode())
    assert capfd.readouterr().err == NATIVE_ERROR


def test_verbose_holds_back_nothing(capfd):
    with support.native_notices_hidden(verbose=True):
        os.write(2, START_UP_NOTICES.encode())
    assert capfd.readouterr().err == START_UP_NOTICES


def test_a_failed_import_shows_the_notices_it_printed(capfd):
    with pytest.raises(ImportError), support.native_notices_hidden():
        os.write(2, START_UP_NOTICES.encode())
        raise ImportError("libtensorflow_framework.so.2: cannot open shared object file")
    assert capfd.readouterr().err == START_UP_NOTICES


def _notices(stderr):
    return [line for line in stderr.splitlines()
            if line.startswith(("WARNING: All log messages before absl", "I0000 "))]


def test_a_command_prints_no_start_up_notices_unless_verbose(tmp_path, photo_path):
    quiet = run_cli("lab", photo_path, "-o", tmp_path / "quiet.png")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    verbose = run_cli("lab", photo_path, "-o", tmp_path / "verbose.png", "--verbose")
    assert verbose.returncode == 0, verbose.stderr
    # What TensorFlow prints on import here (none at all on some builds) shows with --verbose.
    bare = subprocess.run([sys.executable, "-c", "import keras"], capture_output=True,
                          text=True, timeout=300)
    for notice in _notices(bare.stderr):
        message = notice.split("] ", 1)[-1]
        assert message in verbose.stderr, verbose.stderr


def test_verbose_goes_before_or_after_the_command():
    parser = cli.build_parser()
    assert parser.parse_args(["--verbose", "lab", "a.png", "-o", "b.png"]).verbose
    assert parser.parse_args(["lab", "a.png", "-o", "b.png", "--verbose"]).verbose
    assert not parser.parse_args(["lab", "a.png", "-o", "b.png"]).verbose


def _write(path, content):
    path.write_bytes(content)
    return path


def _save(path, rgb):
    save.save_image(path, rgb)
    return path


def _colour_photos(folder, count, seed=0):
    return write_photos(folder, count, seed)


def test_prepare_cleans_a_raw_folder_and_reports_what_it_dropped(tmp_path, capsys):
    raw = _colour_photos(tmp_path / "raw", 10)
    _save(raw / "grey.png", np.full((64, 64, 3), 0.5))
    _save(raw / "broken.jpg", blobs_photo(64))
    content = (raw / "broken.jpg").read_bytes()
    _write(raw / "broken.jpg", content[: len(content) * 2 // 3])  # cut short
    before = {path.name: path.read_bytes() for path in raw.iterdir()}
    status = cli.main(["prepare", str(raw), str(tmp_path / "data"), "--quiet",
                       "--test-fraction", "0.2", "--min-side", "32"])
    out = capsys.readouterr().out
    assert status == 0
    assert "grey" in out and "broken.jpg" in out
    kept = (
        list((tmp_path / "data" / "train").iterdir())
        + list((tmp_path / "data" / "test").iterdir())
    )
    assert len(kept) == 10
    assert {path.name: path.read_bytes() for path in raw.iterdir()} == before


def test_prepare_that_keeps_nothing_fails_after_its_report(tmp_path, capsys):
    raw = _colour_photos(tmp_path / "raw", 3)  # 48 px: all below the default 64 px minimum
    assert cli.main(["prepare", str(raw), str(tmp_path / "data"), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "too small" in captured.out
    assert "kept none of the 3 photos" in captured.err


@pytest.mark.slow
def test_train_writes_a_run_and_resumes_with_its_saved_options(tmp_path, capsys):
    photos = _colour_photos(tmp_path / "photos", 12)
    run = tmp_path / "run"
    first = ["train", str(photos), "--out", str(run), "--epochs", "1", "--image-size", "32",
             "--batch-size", "4", "--backbone", "mobilenet_v3_small", "--backbone-weights", "none",
             "--no-augment", "--quiet"]
    assert cli.main(first) == 0
    assert "best model" in capsys.readouterr().out
    # Resuming names only what changes; the run's saved options fill in the rest.
    assert cli.main(["train", str(photos), "--out", str(run), "--epochs", "2", "--quiet"]) == 0
    assert len((run / "log.csv").read_text().splitlines()) == 3
    assert '"image_size": 32' in (run / "config.json").read_text()


def test_train_on_an_empty_folder_is_one_line_and_status_1(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    status = cli.main(["train", str(tmp_path / "empty"), "--out", str(tmp_path / "run"),
                       "--backbone-weights", "none", "--quiet"])
    error = capsys.readouterr().err
    assert status == 1
    assert "no images" in error and error.count("\n") == 1


def test_train_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = capsys.readouterr().out
    for option in ("--out", "--epochs", "--batch-size", "--image-size", "--backbone ",
                   "--backbone-weights", "--backbone-precision", "--fusion-precision", "--augment",
                   "--learning-rate", "--distribution",
                   "--validation-fraction", "--cache-embeddings", "--seed"):
        assert option in help_text


def test_colorize_writes_outputs_and_exits_1_when_any_photo_failed(tmp_path, capsys):
    import keras

    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    _save(tmp_path / "in" / "good.png", blobs_photo(32))
    _write(tmp_path / "in" / "bad.png", (tmp_path / "in" / "good.png").read_bytes()[:100])
    _write(tmp_path / "in" / "garbage.jpg", b"not a jpeg at all")  # no image header either
    _write(tmp_path / "in" / "notes.txt", b"shopping list")  # not a photo: one warning line
    status = cli.main(["colorize", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                       "--model", str(tmp_path / "v1.keras"), "--quiet"])
    captured = capsys.readouterr()
    out, err = captured.out, captured.err
    assert status == 1
    assert "colorized 1 photo" in out and "bad.png" in out
    assert "failed 2" in out and "garbage.jpg" in out
    # Each failure is told once, in the summary; no raw Python warning with file and line.
    lines = (out + err).splitlines()
    assert [name for line in lines for name in ("bad.png", "garbage.jpg") if name in line] == [
        "bad.png", "garbage.jpg"
    ]
    assert "UserWarning" not in err and ".py:" not in err
    assert err.splitlines() == [
        f"colornet colorize: warning: skipped 1 non-image file(s) in '{tmp_path / 'in'}': notes.txt"
    ]
    assert decode.load_rgb(tmp_path / "out" / "good.png").shape == (32, 32, 3)


def test_colorize_refuses_an_output_folder_that_is_a_file_before_loading_the_model(
    tmp_path, capsys, monkeypatch
):
    from colornet.apps import colorize

    def no_loading(*args, **kwargs):
        raise AssertionError("loaded the model before checking the output folder")

    monkeypatch.setattr(colorize, "load_model", no_loading)
    _save(tmp_path / "in" / "photo.png", blobs_photo(32))
    _write(tmp_path / "existing.mp4", b"a video")
    status = cli.main(["colorize", str(tmp_path / "in"), "-o", str(tmp_path / "existing.mp4"),
                       "--model", str(tmp_path / "v1.keras"), "--quiet"])
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1, error
    assert "existing.mp4 is a file" in error and "Errno" not in error
    assert (tmp_path / "existing.mp4").read_bytes() == b"a video"


def test_colorize_of_a_pattern_inside_its_output_folder_fails_with_the_reason(tmp_path, capsys):
    import keras

    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    _save(tmp_path / "in" / "photo.png", blobs_photo(32))
    status = cli.main(["colorize", str(tmp_path / "in" / "*.png"), "-o", str(tmp_path / "in"),
                       "--model", str(tmp_path / "v1.keras"), "--quiet"])
    captured = capsys.readouterr()
    assert status == 1
    assert "colorized 0" not in captured.out
    assert captured.err.count("\n") == 1 and "in the output folder" in captured.err


def test_colorize_prints_which_input_became_which_output_for_same_named_photos(
    tmp_path, capsys
):
    import keras

    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    first = _save(tmp_path / "a" / "photo.png", blobs_photo(32))
    second = _save(tmp_path / "b" / "photo.png", blobs_photo(32, seed=1))
    status = cli.main(["colorize", str(first), str(second), "-o", str(tmp_path / "out"),
                       "--model", str(tmp_path / "v1.keras"), "--quiet"])
    out = capsys.readouterr().out
    assert status == 0
    assert f"{first} -> {tmp_path / 'out' / 'photo.png'}" in out
    assert f"{second} -> {tmp_path / 'out' / 'photo-2.png'}" in out


def test_colorize_again_skips_complete_photos_says_so_and_overwrite_redoes_them(
    tmp_path, capsys
):
    import keras

    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    _colour_photos(tmp_path / "in", 2)
    command = ["colorize", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
               "--model", str(tmp_path / "v1.keras"), "--quiet"]
    assert cli.main(command) == 0
    first = {path.name: path.stat().st_mtime_ns for path in (tmp_path / "out").glob("*.png")}
    capsys.readouterr()
    assert cli.main(command) == 0
    out = capsys.readouterr().out
    assert "colorized 0 photos" in out and "skipped 2 photos" in out and "--overwrite" in out
    assert "wrote to" not in out
    assert {path.name: path.stat().st_mtime_ns
            for path in (tmp_path / "out").glob("*.png")} == first
    assert cli.main([*command, "--overwrite"]) == 0
    assert "colorized 2 photos" in capsys.readouterr().out


def test_colorize_with_a_wrong_model_file_is_one_line(tmp_path, capsys):
    _save(tmp_path / "photo.png", blobs_photo(32))
    status = cli.main(["colorize", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out"),
                       "--model", str(tmp_path / "photo.png"), "--quiet"])
    assert status == 1
    assert "not a .keras model file" in capsys.readouterr().err


def test_video_colorizes_a_clip_and_reports_flicker(tmp_path, capsys):
    import keras

    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    clip = write_clip(tmp_path / "clip.mp4", moving_shapes())
    status = cli.main(["video", str(clip), str(tmp_path / "out.mp4"), "--model",
                       str(tmp_path / "v1.keras"), "--quiet"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "flicker" in printed and "frame(s) smoothed" in printed
    assert (tmp_path / "out.mp4").stat().st_size > 0


def test_evaluate_writes_scores_next_to_the_model_with_both_baselines(tmp_path, capsys):
    import keras

    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    for index in range(2):
        _save(tmp_path / "test" / f"{index}.png", blobs_photo(32, seed=index))
        _save(tmp_path / "train" / f"{index}.png", blobs_photo(32, seed=10 + index))
    status = cli.main(["evaluate", str(tmp_path / "test"), "--model", str(tmp_path / "v1.keras"),
                       "--train-dir", str(tmp_path / "train"), "--quiet"])
    out = capsys.readouterr().out
    assert status == 0
    assert "grey" in out and "mean ab" in out and "AuC" in out
    folder = tmp_path / "v1_evaluation"
    written = {path.name for path in folder.iterdir()}
    assert written == {"scores.csv", "scores.json", "comparison.png"}


def test_evaluate_skips_unreadable_photos_names_them_and_exits_1_as_colorize_does(
    tmp_path, capsys
):
    import keras

    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    _colour_photos(tmp_path / "test", 2)
    content = (tmp_path / "test" / "000.png").read_bytes()
    _write(tmp_path / "test" / "cut.png", content[: len(content) // 2])
    status = cli.main(["evaluate", str(tmp_path / "test"), "--model", str(tmp_path / "v1.keras"),
                       "--mean-ab", "0", "0", "-o", str(tmp_path / "scores"), "--quiet"])
    out = capsys.readouterr().out
    assert status == 1
    assert "skipped 1 unreadable (cut.png)" in out
    assert (tmp_path / "scores" / "scores.csv").is_file()  # the readable photos are scored


# Each command with its required arguments, and every numeric option it takes with values
# that must be refused: all in one line that names the option, before any work starts.
COMMANDS = {
    "single": (["photo.png", "-o", "out.png"], ["--size", "--steps", "--learning-rate", "--seed"]),
    "prepare": (["raw", "data"], ["--image-size", "--test-fraction", "--min-side", "--seed"]),
    "train": (["data", "--out", "run"], ["--epochs", "--batch-size", "--image-size",
                                         "--learning-rate", "--validation-fraction", "--seed"]),
    "colorize": (["photo.png", "-o", "out", "--model", "m.keras"],
                 ["--batch-size", "--tile", "--working-size"]),
    "video": (["in.mp4", "out.mp4", "--model", "m.keras"],
              ["--batch-size", "--smoothing", "--working-size"]),
    "evaluate": (["data", "--model", "m.keras"], ["--grid", "--mean-ab", "--working-size"]),
}
BAD_VALUES = {
    "--size": ["0", "-1", "7", "x"], "--steps": ["0", "-1", "1.5"],
    "--learning-rate": ["0", "-1", "nan", "inf"], "--seed": ["-1", "x"],
    "--image-size": ["0", "-8", "3.5"], "--test-fraction": ["-0.1", "1", "nan"],
    "--min-side": ["0", "-3"], "--epochs": ["0", "-1"],
    "--batch-size": ["0", "-1", "two", "99999999999999999999"],
    "--validation-fraction": ["1", "-0.5"], "--tile": ["0", "7", "-8", "100"],
    "--smoothing": ["1", "-0.1", "nan"], "--working-size": ["0", "4", "-8", "fulll"],
    "--grid": ["-1"],
    "--mean-ab": ["nan", "200"],
}


@pytest.mark.parametrize(
    "command, option, value",
    [
        (command, option, value)
        for command, (_, options) in COMMANDS.items()
        for option in options
        for value in BAD_VALUES[option]
    ],
)
def test_every_numeric_option_refuses_bad_values_in_one_line(command, option, value, capsys):
    required, _ = COMMANDS[command]
    given = [option, value, "0"] if option == "--mean-ab" else [f"{option}={value}"]
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, *required, *given])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert error.count("\n") == 1 and error.startswith(
        f"colornet {command}: error: argument {option}",
    )
    assert repr(value) in error and "Traceback" not in error


def test_train_image_size_must_be_a_multiple_of_8_on_the_command_line(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "data", "--out", "run", "--image-size", "100"])
    assert "a multiple of 8" in capsys.readouterr().err


def test_any_multiple_of_8_is_a_tile_the_user_can_give(tmp_path):
    import keras

    from colornet.apps import colorize
    from colornet.nets import models

    keras.utils.set_random_seed(0)
    model = models.version_1()
    lightness = np.random.default_rng(0).random((40, 70)).astype(np.float32) * 100
    for tile in (8, 16, 24, 136):
        ab = colorize.predict_ab(model, lightness, working_size=None, tile=tile)
        assert ab.shape == (40, 70, 2) and np.isfinite(ab).all()


def test_help_shows_no_default_on_required_options_or_options_without_one(capsys):
    for command in COMMANDS:
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        help_text = capsys.readouterr().out
        assert "(default: None)" not in help_text and "(default: False)" not in help_text
    with pytest.raises(SystemExit):
        cli.main(["colorize", "--help"])
    assert "(default: 8)" in capsys.readouterr().out  # real defaults still shown


def test_version_prints_the_package_version(capsys):
    import colornet

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"colornet {colornet.__version__}"


def test_single_keeps_the_alpha_of_a_transparent_photo(tmp_path, capsys):
    alpha = np.ones((32, 32))
    alpha[:, :8], alpha[:, 8:16] = 0.0, 0.5
    save.save_image(tmp_path / "logo.png", blobs_photo(32), alpha=alpha)
    status = cli.main(["single", str(tmp_path / "logo.png"), "-o", str(tmp_path / "out.png"),
                       "--steps", "2", "--size", "32", "--quiet"])
    assert status == 0, capsys.readouterr().err
    with Image.open(tmp_path / "out.png") as written:
        assert written.mode == "RGBA"
    _, kept = decode.load_rgb_and_alpha(tmp_path / "out.png")
    np.testing.assert_allclose(kept, alpha, atol=1 / 255)


def test_colorize_says_in_one_line_which_photos_have_colour_and_quiet_hides_it(
    tmp_path, capsys
):
    import keras

    from colornet import color
    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    colour = blobs_photo(32)
    grey = np.repeat(color.rgb_to_lightness(colour)[..., None] / 100, 3, axis=-1)
    lightness = color.rgb_to_lab(grey)[..., :1]
    sepia = color.lab_to_rgb(np.dstack([lightness, np.full_like(lightness, 8),
                                        np.full_like(lightness, 20)]))
    for name, photo in (("grey.png", grey), ("sepia.jpg", sepia), ("colour.png", colour)):
        _save(tmp_path / "in" / name, photo)
    command = ["colorize", "-o", str(tmp_path / "out"), "--model", str(tmp_path / "v1.keras")]

    def printed(*arguments):
        assert cli.main([*command, *arguments]) == 0
        return [line for line in capsys.readouterr().out.splitlines() if "has colour" in line
                or "have colour" in line]

    assert printed(str(tmp_path / "in"), "--overwrite") == [
        "2 photos have colour (a tint such as sepia, or colours): only their lightness is "
        "used: colour.png, sepia.jpg"
    ]
    assert printed(str(tmp_path / "in" / "sepia.jpg"), "--overwrite") == [
        "sepia.jpg has colour (a tint such as sepia, or colours): only its lightness is used"
    ]
    assert printed(str(tmp_path / "in" / "grey.png"), "--overwrite") == []
    assert printed(str(tmp_path / "in"), "--overwrite", "--quiet") == []


def test_colorize_says_wrote_only_when_it_wrote_something(tmp_path, capsys):
    import keras

    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    (tmp_path / "in").mkdir()
    _write(tmp_path / "in" / "bad.png", b"not a png")
    status = cli.main(["colorize", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                       "--model", str(tmp_path / "v1.keras"), "--quiet"])
    assert status == 1
    assert "wrote to" not in capsys.readouterr().out


PYTHON_NAMES = re.compile(r"\b[A-Za-z]+_[A-Za-z_]+\b|\w+=\w+|load_rgb")


def assert_no_python_names(message, *paths):
    for path in paths:  # file names of the test's own may hold underscores
        message = message.replace(str(path), "PATH")
    assert not PYTHON_NAMES.findall(message), message


def test_cli_messages_speak_of_options_and_files_not_python_names(tmp_path, capsys):
    photo = _save(tmp_path / "photo.png", blobs_photo(32))
    # A file where a folder of photos belongs.
    assert cli.main(["train", str(photo), "--out", str(tmp_path / "run"), "--quiet"]) == 1
    assert_no_python_names(capsys.readouterr().err, photo, tmp_path)
    # Only grey photos to train on.
    _save(tmp_path / "grey" / "a.png", np.full((32, 32, 3), 0.5))
    status = cli.main(["train", str(tmp_path / "grey"), "--out", str(tmp_path / "run2"), "--quiet"])
    assert status == 1
    error = capsys.readouterr().err
    assert "grey" in error
    assert_no_python_names(error, tmp_path)
    # prepare into a folder an earlier prepare filled.
    _colour_photos(tmp_path / "raw", 4)
    assert cli.main(["prepare", str(tmp_path / "raw"), str(tmp_path / "data"), "--quiet",
                     "--image-size", "32", "--min-side", "16"]) == 0
    capsys.readouterr()
    assert cli.main(["prepare", str(tmp_path / "raw"), str(tmp_path / "data"), "--quiet",
                     "--image-size", "32", "--min-side", "16"]) == 1
    error = capsys.readouterr().err
    assert "--overwrite" in error
    assert_no_python_names(error, tmp_path)


def test_a_missing_weights_file_is_told_in_trains_options(tmp_path, capsys):
    _colour_photos(tmp_path / "photos", 4)
    status = cli.main(["train", str(tmp_path / "photos"), "--out", str(tmp_path / "run"),
                       "--backbone", "mobilenet_v3_small",
                       "--backbone-weights", str(tmp_path / "missing.h5"), "--quiet"])
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1, error
    assert "missing.h5 does not exist; give --backbone-weights imagenet, none, or the path" in error
    assert "weights='" not in error and "None" not in error


def test_classify_offline_names_its_own_options_not_trains(tmp_path, capsys, monkeypatch):
    import urllib.error
    import urllib.request

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    photo = _save(tmp_path / "photo.png", blobs_photo(32))
    status = cli.main(["classify", str(photo), "--backbone", "mobilenet_v3_small"])
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1, error
    assert "use --backbone efficientnet_lite0 or efficientnet_lite2" in error
    assert "colornet train" not in error and "--backbone-weights" not in error
    assert "weights='" not in error


def test_evaluate_without_a_mean_ab_baseline_says_so_in_plain_words(tmp_path, capsys):
    import keras

    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    _colour_photos(tmp_path / "test", 2)
    status = cli.main(["evaluate", str(tmp_path / "test"), "--model", str(tmp_path / "v1.keras"),
                       "-o", str(tmp_path / "scores"), "--quiet"])
    assert status == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "no mean-ab baseline" in line)
    assert_no_python_names(line.split("no mean-ab baseline")[1])


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'{"epochs": 3}'])
def test_a_corrupt_run_config_is_named_on_resume(tmp_path, capsys, content):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_bytes(content)
    _colour_photos(tmp_path / "photos", 2)
    status = cli.main(
        ["train", str(tmp_path / "photos"), "--out", str(tmp_path / "run"), "--quiet"],
    )
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1
    assert str(tmp_path / "run" / "config.json") in error and "Traceback" not in error


def test_an_output_that_cannot_be_written_is_named_not_its_temporary(tmp_path, capsys):
    photo = _save(tmp_path / "photo.png", blobs_photo(32))
    # The name fits the file system; the hidden temporary beside it, 20 characters longer,
    # does not: the failure is the temporary's, the message must be about the output.
    output = tmp_path / ("x" * 240 + ".png")
    status = cli.main(["lab", str(photo), "-o", str(output)])
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1
    assert str(output) in error and ".tmp" not in error


@pytest.mark.parametrize(
    "output, message",
    [("out.gif", "must end in .png"), ("noext", "must end in .png"),
     ("blocker/out.png", "cannot write the colorized photo")],
)
def test_single_checks_its_outputs_before_training(tmp_path, photo_path, capsys, monkeypatch,
                                                    output, message):
    from colornet.apps import single_image

    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking the output")

    monkeypatch.setattr(single_image, "train_single_image", no_training)
    (tmp_path / "blocker").write_bytes(b"a file where a folder should be")
    status = cli.main(["single", str(photo_path), "-o", str(tmp_path / output), "--quiet"])
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1 and message in error, error


def test_single_stops_in_one_line_when_the_loss_diverges(tmp_path, photo_path, capsys):
    status = cli.main(["single", str(photo_path), "-o", str(tmp_path / "out.png"), "--steps", "40",
                       "--size", "32", "--learning-rate", "1e9", "--quiet"])
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1 and "diverged" in error, error
    assert not (tmp_path / "out.png").exists()


def test_progress_bars_count_whole_steps_and_epochs(capsys):
    from colornet import progress

    bars = progress.EpochBars(epochs=3, initial_epoch=1, steps_per_epoch=4)
    bars.on_train_begin()
    bars.on_epoch_begin(1)
    for batch in range(4):
        bars.on_train_batch_end(batch, {"loss": 0.5})
    bars.on_epoch_end(1, {"loss": 0.5, "val_loss": 0.25})
    bars.on_train_end()
    training_bars = capsys.readouterr().err
    assert "2/3" in training_bars and "0/4" in training_bars and "step" in training_bars
    assert "batch" not in training_bars and ".00/" not in training_bars
    single = progress.StepBar(steps=5)  # Version 1: one Keras epoch is one step
    single.on_train_begin()
    for step in range(5):
        single.on_epoch_end(step, {"loss": 0.1})
    single.on_train_end()
    single_bar = capsys.readouterr().err
    assert "5/5" in single_bar and "step" in single_bar and "epoch" not in single_bar


def test_an_error_after_a_progress_bar_starts_a_line_of_its_own(tmp_path, capsys, monkeypatch):
    import tqdm

    def failing_run(args):
        bar = tqdm.tqdm(total=10, desc="working")
        bar.update(3)
        raise ValueError("it broke")

    monkeypatch.setattr(photo_commands, "_run_lab", failing_run)
    assert cli.main(["lab", str(tmp_path / "photo.png"), "-o", str(tmp_path / "lab.png")]) == 1
    error = capsys.readouterr().err
    assert (
        error.endswith("\ncolornet lab: error: it broke\n")
        or error == "colornet lab: error: it broke\n"
    )
    assert "working" in error  # the bar was drawn, and ended its own line


def _fake_run(folder, epochs, rows):
    """A run folder with a checkpoint after `epochs` and a log of (loss, val_loss) rows."""
    from colornet.train.runs import RunFolder

    run = RunFolder(folder)
    run.checkpoint_path.parent.mkdir(parents=True)
    # An earlier colornet's layout, whose state.json `RunFolder` still reads.
    run.legacy_npz_path.write_bytes(b"checkpoint")
    run.legacy_state_path.write_text(json.dumps(
        {"epochs": epochs, "best": min(row[1] for row in rows), "monitor": "val_loss"}))
    lines = ["epoch,loss,val_loss"] + [
        f"{index},{loss},{val}" for index, (loss, val) in enumerate(rows)
    ]
    run.log_path.write_text("\n".join(lines) + "\n")
    return run


def test_train_reports_the_best_models_validation_loss_not_the_last_epochs(tmp_path):
    run = _fake_run(tmp_path / "run", 3, [(0.9, 0.8), (0.5, 0.3), (0.4, 0.6)])
    assert run.best_epoch() == (2, "validation loss", 0.3)


def test_interrupted_training_says_what_was_kept_and_how_to_resume(tmp_path):
    _fake_run(tmp_path / "run", 2, [(0.9, 0.8), (0.5, 0.3)])
    args = cli.build_parser().parse_args(
        ["train", str(tmp_path / "data"), "--out", str(tmp_path / "run")],
    )
    said = args.on_interrupt(args)
    assert "checkpoint after epoch 2" in said and "same command to resume" in said
    args = cli.build_parser().parse_args(
        ["train", str(tmp_path / "data"), "--out", str(tmp_path / "new")],
    )
    assert "no checkpoint was kept" in args.on_interrupt(args)


def test_a_kernel_the_backend_refuses_is_one_line_naming_it_and_the_precision(
    tmp_path, capsys, monkeypatch
):
    """As TensorFlow reports a float16 convolution that oneDNN refuses (seen with
    ONEDNN_MAX_CPU_ISA capped below the CPU's own level): its reason, not 40 stack frames."""
    import tensorflow as tf

    message = (
        "Graph execution error:\n\nDetected at node colorizer/encoder_conv_1/Relu defined at "
        "(most recent call last):\n  File \"<frozen runpy>\", line 198\n\nOperation received "
        "an exception:Status: 3, message: could not create a primitive descriptor for the "
        "convolution forward propagation primitive. Run workload with environment variable "
        "ONEDNN_VERBOSE=all to get additional diagnostic information., in file "
        "tensorflow/core/kernels/mkl/mkl_conv_ops.cc:1112\n\t [[{{node encoder_conv_1/Relu}}]]"
    )

    def refused(args):
        raise tf.errors.AbortedError(None, None, message)

    monkeypatch.setattr(photo_commands, "_run_lab", refused)
    assert cli.main(["lab", str(tmp_path / "photo.png"), "-o", str(tmp_path / "lab.png")]) == 1
    assert capsys.readouterr().err == (
        "colornet lab: error: the backend could not run the model (AbortedError: Operation "
        "received an exception:Status: 3, message: could not create a primitive descriptor for "
        "the convolution forward propagation primitive.)\n"
    )
    assert support.backend_error_line(
        tf.errors.AbortedError(None, None, message), "float16"
    ).endswith("; float16 may not be available here: try --precision float32")
    assert support.backend_error_line(ZeroDivisionError("a bug")) is None  # a traceback


def test_a_bug_that_is_not_the_backends_still_shows_its_traceback(tmp_path, monkeypatch):
    def buggy(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(photo_commands, "_run_lab", buggy)
    with pytest.raises(ZeroDivisionError):
        cli.main(["lab", str(tmp_path / "photo.png"), "-o", str(tmp_path / "lab.png")])


def test_serve_on_a_port_in_use_says_so_naming_port_before_any_work(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = cli.main(["serve", "--demo", "--port", str(port)])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert f"port {port}" in captured.err and "--port" in captured.err
    assert "training the demo model" not in captured.out


def test_colornet_debug_shows_the_traceback_behind_a_one_line_error(tmp_path):
    missing = tmp_path / "missing.keras"
    photos = write_photos(tmp_path / "in", 1)  # a photo, so the missing model is the problem
    plain = run_cli("colorize", photos, "-o", tmp_path / "out", "--model", missing)
    assert plain.returncode == 1
    assert "Traceback" not in plain.stderr and f"no model at {missing}" in plain.stderr
    debug = subprocess.run(
        [sys.executable, "-m", "colornet.cli", "colorize", str(photos), "-o",
         str(tmp_path / "out"), "--model", str(missing)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLORNET_DEBUG": "1"},
    )
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr and f"no model at {missing}" in debug.stderr
