"""A web page that colorizes photos: `colornet serve`, or `web.app(models)` in a notebook.

The page takes one or more photos, colorizes each with a model chosen from those given at
launch, and returns every result at full resolution as a PNG download, beside a before/after
comparison. For a final-version model it also shows the working precision and, where
`colornet.nets.backbones` can name them, the classes its frozen classifier sees in the grey photo.

Safety, for a page that strangers' files reach:
- Every upload is read by `decode.load_rgb_and_alpha`, which checks the pixel count in the
  header before decoding (decompression bombs) and turns a broken file into one line. Those
  lines, and anything else that goes wrong, reach the page as a message, never a traceback.
- Gradio keeps uploads in its cache folder (GRADIO_TEMP_DIR), and it accepts as input, and
  serves, only files in that folder or in `allowed_paths` (left empty). colornet points that
  folder at a fresh temporary folder of its own, writes its results inside it, and removes it
  at exit: nothing is written elsewhere, and no path a client names is read.
- One photo is colorized at a time (`queue(default_concurrency_limit=1)`), so memory holds one
  request's photo, however many people upload at once; the rest wait in a bounded queue.
"""

import atexit
import dataclasses
import inspect
import logging
import os
import pathlib
import shutil
import signal
import sys
import tempfile
import threading
import time

# Gradio phones home for analytics and version checks unless told not to; this page is local.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# ---------------------------------------------------------------------------------------------
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


# Gradio's modules read GRADIO_TEMP_DIR when imported: the workspace must exist first.
workspace()

try:
    import gradio as gr
except ImportError as error:  # pragma: no cover: gradio is an optional extra
    raise ImportError(
        "the web page needs gradio: pip install 'colornet[web]' (or -r requirements.txt)"
    ) from error

import keras  # noqa: E402

from colornet import _util, color  # noqa: E402
from colornet.apps import colorize  # noqa: E402
from colornet.constants import (  # noqa: E402
    DEFAULT_HOST,
    DEFAULT_MAX_MEGAPIXELS,
    DEFAULT_PORT,
    DEFAULT_WORKING_SIZE,
)
from colornet.io import decode, folders, geometry, save  # noqa: E402
from colornet.nets import classify, keras_utils, models  # noqa: E402

# Uploads larger than this many bytes per allowed pixel are refused before decoding: an
# uncompressed 16-bit RGBA TIFF needs 8; any real photo of allowed size fits.
_BYTES_PER_PIXEL = 8
# Photos one request may carry, and requests waiting in the queue: bounds work and memory.
MAX_PHOTOS_PER_REQUEST = 16
DEFAULT_QUEUE_SIZE = 64
# The comparison and the gallery show this longest side; the download has full resolution.
PREVIEW_SIDE = 1600
# Results older than this are deleted when the next request comes.
RESULT_LIFETIME_SECONDS = 3600
# Top classes shown for a final-version model.
TOP_CLASSES = 5

_log = logging.getLogger(__name__)

NO_MODEL_TEXT = """\
**No model was given.** Start the page with one or more models:

```bash
colornet single data/portrait/astronaut.jpg -o results/astronaut.png --save-model results/v1.keras
colornet serve --model results/v1.keras
```

or train the final version on a folder of photos and serve its run folder:

```bash
colornet train photos/train --out runs/photos
colornet serve --model runs/photos
```

`colornet serve --demo` trains Version 1 on the sample portrait (under a minute) and serves it.
"""


@dataclasses.dataclass
class ServedModel:
    """A model on the page: its label, the Keras model, and what the page says about it."""

    label: str
    model: keras.Model
    kind: str  # "single_image" (Version 1), "colorizer" (the final version) or "any_size"
    precision: str  # what the colour network computes in: "float32", "bfloat16", "float16"
    backbone: str | None  # the final version's classifier (a key of backbones.BACKBONES)

    def describe(self):
        if self.kind == "single_image":
            return f"**{self.label}**: Version 1, computes in {self.precision}."
        if self.kind == "any_size":
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
    kind = models.kind(model)
    return ServedModel(
        label=label or model.name,
        model=model,
        kind=kind,
        precision=_compute_precision(model),
        backbone=models.backbone_layer(model).backbone if kind == "colorizer" else None,
    )


