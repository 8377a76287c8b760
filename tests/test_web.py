"""The web page (`colornet serve`) as its users meet it: through Gradio's own client, through
the command line, and in a real headless Chromium. Servers listen on 127.0.0.1 only, on free
ports, and are stopped at the end; every wait has a generous bound and nothing is timed."""

import json
import logging
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import zipfile
import zlib

import numpy as np
import PIL.Image
import pytest

# colornet.apps.web first: it sets GRADIO_TEMP_DIR, which gradio's modules read when imported.
web = pytest.importorskip(
    "colornet.apps.web", reason="needs the web extra: pip install 'colornet[web]'"
)

import gradio  # noqa: E402
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from colornet import color, constants  # noqa: E402
from colornet.apps import (  # noqa: E402
    colorize,
    single_image,
    web_work,
)
from colornet.cli import photo_commands  # noqa: E402
from colornet.io import decode, geometry, save  # noqa: E402

from .browser import CHROMEDRIVER, CHROMIUM, chromium, colorize_in_browser  # noqa: E402
from .conftest import DATA_DIR  # noqa: E402
from .factories import blobs_photo  # noqa: E402

# Bounds for waits on a busy 2-core CI machine; none is expected to be reached.
REQUEST_TIMEOUT = 120


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory):
    """Version 1 trained a few steps on a small colour photo: modest, realistic colours."""
    run = single_image.train_single_image(
        blobs_photo(64), single_image.SingleImageConfig(image_size=64, steps=30), progress=False
    )
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    run.model.save(path)
    return path


def launched(page, max_megapixels=constants.DEFAULT_MAX_MEGAPIXELS):
    """Launch `page` as `colornet serve` does, without blocking; returns its URL."""
    port = free_port()
    page.launch(**web.launch_options("127.0.0.1", port, max_megapixels), prevent_thread_lock=True)
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def server(tiny_model_path):
    page = web.app({"tiny": tiny_model_path})
    url = launched(page)
    yield url
    page.close()


@pytest.fixture
def client(server, tmp_path):
    return Client(server, download_files=str(tmp_path / "downloads"), verbose=False)


def colorize_files(client, *paths, **download_as):
    """One click of Colorize (with `download_as="PNG"`, say); returns the outputs as a dict by
    meaning."""
    uploads = [handle_file(str(path)) for path in paths]
    slider, gallery, downloads, status, classifier, batch_zip = client.predict(
        uploads, "tiny", *download_as.values(), api_name="/colorize"
    )
    return {
        "slider": slider,
        "gallery": gallery,
        "downloads": downloads,
        "status": status,
        "classifier": classifier,
        "zip": batch_zip,
    }


@pytest.fixture
def photo_path(tmp_path):
    path = tmp_path / "blobs.png"
    save.save_image(path, blobs_photo(96)[:, :72])  # not square: shapes must follow
    return path


