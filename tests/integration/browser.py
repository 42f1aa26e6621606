"""A real browser for the integration tier: Debian's headless Chromium driven by Selenium.

``scripts/integration-env.sh`` installs ``chromium`` and ``chromium-driver`` (apt) and Selenium
(PyPI). The driver and browser are named explicitly, so Selenium Manager never tries to download
one. Flags keep the browser off the network except for the page under test, and every session gets
a fresh profile directory. Screenshots go to ``ARTIFACTS`` (gitignored), path printed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("AJUDA_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("AJUDA_CHROMEDRIVER", "/usr/bin/chromedriver"))
ARTIFACTS = Path(os.environ.get("AJUDA_TEST_ARTIFACTS", ROOT / ".artifacts"))
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1366,900")


def missing_requirements() -> list[str]:
    missing = [f"{p}: bash scripts/integration-env.sh" for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python module 'selenium': bash scripts/integration-env.sh")
    return missing


class Browser:
    """``with Browser() as driver:`` a headless Chromium WebDriver with a throwaway profile."""

    def __init__(self) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="ajuda-chromium-"))
        self.driver = None

    def __enter__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        # The browser's console log, for diagnosing a failed page.
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        return self.driver

    def __exit__(self, *exc) -> None:
        try:
            if self.driver is not None:
                self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"\n[integration] screenshot: {path}")
    return path
