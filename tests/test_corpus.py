"""The corpus builder on a small fake package tree, and the real package table's consistency.

Every package here is made in tmp_path: a fake root with dpkg's status file and a few photos
at the paths of a custom `sources.Package` list (plain JPEG and PNG, an EXIF-rotated JPEG, a
2-frame TIFF stereo pair, a jigzo puzzle built byte by byte, a corrupt file), a wheel holding
a bz2 raw array and a PNG, and an sdist holding a 2-frame MPO and an over-large PNG. Nothing
is downloaded: every build runs with download=False.
"""

import bz2
import dataclasses
import hashlib
import importlib
import io
import pathlib
import subprocess
import sys
import tarfile
import types
import zipfile

import numpy as np
import PIL.Image
import pytest

from colornet import _util, cli, corpus
from colornet.corpus import sources
from tests.factories import colour_photo

# The module, not the function `colornet.corpus.build` that its package exports under its name.
corpus_build = importlib.import_module("colornet.corpus.build")

# The packages (and only these) that issue 23's table allows the corpus to use.
ALLOWED_PACKAGES = {
    "lomiri-wallpapers-16.04": sources.DEB, "lomiri-wallpapers-20.04": sources.DEB,
    "mate-backgrounds": sources.DEB, "lxqt-themes": sources.DEB,
    "plasma-workspace-wallpapers": sources.DEB, "opencv-doc": sources.DEB,
    "jigzo-data": sources.DEB, "scikit-image": sources.WHEEL, "scikit-learn": sources.WHEEL,
    "matplotlib": sources.WHEEL, "scipy": sources.WHEEL, "pillow": sources.SDIST,
}
WALLPAPERS, PUZZLES, WHEEL, SDIST = "fake-wallpapers", "fake-puzzles", "fake-wheel", "fake-sdist"
WALLPAPERS_VERSION, PUZZLES_VERSION = "1.2-3", "0.1-1"
# The puzzle's photo: this region of its texture atlas (x, y, width, height).
PUZZLE_REGION = (16, 8, 48, 40)
RAW_SHAPE = (12, 16, 3)


# ---------------------------------------------------------------------------------------------
# Helpers that build the fake packages


def photo_uint8(seed, height, width):
    """uint8 (height, width, 3): a smooth field of random colours."""
    return _util.to_uint8(colour_photo(seed, height, width))


def encoded(pixels, image_format, **options):
    """The bytes of a uint8 RGB array (or a list of them: a multi-frame file) saved by Pillow.
    Every frame is a fresh image: Pillow keeps one save's encoder settings on the image."""
    frames = [PIL.Image.fromarray(each) for each in (pixels if isinstance(pixels, list)
                                                     else [pixels])]
    buffer = io.BytesIO()
    if len(frames) > 1:
        options |= {"save_all": True, "append_images": frames[1:]}
    frames[0].save(buffer, image_format, **options)
    return buffer.getvalue()


def decoded(data, frame=0):
    """uint8 RGB pixels of an image file's bytes (one frame of it)."""
    image = PIL.Image.open(io.BytesIO(data))
    image.seek(frame)
    return np.asarray(image.convert("RGB"))


def jpeg_with_orientation(pixels, orientation):
    exif = PIL.Image.Exif()
    exif[0x0112] = orientation
    return encoded(pixels, "JPEG", quality=95, exif=exif)


def jigzo_puzzle(atlas_jpeg, region, stem="cat-2x2"):
    """A jigzo .pzl file as `build._puzzle_photo` documents it and jigzo-data ships it: header
    lines, then records NAME\\nSIZE\\nBYTES: the map (text whose last line is `image X Y W H
    ...`), the thumbnail (-t.jpg), the pieces' mask (.png) and the texture atlas (.jpg)."""
    x, y, width, height = region
    piece_map = (b"#texture map data\n"
                 b"crop000 0 0 10 10 5 5 0 0 0 0\n"
                 b"crop001 10 0 10 10 5 5 1 0 10 0\n"
                 + f"image {x} {y} {width} {height} 1 1    \n".encode())
    thumbnail = encoded(photo_uint8(7, 8, 8), "JPEG")
    mask = encoded(np.zeros((8, 8, 3), np.uint8), "PNG")

    def record(name, body):
        return name.encode() + b"\n" + str(len(body)).encode() + b"\n" + body

    header = f"PzlF\n0.1\n{stem}\nhttp://example.org/puzzle/\n".encode()
    return (header + record(f"{stem}.map", piece_map) + record(f"{stem}-t.jpg", thumbnail)
            + record(f"{stem}.png", mask) + record(f"{stem}.jpg", atlas_jpeg))


