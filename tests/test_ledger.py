"""`colornet colorize` never replaces a file it did not write: a user's own photo in the output
folder, or the result of another photo of the same name, is refused in one line naming it and
--overwrite; with --overwrite it is replaced."""

import pytest

from colornet import cli
from colornet.apps import colorize, jobs, ledger
from colornet.io import save
from tests.factories import blobs_photo, constant_model


@pytest.fixture
def loads(monkeypatch):
    """The model colorize loads: the stand-in, counted."""
    loaded = []
    monkeypatch.setattr(colorize, "load_model",
                        lambda *args, **kwargs: loaded.append(1) or constant_model())
    return loaded


def test_a_users_own_file_in_the_output_folder_is_refused_before_the_model_loads(
    tmp_path, capsys, loads
):
    photo = save.save_image(tmp_path / "in" / "photo.jpg", blobs_photo(32))
    own = tmp_path / "out" / "photo.jpg"
    own.parent.mkdir()
    own.write_bytes(b"the user's own photo")
    command = ["colorize", str(photo), "-o", str(tmp_path / "out"), "--quiet"]
    status = cli.main(command)
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1, error
    assert str(own) in error and "--overwrite" in error
    assert own.read_bytes() == b"the user's own photo" and not loads
    assert cli.main([*command, "--overwrite"]) == 0
    assert own.read_bytes() != b"the user's own photo"


def test_another_photo_of_the_same_name_does_not_replace_the_first_result(tmp_path, capsys,
                                                                          loads):
    first = save.save_image(tmp_path / "a" / "photo.png", blobs_photo(32))
    second = save.save_image(tmp_path / "b" / "photo.png", blobs_photo(32, seed=1))
    result = tmp_path / "out" / "photo.png"
    assert cli.main(["colorize", str(first), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    written = result.read_bytes()
    assert cli.main(["colorize", str(second), "-o", str(tmp_path / "out"), "--quiet"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and str(result) in error and str(first) in error
    assert "--overwrite" in error and result.read_bytes() == written
    # The same photo again, changed since: colornet's own result of it, made anew.
    save.save_image(first, blobs_photo(32, seed=2))
    assert cli.main(["colorize", str(first), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    assert result.read_bytes() != written


def test_the_library_refuses_before_writing_any_photo(tmp_path):
    photos = [save.save_image(tmp_path / "in" / name, blobs_photo(32))
              for name in ("a.png", "b.png")]
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "b.png").write_bytes(b"mine")
    with pytest.raises(ledger.OutputTaken, match=r"b\.png is already there"):
        jobs.colorize_files(constant_model(), photos, tmp_path / "out", progress=False)
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["b.png"]
