"""A real headless Chromium for tests of HTML pages: the DOM after load, console messages, a screenshot.

Chromium is the Debian package ``chromium`` (``scripts/system_deps.sh`` installs it as root). Without
it the tests skip with the reason when not root; as root (CI) its absence is a failure.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

#: chromium prints every console message of the page on stderr with this tag
_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]\s*(.*)")
_PROBE = ("<script>window.addEventListener('load', function () {"
          "var d = document.createElement('div'); d.id = 'runfleet-probe';"
          "d.textContent = Array.prototype.map.call(document.images, function (i) {"
          "return (i.complete ? i.naturalWidth : -1) + 'x' + (i.complete ? i.naturalHeight : -1); }).join(' ');"
          "document.body.appendChild(d); });</script>")


def chromium() -> str:
    """Path of the chromium executable; skips (not root) or fails (root) when it is missing."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    if os.geteuid() == 0:
        pytest.fail("chromium is not installed: run `make system-deps` (scripts/system_deps.sh installs it)")
    pytest.skip("chromium is not installed and we are not root (scripts/system_deps.sh installs it as root)")


@dataclass
class Page:
    """What a headless Chromium made of an HTML file."""

    dom: str                 # serialized DOM after the load event
    console: list            # console messages of the page (errors, uncaught exceptions, logs)
    images: list             # (naturalWidth, naturalHeight) of every <img>; (-1, -1) if not loaded
    screenshot: np.ndarray   # (H, W, C) float pixels in [0, 1]


def _run(args: list, timeout: float = 120) -> subprocess.CompletedProcess:
    base = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"]
    return subprocess.run(base + args, capture_output=True, text=True, timeout=timeout)


def console_messages(stderr: str) -> list:
    return [m.group(1) for m in map(_CONSOLE.search, stderr.splitlines()) if m]


def load(html_file: Path, tmp: Path, width: int = 1280, height: int = 2400) -> Page:
    """Open ``html_file`` in headless Chromium: DOM (with a probe of the images), console, screenshot.

    The probe is a copy of the page with one script appended that records each image's natural size
    in the DOM once the page has loaded; the screenshot is of the page itself.
    """
    import matplotlib.image as mpimg

    html_file = Path(html_file).resolve()
    probe = html_file.with_name(html_file.stem + ".probe.html")
    text = html_file.read_text(encoding="utf-8")
    probe.write_text(text.replace("</body>", _PROBE + "</body>") if "</body>" in text else text + _PROBE,
                     encoding="utf-8")
    try:
        dom_run = _run(["--dump-dom", probe.as_uri()])
    finally:
        probe.unlink()
    shot = Path(tmp) / (html_file.stem + ".screenshot.png")
    shot_run = _run([f"--screenshot={shot}", f"--window-size={width},{height}", html_file.as_uri()])
    assert shot.exists(), f"chromium wrote no screenshot: {shot_run.stderr[-2000:]}"
    m = re.search(r'<div id="runfleet-probe">([^<]*)</div>', dom_run.stdout)
    images = [tuple(int(v) for v in s.split("x")) for s in (m.group(1).split() if m else [])]
    return Page(dom=dom_run.stdout, console=console_messages(dom_run.stderr) + console_messages(shot_run.stderr),
                images=images, screenshot=mpimg.imread(shot))


def pixel_std(img: np.ndarray) -> float:
    """Standard deviation of the grey levels of an image (0 for a blank one), on a 0..1 scale."""
    a = np.asarray(img, dtype=float)
    if a.max() > 1.0:
        a = a / 255.0
    grey = a[..., :3].mean(axis=-1) if a.ndim == 3 else a
    return float(grey.std())
