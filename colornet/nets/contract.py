"""The model contract: what every colornet model is, and how it says so.

Every colornet model (Version 1, the final colorizer with either head, the pretrained U-Net,
any later one) maps lightness L* (B, H, W, 1), float in [0, 100], input "lightness", to
scaled ab (B, H, W, 2) in [-1, 1] (times `color.AB_SCALE` gives a and b), output "ab". A model
whose description says `hints` (or `reference`) takes those inputs after the lightness, in
that order, all zeros meaning none (`colornet.nets.hints`).
Whatever scaling and padding its network needs is inside it, so every caller feeds every
model alike, as richzhang's colorizers share one base class.

A model describes itself through its output layer, `ColourOutput`: it passes the scaled ab
through unchanged, in float32, and its config carries a `Description` (variant, working
size, whether it may run in tiles, what it was trained on). `describe(model)` reads it.
Why a layer and not a `keras.Model` subclass: a subclass of a functional model must rebuild
its graph in `from_config`, which Keras does differently from version to version, and
wrapping a model (the training model does) would hide the subclass; a registered layer is
saved and read by every Keras 3 release like any other, loads in safe mode, costs nothing
when the model runs, and sits where the contract already names the output: "ab".

Files saved before the contract (input "scaled_lightness" for Version 1, an unlabelled "ab"
for the others) are brought into it by `upgrade`, the only place that still tells a model's
kind from its input.

Imports keras, colornet.color and the shared layers.
"""

import dataclasses
import json
import zipfile

import keras

from colornet import color
from colornet.constants import SIZE_MULTIPLE
from colornet.errors import SettingError
from colornet.nets.layers import CropLike, PadToMultiple

# "version_1": the write-up's 32,202-parameter net, trained on the photo it colorizes;
# "final": the write-up's fusion colorizer at a fixed size; "lite_unet": the pretrained U-Net.
VARIANTS = ("version_1", "final", "lite_unet")
OUTPUT_NAME = "ab"
INPUT_NAME = "lightness"
# What a model must be for colornet to colorize with it, as errors tell a user.
WHAT_A_COLORIZER_IS = (
    "a colornet colorizer is a model colornet made (colornet single --save-model, colornet "
    "train, colornet pretrain, or colornet.load_model().save), which takes lightness L* "
    f"'{INPUT_NAME}' (B, H, W, 1) and gives ab '{OUTPUT_NAME}' (B, H, W, 2)"
)


@dataclasses.dataclass(frozen=True)
class Description:
    """What a colornet model is (`describe`).

    variant: one of `VARIANTS`.
    working_size: the side it sees every photo at (S × S), or None for any size.
    tiles: its colour at a pixel depends only on a neighbourhood, so a large photo may run in
        overlapping tiles blended without seams (no whole-photo context, no fixed size).
    trained_on: what it learned from (a photo's name, a data folder, a data manifest's
        hash), or None.
    hints: it also takes a user's point hints, input "hints" (B, H, W, 3) = [hint ab, mask]
        (`colornet.nets.hints`); all zeros is none.
    reference: it also takes a reference photo's global hint, input "reference" (B, Q + 3);
        all zeros is none.
    """

    variant: str
    working_size: int | None = None
    tiles: bool = False
    trained_on: str | None = None
    hints: bool = False
    reference: bool = False


@keras.saving.register_keras_serializable(package="colornet")
class ColourOutput(keras.layers.Layer):
    """A colornet model's output layer: scaled ab (B, H, W, 2) through unchanged, in float32,
    with the model's `Description` in its config (`describe` reads it)."""

    def __init__(self, variant, working_size=None, tiles=False, trained_on=None, hints=False,
                 reference=False, **kwargs):
        kwargs["dtype"] = "float32"  # the colour stays float32 in every precision
        kwargs.setdefault("name", OUTPUT_NAME)
        super().__init__(**kwargs)
        if variant not in VARIANTS:
            raise SettingError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
        if working_size is not None and (int(working_size) < 1):
            raise SettingError(f"working_size must be positive or None, got {working_size}")
        self.description = Description(
            variant, None if working_size is None else int(working_size), bool(tiles),
            trained_on, bool(hints), bool(reference),
        )

    def call(self, scaled_ab):
        return scaled_ab

    def get_config(self):
        config = {**super().get_config(), **dataclasses.asdict(self.description)}
        config.pop("dtype", None)  # always float32: `__init__` sets it
        return config


