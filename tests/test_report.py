"""``runfleet report``: the HTML page a user opens, checked in a real headless Chromium.

A real study (2-worker LocalCluster) with runs that write PNG plots, one that fails and one that is
skipped; the report is built by the CLI as a user runs it.
"""
from __future__ import annotations

import base64
import re

import pytest

from browser import load, pixel_std
from conftest import run_cli

from runfleet import Run, Study, run_study
from runfleet.report import collect, render

LONG = "ri_rie_run{:02d}_up00_precalc_supply__hp_seasonalTOU_flex_vs_default"


@pytest.fixture(scope="module")
def study(tmp_path_factory, client):
    store = tmp_path_factory.mktemp("store")
    s = Study("report", store=str(store), seed=1, defaults={"retries": 0})
    for i in (1, 2, 3):  # names that share their first 40 characters
        s.add(Run(LONG.format(i), "runfns:plot_png", params={"title": f"rates-{i}"}))
    s.add(Run("bad", "runfns:boom"))
    s.add(Run("after-bad", "runfns:add", after=["bad"]))
    summary = run_study(s, cluster=client, progress=False)
    assert summary.counts["done"] == 3 and summary.counts["failed"] == 1
    study_dir = store / "report"
    # a study-level plot (as ratedesign writes <study>/plots/rate_levels.png)
    (study_dir / "plots").mkdir()
    (study_dir / "plots" / "levels.png").write_bytes(
        (study_dir / "runs" / LONG.format(1) / "plots" / "rates-1.png").read_bytes())
    return study_dir


def test_report_cli_renders_in_chromium_with_plots(study, tmp_path):
    out = tmp_path / "report.html"
    proc = run_cli("report", study, "--out", out)
    assert proc.returncode == 0, proc.stderr
    page_text = out.read_text()
    # every plot is embedded (the file opened alone shows it): 3 run plots + 1 study plot
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page_text)
    assert len(uris) == 4
    assert all(base64.b64decode(u)[:8] == b"\x89PNG\r\n\x1a\n" for u in uris)
    assert "Study plots" in page_text and "plots/levels.png" in page_text
    for i in (1, 2, 3):
        assert f"runs/{LONG.format(i)}/plots/rates-{i}.png" in page_text

    page = load(out, tmp_path)
    assert page.console == []
    assert len(page.images) == 4 and all(w > 100 and h > 100 for w, h in page.images), page.images
    assert pixel_std(page.screenshot) > 0.05  # not a blank page
    # the timeline shows the full name of every run (they differ only after 40 characters)
    svg = page.dom[page.dom.index("<svg"): page.dom.index("</svg>")]
    labels = re.findall(r"<text[^>]*>([^<]+)</text>", svg)
    for i in (1, 2, 3):
        assert LONG.format(i) in labels


def test_zero_counts_have_no_coloured_badge(study):
    page = render(collect(str(study)))
    chips = dict((m.group(2), m.group(1)) for m in re.finditer(r'<span class="chip([^"]*)"[^>]*>\d+ (\w+)</span>', page))
    assert chips == {"done": "", "failed": "", "skipped": "", "pending": " zero"}
    assert re.search(r'<span class="chip zero">0 pending</span>', page)
    assert "upstream &#39;bad&#39; failed" in page and "raise ValueError" in page  # escaped, with traceback


def test_plots_over_the_budget_are_linked_relative_to_the_report(study, tmp_path):
    rep = collect(str(study))
    page = render(rep, out_dir=str(tmp_path), max_inline_bytes=0)
    assert "data:image/png" not in page
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert len(srcs) == 4 and "4 plot(s) over the report's size budget are linked" in page
    for src in srcs:
        assert (tmp_path / src).resolve().is_file()


def test_console_errors_are_detected(tmp_path):
    """The Chromium check itself: a page with a script error and a broken image is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!doctype html><html><body><h1>x</h1><img src='missing.png'>"
                   "<script>console.error('broken'); nosuchfunction();</script></body></html>")
    page = load(bad, tmp_path)
    assert any("broken" in m for m in page.console) and any("nosuchfunction" in m for m in page.console)
    assert page.images == [(0, 0)]


def test_report_of_missing_study_is_one_line_exit_2(tmp_path):
    proc = run_cli("report", tmp_path / "nope", "--out", tmp_path / "r.html")
    assert proc.returncode == 2 and "no study here" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "r.html").exists()
