"""What the web page (`colornet.apps.web`) does with a photo, without Gradio: the models it
serves, colorizing one upload into full-resolution and preview files, one zip of a batch, what
the classifier sees, and the temporary folder that holds them (Gradio's cache too), gone at
exit.

Every upload is read by `decode.load_rgb_and_alpha`, which checks the pixel count in the
header before decoding (decompression bombs) and turns a broken file into one line.
"""

import atexit
import dataclasses
import inspect
import os
import pathlib
import shutil
import tempfile
import time
import zipfile

import keras

from colornet import _util, color
from colornet.apps import colorize
from colornet.errors import SettingError
from colornet.io import decode, geometry, modes, save
from colornet.nets import classify, keras_utils, models

# Uploads larger than this many bytes per allowed pixel are refused before decoding: an
# uncompressed 16-bit RGBA TIFF needs 8; any real photo of allowed size fits.
BYTES_PER_PIXEL = 8
# The comparison and the gallery show this longest side; the download has full resolution.
PREVIEW_SIDE = 1600
# Results older than this are deleted when the next request comes.
RESULT_LIFETIME_SECONDS = 3600
# Top classes shown for a final-version model.
TOP_CLASSES = 5
# The download formats the page offers: {choice: `save.output_suffix`'s image_format}. By
# default a result keeps its upload's format (a JPEG comes back as a JPEG, not a PNG five
# times its size); other formats (WebP, TIFF, ...) come back as PNG, as `colornet colorize`'s.
DOWNLOAD_FORMATS = {"as uploaded": None, "PNG": "png", "JPEG": "jpg"}
# The name of the one zip that holds every result of a batch.
ZIP_NAME = "colorized.zip"

# The temporary folder: Gradio's cache and colornet's results, one per process, gone at exit.
_workspace = None


def workspace():
    """This process's temporary folder (created on first use, removed at exit), which is also
    Gradio's cache folder. When GRADIO_TEMP_DIR was set by the user, a folder inside it."""
    global _workspace
    if _workspace is None:
        given = os.environ.get("GRADIO_TEMP_DIR")
        if given:
            os.makedirs(given, exist_ok=True)
        _workspace = pathlib.Path(tempfile.mkdtemp(prefix="colornet-serve-", dir=given))
        # Gradio reads this whenever it stores or serves a file: uploads land here, and only
        # files here (or in allowed_paths) are accepted as inputs or served.
        os.environ["GRADIO_TEMP_DIR"] = str(_workspace)
        atexit.register(remove_workspace)
    _workspace.mkdir(exist_ok=True)  # again, after a remove_workspace
    return _workspace


def contain_temporary_files():
    """Make this process's other temporary files (TensorFlow's traced functions, say) go
    into `workspace()` too. For a process that only serves the page: `colornet serve`."""
    tempfile.tempdir = str(workspace())
    os.environ["TMPDIR"] = tempfile.tempdir


def remove_workspace():
    """Delete the temporary folder and everything in it (uploads and results)."""
    if _workspace is not None:
        shutil.rmtree(_workspace, ignore_errors=True)


@dataclasses.dataclass
class ServedModel:
    """A model on the page: its label, the Keras model, and what the page says about it."""

    label: str
    model: keras.Model
    variant: str  # what it is: `models.describe(model).variant` ("version_1", "final", ...)
    precision: str  # what the colour network computes in: "float32", "bfloat16", "float16"
    backbone: str | None  # the final version's classifier (a key of backbones.BACKBONES)

    def describe(self):
        if self.variant == "version_1":
            return f"**{self.label}**: Version 1, computes in {self.precision}."
        if self.variant == "lite_unet":
            return (f"**{self.label}**: a U-Net on EfficientNet-Lite features, trained on real "
                    f"photos, computes in {self.precision}.")
        return (
            f"**{self.label}**: final version with the {self.backbone} classifier, "
            f"computes in {self.precision}."
        )


def served_model(model, label=None, precision="auto"):
    """A `ServedModel` from a Keras model, a path (`colorize.load_model`: a `.keras` file or a
    training run folder), or None for the pretrained colorizer. Raises ValueError naming the
    path when it is no model."""
    if model is None:  # the pretrained colorizer that ships with colornet
        model = colorize.load_model(None)
    elif not isinstance(model, keras.Model):
        path = pathlib.Path(model)
        label = label or (path.name if path.is_dir() else path.stem)
        model = colorize.load_model(path, precision=precision)
    variant = models.describe(model).variant
    return ServedModel(
        label=label or model.name,
        model=model,
        variant=variant,
        precision=compute_precision(model),
        backbone=models.backbone_layer(model).backbone if variant == "final" else None,
    )