def dpkg_status(*stanzas):
    """dpkg's status file: one stanza per (package, status, version)."""
    return "\n\n".join(
        f"Package: {name}\nStatus: {status}\nPriority: optional\nVersion: {version}\n"
        f"Description: a fake package\n a continuation line" for name, status, version in stanzas
    ) + "\n"


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_zip(path, members):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def write_tar_gz(path, members):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def photo(path, scene, **fields):
    return sources.Photo(path, scene=scene, attribution=f"author of {scene}", **fields)


@pytest.fixture
def tree(tmp_path):
    """A fake root, downloads folder and package list; `files` holds each source file's
    bytes (and `atlas` the puzzle's atlas pixels, `raw` the raw array) for comparison."""
    root, downloads = tmp_path / "root", tmp_path / "downloads"
    files = {
        "sunset.jpg": encoded(photo_uint8(1, 40, 60), "JPEG", quality=90),
        "flower.png": encoded(photo_uint8(2, 20, 30), "PNG"),
        "turned.jpg": jpeg_with_orientation(photo_uint8(3, 20, 36), 6),  # shown 20 wide, 36 high
        "stereo.tif": encoded([photo_uint8(4, 24, 32), photo_uint8(5, 24, 32)], "TIFF"),
        "broken.jpg": b"\xff\xd8\xff\xe0 this is not a JPEG",
        "leaf.png": encoded(photo_uint8(6, 18, 26), "PNG"),
        "pair.mpo": encoded([photo_uint8(8, 24, 32), photo_uint8(9, 24, 32)], "MPO",
                            quality=95),
        "wide.png": encoded(photo_uint8(10, 30, 2100), "PNG"),
    }
    atlas = photo_uint8(11, 64, 96)
    atlas[:] = (255, 0, 255)  # magenta outside the photo's region...
    x, y, width, height = PUZZLE_REGION
    atlas[y:y + height, x:x + width] = photo_uint8(12, height, width)  # ...the photo inside
    atlas_jpeg = encoded(atlas, "JPEG", quality=98, subsampling=0)
    files["cat-2x2.pzl"] = jigzo_puzzle(atlas_jpeg, PUZZLE_REGION)
    raw = photo_uint8(13, *RAW_SHAPE[:2])
    files["face.dat"] = bz2.compress(raw.tobytes())

    write(root / "var/lib/dpkg/status", dpkg_status(
        (WALLPAPERS, "install ok installed", WALLPAPERS_VERSION),
        (PUZZLES, "install ok installed", PUZZLES_VERSION),
        ("unrelated", "install ok installed", "9"),
    ).encode())
    for name in ("sunset.jpg", "flower.png", "turned.jpg", "stereo.tif", "broken.jpg"):
        write(root / "usr/share/fake" / name, files[name])
    write(root / "usr/share/games/fake/cat-2x2.pzl", files["cat-2x2.pzl"])
    write_zip(downloads / "fake_wheel-1.0-py3-none-any.whl", {
        "fake_wheel/__init__.py": b"", "fake_wheel/data/face.dat": files["face.dat"],
        "fake_wheel/data/leaf.png": files["leaf.png"],
    })
    write_tar_gz(downloads / "fake_sdist-2.0.tar.gz", {
        "fake_sdist-2.0/setup.py": b"", "fake_sdist-2.0/Tests/images/pair.mpo": files["pair.mpo"],
        "fake_sdist-2.0/Tests/images/wide.png": files["wide.png"],
    })

    packages = (
        sources.Package(WALLPAPERS, sources.DEB, "CC0-1.0", (
            photo("/usr/share/fake/sunset.jpg", "sunset", licence="CC-BY-4.0"),
            photo("/usr/share/fake/flower.png", "flower"),
            photo("/usr/share/fake/turned.jpg", "turned"),
            photo("/usr/share/fake/stereo.tif", "stereo", frame=0, name="stereo-0"),
            photo("/usr/share/fake/stereo.tif", "stereo", frame=1, name="stereo-1"),
        )),
        sources.Package(PUZZLES, sources.DEB, "GPL-2+", (
            photo("/usr/share/games/fake/cat-2x2.pzl", "cat", container=sources.PUZZLE),
        )),
        sources.Package(WHEEL, sources.WHEEL, "MIT", (
            photo("fake_wheel/data/face.dat", "raw-face", container=sources.RAW_BZ2,
                  shape=RAW_SHAPE, name="face"),
            photo("fake_wheel/data/leaf.png", "leaf"),
        ), version="1.0"),
        sources.Package(SDIST, sources.SDIST, "MIT-CMU", (
            photo("Tests/images/pair.mpo", "pair", frame=0, name="pair-0"),
            photo("Tests/images/pair.mpo", "pair", frame=1, name="pair-1"),
            photo("Tests/images/wide.png", "wide"),
        ), version="2.0"),
    )
    return types.SimpleNamespace(root=root, downloads=downloads, packages=packages,
                                 files=files, atlas=atlas, raw=raw)


