"""The temporary files of atomic writes, and the removal of those a killed run left behind.

An atomic write (`_util.atomic_output`) writes `.NAME.PID-RANDOM.tmp.SUFFIX` beside its
target and renames it into place. Ctrl-C and SIGTERM unwind and remove it; SIGKILL, a crash
or a power cut cannot. The next run that writes into the same folder removes such files when
the process that made them is gone, and leaves those of a run still going alone.

The same goes for a command's own temporary folder, `.colornet.PID-RANDOM.tmp` in the
system's temporary folder, where the files of libraries that write through `tempfile` go
(TensorFlow's autograph writes a `__autograph_generated_file*.py` for each function it
converts, and removes them only at a normal exit).
"""

import contextlib
import os
import pathlib
import re
import secrets
import shutil
import tempfile

# ".photo_05.12345-1a2b3c4d.tmp.png"; before process ids were recorded ".photo_05.1a2b3c4d.tmp.png".
# A video's scratch file adds ".video" before the suffix.
_TEMPORARY = re.compile(r"^\..*?\.(?:(?P<pid>\d+)-)?[0-9a-f]{8}\.tmp(?:\.[^/]*)?$")


def temporary_path(path):
    """A hidden, unique temporary name beside `path` (pathlib.Path) that keeps its suffix
    (Keras and matplotlib choose the format by it) and records this process's id."""
    return path.with_name(f".{path.stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp{path.suffix}")


def is_stale_temporary(path):
    """True for an atomic write's temporary file whose process no longer runs."""
    match = _TEMPORARY.match(pathlib.Path(path).name)
    if match is None:
        return False
    if match["pid"] is None:
        return True  # an older colornet's, which recorded no process
    return not _is_running(int(match["pid"]))


def remove_stale_temporaries(folder, recursive=True):
    """Remove the stale temporary files in `folder` (and its subfolders); returns their paths.

    A missing folder has none. Files that vanish or cannot be removed meanwhile are left.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for directory, subfolders, names in os.walk(folder):
        if not recursive:
            subfolders[:] = []
        for name in names:
            path = pathlib.Path(directory) / name
            if is_stale_temporary(path):
                try:
                    path.unlink()
                except OSError:
                    continue
                removed.append(path)
    return removed


def remove_stale_temporary_folders(folder, prefix=".colornet."):
    """Remove the temporary folders (`own_temporary_folder`'s, named from `prefix`) in `folder`
    whose process no longer runs, with everything in them; returns their paths. Looks in
    `folder` only, not below: it is the system's temporary folder."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if entry.name.startswith(prefix) and is_stale_temporary(entry.name):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(pathlib.Path(entry.path))
    return removed


@contextlib.contextmanager
def own_temporary_folder():
    """Inside: `tempfile` writes into a folder of this process's own in the system's temporary
    folder, removed at the end; the folders that killed processes left there are removed
    first. Yields the folder. Within another such block (a command run inside a command),
    the outer block's folder serves."""
    system = pathlib.Path(tempfile.gettempdir())
    if _TEMPORARY.match(system.name) and system.name.startswith(".colornet."):
        yield system
        return
    remove_stale_temporary_folders(system)
    folder = temporary_path(system / "colornet")  # .colornet.PID-RANDOM.tmp
    folder.mkdir(mode=0o700)
    before, tempfile.tempdir = tempfile.tempdir, str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = before
        shutil.rmtree(folder, ignore_errors=True)


def _is_running(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True