def compute_precision(model):
    """The compute dtype of the colour network's first convolution: what
    `models.set_precision` chose for it ("float32", "bfloat16" or "float16")."""
    for layer in keras_utils.nested_layers(models.colour_network(model)):
        if isinstance(layer, keras.layers.Conv2D):
            return str(layer.dtype_policy.compute_dtype)
    return "float32"


def served_models(given, precision):
    """The models argument of `app` → {label: ServedModel}, labels made unique."""
    if given is None:
        given = []
    if isinstance(given, (str, os.PathLike, keras.Model)):
        given = [given]
    pairs = list(given.items()) if isinstance(given, dict) else [(None, each) for each in given]
    served = {}
    for label, model in pairs:
        entry = model if isinstance(model, ServedModel) else served_model(model, label, precision)
        unique, count = entry.label, 1
        while unique in served:
            count += 1
            unique = f"{entry.label} ({count})"
        entry.label = unique
        served[unique] = entry
    return served


def new_result_folder():
    results = workspace() / "results"
    results.mkdir(exist_ok=True)
    cutoff = time.time() - RESULT_LIFETIME_SECONDS
    for old in results.iterdir():
        if old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
    return pathlib.Path(tempfile.mkdtemp(dir=results))


@dataclasses.dataclass(frozen=True)
class Limits:
    """What the page takes of one photo (`web.app`'s arguments)."""

    max_pixels: int  # larger photos are refused before decoding
    working_size: int | None  # Version 1's longest working side (None: full size)


@dataclasses.dataclass
class _Result:
    name: str  # the upload's file name
    source: pathlib.Path  # the upload
    download: pathlib.Path  # full resolution, PNG or JPEG
    before: pathlib.Path  # preview of the photo as uploaded
    after: pathlib.Path  # preview of the colorized photo


def colorize_upload(served, path, folder, limits, name=None, image_format=None):
    """Colorize one uploaded photo into `folder`; returns a `_Result`.

    Args:
        served: a `ServedModel`.
        path: the uploaded file.
        folder: where the result and the previews go.
        limits: the page's `Limits` (pixel count, Version 1's working size).
        name: the file name to show and to name the result after (default: path's).
        image_format: "png" or "jpg" for the result, None for the upload's own format where
            it is PNG or JPEG, PNG otherwise (`save.output_suffix`). Only PNG keeps an alpha.

    Raises:
        decode.ImageError: one line naming the file (by `name`) and the problem.
    """
    path = pathlib.Path(path)
    name = name or path.name
    max_pixels = limits.max_pixels
    size = path.stat().st_size if path.is_file() else 0
    if size > BYTES_PER_PIXEL * max_pixels:
        raise decode.ImageError(
            f"{name}: the file is {size / 1e6:.0f} MB, more than this page takes "
            f"({BYTES_PER_PIXEL * max_pixels / 1e6:.0f} MB)"
        )
    suffix = save.output_suffix(name, image_format)
    # A PNG keeps the alpha, so it gets each pixel's own colour: compositing it on white and
    # then applying the alpha again would lighten every semi-transparent pixel twice.
    keeps_alpha = suffix == ".png"
    try:
        rgb, alpha = decode.load_rgb_and_alpha(
            path, max_pixels=max_pixels, composite=not keeps_alpha
        )
    except decode.TooManyPixelsError as error:
        # The page's limit is its own (max_megapixels, colornet serve --max-megapixels): the
        # one who uploads can only send a smaller photo.
        raise decode.ImageError(
            f"cannot read image '{name}': {error.width} x {error.height} = "
            f"{error.width * error.height / 1e6:.3g} megapixels, more than the "
            f"{error.max_pixels / 1e6:g} this page takes; send a smaller photo"
        ) from None
    except decode.ImageError as error:
        # The message names the server's copy of the file; the user knows it by its name.
        raise decode.ImageError(str(error).replace(f"'{path}'", f"'{name}'")) from None
    lightness = color.rgb_to_lightness(rgb)  # (H, W) L* in [0, 100]
    ab = colorize.predict_ab(served.model, lightness, working_size=limits.working_size)  # (H, W, 2)
    colorized = color.combine(lightness, ab)  # (H, W, 3) RGB in [0, 1]
    stem = pathlib.Path(name).stem or "photo"
    download = save.save_image(folder / f"{stem}_colorized{suffix}", colorized, alpha=alpha)
    if keeps_alpha and alpha is not None:  # the JPEG previews show the photo as on white
        rgb, colorized = (modes.composite_on_white(image, alpha) for image in (rgb, colorized))
    before = save.save_image(
        folder / f"{stem}_before.jpg", geometry.shrink(rgb, longer_side=PREVIEW_SIDE), quality=90
    )
    after = save.save_image(
        folder / f"{stem}_after.jpg", geometry.shrink(colorized, longer_side=PREVIEW_SIDE),
        quality=90,
    )
    return _Result(name, path, download, before, after)


