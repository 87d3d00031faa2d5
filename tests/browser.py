"""Headless Chromium for the tests: Debian's /usr/bin/chromium (installed by .ci/run), driven by
Playwright's Python API (never `playwright install`), a fresh profile each time. In CI a missing
Chromium fails the tests instead of skipping them."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Skip only on a developer machine without Chromium; CI installs it, so there it must run.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed (apt-get install chromium)"
)


@contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        raise RuntimeError("chromium is not installed: `apt-get install -y chromium` (.ci/run does)")
    with sync_playwright() as pw:
        # launch() gives every browser a fresh temporary profile (its own --user-data-dir).
        chrome = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield chrome
        finally:
            chrome.close()