def build(tree, out_dir, packages=None, **options):
    """`corpus.build` on the fake tree, never downloading."""
    return corpus.build(out_dir, packages=tree.packages if packages is None else packages,
                        root=tree.root, downloads=tree.downloads, download=False,
                        progress=False, **options)


def rows_by_source(entries):
    """{output stem (the file's name without package and suffix): MANIFEST row}."""
    return {pathlib.PurePosixPath(row["file"]).stem.split("__", 1)[1]: row for row in entries}


def with_photos(package, *photos):
    return dataclasses.replace(package, photos=tuple(photos))


# ---------------------------------------------------------------------------------------------
# What a build writes


def test_build_writes_every_readable_photo_with_manifest_columns_hash_and_size(tree, tmp_path):
    out_dir = tmp_path / "corpus"
    report = build(tree, out_dir)

    rows = corpus.read_manifest(out_dir)
    assert rows == report.entries
    assert (out_dir / corpus.MANIFEST).read_text().splitlines()[0].split("\t") == list(
        corpus_build.COLUMNS)
    by_stem = rows_by_source(rows)
    assert sorted(by_stem) == sorted([
        "sunset", "flower", "turned", "stereo-0", "stereo-1", "cat-2x2", "face", "leaf",
        "pair-0", "pair-1", "wide",
    ])
    for row in rows:
        data = (out_dir / row["file"]).read_bytes()
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert (row["width"], row["height"]) == PIL.Image.open(io.BytesIO(data)).size
        assert row["file"].startswith(row["split"] + "/")
        assert row["split"] == corpus.split_of(row["scene"])
        assert row["file"].split("/")[1].startswith(row["package"] + "__")
    sunset = by_stem["sunset"]
    assert sunset == {
        "file": f"{sunset['split']}/{WALLPAPERS}__sunset.jpg", "split": sunset["split"],
        "scene": "sunset", "package": WALLPAPERS, "version": WALLPAPERS_VERSION,
        "licence": "CC-BY-4.0", "attribution": "author of sunset",
        "source": "/usr/share/fake/sunset.jpg", "sha256": sunset["sha256"],
        "width": 60, "height": 40,
    }
    assert by_stem["flower"]["licence"] == "CC0-1.0"  # the package's, when the photo has none
    assert by_stem["cat-2x2"]["version"] == PUZZLES_VERSION
    assert by_stem["face"]["version"] == "1.0" and by_stem["pair-0"]["version"] == "2.0"
    assert report.written == len(rows)
    assert report.missing == []


def test_plain_rgb_jpeg_and_png_are_kept_byte_for_byte(tree, tmp_path):
    out_dir = tmp_path / "corpus"
    by_stem = rows_by_source(build(tree, out_dir).entries)
    for stem, source in (("sunset", "sunset.jpg"), ("flower", "flower.png"),
                         ("leaf", "leaf.png")):
        assert by_stem[stem]["file"].endswith(pathlib.Path(source).suffix)
        assert (out_dir / by_stem[stem]["file"]).read_bytes() == tree.files[source]


