"""What `colornet colorize`, `video` and `serve` refuse, each in one line and before any slow
work: options out of range, inputs that are not there, outputs that would lose a file."""

import os
import pathlib

import pytest

from colornet import cli
from tests.factories import constant_model, moving_shapes, write_clip, write_photos


def _one_line(captured):
    return captured.err.count("\n") == 1 and "Traceback" not in captured.err


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_serve_on_a_port_no_machine_has_is_one_line_naming_port(port, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--port", port])
    captured = capsys.readouterr()
    assert exit_.value.code == 2 and _one_line(captured), captured.err
    assert "--port" in captured.err and port in captured.err


@pytest.fixture
def no_model_loading(monkeypatch):
    """Loading a model fails the test: what is refused must be refused before that."""
    from colornet.apps import colorize

    def no_loading(*args, **kwargs):
        raise AssertionError("loaded the model before refusing")

    monkeypatch.setattr(colorize, "load_model", no_loading)


def test_an_empty_input_is_refused_not_read_as_the_current_folder(
    tmp_path, monkeypatch, capsys
):
    from colornet.apps import colorize

    monkeypatch.setattr(colorize, "load_model", lambda *args, **kwargs: constant_model())
    write_photos(tmp_path / "here", 2)  # what an unset "$DIR" would otherwise colorize
    monkeypatch.chdir(tmp_path / "here")
    status = cli.main(["colorize", "", "-o", str(tmp_path / "out"), "--quiet"])
    captured = capsys.readouterr()
    assert status == 1 and _one_line(captured), captured.err
    assert "empty" in captured.err
    assert not (tmp_path / "out").exists()


def _unwritable_folder(tmp_path):
    """A folder this process cannot write in: read-only, or, for root (whom permissions do not
    stop), one under /proc, where no folder can be made."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o500)
        return folder
    if not pathlib.Path("/proc/self").is_dir():
        pytest.skip("needs a folder root cannot write: none here")
    return pathlib.Path("/proc/colornet-cannot-be-made")


@pytest.mark.parametrize("case", ["missing input", "unwritable output"])
def test_colorize_refuses_a_missing_input_or_an_unwritable_output_before_loading_the_model(
    tmp_path, capsys, no_model_loading, case
):
    photo = write_photos(tmp_path / "in", 1) / "000.png"
    if case == "missing input":
        inputs, output, named = [str(tmp_path / "nowhere.png")], tmp_path / "out", "nowhere.png"
    else:
        output = _unwritable_folder(tmp_path)
        inputs, named = [str(photo)], str(output)
    status = cli.main(["colorize", *inputs, "-o", str(output), "--quiet"])
    captured = capsys.readouterr()
    assert status == 1 and _one_line(captured), captured.err
    assert named in captured.err and "Errno" not in captured.err
    assert "colorized" not in captured.out  # refused once, not photo by photo


def test_serve_refuses_max_megapixels_0_before_any_model(capsys, no_model_loading):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--max-megapixels", "0"])
    captured = capsys.readouterr()
    assert exit_.value.code == 2 and _one_line(captured), captured.err
    assert "--max-megapixels" in captured.err


def test_video_refuses_an_existing_output_unless_overwrite(tmp_path, capsys, monkeypatch):
    from colornet.apps import colorize

    clip = write_clip(tmp_path / "in.mp4", moving_shapes(frames=4))
    output = tmp_path / "out.mp4"
    output.write_bytes(b"the user's own video")
    loaded = []
    monkeypatch.setattr(colorize, "load_model",
                        lambda *args, **kwargs: loaded.append(1) or constant_model())
    status = cli.main(["video", str(clip), str(output), "--quiet"])
    captured = capsys.readouterr()
    assert status == 1 and _one_line(captured), captured.err
    assert str(output) in captured.err and "--overwrite" in captured.err
    assert output.read_bytes() == b"the user's own video" and not loaded  # before the model
    assert cli.main(["video", str(clip), str(output), "--quiet", "--overwrite"]) == 0
    assert output.read_bytes() != b"the user's own video"