def png_with_size(path, width, height):
    """A valid-looking PNG whose header claims width × height over a few bytes of data: what
    a decompression bomb looks like before decoding."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    body = zlib.compress(b"\0" * 1024)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )
    return path


def assert_lightness_kept(colorized, photo, tolerance=0.5):
    """The result's L* is the photo's, to the 8 bits of a PNG (a JPEG's loss: `tolerance`),
    wherever its colour lies inside the sRGB gamut; where a predicted colour is clipped to the
    gamut's edge, L* moves with it."""
    inside = np.all((colorized > 0.5 / 255) & (colorized < 254.5 / 255), axis=-1)
    change = np.abs(color.rgb_to_lightness(colorized) - color.rgb_to_lightness(photo))
    assert inside.mean() > 0.5
    assert change[inside].max() < tolerance


# ---------------------------------------------------------------------------------------------
# Through Gradio's client


def test_colorize_returns_the_full_size_png_with_the_photos_own_lightness(
    client, photo_path, tiny_model_path
):
    result = colorize_files(client, photo_path)
    (download,) = result["downloads"]
    assert pathlib.Path(download).name == "blobs_colorized.png"
    colorized = decode.load_rgb(download)
    photo = decode.load_rgb(photo_path)
    assert colorized.shape == photo.shape == (96, 72, 3)
    # The same colours as the library gives, to the PNG's 8 bits.
    expected = colorize.colorize(colorize.load_model(tiny_model_path), photo)
    np.testing.assert_allclose(colorized, expected, atol=1.5 / 255)
    assert_lightness_kept(colorized, photo)
    assert len(result["slider"]) == 2 and len(result["gallery"]) == 1
    assert "Colorized 1 photo" in result["status"]
    assert result["classifier"] == ""  # Version 1 has no classifier


def test_several_photos_come_back_each_under_its_own_name(client, photo_path, tmp_path):
    second = tmp_path / "second.jpg"
    save.save_image(second, blobs_photo(40, seed=3))
    result = colorize_files(client, photo_path, second)
    names = sorted(pathlib.Path(path).name for path in result["downloads"])
    assert names == ["blobs_colorized.png", "second_colorized.jpg"]
    assert decode.load_rgb(next(p for p in result["downloads"] if "second" in p)).shape == (
        40,
        40,
        3,
    )


def image_format(path):
    with PIL.Image.open(path) as image:
        return image.format


def test_each_photo_comes_back_in_its_own_format_unless_another_is_chosen(
    client, photo_path, tmp_path
):
    jpeg = save.save_image(tmp_path / "scan.jpg", blobs_photo(64, seed=4), quality=80)
    webp = tmp_path / "scan.webp"
    PIL.Image.open(jpeg).save(webp)
    result = colorize_files(client, jpeg, photo_path, webp)
    formats = {pathlib.Path(path).name: image_format(path) for path in result["downloads"]}
    # A WebP comes back as PNG, as from `colornet colorize`: save_image writes PNG and JPEG.
    assert formats == {
        "scan_colorized.jpg": "JPEG", "blobs_colorized.png": "PNG", "scan_colorized.png": "PNG",
    }  # fmt: skip
    as_uploaded = next(path for path in result["downloads"] if path.endswith(".jpg"))
    assert_lightness_kept(decode.load_rgb(as_uploaded), decode.load_rgb(jpeg), tolerance=3.0)
    for choice, suffix, name in (("PNG", ".png", "PNG"), ("JPEG", ".jpg", "JPEG")):
        (chosen,) = colorize_files(client, photo_path, download_as=choice)["downloads"]
        assert (pathlib.Path(chosen).suffix, image_format(chosen)) == (suffix, name)


def test_a_transparent_png_keeps_its_alpha_and_each_pixels_own_lightness(client, tmp_path):
    photo = blobs_photo(48)
    alpha = np.linspace(0.2, 1.0, 48)[None, :].repeat(48, axis=0)  # clear to opaque
    upload = save.save_image(tmp_path / "cut_out.png", photo, alpha=alpha)
    (download,) = colorize_files(client, upload)["downloads"]
    with PIL.Image.open(download) as image:
        assert image.mode == "RGBA"
        rgba = np.asarray(image) / 255.0
    np.testing.assert_allclose(rgba[..., 3], alpha, atol=0.5 / 255)
    # The straight colour's lightness, not the lighter one over white: that, with the alpha
    # applied again, would lighten every semi-transparent pixel twice.
    assert_lightness_kept(rgba[..., :3], photo, tolerance=1.0)


def test_a_batch_also_comes_back_as_one_zip_of_its_downloads(client, photo_path, tmp_path):
    second = save.save_image(tmp_path / "second.jpg", blobs_photo(40, seed=3))
    result = colorize_files(client, photo_path, second)
    with zipfile.ZipFile(result["zip"]) as archive:
        zipped = {name: archive.read(name) for name in archive.namelist()}
    assert pathlib.Path(result["zip"]).name == "colorized.zip"
    assert zipped == {
        pathlib.Path(path).name: pathlib.Path(path).read_bytes() for path in result["downloads"]
    }
    assert sorted(zipped) == ["blobs_colorized.png", "second_colorized.jpg"]
    assert colorize_files(client, photo_path)["zip"] is None  # one photo is its own download


def test_two_uploads_of_one_name_get_two_results(client, tmp_path):
    for folder, seed in (("a", 1), ("b", 2)):
        (tmp_path / folder).mkdir()
        save.save_image(tmp_path / folder / "scan.png", blobs_photo(32, seed=seed))
    result = colorize_files(client, tmp_path / "a" / "scan.png", tmp_path / "b" / "scan.png")
    names = [pathlib.Path(path).name for path in result["downloads"]]
    assert names == ["scan_colorized.png", "scan-2_colorized.png"]
    first, second = (decode.load_rgb(path) for path in result["downloads"])
    assert not np.allclose(first, second)


def bad_uploads(folder):
    """(file, words its message must contain) for each kind of bad upload."""
    folder.mkdir(exist_ok=True)
    text = folder / "notes.png"
    text.write_text("these are not pixels")
    empty = folder / "empty.png"
    empty.write_bytes(b"")
    truncated = folder / "truncated.png"
    save.save_image(folder / "whole.png", blobs_photo(64))
    truncated.write_bytes((folder / "whole.png").read_bytes()[:300])
    bomb = png_with_size(folder / "bomb.png", 60_000, 60_000)  # 3.6 gigapixels from ~100 bytes
    return [
        (text, "not an image"),
        (empty, "empty"),
        (truncated, "truncated or corrupt"),
        (bomb, "decompression bomb"),
    ]


def test_every_bad_upload_gets_a_one_line_message_and_the_server_keeps_serving(
    client, photo_path, tmp_path
):
    for path, words in bad_uploads(tmp_path / "bad"):
        with pytest.raises(AppError) as error:
            colorize_files(client, path)
        message = str(error.value)
        assert words in message and path.name in message, message
        assert "Traceback" not in message and str(tmp_path) not in message
        assert "Colorized 1 photo" in colorize_files(client, photo_path)["status"]


def test_a_refused_upload_is_one_log_line_in_the_console_not_a_traceback(
    client, tmp_path, capfd, caplog
):
    caplog.set_level(logging.INFO, logger="colornet.apps.web")
    (text, _), (empty, _), *_ = bad_uploads(tmp_path / "bad")
    not_a_photo = tmp_path / "notes.txt"
    not_a_photo.write_text("hello")
    for path in (text, empty, not_a_photo):
        with pytest.raises(AppError):
            colorize_files(client, path)
    console = capfd.readouterr()
    assert "Traceback" not in console.err + console.out
    refusals = [
        record.getMessage() for record in caplog.records if record.name == "colornet.apps.web"
    ]
    assert len(refusals) == 3, refusals
    assert all(line.startswith("refused: ") and "\n" not in line for line in refusals)
    assert "notes.png" in refusals[0] and "empty.png" in refusals[1]
    assert "Invalid file type" in refusals[2]


def test_the_page_drops_tensorflows_retracing_warning_and_keeps_its_others(server, capfd):
    # Each upload has a size of its own, and a final version's classifier panel runs a
    # function made anew per request: TensorFlow would advise its programmer each time.
    tf = pytest.importorskip("tensorflow")
    seen = []
    handler = logging.Handler()
    handler.emit = seen.append
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        for shape in range(2, 10):
            tf.function(lambda x: x + 1)(tf.zeros((shape,)))  # a function made anew each time
        logger.warning("a warning that matters")
    finally:
        logger.removeHandler(handler)
    messages = [record.getMessage() for record in seen]
    console = capfd.readouterr()
    assert messages == ["a warning that matters"]
    assert "retracing" not in console.err + console.out


def test_a_bad_photo_among_good_ones_is_listed_and_the_rest_are_colorized(
    client, photo_path, tmp_path
):
    (text, _), *_ = bad_uploads(tmp_path / "bad")
    result = colorize_files(client, photo_path, text)
    assert len(result["downloads"]) == 1
    assert "Not colorized (1)" in result["status"] and "notes.png" in result["status"]


def test_a_file_that_is_not_an_image_by_name_is_refused_with_a_message(client, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(AppError) as error:
        colorize_files(client, text)
    assert "Invalid file type" in str(error.value)


def test_photos_over_the_pixel_limit_are_refused_before_decoding(
    tiny_model_path, photo_path, tmp_path
):
    page = web.app([tiny_model_path], max_megapixels=0.005)  # 5,000 pixels; the photo has 6,912
    url = launched(page, max_megapixels=0.005)
    try:
        client = Client(url, download_files=str(tmp_path / "downloads"), verbose=False)
        with pytest.raises(AppError) as error:
            client.predict([handle_file(str(photo_path))], "tiny", api_name="/colorize")
        # The page's limit in the page's words: the uploader cannot pass a max_pixels.
        message = str(error.value)
        assert "72 x 96 = 0.00691 megapixels, more than the 0.005 this page takes" in message
        assert "max_pixels" not in message and "Pass a larger" not in message
        small = tmp_path / "small.png"
        save.save_image(small, blobs_photo(64))  # 4,096 pixels
        assert client.predict([handle_file(str(small))], "tiny", api_name="/colorize")[2]
    finally:
        page.close()


def test_uploads_over_the_byte_limit_are_refused(tiny_model_path, tmp_path):
    page = web.app([tiny_model_path], max_megapixels=0.001)  # 8,000 bytes at most
    url = launched(page, max_megapixels=0.001)
    try:
        big = tmp_path / "big.png"
        save.save_image(big, np.random.default_rng(0).random((64, 64, 3)))  # ~12 kB of noise
        client = Client(url, download_files=str(tmp_path / "downloads"), verbose=False)
        with pytest.raises(Exception) as error:  # refused by Gradio's upload route itself
            client.predict([handle_file(str(big))], "tiny", api_name="/colorize")
        assert "size" in str(error.value).lower()
    finally:
        page.close()


def call_over_http(server, data):
    """Gradio's plain HTTP API, as any program could call it: (event name, data) of the answer."""
    request = urllib.request.Request(
        f"{server}gradio_api/call/colorize",
        data=json.dumps({"data": data}).encode(),
        headers={"Content-Type": "application/json"},
    )
    event_id = json.loads(urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT).read())[
        "event_id"
    ]
    with urllib.request.urlopen(
        f"{server}gradio_api/call/colorize/{event_id}", timeout=REQUEST_TIMEOUT
    ) as stream:
        lines = stream.read().decode().splitlines()
    events = [line.split(":", 1)[1].strip() for line in lines if line.startswith("event:")]
    payloads = [line.split(":", 1)[1].strip() for line in lines if line.startswith("data:")]
    return events[-1], payloads[-1]


def test_paths_a_client_names_are_neither_read_nor_served(server, tmp_path):
    secret = tmp_path / "secret.png"
    save.save_image(secret, blobs_photo(32))
    named = {"path": str(secret), "meta": {"_type": "gradio.FileData"}, "orig_name": "secret.png"}
    event, payload = call_over_http(server, [[named], "tiny"])
    assert event == "error" and "secret_colorized" not in payload
    for path in (secret, DATA_DIR / "portrait" / "astronaut.jpg", pathlib.Path("/etc/passwd")):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"{server}gradio_api/file={path}", timeout=REQUEST_TIMEOUT)
        assert error.value.code in (403, 404)