def test_exif_rotated_jpeg_is_written_upright_with_its_displayed_size(tree, tmp_path):
    out_dir = tmp_path / "corpus"
    row = rows_by_source(build(tree, out_dir).entries)["turned"]
    assert (row["width"], row["height"]) == (20, 36)
    written = PIL.Image.open(out_dir / row["file"])
    assert written.size == (20, 36) and written.getexif().get(0x0112, 1) == 1
    upright = np.asarray(PIL.Image.open(io.BytesIO(tree.files["turned.jpg"])).transpose(
        PIL.Image.Transpose.ROTATE_270).convert("RGB"), np.float32)
    assert np.abs(np.asarray(written.convert("RGB"), np.float32) - upright).mean() < 3


def test_puzzle_photo_is_the_atlas_region_named_by_its_image_line(tree, tmp_path):
    out_dir = tmp_path / "corpus"
    row = rows_by_source(build(tree, out_dir).entries)["cat-2x2"]
    x, y, width, height = PUZZLE_REGION
    assert row["file"].endswith(".jpg")  # from a JPEG atlas: stays JPEG
    assert (row["width"], row["height"]) == (width, height)
    written = np.asarray(PIL.Image.open(out_dir / row["file"]).convert("RGB"), np.float32)
    region = tree.atlas[y:y + height, x:x + width].astype(np.float32)
    assert np.abs(written - region).mean() < 3
    # One pixel off would take in the magenta border: the region is exactly the right one.
    shifted = tree.atlas[y - 1:y - 1 + height, x - 1:x - 1 + width].astype(np.float32)
    assert np.abs(written - shifted).mean() > 3 * np.abs(written - region).mean()
    assert not np.any(np.all(np.abs(written - (255, 0, 255)) < 40, axis=-1))


def test_raw_bz2_array_is_decoded_exactly_to_png(tree, tmp_path):
    out_dir = tmp_path / "corpus"
    row = rows_by_source(build(tree, out_dir).entries)["face"]
    assert row["file"].endswith(".png")
    assert (row["height"], row["width"]) == RAW_SHAPE[:2]
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(out_dir / row["file"])), tree.raw)


def test_frames_of_a_tiff_and_an_mpo_are_written_apart_and_pairs_share_a_split(tree, tmp_path):
    out_dir = tmp_path / "corpus"
    by_stem = rows_by_source(build(tree, out_dir).entries)
    for stem, source in (("stereo", "stereo.tif"), ("pair", "pair.mpo")):
        first, second = by_stem[f"{stem}-0"], by_stem[f"{stem}-1"]
        assert first["scene"] == second["scene"] == stem
        assert first["split"] == second["split"]
        for row, frame in ((first, 0), (second, 1)):
            written = decoded((out_dir / row["file"]).read_bytes()).astype(np.float32)
            original = decoded(tree.files[source], frame).astype(np.float32)
            tolerance = 0 if source.endswith(".tif") else 3  # TIFF → PNG; MPO → JPEG
            assert np.abs(written - original).mean() <= tolerance
    assert by_stem["stereo-0"]["file"].endswith(".png")
    assert by_stem["pair-0"]["file"].endswith(".jpg")


def test_frames_named_by_nothing_but_their_file_get_the_frame_in_their_name(tree, tmp_path):
    # sources.Photo: "name: output stem; None: the file's own stem (plus the frame)".
    wallpapers = with_photos(
        tree.packages[0],
        photo("/usr/share/fake/stereo.tif", "stereo", frame=0),
        photo("/usr/share/fake/stereo.tif", "stereo", frame=1),
    )
    out_dir = tmp_path / "corpus"
    report = build(tree, out_dir, packages=(wallpapers,))
    assert sorted(rows_by_source(report.entries)) == ["stereo-0", "stereo-1"]
    assert build(tree, out_dir, packages=(wallpapers,)).written == 0