def _compute_precision(model):
    """The compute dtype of the colour network's first convolution: what
    `models.set_precision` chose for it ("float32", "bfloat16" or "float16")."""
    for layer in keras_utils.nested_layers(models.colour_network(model)):
        if isinstance(layer, keras.layers.Conv2D):
            return str(layer.dtype_policy.compute_dtype)
    return "float32"


def _served_models(given, precision):
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


def _new_result_folder():
    results = workspace() / "results"
    results.mkdir(exist_ok=True)
    cutoff = time.time() - RESULT_LIFETIME_SECONDS
    for old in results.iterdir():
        if old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
    return pathlib.Path(tempfile.mkdtemp(dir=results))


# ---------------------------------------------------------------------------------------------
# Colorizing one request


@dataclasses.dataclass
class _Result:
    name: str  # the upload's file name
    source: pathlib.Path  # the upload
    download: pathlib.Path  # full-resolution PNG
    before: pathlib.Path  # preview of the photo as uploaded
    after: pathlib.Path  # preview of the colorized photo


def colorize_upload(served, path, folder, limits, name=None):
    """Colorize one uploaded photo into `folder`; returns a `_Result`.

    Args:
        served: a `ServedModel`.
        path: the uploaded file.
        folder: where the PNG and the previews go.
        limits: the page's `_Limits` (pixel count, Version 1's working size).
        name: the file name to show and to name the result after (default: path's).

    Raises:
        decode.ImageError: one line naming the file (by `name`) and the problem.
    """
    path = pathlib.Path(path)
    name = name or path.name
    max_pixels = limits.max_pixels
    size = path.stat().st_size if path.is_file() else 0
    if size > _BYTES_PER_PIXEL * max_pixels:
        raise decode.ImageError(
            f"{name}: the file is {size / 1e6:.0f} MB, more than this page takes "
            f"({_BYTES_PER_PIXEL * max_pixels / 1e6:.0f} MB)"
        )
    try:
        rgb, alpha = decode.load_rgb_and_alpha(path, max_pixels=max_pixels)
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
    download = save.save_image(folder / f"{stem}_colorized.png", colorized, alpha=alpha)
    before = save.save_image(
        folder / f"{stem}_before.jpg", geometry.shrink(rgb, longer_side=PREVIEW_SIDE), quality=90
    )
    after = save.save_image(
        folder / f"{stem}_after.jpg", geometry.shrink(colorized, longer_side=PREVIEW_SIDE),
        quality=90,
    )
    return _Result(name, path, download, before, after)


def classifier_view(served, photo_path, max_pixels, top=TOP_CLASSES):
    """Markdown: the top classes the final version's classifier sees in the grey photo, or
    "" for Version 1 or where `classify.classify` is not there.

    The classifier is given the served model's own backbone weights (saved once into the
    workspace), so the page works offline and shows what this model's backbone sees.
    """
    classify_photos = getattr(classify, "classify", None)
    if served.kind != "colorizer" or classify_photos is None:
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


# ---------------------------------------------------------------------------------------------
# The page


def app(
    models=None,
    *,
    max_megapixels=DEFAULT_MAX_MEGAPIXELS,
    working_size=DEFAULT_WORKING_SIZE,
    queue_size=DEFAULT_QUEUE_SIZE,
    precision="auto",
):
    """The colorizing page as a Gradio Blocks app, queued; call `.launch()` on it.

    In a notebook, `colornet.apps.web.app("results/v1.keras").launch()` shows it inline.
    `colornet serve` launches it with the limits below and removes its files at exit.

    Args:
        models: the models the page offers: a Keras model or a path (`.keras` file or
            training run folder), a list of them, or a dict {label: model or path}. None or
            empty: the page explains how to get one.
        max_megapixels: photos with more pixels are refused, before decoding.
        working_size: Version 1's longest working side, or None for full size (as for
            `colorize.colorize`); the final colorizer always uses its own.
        queue_size: requests that may wait; photos are colorized one at a time.
        precision: how loaded final-version models compute (`colorize.load_model`).

    Returns:
        A `gradio.Blocks`. It sets GRADIO_TEMP_DIR to this process's `workspace()`.
    """
    if not max_megapixels > 0:
        raise ValueError(f"max_megapixels must be positive, got {max_megapixels}")
    served = _served_models(models, precision)
    # Every upload has a size of its own, so the model is traced again now and then: expected
    # here, and TensorFlow's advice about it is for programmers.
    keras_utils.quiet_retracing_warnings()
    limits = _Limits(int(max_megapixels * 1e6), working_size)
    workspace()  # before the Blocks, which reads Gradio's cache folder when it is made
    with gr.Blocks(
        title="colornet", delete_cache=(RESULT_LIFETIME_SECONDS, RESULT_LIFETIME_SECONDS)
    ) as page:
        gr.Markdown(
            "# colornet\nDrop black-and-white (or colour) photos; each comes back colorized "
            "from its lightness alone, at full resolution. The comparison shows a preview; "
            "the PNG download is the full photo."
        )
        if served:
            _colorizing_panel(served, limits, max_megapixels)
        else:
            gr.Markdown(NO_MODEL_TEXT, elem_id="no-model")
    return page.queue(default_concurrency_limit=1, max_size=queue_size)


