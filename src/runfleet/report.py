"""A static, self-contained HTML report of a study: counts, a timeline, durations, failures.

It reads only the store (like ``status``), so it works on a study that is still running, and it
embeds no script or external file: the HTML can be mailed or put next to the results.
"""
from __future__ import annotations

import html
from datetime import datetime

from .errors import InputError
from .ledger import Ledger
from .status import study_status
from .store import Store, store_errors

COLORS = {"done": "#2e7d32", "failed": "#c62828", "skipped": "#9e9e9e", "pending": "#f9a825"}
MAX_TIMELINE_ROWS = 400


def _ts(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def collect(study_url: str, storage_options: dict | None = None) -> dict:
    """Rows of ``study_status`` plus start/finish times (epoch s) and failure details."""
    rows = study_status(study_url, storage_options)
    store_url, name = study_url.rstrip("/").rsplit("/", 1)
    with store_errors(store_url):
        records, _ = Ledger(Store(store_url, storage_options), name).load()
    for row in rows:
        rec = records.get(row["name"])
        data = rec.data if rec is not None and rec.key == row.get("key") else {}
        row["t_end"] = _ts(data.get("finished"))
        row["t_start"] = _ts(data.get("started"))
        if row["t_start"] is None and row["t_end"] is not None and row.get("duration_s"):
            row["t_start"] = row["t_end"] - row["duration_s"]
        row["fn"] = data.get("fn")
        row["traceback"] = data.get("traceback") or ""
        row["message"] = data.get("message") or data.get("reason") or ""
        row["host"] = data.get("host")
    return {"name": name, "url": study_url, "rows": rows}


def render(report: dict) -> str:
    """The HTML page (a string)."""
    rows = report["rows"]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    timed = [r for r in rows if r["t_start"] is not None and r["t_end"] is not None]
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>runfleet report: {esc(report['name'])}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #ddd;"
        "text-align:left}th{background:#f4f4f4}.n{text-align:right}pre{background:#fafafa;padding:8px;"
        "overflow-x:auto;font-size:12px}.chip{display:inline-block;padding:2px 10px;border-radius:10px;"
        "color:#fff;margin-right:6px}</style></head><body>",
        f"<h1>Study <code>{esc(report['name'])}</code></h1><p>{esc(report['url'])}</p><p>",
    ]
    for status in ("done", "failed", "skipped", "pending"):
        parts.append(f"<span class='chip' style='background:{COLORS[status]}'>{counts.get(status, 0)} {status}</span>")
    parts.append("</p>")
    if timed:
        t0 = min(r["t_start"] for r in timed)
        t1 = max(r["t_end"] for r in timed)
        span = max(t1 - t0, 1e-6)
        busy = sum(r["t_end"] - r["t_start"] for r in timed)
        parts.append(f"<h2>Timeline</h2><p>wall time {span:.1f} s; sum of run durations {busy:.1f} s "
                     f"(parallelism {busy / span:.2f})</p>")
        shown = sorted(timed, key=lambda r: r["t_start"])[:MAX_TIMELINE_ROWS]
        width, row_h, label_w = 900, 14, 180
        height = row_h * len(shown) + 20
        svg = [f"<svg width='{width + label_w}' height='{height}' xmlns='http://www.w3.org/2000/svg' "
               "font-size='10' font-family='monospace'>"]
        for i, r in enumerate(shown):
            x = label_w + (r["t_start"] - t0) / span * width
            w = max((r["t_end"] - r["t_start"]) / span * width, 1.0)
            y = i * row_h + 2
            svg.append(f"<text x='0' y='{y + 10}'>{esc(r['name'][:28])}</text>"
                       f"<rect x='{x:.1f}' y='{y}' width='{w:.1f}' height='{row_h - 3}' "
                       f"fill='{COLORS.get(r['status'], '#555')}'><title>{esc(r['name'])}: "
                       f"{r['t_end'] - r['t_start']:.3f} s</title></rect>")
        svg.append(f"<text x='{label_w}' y='{height - 4}'>0 s</text>"
                   f"<text x='{label_w + width - 40}' y='{height - 4}'>{span:.1f} s</text></svg>")
        parts.append("".join(svg))
        if len(timed) > MAX_TIMELINE_ROWS:
            parts.append(f"<p>first {MAX_TIMELINE_ROWS} of {len(timed)} runs shown</p>")
    by_fn: dict[str, list[float]] = {}
    for r in rows:
        if r["status"] == "done" and r.get("duration_s") is not None:
            by_fn.setdefault(r.get("fn") or "?", []).append(r["duration_s"])
    if by_fn:
        parts.append("<h2>Durations by function</h2><table><tr><th>fn</th><th class='n'>runs</th>"
                     "<th class='n'>mean s</th><th class='n'>max s</th><th class='n'>total s</th></tr>")
        for fn, ds in sorted(by_fn.items()):
            parts.append(f"<tr><td>{esc(fn)}</td><td class='n'>{len(ds)}</td><td class='n'>{sum(ds) / len(ds):.3f}"
                         f"</td><td class='n'>{max(ds):.3f}</td><td class='n'>{sum(ds):.1f}</td></tr>")
        parts.append("</table>")
    bad = [r for r in rows if r["status"] in ("failed", "skipped")]
    if bad:
        parts.append("<h2>Failures and skips</h2>")
        for r in bad:
            parts.append(f"<h3 style='color:{COLORS[r['status']]}'>{esc(r['name'])}: {r['status']} "
                         f"{esc(r.get('error_class') or '')}</h3><p>{esc(r['message'][:500])}"
                         f"{' (attempts: ' + str(r['attempts']) + ')' if r['status'] == 'failed' else ''}</p>")
            if r["traceback"]:
                parts.append(f"<pre>{esc(r['traceback'][-4000:])}</pre>")
    parts.append("<h2>Runs</h2><table><tr><th>run</th><th>status</th><th class='n'>attempts</th>"
                 "<th class='n'>duration s</th><th>error</th><th>host</th></tr>")
    for r in rows:
        dur = "" if r.get("duration_s") is None else f"{r['duration_s']:.3f}"
        parts.append(f"<tr><td>{esc(r['name'])}</td><td style='color:{COLORS.get(r['status'], '#000')}'>"
                     f"{r['status']}</td><td class='n'>{r['attempts']}</td><td class='n'>{dur}</td>"
                     f"<td>{esc(r.get('error_class') or '')}</td><td>{esc(r.get('host') or '')}</td></tr>")
    parts.append("</table></body></html>")
    return "".join(parts)


def write_report(study_url: str, out_path: str, storage_options: dict | None = None) -> str:
    """Write the HTML report of ``<store>/<study>`` to ``out_path`` (local path); returns it."""
    page = render(collect(study_url, storage_options))
    try:
        with open(out_path, "w", encoding="utf-8") as f:
            f.write(page)
    except OSError as e:
        raise InputError(f"--out {out_path}: cannot write the report ({e.strerror or e})") from None
    return out_path
