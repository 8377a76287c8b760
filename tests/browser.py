"""Headless Chromium from the system's packages (Debian's chromium and chromium-driver; never
a browser download), driven by Selenium: for tests/test_web.py and docs/serve_screenshot.py."""

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TIMEOUT = 180  # seconds for the page to load or to colorize on a busy 2-core machine

# Headless, as root, on a machine with no network: without the background-networking flags
# Chromium keeps trying hosts it cannot reach.
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
)


def chromium(user_data_dir, window_size="1400,1100", extra_flags=()):
    """A Selenium driver of a new headless Chromium whose profile lives in `user_data_dir`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--window-size={window_size}", *extra_flags,
                 f"--user-data-dir={user_data_dir}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def colorize_in_browser(driver, url, photo_path, timeout=TIMEOUT):
    """Load the page, drop the photo, click Colorize; returns the result's download URL."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout)
    driver.get(url)
    upload = wait.until(
        expected_conditions.presence_of_element_located(
            (By.CSS_SELECTOR, "#uploads input[type=file]")
        )
    )
    upload.send_keys(str(photo_path))
    wait.until(
        expected_conditions.text_to_be_present_in_element((By.ID, "uploads"), photo_path.stem)
    )
    wait.until(expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "#colorize"))).click()
    link = wait.until(
        expected_conditions.presence_of_element_located(
            (By.CSS_SELECTOR, "#downloads a[href*='_colorized.png']")
        )
    )
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "status"), "Colorized"))
    return link.get_attribute("href")
