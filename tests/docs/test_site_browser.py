"""The documentation site in a real browser: headless Chromium (Debian's, through Selenium)
opens the built site served on 127.0.0.1 and uses it as a reader would.

The site is built first when ``site/`` is missing or older than its sources. Screenshots of
each page visited go to ``site-screenshots/`` (ignored by git). Chromium and chromedriver come
from ``scripts/install-browser.sh``, which ``make test`` runs; without them the test fails.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site"
SHOTS = ROOT / "site-screenshots"
SOURCES = [ROOT / "mkdocs.yml", *(ROOT / "docs").rglob("*"), ROOT / "bench/RESULTS.md"]

selenium = pytest.importorskip("selenium", reason="selenium comes with the docs dependencies")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _site_is_current() -> bool:
    index = SITE / "index.html"
    if not index.exists():
        return False
    built = index.stat().st_mtime
    return all(p.stat().st_mtime <= built for p in SOURCES if p.is_file())


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    if not _site_is_current():
        # Not --quiet: mkdocs then stops counting warnings, and --strict would pass broken links.
        built = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if built.returncode != 0:
            pytest.fail(f"mkdocs build --strict failed:\n{built.stderr[-4000:]}", pytrace=False)
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.fail("chromium and chromedriver are missing: run scripts/install-browser.sh")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [
        "--headless=new",
        "--no-sandbox",  # root in containers
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        # Nothing but the site on 127.0.0.1: no update checks, sync or other background traffic.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-default-apps",
    ]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    driver.set_page_load_timeout(30)
    SHOTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


def _severe(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _open(driver: Any, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, 15).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "nav.md-nav--primary"))
    )


def test_home_page_renders_and_its_navigation_leads_to_getting_started(
    browser: Any, site_url: str
) -> None:
    _open(browser, site_url + "/")
    assert "obstore" in browser.title
    nav_links = browser.find_elements(By.CSS_SELECTOR, "nav.md-nav--primary a.md-nav__link")
    assert len(nav_links) > 20, "the navigation lists every page"
    browser.save_screenshot(str(SHOTS / "home.png"))
    link = browser.find_element(By.LINK_TEXT, "Getting started")
    link.click()
    WebDriverWait(browser, 15).until(ec.url_contains("/getting-started/"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Getting started"
    assert _severe(browser) == []


def test_backend_page_shows_the_generated_configuration_table(browser: Any, site_url: str) -> None:
    _open(browser, site_url + "/backends/s3/")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Amazon S3")
    rows = [
        r.text
        for r in browser.find_elements(By.CSS_SELECTOR, "table tr")
        if "access_key_id" in r.text
    ]
    assert rows and "AWS_ACCESS_KEY_ID" in rows[0]
    browser.execute_script(
        "document.getElementById('configuration-keys').scrollIntoView({block: 'start'})"
    )
    browser.save_screenshot(str(SHOTS / "backend-s3.png"))
    assert _severe(browser) == []


def test_api_reference_renders_the_functions_from_the_stubs(browser: Any, site_url: str) -> None:
    _open(browser, site_url + "/reference/obstore/")
    heading = browser.find_element(By.ID, "obstore.get_parallel")
    assert "get_parallel" in heading.text
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", heading)
    browser.save_screenshot(str(SHOTS / "reference.png"))
    assert _severe(browser) == []


def test_search_finds_pages_for_a_typed_word(browser: Any, site_url: str) -> None:
    _open(browser, site_url + "/")
    browser.find_element(By.CSS_SELECTOR, "label.md-search__icon, .md-search__input").click()
    box = browser.find_element(By.CSS_SELECTOR, "input.md-search__input")
    WebDriverWait(browser, 10).until(ec.element_to_be_clickable(box))
    box.send_keys("presigned")
    WebDriverWait(browser, 20).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "li.md-search-result__item"))
    )
    results = browser.find_elements(By.CSS_SELECTOR, "li.md-search-result__item")
    assert results and any("presign" in r.text.lower() for r in results)
    browser.save_screenshot(str(SHOTS / "search.png"))
    assert _severe(browser) == []


def test_performance_charts_load(browser: Any, site_url: str) -> None:
    _open(browser, site_url + "/performance/results/")
    images = browser.find_elements(By.CSS_SELECTOR, "article img")
    assert len(images) == 3
    for image in images:

        def loaded(driver: Any, image: Any = image) -> bool:
            return bool(driver.execute_script("return arguments[0].complete", image))

        WebDriverWait(browser, 10).until(loaded)
        width = browser.execute_script("return arguments[0].naturalWidth", image)
        assert width > 400, f"{image.get_attribute('src')} did not load"
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", images[0])
    browser.save_screenshot(str(SHOTS / "performance.png"))
    assert _severe(browser) == []
