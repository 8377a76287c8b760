"""Draw docs/serve.png: the page of `colornet serve --demo` after it colorized a grey photo,
as headless Chromium shows it (Debian's chromium and chromium-driver; no browser download).

    python docs/serve_screenshot.py [OUTPUT.png]
"""

import pathlib
import socket
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from colornet import images, web

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
PORTRAIT = REPOSITORY / "data" / "portrait" / "astronaut.jpg"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--hide-scrollbars",
)


def main(output=REPOSITORY / "docs" / "serve.png"):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    page = web.app([web.demo_model()])
    page.launch(**web.launch_options("127.0.0.1", port), prevent_thread_lock=True)
    with tempfile.TemporaryDirectory() as folder:
        grey = pathlib.Path(folder) / "astronaut_grey.png"
        images.save_image(grey, images.load_grey_rgb(PORTRAIT))
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in (*FLAGS, f"--user-data-dir={folder}/profile"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            wait = WebDriverWait(driver, 180)
            driver.get(f"http://127.0.0.1:{port}/")
            upload = wait.until(
                expected_conditions.presence_of_element_located(
                    (By.CSS_SELECTOR, "#uploads input[type=file]")
                )
            )
            upload.send_keys(str(grey))
            wait.until(
                expected_conditions.text_to_be_present_in_element((By.ID, "uploads"), grey.stem)
            )
            driver.find_element(By.CSS_SELECTOR, "#colorize").click()
            wait.until(
                expected_conditions.text_to_be_present_in_element((By.ID, "status"), "Colorized")
            )
            wait.until(
                lambda d: d.execute_script(
                    "return [...document.images].every(image => image.complete)"
                )
            )
            driver.save_screenshot(str(output))
        finally:
            driver.quit()
            page.close()
    print(f"wrote {output}")


if __name__ == "__main__":
    main(*map(pathlib.Path, sys.argv[1:]))
