"""The photos `colornet colorize` is given, found as the work reaches them.

Inputs are files, folders (searched recursively) and glob patterns. What a user can get wrong
about them (an empty name, a missing file, a pattern that matches nothing, a folder without a
photo, the output folder given as an input) is checked when the stream is made, before any
work. A folder's photos are then found as the work goes, one directory at a time, each
directory's files by name and then its subfolders by name: a run over a folder of 100,000
photos starts at once, and holds no listing of them.

Output names. A photo's output name is its file name, and for a folder its path inside the
folder. Photos whose names would collide (the same name from two inputs, or x.png and x.tif,
which both become x.png) are told apart in the order found: the first keeps its name, each
later one gets the first free "-2", "-3"... of its stem, free meaning that no photo found so
far, no other photo of its own directory and no file or glob input has it. Names so depend
only on the inputs and their order, and a rerun gives every photo the name it had. A photo
given twice (a file and a glob that matches it) is colorized once. Telling names apart across
inputs, and seeing a photo given twice, needs a set of the names and paths found so far: a
single folder needs none, so its memory stays flat however many photos it holds.

Shards. `shard=(K, N)` keeps the photos whose output name (its path in the output folder,
"trip/x.png") hashes to K modulo N (SHA-256, so the same on every machine and Python): N
processes or machines given the same inputs, each its own K from 0 to N-1, split the photos
between them with nothing done twice, and a photo's shard never changes when others are added.
"""

import glob
import hashlib
import pathlib
import warnings

from colornet import _util
from colornet.errors import SettingError
from colornet.io import folders

# How many skipped file names the warning about a folder's non-photos spells out.
_NAMES_SHOWN = 10


def check_shard(shard):
    """(K, N) as whole numbers with 0 <= K < N, or None; ValueError otherwise."""
    if shard is None:
        return None
    try:
        index, count = (int(part) for part in shard)
    except (TypeError, ValueError):
        raise SettingError(f"shard must be (K, N), got {shard!r}") from None
    if not 0 <= index < count:
        raise SettingError(f"shard (K, N) needs 0 <= K < N, got {shard!r}")
    return index, count


def in_shard(name, shard):
    """True when the output name (a relative pathlib.Path) belongs to `shard` (K, N)."""
    if shard is None:
        return True
    index, count = shard
    digest = hashlib.sha256(pathlib.PurePath(name).as_posix().encode()).digest()
    return int.from_bytes(digest[:8], "big") % count == index


def _key(name):
    """Names compared without suffix and case: outputs may change suffix (.tif → .png) and
    land on case-insensitive disks."""
    return str(name.with_suffix("")).lower()


class PhotoStream:
    """The photos of `inputs` as (path, output name), found lazily (see the module's text).

    Args:
        inputs: files, folders and glob patterns (str or pathlib.Path).
        out_dir: the output folder, whose files are never inputs (an output folder inside an
            input folder is not read on the next run); None for none.
        shard: (K, N) to keep only this shard's photos, or None for all.

    Raises:
        ValueError: one line, for an input that cannot give a photo (see above).
    """

    def __init__(self, inputs, out_dir=None, shard=None):
        self.out_dir = None if out_dir is None else pathlib.Path(out_dir).resolve()
        self.shard = check_shard(shard)
        self._sources = [self._source(str(item)) for item in inputs]
        # The file and glob inputs, known now: their own names are never given to another.
        self.explicit = [path for kind, paths in self._sources if kind == "files"
                         for path in paths]
        self.has_folders = any(kind == "folder" for kind, _ in self._sources)
        # (path, output name) of the photos of this shard whose name another photo shares.
        self.sharing = []

    def _source(self, item):
        if not item.strip():
            # Path("") is ".": an unset "$DIR" in a script would colorize the current folder.
            raise SettingError(
                f"an input is empty ({item!r}), not a photo or folder: is a variable unset? "
                "Give '.' for the current folder"
            )
        path = pathlib.Path(item)
        if path.is_dir():
            if self.out_dir is not None and path.resolve() == self.out_dir:
                raise SettingError(
                    f"the output folder {path} is also an input folder; choose another -o"
                )
            if next(self._walk(path, warn=False), None) is None:
                # Its one-line "no images found in ..." error, naming what it skipped.
                folders.list_images(path, check_headers=False, exclude=self.out_dir)
            return "folder", path
        if path.exists():
            return "files", [path]
        if not glob.has_magic(item):
            raise SettingError(f"{item}: no such file or folder")
        matches = sorted(glob.glob(item, recursive=True))
        if not matches:
            raise SettingError(f"no files match {item}")
        files = [pathlib.Path(match) for match in matches if pathlib.Path(match).is_file()]
        if not files:
            raise SettingError(f"no files match {item}, only folders")
        kept = [file for file in files if not self._in_output(file)]
        if not kept:
            raise SettingError(
                f"every file matching {item} is in the output folder {self.out_dir}, where "
                "the colorized photos go; choose an output folder outside them"
            )
        return "files", kept

    def _in_output(self, path):
        return self.out_dir is not None and path.resolve().is_relative_to(self.out_dir)

    def _walk(self, folder, warn=True):
        """A folder's photos (by suffix: a corrupt one then fails by name instead of being
        passed over), in the walk's order; the other files named in one warning at the end."""
        skipped, names = 0, []
        for path in folders.walk_files(folder, exclude=self.out_dir, in_order=True):
            if path.suffix.lower() in folders.IMAGE_SUFFIXES:
                yield path
            else:
                skipped += 1
                if len(names) <= _NAMES_SHOWN:
                    names.append(path.relative_to(folder).as_posix())
        if warn and skipped:
            named = _util.name_list(names[:_NAMES_SHOWN], _NAMES_SHOWN)
            more = skipped - min(len(names), _NAMES_SHOWN)
            named += f" and {more} more" if more > 0 else ""
            warnings.warn(f"skipped {skipped} non-image file(s) in '{folder}': {named}",
                          stacklevel=2)

    def _directories(self):
        """Each source's photos as (directory's photos [(path, name)]), one directory at a
        time: a file or glob input is one such group."""
        for kind, value in self._sources:
            if kind == "files":
                yield [(path, pathlib.Path(path.name)) for path in value]
                continue
            group, directory = [], None
            for path in self._walk(value):
                if path.parent != directory and group:
                    yield group
                    group = []
                directory = path.parent
                group.append((path, path.relative_to(value)))
            if group:
                yield group

    def __iter__(self):
        """(path, output name) of each photo of this shard, in order."""
        self.sharing = []
        several = len(self._sources) > 1 or self.explicit
        reserved = {_key(pathlib.Path(path.name)) for path in self.explicit}
        claimed, seen = {}, set()  # across inputs: name key → (path, name); resolved paths
        for group in self._directories():
            own = reserved | {_key(name) for _, name in group}
            local = claimed if several else {}  # one folder: names meet only in a directory
            for path, name in group:
                if several:
                    resolved = path.resolve()
                    if resolved in seen:
                        continue
                    seen.add(resolved)
                owner = local.get(_key(name))
                if owner is not None:
                    number = 2
                    while (_key(renamed := name.with_name(f"{name.stem}-{number}{name.suffix}"))
                           in own or _key(renamed) in local):
                        number += 1
                    self._shares(owner)
                    name = renamed
                local[_key(name)] = (path, name)
                if owner is not None:
                    self._shares((path, name))
                if in_shard(name, self.shard):
                    yield path, name

    def _shares(self, photo):
        if in_shard(photo[1], self.shard) and photo not in self.sharing:
            self.sharing.append(photo)