@dataclasses.dataclass(frozen=True)
class _Limits:
    max_pixels: int  # larger photos are refused before decoding
    working_size: int | None  # Version 1's longest working side (None: full size)


def _colorizing_panel(served, limits, max_megapixels):
    """The inputs, the outputs and their events, inside the page's Blocks."""
    labels = list(served)
    with gr.Row():
        with gr.Column(scale=1):
            uploads = gr.File(
                label=f"Photos (up to {MAX_PHOTOS_PER_REQUEST}, "
                f"{max_megapixels:g} megapixels each)",
                file_count="multiple",
                file_types=list(folders.IMAGE_SUFFIXES),
                type="filepath",
                elem_id="uploads",
            )
            _refuse_quietly(uploads)
            choice = gr.Dropdown(labels, value=labels[0], label="Model", elem_id="model")
            about = gr.Markdown(served[labels[0]].describe(), elem_id="about-model")
            button = gr.Button("Colorize", variant="primary", elem_id="colorize")
            status = gr.Markdown(elem_id="status")
            seen = gr.Markdown(elem_id="classifier")
        with gr.Column(scale=2):
            slider = gr.ImageSlider(label="before | after", type="filepath", elem_id="comparison")
            downloads = gr.File(
                label="Downloads (PNG, full resolution)",
                file_count="multiple",
                interactive=False,
                elem_id="downloads",
            )
            gallery = gr.Gallery(
                label="Colorized (select one to compare)", columns=6, height=220, elem_id="gallery"
            )
    pairs = gr.State([])

    def run(files, label):
        return _answer(served, files, label, limits)

    button.click(
        run,
        inputs=[uploads, choice],
        outputs=[slider, gallery, downloads, status, seen, pairs],
        api_name="colorize",
        concurrency_limit=1,
    )
    choice.change(
        lambda label: served[label].describe() if label in served else "",
        inputs=choice,
        outputs=about,
        api_visibility="private",
    )
    gallery.select(_show_pair, inputs=pairs, outputs=slider, api_visibility="private")


def _show_pair(pairs, event: gr.SelectData):
    index = event.index if isinstance(event.index, int) else 0
    return tuple(pairs[index]) if 0 <= index < len(pairs) else None


def refusal(message, duration=10):
    """The gr.Error that refuses a request the page cannot serve (no photo, a broken one):
    a normal event, so the server's console gets one log line, not Gradio's traceback."""
    _log.info("refused: %s", "; ".join(message.splitlines()))
    return gr.Error(message, duration=duration, print_exception=False)


def _refuse_quietly(uploads):
    """Make the gr.File `uploads` refuse a file of a type it does not take (it checks the
    suffix) as a `refusal` too. On the one object: a subclass of a Gradio component would
    make Gradio write a colornet/web.pyi beside this module."""
    check = uploads.preprocess

    def preprocess(payload):
        try:
            return check(payload)
        except gr.Error as error:
            raise refusal(error.message) from None

    uploads.preprocess = preprocess
    return uploads