def test_photo_longer_than_max_side_is_shrunk_to_it(tree, tmp_path):
    out_dir = tmp_path / "corpus"
    row = rows_by_source(build(tree, out_dir).entries)["wide"]
    assert row["file"].endswith(".png")
    assert row["width"] == corpus_build.MAX_SIDE
    assert row["height"] == round(30 * corpus_build.MAX_SIDE / 2100)


# ---------------------------------------------------------------------------------------------
# The split


def test_split_is_a_pure_function_of_the_scene():
    scenes = [f"scene-{index}" for index in range(50)]
    assert [corpus.split_of(scene) for scene in scenes] == [
        corpus.split_of(scene) for scene in reversed(scenes)][::-1]
    assert {corpus.split_of(scene) for scene in scenes} <= set(corpus.SPLITS)


def test_split_is_about_80_10_10_over_2000_scene_names():
    splits = [corpus.split_of(f"synthetic scene {index:04d}") for index in range(2000)]
    fractions = {split: splits.count(split) / len(splits) for split in corpus.SPLITS}
    # Binomial standard deviation of a 10 % share of 2000 is 0.7 %: 3 % is over 4 of them.
    assert fractions["train"] == pytest.approx(0.8, abs=0.03)
    assert fractions["validation"] == pytest.approx(0.1, abs=0.03)
    assert fractions["held_out"] == pytest.approx(0.1, abs=0.03)


def test_losing_a_package_moves_no_other_photo_to_another_split(tree, tmp_path):
    everything = {row["scene"]: row["split"] for row in build(tree, tmp_path / "all").entries}
    fewer = build(tree, tmp_path / "fewer", packages=tree.packages[1:]).entries
    assert fewer and all(everything[row["scene"]] == row["split"] for row in fewer)


def test_split_paths_lists_one_split_in_manifest_order_and_refuses_unknown_splits(tree, tmp_path):
    out_dir = tmp_path / "corpus"
    rows = build(tree, out_dir).entries
    listed = [path for split in corpus.SPLITS for path in corpus.split_paths(out_dir, split)]
    assert sorted(listed) == sorted(out_dir / row["file"] for row in rows)
    for split in corpus.SPLITS:
        assert corpus.split_paths(out_dir, split) == [
            out_dir / row["file"] for row in rows if row["split"] == split]
    with pytest.raises(ValueError, match="split must be one of train, validation, held_out"):
        corpus.split_paths(out_dir, "test")


# ---------------------------------------------------------------------------------------------
# Re-running, stale files, the MANIFEST's hash


def test_rebuilding_is_idempotent_same_manifest_bytes_nothing_written(tree, tmp_path):
    out_dir = tmp_path / "corpus"
    build(tree, out_dir)
    manifest = (out_dir / corpus.MANIFEST).read_bytes()
    files = {path: path.stat().st_mtime_ns for path in out_dir.rglob("*") if path.is_file()}
    digest = corpus.manifest_hash(out_dir)

    again = build(tree, out_dir)

    assert again.written == 0
    assert (out_dir / corpus.MANIFEST).read_bytes() == manifest
    assert corpus.manifest_hash(out_dir) == digest == hashlib.sha256(manifest).hexdigest()
    assert {path: path.stat().st_mtime_ns
            for path in out_dir.rglob("*") if path.is_file()} == files
    assert "0 written, the rest already in place" in again.summary()


def test_two_folders_built_alike_have_the_same_manifest_hash(tree, tmp_path):
    build(tree, tmp_path / "one")
    build(tree, tmp_path / "two")
    assert corpus.manifest_hash(tmp_path / "one") == corpus.manifest_hash(tmp_path / "two")


def test_changed_photo_is_rewritten_and_only_it(tree, tmp_path):
    out_dir = tmp_path / "corpus"
    build(tree, out_dir)
    write(tree.root / "usr/share/fake/flower.png", encoded(photo_uint8(99, 20, 30), "PNG"))
    report = build(tree, out_dir)
    assert report.written == 1
    row = rows_by_source(report.entries)["flower"]
    assert row["sha256"] == hashlib.sha256((out_dir / row["file"]).read_bytes()).hexdigest()


