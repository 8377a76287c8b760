"""The web page's hint panel (issue 30 item 5): placing, selecting, moving, removing and
undoing point hints on a photo (`web_hints`, without Gradio), the result and hints.json it
writes, the note a page without a hint-aware model shows, and, in a real headless Chromium, a
click and a colour that change the colour of the region around the click.

The hint-aware model is an untrained `lite_unet.trunk(hints=True, reference=True)` whose hint
layers get random weights: a hint changes its output, though not toward the hint's colour
(that takes training; tests/test_hint_model.py trains one).
"""

import json
import os
import pathlib
import shutil
import urllib.request

import numpy as np
import pytest

web = pytest.importorskip("colornet.apps.web", reason="needs the web extra")

from colornet import color  # noqa: E402
from colornet.apps import web_hints, web_work  # noqa: E402
from colornet.io import decode, save  # noqa: E402
from colornet.io import hints as hint_input  # noqa: E402
from colornet.nets import models  # noqa: E402

from .browser import CHROMEDRIVER, CHROMIUM, TIMEOUT, chromium  # noqa: E402
from .factories import blobs_photo, random_hint_colorizer  # noqa: E402
from .test_web import free_port, launched  # noqa: E402, F401

HEIGHT, WIDTH = 90, 120


@pytest.fixture(scope="module")
def hint_model():
    return web_work.served_model(random_hint_colorizer(), label="hinted")


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    save.save_image(path, blobs_photo(WIDTH)[:HEIGHT])
    return path


@pytest.fixture
def session(photo, tmp_path):
    folder = tmp_path / "session"
    folder.mkdir()
    return web_hints.start(photo, folder, max_pixels=10**7)


def test_clicks_add_select_move_and_remove_points_and_undo_steps_back(session):
    assert session.shape == (HEIGHT, WIDTH) and session.preview_shape == (HEIGHT, WIDTH)
    assert web_hints.click(session, x=30, y=20, predicted="#112233")
    assert session.hints == [[20, 30, "#112233"]] and session.selected == 0
    assert web_hints.click(session, x=90, y=60, predicted="#445566")
    assert session.selected == 1
    assert not web_hints.click(session, x=33, y=22)  # near the first: selects it
    assert session.selected == 0 and len(session.hints) == 2
    assert web_hints.set_colour(session, "#2040FF")
    assert session.hints[0] == [20, 30, "#2040ff"]
    assert web_hints.click(session, x=10, y=80, mode=web_hints.MOVE)
    assert session.hints[0][:2] == [80, 10]
    assert web_hints.click(session, x=91, y=59, mode=web_hints.REMOVE)
    assert session.hints == [[80, 10, "#2040ff"]]
    assert web_hints.undo(session) and len(session.hints) == 2
    assert web_hints.undo(session) and session.hints[0][:2] == [20, 30]
    assert web_hints.undo(session) and session.hints[0][2] == "#112233"
    session.selected = 0
    assert web_hints.remove_selected(session) and session.hints == [[60, 90, "#445566"]]
    with pytest.raises(ValueError, match="is not a colour"):
        web_hints.set_colour(session, "#12345")  # nothing selected is no error, a bad colour is
        session.selected = 0
        web_hints.set_colour(session, "#12345")


def test_a_browser_colour_is_read_as_hex(session):
    web_hints.click(session, 5, 5, predicted="#000000")
    assert web_hints.set_colour(session, "rgba(32, 64, 255, 1)")
    assert session.hints[0][2] == "#2040ff"
    assert web_hints.set_colour(session, "#f00") and session.hints[0][2] == "#ff0000"


def test_a_render_writes_the_result_the_marked_preview_and_hints_the_cli_reads(
        session, hint_model, photo):
    plain_preview, plain_download, _ = web_hints.render(hint_model, session)
    plain = decode.load_rgb(plain_download)
    assert plain.shape == (HEIGHT, WIDTH, 3)
    predicted = web_hints.predicted_colour(session, 30, 20)
    assert predicted == "#" + "".join(f"{round(v * 255):02x}" for v in plain[20, 30])
    web_hints.click(session, 30, 20, predicted=predicted)
    web_hints.set_colour(session, "#2040ff")
    preview, download, hints_file = web_hints.render(hint_model, session)
    hinted = decode.load_rgb(download)
    assert np.abs(hinted - plain).max() > 2 / 255  # the hint changed the colours
    assert hint_input.read_hints_file(hints_file) == [(20, 30, (32 / 255, 64 / 255, 1.0))]
    assert json.loads(hints_file.read_text()) == [{"y": 20, "x": 30, "colour": "#2040ff"}]
    marked = decode.load_rgb(preview)
    assert np.abs(marked[20, 30] - np.array([32, 64, 255]) / 255).max() < 0.1  # drawn there


