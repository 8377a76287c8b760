"""The curated list of real colour photos that come inside Debian and PyPI packages.

Every entry was looked at: photographs only, no renders, drawings, logos, screenshots or
test patterns, and nothing grey. `scene` groups photos of one place or subject (stereo pairs,
the two frames of an MPO file, two packages' copies of one portrait) so the split keeps them on
one side. Only the packages listed here may be used to train or tune a colornet model; photos
in other packages are kept for independent evaluation.

People are the weak spot of this corpus: a handful of photos, three of them close faces.
"""

import dataclasses

# How a photo is stored in its package.
IMAGE = "image"  # a file Pillow reads; `frame` picks a frame of a multi-frame file
PUZZLE = "jigzo-puzzle"  # a jigzo .pzl puzzle: the photo is a region of its texture atlas
RAW_BZ2 = "raw-bz2-rgb"  # scipy's face.dat: bz2-compressed raw 8-bit RGB of `shape`

DEB = "deb"  # installed by apt; files read from the file system
WHEEL = "wheel"  # a wheel from PyPI, read as a zip archive
SDIST = "sdist"  # a source archive from PyPI, read as a .tar.gz


@dataclasses.dataclass(frozen=True)
class Photo:
    """One photo inside a package."""

    path: str  # deb: absolute path; wheel/sdist: path inside the archive (sdist: below its top)
    scene: str  # photos sharing a scene land in the same split
    attribution: str  # who made it, as the package's copyright file says
    licence: str | None = None  # None: the package's licence
    container: str = IMAGE
    frame: int | None = None  # which frame of a multi-frame file (None: the only one)
    shape: tuple | None = None  # RAW_BZ2 only: (height, width, 3)
    name: str | None = None  # output stem; None: the file's own stem (plus the frame)


@dataclasses.dataclass(frozen=True)
class Package:
    """A registry package and the photos taken from it."""

    name: str
    kind: str  # DEB, WHEEL or SDIST
    licence: str  # SPDX-like, as the package's copyright file or metadata says
    photos: tuple
    version: str | None = None  # pip packages: the pinned version downloaded; deb: read off dpkg

    @property
    def install_hint(self):
        """What a user runs to make this package available."""
        if self.kind == DEB:
            return f"sudo apt-get install {self.name}"
        binary = "--no-binary :all:" if self.kind == SDIST else "--only-binary :all:"
        return f"pip download --no-deps {binary} {self.name}=={self.version}"


def _photos(folder, names, attribution, scene_prefix=""):
    return tuple(
        Photo(f"{folder}/{name}", scene=scene_prefix + name.rsplit(".", 1)[0],
              attribution=attribution)
        for name in names
    )


_LOMIRI = "/usr/share/backgrounds"


def _lomiri(name, author, licence):
    return Photo(f"{_LOMIRI}/{name}", scene=name.split("_by_")[0].lower(),
                 attribution=author, licence=licence)


_MATE = "/usr/share/backgrounds/mate/nature"
_LXQT = "/usr/share/lxqt/wallpapers"
_PLASMA = "/usr/share/wallpapers"
_OPENCV = "/usr/share/doc/opencv-doc/examples/data"
_JIGZO = "/usr/share/games/jigzo/puzzles/00_default"
_OPENCV_AUTHOR = "OpenCV sample data (origin not documented)"


def _plasma(name, size):
    return Photo(f"{_PLASMA}/{name}/contents/images/{size}", scene=name.lower(),
                 attribution="KDE Visual Design Group", name=name)


def _opencv(name, scene=None):
    return Photo(f"{_OPENCV}/{name}", scene=scene or name.rsplit(".", 1)[0],
                 attribution=_OPENCV_AUTHOR)


def _jigzo(name):
    return Photo(f"{_JIGZO}/{name}", scene=name.split("-")[0], container=PUZZLE,
                 attribution="Maarten de Boer (jigzo)")