def test_results_are_written_inside_the_workspace_only(client, photo_path, tmp_path, monkeypatch):
    working_folder = tmp_path / "cwd"
    working_folder.mkdir()
    monkeypatch.chdir(working_folder)
    before = set(web_work.workspace().rglob("*_colorized.png"))
    colorize_files(client, photo_path)
    written = set(web_work.workspace().rglob("*_colorized.png")) - before
    assert [path.name for path in written] == ["blobs_colorized.png"]
    assert list(working_folder.iterdir()) == []
    assert os.environ["GRADIO_TEMP_DIR"] == str(web_work.workspace())


def test_twenty_concurrent_uploads_are_all_answered_one_at_a_time(tiny_model_path, tmp_path):
    served = web_work.served_model(tiny_model_path, "tiny")
    running, most_at_once, lock = [0], [0], threading.Lock()
    predict_on_batch = served.model.predict_on_batch

    def counted(batch):  # how many colorizations run at once: memory holds that many photos
        with lock:
            running[0] += 1
            most_at_once[0] = max(most_at_once[0], running[0])
        try:
            return predict_on_batch(batch)
        finally:
            with lock:
                running[0] -= 1

    served.model.predict_on_batch = counted
    page = web.app([served])
    url = launched(page)
    try:
        paths = []
        for index in range(20):
            paths.append(tmp_path / f"photo_{index:02d}.png")
            save.save_image(paths[-1], blobs_photo(48, seed=index))
        clients = [
            Client(url, download_files=str(tmp_path / f"downloads_{i}"), verbose=False)
            for i in range(4)
        ]
        jobs = [
            clients[index % 4].submit([handle_file(str(path))], "tiny", api_name="/colorize")
            for index, path in enumerate(paths)
        ]
        results = [job.result(timeout=REQUEST_TIMEOUT * 2) for job in jobs]
    finally:
        page.close()
    for path, (_, _, downloads, status, *_) in zip(paths, results):
        assert pathlib.Path(downloads[0]).name == f"{path.stem}_colorized.png", status
        assert decode.load_rgb(downloads[0]).shape == (48, 48, 3)
    assert most_at_once[0] == 1


