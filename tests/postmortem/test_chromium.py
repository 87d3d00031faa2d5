"""The HTML report opened in headless Chromium (Debian's chromium package): it renders without a
console error, the SVG timeline is in the rendered DOM, it prints to PDF, and the screenshot is kept
(its path is printed and recorded as the test's `screenshot` property in the JUnit XML)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from runbook.postmortem import build_report, render
from tests.postmortem.scenarios import digiorno

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_html_report_renders_in_headless_chromium(lite, tmp_path: Path, record_property) -> None:
    expected = digiorno(lite)
    page = tmp_path / "postmortem.html"
    page.write_text(render(build_report(lite, expected.incident.id), "html"), encoding="utf-8")
    url = page.as_uri()

    shot = tmp_path / "postmortem.png"
    run = chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--window-size=1200,2200", f"--screenshot={shot}", url)
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000

    dom = chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0 and 'class="timeline-chart"' in dom.stdout and "<circle" in dom.stdout

    pdf = tmp_path / "postmortem.pdf"
    printed = chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", url)
    assert printed.returncode == 0 and pdf.read_bytes()[:5] == b"%PDF-"

    keep_dir = Path(os.environ.get("RUNBOOK_TEST_ARTIFACTS", tmp_path))
    keep_dir.mkdir(parents=True, exist_ok=True)
    kept = keep_dir / "postmortem-digiorno.png"
    if kept != shot:
        shutil.copyfile(shot, kept)
    record_property("screenshot", str(kept))
    print(f"\nscreenshot of the DiGiorno post-mortem: {kept}")
