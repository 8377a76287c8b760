"""Ctrl-C, SIGTERM and SIGKILL: one line, no traceback, and no half-written files that last.

Each signal is sent by the colornet process to itself at a chosen moment (while TensorFlow
imports, while a photo is being saved), so the tests do not depend on timing.
"""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import numpy as np

from colornet import leftovers
from colornet.apps import jobs
from colornet.io import save
from tests.factories import constant_model

# Runs `colornet ARGS` after arranging for SIGNAL to arrive at the first import of any of
# MODULES (the heavy start-up: TensorFlow, Keras, colornet's model code), or at the first
# image saved (SAVE=1; SIGNAL_AT_SAVE=N: the Nth).
LAUNCHER = textwrap.dedent(
    """
    import importlib.abc, os, signal, sys, time

    signum = getattr(signal, os.environ["SIGNAL"])
    modules = set(os.environ.get("MODULES", "").split(","))

    class SignalOnImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name in modules and name not in sys.modules:
                modules.clear()
                os.kill(os.getpid(), signum)
                time.sleep(0.5)  # the signal's handler runs here, mid-import
            return None

    from colornet import cli

    sys.meta_path.insert(0, SignalOnImport())
    if os.environ.get("SAVE"):
        import PIL.Image

        real_save = PIL.Image.Image.save

        saves = []

        def save_then_signal(self, *args, **kwargs):
            real_save(self, *args, **kwargs)  # the temporary file now holds bytes
            saves.append(self)
            if len(saves) == int(os.environ.get("SIGNAL_AT_SAVE", "1")):
                os.kill(os.getpid(), signum)
                time.sleep(5)

        PIL.Image.Image.save = save_then_signal
    sys.exit(cli.main(sys.argv[1:]))
    """
)

HEAVY_MODULES = (
    "tensorflow,keras,colornet.apps.single_image,colornet.apps.colorize,colornet.nets.models"
)


def colornet_lines(stderr):
    """stderr without TensorFlow's own start-up notices, which it prints whatever we do."""
    return [line for line in stderr.splitlines() if line and not _is_tensorflow_notice(line)]


def _is_tensorflow_notice(line):
    return line.startswith(("WARNING: All log messages before absl", "I0000 ", "W0000 ", "E0000 "))


def run_with_signal(arguments, signal_name, **environment):
    return subprocess.run(
        [sys.executable, "-c", LAUNCHER, *map(str, arguments)],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "SIGNAL": signal_name, **environment},
    )


def test_ctrl_c_during_start_up_prints_one_line_and_no_traceback(tmp_path):
    result = run_with_signal(
        ["lab", tmp_path / "photo.png", "-o", tmp_path / "lab.png"], "SIGINT", MODULES=HEAVY_MODULES
    )
    assert result.returncode == 130
    said = colornet_lines(result.stderr)
    assert said in (["colornet: interrupted"], ["colornet lab: interrupted"]), result.stderr


def test_sigterm_during_start_up_prints_one_line(tmp_path):
    result = run_with_signal(
        ["lab", tmp_path / "photo.png", "-o", tmp_path / "lab.png"], "SIGTERM",
        MODULES=HEAVY_MODULES,
    )
    assert result.returncode == 143
    assert colornet_lines(result.stderr) in (["colornet: terminated"], ["colornet lab: terminated"])


def test_sigterm_while_saving_removes_the_temporary_file_and_says_terminated(tmp_path):
    import keras

    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    save.save_image(tmp_path / "in" / "photo.png", np.full((16, 16, 3), 0.5))
    out = tmp_path / "out"
    result = run_with_signal(
        ["colorize", tmp_path / "in", "-o", out, "--model", tmp_path / "v1.keras", "--quiet"],
        "SIGTERM", SAVE="1",
    )
    assert result.returncode == 143, result.stderr
    (line,) = colornet_lines(result.stderr)
    assert line.startswith("colornet colorize: terminated; the photos already in"), line
    # Neither a half photo nor its hidden temporary; only the record's claim of the name.
    assert [path.name for path in out.rglob("*")] == [jobs.COMPLETED_RECORD]