def test_photo_no_longer_listed_is_removed_and_other_files_are_left_alone(tree, tmp_path):
    out_dir = tmp_path / "corpus"
    first = rows_by_source(build(tree, out_dir).entries)
    notes = write(out_dir / "notes.txt", b"mine")
    wallpapers = with_photos(tree.packages[0], *tree.packages[0].photos[1:])  # no sunset

    report = build(tree, out_dir, packages=(wallpapers, *tree.packages[1:]))

    assert not (out_dir / first["sunset"]["file"]).exists()
    assert (out_dir / first["flower"]["file"]).is_file()
    assert notes.read_bytes() == b"mine"
    assert "sunset" not in rows_by_source(corpus.read_manifest(out_dir))
    assert report.written == 0


def test_manifest_hash_and_read_manifest_of_a_folder_without_one_name_the_remedy(tmp_path):
    with pytest.raises(corpus.CorpusError, match="colornet corpus"):
        corpus.read_manifest(tmp_path)
    assert corpus.read_manifest(tmp_path, missing_ok=True) == []
    with pytest.raises(corpus.CorpusError, match="MANIFEST.tsv"):
        corpus.manifest_hash(tmp_path)


# ---------------------------------------------------------------------------------------------
# What is missing or broken


def test_missing_deb_package_is_one_line_naming_apt_get_and_the_rest_is_built(tree, tmp_path):
    absent = sources.Package("fake-absent", sources.DEB, "MIT", (
        photo("/usr/share/absent/photo.jpg", "absent"),))
    out_dir = tmp_path / "corpus"
    report = build(tree, out_dir, packages=(*tree.packages, absent))

    assert [name for name, _ in report.missing] == ["fake-absent"]
    hint = report.missing[0][1]
    assert "\n" not in hint and "apt-get install fake-absent" in hint
    lines = [line for line in report.summary().splitlines() if "fake-absent" in line]
    assert len(lines) == 1 and "apt-get install fake-absent" in lines[0]
    assert len(report.entries) == 11  # everything else
    assert "absent" not in {row["scene"] for row in corpus.read_manifest(out_dir)}


@pytest.mark.parametrize("status", [
    "deinstall ok config-files",  # removed, its configuration kept
    "purge ok not-installed",  # dpkg remembers it, but it is gone
    "install ok half-installed",  # an installation that failed halfway
])
def test_deb_package_dpkg_does_not_call_installed_counts_as_missing(tree, tmp_path, status):
    write(tree.root / "var/lib/dpkg/status", dpkg_status(
        (WALLPAPERS, status, WALLPAPERS_VERSION),
        (PUZZLES, "install ok installed", PUZZLES_VERSION),
    ).encode())
    report = build(tree, tmp_path / "corpus", packages=tree.packages[:2])
    assert [name for name, _ in report.missing] == [WALLPAPERS]
    assert {row["package"] for row in report.entries} == {PUZZLES}


def test_missing_pip_archives_without_download_name_the_pip_download_command(tree, tmp_path):
    empty = tmp_path / "no-downloads"
    report = corpus.build(tmp_path / "corpus", packages=tree.packages, root=tree.root,
                          downloads=empty, download=False, progress=False)
    hints = dict(report.missing)
    assert sorted(hints) == [SDIST, WHEEL]
    assert "pip download --no-deps --only-binary :all: fake-wheel==1.0" in hints[WHEEL]
    assert "pip download --no-deps --no-binary :all: fake-sdist==2.0" in hints[SDIST]
    assert all(f"-d {empty}" in hint and "\n" not in hint for hint in hints.values())
    assert {row["package"] for row in report.entries} == {WALLPAPERS, PUZZLES}