def test_without_a_model_the_page_says_how_to_get_one():
    page = web.app()
    texts = [block.value for block in page.blocks.values() if isinstance(block, gradio.Markdown)]
    assert any(
        "colornet single" in text and "--save-model" in text and "colornet train" in text
        for text in texts
    )
    assert not any(isinstance(block, gradio.File) for block in page.blocks.values())


def test_models_are_described_with_their_variant_and_precision(tiny_model_path):
    served = web_work.served_model(tiny_model_path)
    assert served.label == "tiny" and served.variant == "version_1"
    assert served.precision == "float32"  # load_model keeps Version 1 in float32
    assert "Version 1" in served.describe() and "float32" in served.describe()


def test_an_unknown_model_path_is_one_line_naming_it(tmp_path):
    with pytest.raises(ValueError, match="no model at"):
        web.app([tmp_path / "missing.keras"])


@pytest.mark.slow
def test_a_final_version_model_shows_precision_and_what_its_classifier_sees(tmp_path, monkeypatch):
    from colornet.nets import classify, models

    model = models.colorizer(image_size=64, backbone="mobilenet_v3_small", backbone_weights=None)
    served = web_work.served_model(model, "final")
    assert served.variant == "final" and served.backbone == "mobilenet_v3_small"
    assert served.precision in served.describe() and "mobilenet_v3_small" in served.describe()
    photo = tmp_path / "photo.png"
    save.save_image(photo, blobs_photo(64))
    calls = []

    def fake_classify(photos, backbone="inception_resnet_v2", top=5, grey=False,
                      weights="imagenet"):
        calls.append((np.shape(photos[0]), backbone, top, grey, pathlib.Path(weights).is_file()))
        return [[("tabby cat", 0.5), ("lynx", 0.25)]]

    monkeypatch.setattr(classify, "classify", fake_classify)
    view = web_work.classifier_view(served, photo, max_pixels=10**6)
    assert calls == [((64, 64, 3), "mobilenet_v3_small", web_work.TOP_CLASSES, True, True)]
    assert "tabby cat (50%)" in view and "lynx (25%)" in view
    monkeypatch.delattr(classify, "classify")
    assert web_work.classifier_view(served, photo, max_pixels=10**6) == ""