def _answer(served, files, label, limits):
    """One click of Colorize: every photo in `files` colorized with the model `label`. A bad
    photo is reported in the status and skipped; when none works, the page shows gr.Error."""
    files = [file for file in (files or []) if file]
    if not files:
        raise refusal("Drop one or more photos first.")
    if len(files) > MAX_PHOTOS_PER_REQUEST:
        raise refusal(
            f"{len(files)} photos at once; the page takes up to {MAX_PHOTOS_PER_REQUEST}."
        )
    if label not in served:
        raise refusal(f"no model called {label!r}; choose one of: {', '.join(served)}")
    model = served[label]
    folder = _new_result_folder()
    started = time.perf_counter()
    results, failures = [], []
    seen = {}
    for path in files:
        name = pathlib.Path(path).name
        # Two uploads of one name (from two folders) must not share a result file.
        seen[name.lower()] = count = seen.get(name.lower(), 0) + 1
        if count > 1:
            name = f"{pathlib.Path(name).stem}-{count}{pathlib.Path(name).suffix}"
        try:
            results.append(colorize_upload(model, path, folder, limits, name=name))
        except decode.ImageError as error:
            failures.append(str(error))
        except Exception as error:  # noqa: BLE001 (never a traceback in the page; the log has it)
            _log.exception("colorizing %s failed", name)
            failures.append(
                f"{name}: could not colorize it ({type(error).__name__}: {_util.first_line(error)})"
            )
    if failures and results:
        _log.info("not colorized: %s", "; ".join(failures))
    if not results:
        raise refusal("\n".join(failures), duration=None)
    seconds = time.perf_counter() - started
    lines = [
        f"Colorized {len(results)} photo{'s' * (len(results) != 1)} with {label} "
        f"in {seconds:.1f} s."
    ]
    if failures:
        lines += ["", f"Not colorized ({len(failures)}):"] + [
            f"- {failure}" for failure in failures
        ]
    pairs = [(str(result.before), str(result.after)) for result in results]
    return (
        pairs[0],
        [(str(result.after), result.name) for result in results],
        [str(result.download) for result in results],
        "\n".join(lines),
        classifier_view(model, results[0].source, limits.max_pixels),
        pairs,
    )


# ---------------------------------------------------------------------------------------------
# `colornet serve`


def launch_options(host=DEFAULT_HOST, port=DEFAULT_PORT, max_megapixels=DEFAULT_MAX_MEGAPIXELS):
    """The keyword arguments of `Blocks.launch` that `serve` uses: no public share link, no
    browser, no server-side rendering (which would need Node), nothing served beyond Gradio's
    cache (allowed_paths empty), and uploads refused above the size `app` accepts."""
    return {
        "server_name": host,
        "server_port": port,
        "share": False,
        "inbrowser": False,
        "quiet": True,
        "ssr_mode": False,
        "allowed_paths": [],
        "show_error": False,
        "enable_monitoring": False,
        "max_file_size": _BYTES_PER_PIXEL * int(max_megapixels * 1e6),
    }


def serve(
    models=None,
    *,
    host=DEFAULT_HOST,
    port=DEFAULT_PORT,
    max_megapixels=DEFAULT_MAX_MEGAPIXELS,
    working_size=DEFAULT_WORKING_SIZE,
    queue_size=DEFAULT_QUEUE_SIZE,
):
    """Serve the page until interrupted (Ctrl-C or SIGTERM), then remove the temporary folder."""
    page = app(
        models, max_megapixels=max_megapixels, working_size=working_size, queue_size=queue_size
    )
    _log_to_console()
    # SIGTERM (a service manager's stop) unwinds like Ctrl-C, so the cleanup below runs.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        page.launch(**launch_options(host, port, max_megapixels), prevent_thread_lock=True)
        print(f"ready: http://{host}:{port} (Ctrl-C stops it)", flush=True)
        page.block_thread()
    finally:
        page.close()
        remove_workspace()


def _log_to_console():
    """The page's log lines (refused requests, photos not colorized, failures) on stderr, one
    timed line each (a failure's traceback after it): the server's console."""
    if not _log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        _log.addHandler(handler)
        _log.setLevel(logging.INFO)
        _log.propagate = False  # once, whatever the web server does with the root logger


def demo_model(progress=False):
    """Version 1 trained on the sample portrait with short settings, for `colornet serve
    --demo`: the page works on a fresh clone without a saved model."""
    from colornet.apps import single_image

    portrait = (
        pathlib.Path(__file__).resolve().parent.parent / "data" / "portrait" / "astronaut.jpg"
    )
    if not portrait.is_file():
        raise ValueError(
            f"--demo trains on {portrait}, which is missing; run it from a clone of colornet"
        )
    config = single_image.SingleImageConfig(
        image_size=256, steps=300
    )  # a third of the default steps
    run = single_image.train_single_image(
        decode.load_rgb(portrait), config, progress=progress, name=portrait.name
    )
    return ServedModel(
        "demo: Version 1 trained on astronaut.jpg",
        run.model,
        "single_image",
        _compute_precision(run.model),
        None,
    )
