"""A web page that colorizes photos: `colornet serve`, or `web.app(models)` in a notebook.

The page takes one or more photos, colorizes each with a model chosen from those given at
launch, and returns every result at full resolution, beside a before/after comparison: as a
download in the photo's own format (a JPEG as a JPEG, a PNG as a PNG; PNG or JPEG on request),
and a batch also as one zip. For a final-version model it also shows the working precision and
the classes its frozen classifier sees in the grey photo. This module is the Gradio page and
its server; what it does with a photo, and the folder it keeps files in, is
`colornet.apps.web_work`'s.

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

import logging
import os
import pathlib
import signal
import sys
import threading
import time

# Gradio phones home for analytics and version checks unless told not to; this page is local.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from colornet.apps import web_work  # noqa: E402

# Gradio's modules read GRADIO_TEMP_DIR when imported: the workspace must exist first.
web_work.workspace()

try:
    import gradio as gr
except ImportError as error:  # pragma: no cover: gradio is an optional extra
    raise ImportError(
        "the web page needs gradio: pip install 'colornet[web]' (or -r requirements.txt)"
    ) from error

from colornet import _util  # noqa: E402
from colornet.apps import web_hints_panel  # noqa: E402
from colornet.constants import (  # noqa: E402
    DEFAULT_HOST,
    DEFAULT_MAX_MEGAPIXELS,
    DEFAULT_PORT,
    DEFAULT_WORKING_SIZE,
)
from colornet.errors import SettingError  # noqa: E402
from colornet.io import decode, folders  # noqa: E402
from colornet.nets import keras_utils  # noqa: E402

# Photos one request may carry, and requests waiting in the queue: bounds work and memory.
MAX_PHOTOS_PER_REQUEST = 16
DEFAULT_QUEUE_SIZE = 64

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

`colornet serve --demo` trains Version 1 on the sample portrait, briefly, and serves it.
"""


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
        raise SettingError(f"max_megapixels must be positive, got {max_megapixels}")
    served = web_work.served_models(models, precision)
    # Every upload has a size of its own, so the model is traced again now and then: expected
    # here, and TensorFlow's advice about it is for programmers.
    keras_utils.quiet_retracing_warnings()
    limits = web_work.Limits(int(max_megapixels * 1e6), working_size)
    web_work.workspace()  # before the Blocks, which reads Gradio's cache folder when it is made
    with gr.Blocks(
        title="colornet",
        delete_cache=(web_work.RESULT_LIFETIME_SECONDS, web_work.RESULT_LIFETIME_SECONDS),
    ) as page:
        gr.Markdown(
            "# colornet\nDrop black-and-white (or colour) photos; each comes back colorized "
            "from its lightness alone, at full resolution. The comparison shows a preview; "
            "the download is the full photo, in its own format unless you choose another."
        )
        if served:
            _colorizing_panel(served, limits, max_megapixels)
            web_hints_panel.build(served, limits)  # click to steer a hint-aware model
        else:
            gr.Markdown(NO_MODEL_TEXT, elem_id="no-model")
    return page.queue(default_concurrency_limit=1, max_size=queue_size)


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
            download_format = gr.Radio(
                list(web_work.DOWNLOAD_FORMATS),
                value="as uploaded",
                label="Download as",
                elem_id="download-format",
            )
            about = gr.Markdown(served[labels[0]].describe(), elem_id="about-model")
            button = gr.Button("Colorize", variant="primary", elem_id="colorize")
            status = gr.Markdown(elem_id="status")
            seen = gr.Markdown(elem_id="classifier")
        with gr.Column(scale=2):
            slider = gr.ImageSlider(label="before | after", type="filepath", elem_id="comparison")
            downloads = gr.File(
                label="Downloads (full resolution)",
                file_count="multiple",
                interactive=False,
                elem_id="downloads",
            )
            batch_zip = gr.File(label="All in one zip", interactive=False, elem_id="zip")
            gallery = gr.Gallery(
                label="Colorized (select one to compare)", columns=6, height=220, elem_id="gallery"
            )
    pairs = gr.State([])

    def run(files, label, download_as="as uploaded"):
        return _answer(served, files, label, limits, download_as)

    button.click(
        run,
        inputs=[uploads, choice, download_format],
        outputs=[slider, gallery, downloads, status, seen, pairs, batch_zip],
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


def _image_format(download_as):
    """The `save.output_suffix` image_format of a choice of web_work.DOWNLOAD_FORMATS."""
    if download_as not in web_work.DOWNLOAD_FORMATS:
        choices = ", ".join(web_work.DOWNLOAD_FORMATS)
        raise refusal(f"no download format {download_as!r}; choose one of: {choices}")
    return web_work.DOWNLOAD_FORMATS[download_as]


def _answer(served, files, label, limits, download_as="as uploaded"):
    """One click of Colorize: every photo in `files` colorized with the model `label`, each
    saved as `download_as` says (a key of web_work.DOWNLOAD_FORMATS), and several also zipped
    into one. A bad photo is reported in the status and skipped; when none works, the page
    shows gr.Error."""
    files = [file for file in (files or []) if file]
    if not files:
        raise refusal("Drop one or more photos first.")
    if len(files) > MAX_PHOTOS_PER_REQUEST:
        raise refusal(
            f"{len(files)} photos at once; the page takes up to {MAX_PHOTOS_PER_REQUEST}."
        )
    if label not in served:
        raise refusal(f"no model called {label!r}; choose one of: {', '.join(served)}")
    image_format = _image_format(download_as)
    model = served[label]
    folder = web_work.new_result_folder()
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
            results.append(
                web_work.colorize_upload(model, path, folder, limits, name, image_format)
            )
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
        web_work.classifier_view(model, results[0].source, limits.max_pixels),
        pairs,
        str(web_work.zip_results(results, folder)) if len(results) > 1 else None,
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
        "max_file_size": web_work.BYTES_PER_PIXEL * int(max_megapixels * 1e6),
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
        web_work.remove_workspace()


def _log_to_console():
    """The page's log lines (refused requests, photos not colorized, failures) on stderr, one
    timed line each (a failure's traceback after it): the server's console."""
    if not _log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        _log.addHandler(handler)
        _log.setLevel(logging.INFO)
        _log.propagate = False  # once, whatever the web server does with the root logger