def zip_results(results, folder):
    """One zip in `folder` of every result's download, each under its own name; returns its
    path. Stored, not compressed: PNG and JPEG are compressed already."""
    path = pathlib.Path(folder) / ZIP_NAME

    def write(file):
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
            for result in results:
                archive.write(result.download, arcname=result.download.name)

    _util.write_bytes_atomically(path, write)
    return path


def classifier_view(served, photo_path, max_pixels, top=TOP_CLASSES):
    """Markdown: the top classes the final version's classifier sees in the grey photo, or
    "" for Version 1 or where `classify.classify` is not there.

    The classifier is given the served model's own backbone weights (saved once into the
    workspace), so the page works offline and shows what this model's backbone sees.
    """
    classify_photos = getattr(classify, "classify", None)
    if served.variant != "final" or classify_photos is None:
        return ""
    try:
        parameters = inspect.signature(classify_photos).parameters
        options = {"backbone": served.backbone, "top": top}
        if "weights" in parameters:
            options["weights"] = str(_classifier_weights(served))
        if "grey" in parameters:
            options["grey"] = True
            photo = decode.load_rgb(photo_path, max_pixels=max_pixels)  # (H, W, 3) in [0, 1]
        else:
            photo = decode.load_grey_rgb(photo_path, max_pixels=max_pixels)
        found = classify_photos([photo], **options)
        entries = (
            found[0]
            if found and isinstance(found[0], (list, tuple)) and not _is_pair(found[0])
            else found
        )
        lines = [f"- {_class_line(entry)}" for entry in entries]
    except Exception as error:  # noqa: BLE001 (the panel is a bonus: it must not fail a request)
        return (
            f"What the {served.backbone} classifier sees: unavailable ({_util.first_line(error)})."
        )
    return f"What the {served.backbone} classifier sees in the grey photo:\n\n" + "\n".join(lines)


def _classifier_weights(served):
    """The served model's backbone weights as a .weights.h5 file in the workspace."""
    path = workspace() / f"classifier-{id(served.model)}.weights.h5"
    if not path.is_file():
        # Keras insists on the suffix, which atomic_output's temporary name lacks.
        temporary = path.with_name(f".{os.getpid()}-{path.name}")
        models.backbone_layer(served.model).classifier.save_weights(temporary)
        os.replace(temporary, path)
    return path


def _is_pair(entry):
    return len(entry) == 2 and isinstance(entry[0], str) and not isinstance(entry[1], str)


def _class_line(entry):
    if isinstance(entry, dict):
        name = entry.get("name") or entry.get("label") or entry.get("class")
        score = entry.get("probability", entry.get("score"))
    elif isinstance(entry, (list, tuple)) and len(entry) >= 2:
        # (name, probability) or Keras's (id, name, probability)
        name, score = (entry[1], entry[2]) if len(entry) >= 3 else (entry[0], entry[1])
    else:
        return str(entry)
    return f"{name} ({float(score):.0%})" if score is not None else str(name)


def demo_model(progress=False):
    """Version 1 trained on the sample portrait with short settings, for `colornet serve
    --demo`: the page works on a fresh clone without a saved model."""
    from colornet.apps import single_image

    portrait = (
        pathlib.Path(__file__).resolve().parents[2] / "data" / "portrait" / "astronaut.jpg"
    )
    if not portrait.is_file():
        raise SettingError(
            f"--demo trains on {portrait}, which is missing; run it from a clone of colornet"
        )
    config = single_image.SingleImageConfig(steps=300)  # a third of the default steps
    run = single_image.train_single_image(
        decode.load_rgb(portrait), config, progress=progress, name=portrait.name
    )
    return ServedModel(
        "demo: Version 1 trained on astronaut.jpg",
        run.model,
        models.describe(run.model).variant,
        compute_precision(run.model),
        None,
    )