@pytest.mark.slow
def test_the_classifier_panel_runs_offline_with_the_models_own_backbone(tmp_path):
    from colornet.nets import models

    model = models.colorizer(image_size=64, backbone="mobilenet_v3_small", backbone_weights=None)
    photo = tmp_path / "photo.png"
    save.save_image(photo, blobs_photo(64))
    view = web_work.classifier_view(web_work.served_model(model, "final"), photo, max_pixels=10**6)
    assert "unavailable" not in view, view
    assert view.count("\n- ") == web_work.TOP_CLASSES and "%)" in view


# ---------------------------------------------------------------------------------------------
# The command line


def test_serve_options_need_no_gradio():
    # The page and the command line read their defaults from colornet.constants, so `colornet
    # serve --help` and its argument checks start without gradio.
    probe = (
        "import sys; from colornet import cli; parser = cli.build_parser(); "
        "args = parser.parse_args(['serve']); "
        "print(args.host, args.port, args.max_megapixels, 'gradio' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=REQUEST_TIMEOUT,
        check=True,
    )
    host, port, megapixels, gradio_loaded = result.stdout.split()
    assert (host, int(port), float(megapixels)) == (
        constants.DEFAULT_HOST,
        constants.DEFAULT_PORT,
        constants.DEFAULT_MAX_MEGAPIXELS,
    )
    assert gradio_loaded == "False"