PACKAGES = (
    Package("lomiri-wallpapers-16.04", DEB, "CC-BY-4.0 / CC-BY-SA-4.0 / CC0-1.0", (
        _lomiri("Bridge_by_Sander_Klootwijk.jpg", "Sander Klootwijk", "CC-BY-SA-4.0"),
        _lomiri("Dragonfly_by_Bolly.jpg", "Bolly", "CC-BY-SA-4.0"),
        _lomiri("Picture_0B_by_freespace.jpg", 'Trevor "Freespace"', "CC-BY-4.0"),
        _lomiri("Picture_1A_by_freespace.jpg", 'Trevor "Freespace"', "CC-BY-4.0"),
        _lomiri("Wine_by_Jakkub_Mede.jpg", "Jakub Mede", "CC-BY-4.0"),
        _lomiri("aitzgorri_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi", "CC-BY-4.0"),
        _lomiri("free_by_Peter_Nerlich.jpg", "Peter Nerlich", "CC-BY-SA-4.0"),
        _lomiri("friends_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi", "CC-BY-4.0"),
        _lomiri("greentock_by_Peter_Nerlich.jpg", "Peter Nerlich", "CC-BY-SA-4.0"),
        _lomiri("life_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi", "CC-BY-4.0"),
        _lomiri("picosdeeuropa_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi", "CC-BY-4.0"),
        _lomiri("seeding_by_Clements_Engelhardt.jpg", "Clemens Engelhardt", "CC0-1.0"),
        _lomiri("sunset_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi", "CC-BY-4.0"),
    )),
    Package("lomiri-wallpapers-20.04", DEB, "CC-BY-SA-3.0", (
        _lomiri("Kleiber_by_Lukas_Baubkus.jpg", "Lukas Baubkus", "CC-BY-SA-3.0"),
    )),
    Package("mate-backgrounds", DEB, "GPL-2+", _photos(_MATE, (
        "Aqua.jpg", "Blinds.jpg", "Dune.jpg", "FreshFlower.jpg", "Garden.jpg", "GreenMeadow.jpg",
        "LadyBird.jpg", "RainDrops.jpg", "Storm.jpg", "TwoWings.jpg", "Wood.jpg",
        "YellowFlower.jpg",
    ), "MATE Desktop Environment", scene_prefix="mate-")),
    Package("lxqt-themes", DEB, "CC-BY-SA-3.0", _photos(_LXQT, (
        "Butterfly-Kenneth-Wimer.jpg", "Valendas.png", "after-the-rain.jpg", "appleflower.png",
        "beam.png", "butterfly.png", "cloud.png", "drop.png", "flowers.png", "fog.jpg",
        "this-is-not-windows.jpg",
    ), "LXQt Project Team (stefonarch and others)", scene_prefix="lxqt-")),
    Package("plasma-workspace-wallpapers", DEB, "GPL-2+ / LGPL-3", (
        _plasma("BytheWater", "2560x1600.jpg"),
        _plasma("ColorfulCups", "2560x1600.jpg"),
        _plasma("DarkestHour", "2560x1600.jpg"),
        _plasma("EveningGlow", "2560x1600.jpg"),
        _plasma("FallenLeaf", "2560x1600.jpg"),
        _plasma("Kite", "2560x1600.jpg"),
        _plasma("OneStandsOut", "2560x1600.jpg"),
        _plasma("Path", "2560x1600.jpg"),
        _plasma("summer_1am", "2560x1600.jpg"),
    )),
    Package("opencv-doc", DEB, "Apache-2.0 AND BSD-3-Clause", (
        _opencv("aero1.jpg"),
        _opencv("aloeL.jpg", "aloe"), _opencv("aloeR.jpg", "aloe"),
        _opencv("apple.jpg"), _opencv("baboon.jpg"), _opencv("board.jpg"),
        _opencv("building.jpg"), _opencv("butterfly.jpg", "opencv-butterfly"),
        _opencv("chicky_512.png"),
        _opencv("ela_original.jpg", "ela"), _opencv("ela_modified.jpg", "ela"),
        _opencv("fruits.jpg"),
        _opencv("graf1.png", "graffiti"), _opencv("graf3.png", "graffiti"),
        _opencv("home.jpg"),
        _opencv("left.jpg", "books"), _opencv("right.jpg", "books"),
        _opencv("leuvenA.jpg", "leuven"), _opencv("leuvenB.jpg", "leuven"),
        _opencv("messi5.jpg"), _opencv("orange.jpg"),
        _opencv("rubberwhale1.png", "rubberwhale"), _opencv("rubberwhale2.png", "rubberwhale"),
        _opencv("squirrel_cls.jpg"), _opencv("stuff.jpg"),
    )),
    # The CC-BY-NC-SA penguin is left out: not free for every use.
    Package("jigzo-data", DEB, "GPL-2+", tuple(
        _jigzo(name) for name in (
            "bike-3x4.pzl", "bird-2x3.pzl", "blackberry-3x3.pzl", "castle-6x3.pzl",
            "clouds-4x4.pzl", "gorilla2-3x3.pzl", "horse-4x3.pzl", "tobogan-4x3.pzl",
            "train-2x2.pzl", "windmill-4x4.pzl",
        )
    ) + (dataclasses.replace(_jigzo("heli-4x3.pzl"), attribution="Joana Clotet",
                             licence="GPL-2"),)),
    Package("scikit-image", WHEEL, "CC0-1.0 / public domain", (
        Photo("skimage/data/astronaut.png", "astronaut", "NASA (public domain)"),
        Photo("skimage/data/chelsea.png", "chelsea", "Stefan van der Walt (CC0)"),
        Photo("skimage/data/coffee.png", "coffee", "Rachel Michetti (CC0)"),
        Photo("skimage/data/rocket.jpg", "rocket", "SpaceX (CC0)"),
        Photo("skimage/data/motorcycle_left.png", "motorcycle",
              "Middlebury stereo data set (Scharstein et al.)"),
        Photo("skimage/data/motorcycle_right.png", "motorcycle",
              "Middlebury stereo data set (Scharstein et al.)"),
    ), version="0.26.0"),
    Package("scikit-learn", WHEEL, "CC-BY-2.0", (
        Photo("sklearn/datasets/images/china.jpg", "china", "danielbuechele (Flickr)"),
        Photo("sklearn/datasets/images/flower.jpg", "sklearn-flower", "vultilion (Flickr)"),
    ), version="1.8.0"),
    Package("matplotlib", WHEEL, "public domain (US Navy)", (
        Photo("matplotlib/mpl-data/sample_data/grace_hopper.jpg", "grace-hopper",
              "US Navy (public domain)"),
    ), version="3.11.2"),
    Package("scipy", WHEEL, "public domain (face.dat, from scipy.misc)", (
        Photo("scipy/misc/face.dat", "raccoon-face", "scipy.misc (public domain)",
              container=RAW_BZ2, shape=(768, 1024, 3), name="face"),
    ), version="1.10.1"),
    Package("pillow", SDIST, "MIT-CMU (Pillow's licence, Tests/images)", tuple(
        Photo(f"Tests/images/{name}", scene, "Pillow test images", frame=frame,
              name=None if frame is None else f"{name.split('.')[0]}-{frame}")
        for name, scene, frame in (
            ("exif-72dpi-int.jpg", "pillow-mountain", None),
            ("exif_gps_typeerror.jpg", "pillow-plane", None),
            ("flower.jpg", "pillow-flower", None),
            ("flower2.jpg", "pillow-heather", None),
            ("frozenpond.mpo", "pillow-frozen-pond", 0),
            ("frozenpond.mpo", "pillow-frozen-pond", 1),
            ("fujifilm.mpo", "pillow-rocks", 0),
            ("fujifilm.mpo", "pillow-rocks", 1),
            ("sugarshack.mpo", "pillow-sugar-shack", 0),
            ("sugarshack.mpo", "pillow-sugar-shack", 1),
            ("icc_profile_big.jpg", "pillow-beach", None),
            ("iptc.jpg", "pillow-sign", None),
            ("junk_jpeg_header.jpg", "pillow-grass", None),
            ("xmp_tags_orientation.png", "pillow-roses", None),
        )
    ), version="12.3.0"),
)
