"""Draw docs/serve.png: the page of `colornet serve --demo` after it colorized a grey photo,
as headless Chromium shows it (Debian's chromium and chromium-driver; no browser download).

    python docs/serve_screenshot.py [OUTPUT.png]
"""

import pathlib
import socket
import sys
import tempfile

from selenium.webdriver.support.ui import WebDriverWait

from colornet.apps import web, web_work
from colornet.io import decode, save

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
from tests.browser import TIMEOUT, chromium, colorize_in_browser  # noqa: E402 (the root, above)

PORTRAIT = REPOSITORY / "data" / "portrait" / "astronaut.jpg"


def main(output=REPOSITORY / "docs" / "serve.png"):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    page = web.app([web_work.demo_model()])
    page.launch(**web.launch_options("127.0.0.1", port), prevent_thread_lock=True)
    with tempfile.TemporaryDirectory() as folder:
        grey = pathlib.Path(folder) / "astronaut_grey.png"
        save.save_image(grey, decode.load_grey_rgb(PORTRAIT))
        driver = chromium(pathlib.Path(folder) / "profile", window_size="1400,1000",
                          extra_flags=("--hide-scrollbars",))
        try:
            colorize_in_browser(driver, f"http://127.0.0.1:{port}/", grey)
            WebDriverWait(driver, TIMEOUT).until(
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