def test_the_first_line_says_when_other_machines_can_reach_the_page():
    assert "this machine only" in photo_commands._address_line("127.0.0.1", 7860)
    line = photo_commands._address_line("0.0.0.0", 8080)
    assert "NOT only on this machine" in line and "0.0.0.0" in line


@pytest.mark.slow
def test_colornet_serve_answers_then_stops_on_sigterm_leaving_no_files(
    tiny_model_path, photo_path, tmp_path
):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    port = free_port()
    environment = {**os.environ, "TMPDIR": str(temporary)}
    environment.pop("GRADIO_TEMP_DIR", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "colornet.cli",
            "serve",
            "--model",
            str(tiny_model_path),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment,
        cwd=tmp_path,
    )
    try:
        first = server.stdout.readline()
        assert first.startswith(f"colornet serve: http://127.0.0.1:{port} (this machine only")
        for line in server.stdout:  # blocks until the server says it is ready, or exits
            if line.startswith("ready:"):
                break
        assert server.poll() is None, "the server exited before it was ready"
        client = Client(
            f"http://127.0.0.1:{port}/", download_files=str(tmp_path / "downloads"), verbose=False
        )
        _, _, downloads, *_ = client.predict(
            [handle_file(str(photo_path))], "tiny", api_name="/colorize"
        )
        assert decode.load_rgb(downloads[0]).shape == (96, 72, 3)
        # Uploads and results in the page's folder, inside the command's own temporary folder.
        (own,) = temporary.iterdir()
        assert own.name.startswith(".colornet.")
        assert [path.name.startswith("colornet-serve-") for path in own.iterdir()] == [True]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=REQUEST_TIMEOUT)
    assert list(temporary.iterdir()) == []  # everything it wrote was inside, and is gone


# ---------------------------------------------------------------------------------------------
# In a real browser


@pytest.mark.slow
@pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)
def test_in_chromium_a_dropped_photo_comes_back_colorized_with_its_own_lightness(
    server, tiny_model_path, tmp_path
):
    pytest.importorskip("selenium")
    grey = tmp_path / "astronaut_grey.png"
    portrait = decode.load_rgb(DATA_DIR / "portrait" / "astronaut.jpg")
    save.save_image(grey, geometry.shrink(portrait, longer_side=160).mean(axis=-1))
    driver = chromium(tmp_path / "chromium-profile")
    try:
        href = colorize_in_browser(driver, server, grey)
        assert href.startswith(server)
        download = tmp_path / "downloaded.png"
        with urllib.request.urlopen(href, timeout=REQUEST_TIMEOUT) as response:
            download.write_bytes(response.read())
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)
    colorized, photo = decode.load_rgb(download), decode.load_rgb(grey)
    assert colorized.shape == photo.shape
    assert_lightness_kept(colorized, photo)
    assert np.abs(color.rgb_to_lab(colorized)[..., 1:]).max() > 5  # and it has colour now
    expected = colorize.colorize(colorize.load_model(tiny_model_path), photo)
    np.testing.assert_allclose(colorized, expected, atol=1.5 / 255)  # what the library gives