def test_a_page_without_a_hint_aware_model_says_how_to_serve_one(hint_model):
    def elem_ids(page):
        return {component.get("props", {}).get("elem_id")
                for component in page.config["components"]}

    without = web.app({"constant": models.version_1()})
    assert "no-hint-model" in elem_ids(without) and "hint-photo" not in elem_ids(without)
    with_hints = web.app({"hinted": hint_model, "constant": models.version_1()})
    assert {"hint-photo", "hint-upload", "hint-colour", "hint-undo"} <= elem_ids(with_hints)


@pytest.mark.slow
@pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)
def test_in_chromium_a_click_and_a_colour_change_the_region_around_the_click(
        hint_model, tmp_path):
    pytest.importorskip("selenium")
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import WebDriverWait

    grey = tmp_path / "grey.png"
    save.save_image(grey, blobs_photo(160)[:120].mean(axis=-1))  # 120 rows × 160 columns
    page = web.app({"hinted": hint_model})
    url = launched(page)
    driver = chromium(tmp_path / "chromium-profile")
    wait = WebDriverWait(driver, TIMEOUT)

    def result_href(count):
        wait.until(until.text_to_be_present_in_element(
            (By.ID, "hint-status"), f"Colorized with {count} point"))
        return driver.find_element(
            By.CSS_SELECTOR, "#hint-downloads a[href*='_colorized']").get_attribute("href")

    def fetched(href, name):
        path = tmp_path / name
        with urllib.request.urlopen(href, timeout=TIMEOUT) as response:
            path.write_bytes(response.read())
        return path

    try:
        driver.get(url)
        upload = wait.until(until.presence_of_element_located(
            (By.CSS_SELECTOR, "#hint-upload input[type=file]")))
        upload.send_keys(str(grey))
        before = decode.load_rgb(fetched(result_href(0), "before.png"))
        image = wait.until(until.presence_of_element_located((By.CSS_SELECTOR, "#hint-photo img")))
        # Click at row 60, column 40 of the photo: offsets from the image's centre, in its
        # displayed size.
        scale = driver.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return Math.min(r.width / arguments[0].naturalWidth,"
            " r.height / arguments[0].naturalHeight);", image)
        ActionChains(driver).move_to_element_with_offset(
            image, round((40 - 80) * scale), round((60 - 60) * scale)).click().perform()
        wait.until(until.text_to_be_present_in_element((By.ID, "hint-points"), "row"))
        typed = driver.find_element(By.CSS_SELECTOR, "#hint-colour-text textarea, "
                                                     "#hint-colour-text input")
        typed.clear()
        typed.send_keys("#2040ff", Keys.ENTER)
        wait.until(until.text_to_be_present_in_element((By.ID, "hint-points"), "#2040ff"))
        after = decode.load_rgb(fetched(result_href(1), "after.png"))
        hints_href = driver.find_element(
            By.CSS_SELECTOR, "#hint-downloads a[href*='hints.json']").get_attribute("href")
        hints = json.loads(fetched(hints_href, "hints.json").read_text())
    finally:
        driver.quit()
        page.close()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)
    [hint] = hints
    assert abs(hint["y"] - 60) <= 2 and abs(hint["x"] - 40) <= 2 and hint["colour"] == "#2040ff"
    around = (slice(hint["y"] - 8, hint["y"] + 9), slice(hint["x"] - 8, hint["x"] + 9))
    change = np.abs(color.rgb_to_lab(after[around])[..., 1:]
                    - color.rgb_to_lab(before[around])[..., 1:]).mean()
    assert change > 1.0, change  # ab units: the region around the click changed colour


def test_the_click_speed_benchmark_times_every_click(hint_model, tmp_path):
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "benchmarks"))
    import hint_click_speed

    hint_model.model.save(tmp_path / "hinted.keras")
    figures = hint_click_speed.run(hint_click_speed.parse_arguments(
        ["--model", str(tmp_path / "hinted.keras"), "--side", "64", "--clicks", "2"]))
    assert figures["side"] == 64 and len(figures["seconds"]) == 2
    assert figures["median_seconds"] > 0