def test_corrupt_photo_is_skipped_and_reported_and_the_rest_is_built(tree, tmp_path):
    wallpapers = with_photos(
        tree.packages[0], *tree.packages[0].photos,
        photo("/usr/share/fake/broken.jpg", "broken"),
        photo("/usr/share/fake/not-there.jpg", "not-there"),
    )
    write(tree.root / "usr/share/games/fake/cat-2x2.pzl", tree.files["cat-2x2.pzl"][:-100])
    out_dir = tmp_path / "corpus"
    report = build(tree, out_dir, packages=(wallpapers, *tree.packages[1:]))

    failed = {source: (name, reason) for name, source, reason in report.failed}
    assert sorted(failed) == ["/usr/share/fake/broken.jpg", "/usr/share/fake/not-there.jpg",
                              "/usr/share/games/fake/cat-2x2.pzl"]
    assert failed["/usr/share/games/fake/cat-2x2.pzl"] == (PUZZLES, "truncated puzzle: "
                                                           "cat-2x2.jpg is cut short")
    summary = report.summary().splitlines()
    assert sum(line.startswith("skipped /usr/share/fake/broken.jpg from fake-wallpapers: ")
               for line in summary) == 1
    assert len(report.entries) == 10
    assert not {"broken", "not-there", "cat"} & {row["scene"] for row in report.entries}


def test_file_that_is_no_puzzle_is_reported_as_such(tree, tmp_path):
    write(tree.root / "usr/share/games/fake/cat-2x2.pzl", b"PzlF\n0.1\nno image line\n")
    report = build(tree, tmp_path / "corpus", packages=tree.packages[:2])
    assert [reason for _, _, reason in report.failed] == ["not a jigzo puzzle: no 'image' line"]


def test_raw_array_of_the_wrong_size_is_reported(tree, tmp_path):
    face, leaf = tree.packages[2].photos
    wheel = with_photos(tree.packages[2], dataclasses.replace(face, shape=(13, 16, 3)), leaf)
    report = build(tree, tmp_path / "corpus", packages=(wheel,))
    assert [row["scene"] for row in report.entries] == ["leaf"]
    assert [reason for _, _, reason in report.failed] == [
        "holds 576 bytes, not a (13, 16, 3) image"]


def test_nothing_at_all_gathered_is_a_corpus_error_naming_what_to_install(tree, tmp_path):
    absent = sources.Package("fake-absent", sources.DEB, "MIT", (
        photo("/usr/share/absent/photo.jpg", "absent"),))
    out_dir = tmp_path / "corpus"
    with pytest.raises(corpus.CorpusError, match="apt-get install fake-absent") as error:
        corpus.build(out_dir, packages=(absent, tree.packages[2]), root=tree.root,
                     downloads=tmp_path / "none", download=False, progress=False)
    assert "\n" not in str(error.value) and "pip download" in str(error.value)
    assert not (out_dir / corpus.MANIFEST).exists()


def test_wheel_download_asks_pip_for_every_manylinux_generation(tmp_path, monkeypatch):
    # pip matches --platform tags exactly: a version published only as manylinux2014
    # (matplotlib 3.11.2, scipy 1.10.1) is missed when only manylinux_2_28 is named.
    building = importlib.import_module("colornet.corpus.build")
    commands = []
    monkeypatch.setattr(building.subprocess, "run", lambda command, **_: commands.append(
        command) or subprocess.CompletedProcess(command, 1, "", "offline"))
    wheel = sources.Package("fake-wheel", sources.WHEEL, "MIT", (), version="1.0")
    with pytest.raises(building._Missing, match="could not download it"):
        building._archive(wheel, tmp_path, download=True)
    platforms = {word.removeprefix("--platform=") for word in commands[0]
                 if word.startswith("--platform=")}
    assert {"manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"} <= platforms


def test_out_dir_that_is_a_file_is_refused(tree, tmp_path):
    path = write(tmp_path / "corpus", b"a file")
    with pytest.raises(corpus.CorpusError, match="is a file, not a folder"):
        build(tree, path)


# ---------------------------------------------------------------------------------------------
# The command line


