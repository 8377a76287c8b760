"""Before a job of several processes trains: every process must train the same run, with the
same settings, on the same photos, in a run folder they all share; otherwise one line says
what differs, on every process alike (`colornet.train.distributed` joins the job).
"""

import hashlib
import json
import os

import numpy as np

from colornet import _util
from colornet.train import distributed


def check_agreement(settings, photos, run_dir):
    """Refuse to start unless every process has the same settings and sees the same photos.

    Args:
        settings: dict of JSON values that must be equal on every process (the config, the
            epoch it resumes at, the backend).
        photos: (relative path, size in bytes) of every photo this process sees.
        run_dir: the run folder, which every process must see as the same shared folder.

    Raises:
        distributed.DistributedError: one line naming what differs, on every process alike.
    """
    if distributed.process_count() == 1:
        return
    listing = sorted((str(name), int(size)) for name, size in photos)
    digest = hashlib.sha256(json.dumps(listing).encode()).hexdigest()
    mine = json.dumps({**settings, "photos": [len(listing), digest]}, sort_keys=True)
    everyone = [json.loads(text) for text in _gather_text(mine)]
    difference = _differences(everyone)
    if difference:
        if "photos" in difference and set(difference) == {"photos"}:
            raise distributed.DistributedError(_photo_difference(everyone, listing, run_dir))
        raise distributed.DistributedError(
            f"the processes disagree on {'; '.join(difference.values())}; start every process "
            "with the same command and settings"
        )


def _gather_text(text):
    """Every process's string, in process order."""
    encoded = np.frombuffer(text.encode(), np.uint8)
    longest = int(distributed.gather(np.array([len(encoded)], np.int64)).max())
    padded = np.zeros(longest, np.uint8)
    padded[: len(encoded)] = encoded
    return [bytes(row).rstrip(b"\0").decode() for row in distributed.gather(padded)]


def _differences(everyone):
    """{name: "name (process 0: value, process 1: other)"} for each setting that differs."""
    names = sorted(set().union(*everyone))
    differences = {}
    for name in names:
        values = [settings.get(name) for settings in everyone]
        if any(value != values[0] for value in values):
            described = ", ".join(
                f"process {index}: {_shown(name, value)}" for index, value in enumerate(values)
            )
            differences[name] = f"{name} ({described})"
    return differences


def _shown(name, value):
    if name == "photos":
        return f"{value[0]} photos"
    return repr(value)


def _photo_difference(everyone, listing, run_dir):
    """Name the photos that differ: each process leaves its list in the run folder."""
    index = distributed.process_index()
    folder = run_dir / "processes"
    _write_json(folder / f"photos-{index}.json", listing)
    distributed.barrier("colornet-photo-lists")
    counts = ", ".join(
        f"process {number}: {settings['photos'][0]}" for number, settings in enumerate(everyone)
    )
    message = f"the processes see different photos ({counts})"
    chief_path = folder / "photos-0.json"
    if index != 0:
        if not chief_path.is_file():
            return (
                f"{message}, and process {index} cannot read process 0's list in {folder}: the "
                "run folder must be on storage every process shares"
            )
        chief = {tuple(item) for item in json.loads(chief_path.read_text())}
        own = set(map(tuple, listing))
        missing = sorted(name for name, _ in chief - own)
        extra = sorted(name for name, _ in own - chief)
        parts = []
        if missing:
            parts.append(
                f"process {index} lacks (or has other sizes of) {_util.name_list(missing, 3)}"
            )
        if extra:
            parts.append(f"only process {index} has {_util.name_list(extra, 3)}")
        message += ": " + "; ".join(parts)
    return message + "; every process needs the same copy of the data folder"


def check_shared_folder(run_dir):
    """Refuse to train unless every process sees process 0's files in `run_dir`."""
    if distributed.process_count() == 1:
        return
    token_path = run_dir / "processes" / "chief.json"
    token = ""
    if distributed.is_chief():
        token = os.urandom(8).hex()
        _write_json(token_path, {"token": token})
    distributed.barrier("colornet-shared-folder")
    seen = json.loads(token_path.read_text())["token"] if token_path.is_file() else ""
    if not distributed.is_chief():
        token = seen
    same = distributed.gather(np.array([seen == token and seen != ""], bool)).ravel()
    if not same.all():
        apart = [str(number) for number, ok in enumerate(same) if not ok]
        raise distributed.DistributedError(
            f"process {', '.join(apart)} cannot see what process 0 writes in {run_dir}: the run "
            "folder must be on storage every process shares (NFS, Lustre, ...)"
        )


def _write_json(path, value):
    _util.write_json_atomically(path, value)