def test_a_killed_runs_temporary_files_are_removed_by_the_next_run(tmp_path):
    save.save_image(tmp_path / "in" / "photo_05.png", np.full((24, 40, 3), 0.5))
    out = tmp_path / "out"
    # What SIGKILL leaves: a temporary of a process that is gone, and of an older colornet.
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)
    debris = [
        out / f".photo_05.{dead_pid}-1a2b3c4d.tmp.png",
        out / "trip" / ".photo_07.0badf00d.tmp.png",
        out / f".vterm.{dead_pid}-cafe0123.tmp.video.mp4",
    ]
    alive = out / f".other.{os.getppid()}-12345678.tmp.png"  # a run still going
    not_ours = out / ".notes.tmp.png"
    for path in [*debris, alive, not_ours]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    jobs.colorize_files(constant_model(), [tmp_path / "in"], out, progress=False)
    assert not any(path.exists() for path in debris)
    assert alive.exists() and not_ours.exists()
    assert (out / "photo_05.png").is_file()


def test_after_sigkill_the_next_colorize_redoes_only_what_was_not_complete(tmp_path):
    import keras

    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    for index in range(3):
        save.save_image(tmp_path / "in" / f"photo_{index}.png", np.full((16, 16, 3), 0.5))
    out = tmp_path / "out"
    command = ["colorize", tmp_path / "in", "-o", out, "--model", tmp_path / "v1.keras",
               "--quiet", "--batch-size", "1"]
    # Killed while saving its second photo: the first is complete, the second half-written.
    killed = run_with_signal(command, "SIGKILL", SAVE="1", SIGNAL_AT_SAVE="2")
    assert killed.returncode == -signal.SIGKILL
    complete = {path.name: path.stat().st_mtime_ns for path in out.glob("[!.]*.png")}
    assert list(complete) == ["photo_0.png"]
    assert len(list(out.glob(".photo_1.*.tmp.png"))) == 1  # the half-written one
    result = subprocess.run([sys.executable, "-m", "colornet.cli", *map(str, command)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "colorized 2 photos" in result.stdout and "skipped 1 photo" in result.stdout
    assert out.joinpath("photo_0.png").stat().st_mtime_ns == complete["photo_0.png"]
    assert sorted(path.name for path in out.iterdir()) == [
        jobs.COMPLETED_RECORD, "photo_0.png", "photo_1.png", "photo_2.png"
    ]


def test_a_killed_commands_temporary_folder_is_removed_by_the_next_command(tmp_path):
    import keras

    from colornet.nets import models

    keras.utils.set_random_seed(0)
    models.version_1().save(tmp_path / "v1.keras")
    save.save_image(tmp_path / "in" / "photo.png", np.full((16, 16, 3), 0.5))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    killed = run_with_signal(
        ["colorize", tmp_path / "in", "-o", tmp_path / "out", "--model", tmp_path / "v1.keras",
         "--quiet"],
        "SIGKILL", SAVE="1", TMPDIR=str(temporary),
    )
    assert killed.returncode == -signal.SIGKILL
    # TensorFlow's autograph files, and anything else written through tempfile, are inside
    # the command's own folder, not loose in $TMPDIR.
    (left,) = temporary.iterdir()
    assert left.name.startswith(".colornet.") and left.is_dir()
    assert any(path.name.startswith("__autograph_generated_file") for path in left.iterdir())
    save.save_image(tmp_path / "photo.png", np.full((16, 16, 3), 0.5))
    result = subprocess.run(
        [sys.executable, "-m", "colornet.cli", "lab", tmp_path / "photo.png", "-o",
         tmp_path / "lab.png"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    assert result.returncode == 0, result.stderr
    assert list(temporary.iterdir()) == []  # the killed one's folder and its own, both gone


def test_a_running_commands_temporary_folder_is_left_alone(tmp_path):
    folder = tmp_path / f".colornet.{os.getppid()}-0badf00d.tmp"  # pytest's parent: running
    folder.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = tmp_path / f".colornet.{int(gone.stdout)}-1a2b3c4d.tmp"
    (stale / "inside").mkdir(parents=True)
    not_ours = tmp_path / f".other.{int(gone.stdout)}-1a2b3c4d.tmp"
    not_ours.mkdir()
    assert leftovers.remove_stale_temporary_folders(tmp_path) == [stale]
    assert folder.is_dir() and not stale.exists() and not_ours.is_dir()


def test_temporary_names_record_the_process_and_are_recognised():
    path = leftovers.temporary_path(pathlib.Path("/somewhere/photo.png"))
    assert path.name.startswith(f".photo.{os.getpid()}-") and path.suffix == ".png"
    assert not leftovers.is_stale_temporary(path)  # this process runs
    assert not leftovers.is_stale_temporary("photo.png")
    assert signal.SIGTERM + 128 == 143