def test_cli_prints_the_summary_and_exits_1_when_a_package_is_missing(
        tree, tmp_path, monkeypatch, capsys):
    absent = sources.Package("fake-absent", sources.DEB, "MIT", (
        photo("/usr/share/absent/photo.jpg", "absent"),))
    real_build = corpus.build
    calls = []

    def build_from_the_fake_tree(out_dir, **options):
        calls.append(options)
        return real_build(out_dir, packages=(*tree.packages, absent), root=tree.root, **options)

    # The command has no --root: the fake tree goes in behind the command's own arguments.
    monkeypatch.setattr(corpus, "build", build_from_the_fake_tree)
    out_dir = tmp_path / "corpus"
    status = cli.main(["corpus", str(out_dir), "--downloads", str(tree.downloads),
                       "--no-download", "--quiet"])

    assert status == 1
    assert calls == [{"downloads": tree.downloads, "download": False, "progress": False}]
    output = capsys.readouterr().out.splitlines()
    assert output[0].startswith(f"11 photos in {out_dir} (")
    assert output[1:] == ["missing package fake-absent: not installed: "
                          "sudo apt-get install fake-absent"]
    assert len(corpus.read_manifest(out_dir)) == 11

    monkeypatch.setattr(corpus, "build", lambda out_dir, **options: real_build(
        out_dir, packages=tree.packages, root=tree.root, **options))
    assert cli.main(["corpus", str(out_dir), "--downloads", str(tree.downloads),
                     "--no-download", "--quiet"]) == 0
    assert "0 written" in capsys.readouterr().out


@pytest.mark.slow
def test_cli_corpus_into_a_file_is_a_one_line_error_and_status_1(tmp_path):
    path = write(tmp_path / "corpus", b"a file")
    result = subprocess.run(
        [sys.executable, "-m", "colornet.cli", "corpus", str(path), "--no-download", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "corpus: error:" in line]
    assert errors == [f"colornet corpus: error: {path} is a file, not a folder: choose another "
                      "corpus folder"]


def test_cli_corpus_help_names_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["corpus", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for option in ("DIR", "--downloads", "--no-download", "--quiet"):
        assert option in help_text


# ---------------------------------------------------------------------------------------------
# The real package table


def output_stem(photo_entry):
    stem = photo_entry.name or pathlib.PurePosixPath(photo_entry.path).stem
    if photo_entry.name is None and photo_entry.frame is not None:
        stem += f"-{photo_entry.frame}"
    return stem


def test_real_table_uses_only_the_packages_issue_23_allows_each_of_its_kind():
    assert {package.name: package.kind for package in sources.PACKAGES}.items() <= (
        ALLOWED_PACKAGES.items())
    assert len({package.name for package in sources.PACKAGES}) == len(sources.PACKAGES)


def test_real_table_gives_every_photo_a_unique_output_name_scene_and_attribution():
    for package in sources.PACKAGES:
        stems = [output_stem(each) for each in package.photos]
        assert len(set(stems)) == len(stems), package.name
        for each in package.photos:
            assert each.scene.strip() and each.attribution.strip(), (package.name, each.path)
            assert "__" not in output_stem(each)
        sources_and_frames = [(each.path, each.frame) for each in package.photos]
        assert len(set(sources_and_frames)) == len(sources_and_frames), package.name


def test_real_table_leaves_out_the_non_commercial_penguin_puzzle():
    jigzo = next(package for package in sources.PACKAGES if package.name == "jigzo-data")
    assert len(jigzo.photos) == 11
    assert not any("penguin" in each.path.lower() for package in sources.PACKAGES
                   for each in package.photos)
    assert not any("NC" in (each.licence or package.licence).upper().split("-")
                   for package in sources.PACKAGES for each in package.photos)


def test_real_table_entries_are_well_formed():
    for package in sources.PACKAGES:
        assert package.licence.strip()
        if package.kind == sources.DEB:
            assert package.version is None  # read off dpkg
            assert all(each.path.startswith("/usr/share/") for each in package.photos)
            assert package.install_hint == f"sudo apt-get install {package.name}"
        else:
            assert package.version and package.version[0].isdigit()
            assert f"{package.name}=={package.version}" in package.install_hint
        for each in package.photos:
            assert each.container in (sources.IMAGE, sources.PUZZLE, sources.RAW_BZ2)
            assert (each.shape is not None) == (each.container == sources.RAW_BZ2)
            assert each.frame is None or each.container == sources.IMAGE
            if each.container == sources.PUZZLE:
                assert each.path.endswith(".pzl")


def test_real_table_keeps_the_two_frames_of_every_multi_frame_file_in_one_scene():
    for package in sources.PACKAGES:
        scenes = {}
        for each in package.photos:
            if each.frame is not None:
                scenes.setdefault(each.path, set()).add(each.scene)
        assert all(len(found) == 1 for found in scenes.values()), package.name
