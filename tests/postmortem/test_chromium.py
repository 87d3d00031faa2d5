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
from tests.browser import CHROMIUM, FLAGS, browser, needs_chromium
from tests.postmortem.scenarios import digiorno

pytestmark = [pytest.mark.slow, needs_chromium]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


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


# Printable width in CSS pixels (96 per inch) with the report's @page margins of 12 mm each side.
PAGES = {"A4": (210 - 24) / 25.4 * 96, "Letter": (215.9 - 24) / 25.4 * 96}


def test_the_report_prints_on_one_page_width_with_its_charts(lite, tmp_path: Path) -> None:
    from runbook.audit import append

    expected = digiorno(lite)
    # A long unbreakable word in a row (a link, a hash): it must wrap, not push the table off the page.
    link = "https://social.example/x/digiorno/status/" + "9" * 120
    append(
        lite,
        incident_id=expected.incident.id,
        actor="system",
        channel="flow",
        action="post.checked",
        step="publish",
        details={"post": link, "outcome": "sha256:" + "ab" * 40},
    )
    page_file = tmp_path / "postmortem.html"
    page_file.write_text(render(build_report(lite, expected.incident.id), "html"), encoding="utf-8")
    with browser() as chrome:
        for paper, width in PAGES.items():
            page = chrome.new_page(viewport={"width": int(width), "height": 1000})
            page.emulate_media(media="print")
            page.goto(page_file.as_uri())
            # Nothing wider than the paper: the page does not scroll sideways, no element sticks out.
            overflow = page.evaluate("""() => {
                const w = document.documentElement.clientWidth;
                const wide = [...document.querySelectorAll('table, svg, blockquote, tr, td')]
                    .filter(e => e.getBoundingClientRect().right > w + 0.5).map(e => e.tagName + '.' + e.className);
                return {scroll: document.documentElement.scrollWidth, width: w, wide: wide.slice(0, 5)};
            }""")
            assert overflow["scroll"] <= overflow["width"] and overflow["wide"] == [], (paper, overflow)
            # The charts are drawn: mentions are not in this trail, replies and sign-off waits are.
            for chart in ("timeline-chart", "chart-replies", "chart-waits"):
                box = page.locator(f"svg.{chart}").bounding_box()
                assert box is not None and 0 < box["width"] <= width, (paper, chart, box)
            pdf = tmp_path / f"postmortem-{paper}.pdf"
            page.pdf(path=str(pdf), format=paper, print_background=True)
            data = pdf.read_bytes()
            assert data[:5] == b"%PDF-" and b"/MediaBox" in data
            media = {"A4": b"595.", "Letter": b"612"}[paper]
            assert media in data.split(b"/MediaBox", 1)[1][:40], data.split(b"/MediaBox", 1)[1][:40]
            page.close()