def describe(model):
    """The `Description` a colornet model carries; ValueError (one line) for any other model."""
    for layer in getattr(model, "layers", ()):
        if isinstance(layer, ColourOutput):
            return layer.description
    raise SettingError(
        f"{getattr(model, 'name', model)} is not a colornet colorizer: it does not describe "
        "itself (no colornet ColourOutput layer)"
    )


def is_described(model):
    """True for a model in the contract (`describe` answers), False for a bare network."""
    return any(isinstance(layer, ColourOutput) for layer in getattr(model, "layers", ()))


def scale_lightness(name="scaled_lightness"):
    """The layer that scales L* in [0, 100] to [-1, 1], as `color.lightness_to_input`."""
    return keras.layers.Rescaling(1.0 / color.L_CENTER, offset=-1.0, name=name)


def version_1(net, trained_on=None, name="version_1"):
    """Version 1's net (scaled lightness → scaled ab, sides multiples of 8) in the contract:
    L* (None, None, None, 1) in [0, 100], any size (mirror-padded to multiples of 8 and
    cropped back, so nothing shifts) → scaled ab (None, H, W, 2). The net's weights are
    shared, not copied."""
    lightness = keras.Input(shape=(None, None, 1), name=INPUT_NAME)
    padded = PadToMultiple(SIZE_MULTIPLE, name="pad")(lightness)  # (B, H', W', 1)
    scaled_ab = net(scale_lightness()(padded))  # (B, H', W', 2)
    cropped = CropLike(name="crop")([scaled_ab, lightness])  # (B, H, W, 2)
    ab = ColourOutput("version_1", tiles=True, trained_on=trained_on)(cropped)
    return keras.Model(lightness, ab, name=name)


def described(model, variant, trained_on=None, name=None):
    """A model that already maps L* to scaled ab (output "ab"), wrapped in the contract: its
    input's side is the working size (None: any size)."""
    side = model.inputs[0].shape[1]
    lightness = keras.Input(shape=tuple(model.inputs[0].shape[1:]), name=INPUT_NAME)
    ab = ColourOutput(variant, working_size=side, trained_on=trained_on)(model(lightness))
    return keras.Model(lightness, ab, name=name or f"{model.name}_described")


def upgrade(model):
    """A model as `keras.saving.load_model` read it, in the contract: as it is when it already
    describes itself; a file saved before the contract is told apart by its input (the old
    guess, kept here only) and wrapped. ValueError (one line) for a model that is neither."""
    if is_described(model):
        return model
    name = model.inputs[0].name if model.inputs else None
    shape = tuple(model.inputs[0].shape) if model.inputs else ()
    if len(shape) == 4 and shape[-1] == 1 and name == "scaled_lightness":
        return version_1(model, name=model.name)
    if len(shape) == 4 and shape[-1] == 1 and name == INPUT_NAME:
        variant = "final" if shape[1] is not None else "lite_unet"
        return described(model, variant, name=model.name)
    raise SettingError(
        f"{model.name} is not a colornet colorizer: it does not describe itself and its input "
        f"is {name!r} {shape}, where colornet models take 'lightness' (or, saved before "
        "colornet's model contract, Version 1's 'scaled_lightness')"
    )


def foreign_classes(path):
    """The names of the classes in a `.keras` file's config that come from neither Keras nor
    colornet (another program's layers), sorted; [] when there are none or it cannot tell."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return []
    found, pending = set(), [config]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending += item
        elif isinstance(item, dict):
            # Keras writes a "module" for every class it saves (not for tensors and the like).
            package = str(item.get("module") or "").split(".")[0]
            if "module" in item and "class_name" in item and package not in ("keras", "colornet"):
                found.add(str(item.get("registered_name") or item["class_name"]))
            pending += item.values()
    return sorted(found)
