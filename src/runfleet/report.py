"""A static, self-contained HTML report of a study: counts, a timeline, durations, failures, plots.

It reads only the store (like ``status``), so it works on a study that is still running. The page
comes from the Jinja2 template ``templates/report.html.j2`` and has no script and no external
file: PNG plots that runs wrote under their directory (``runs/<name>/**/*.png``) and study-level
plots (any other ``*.png`` under the study, e.g. ``<study>/plots/``) are embedded as base64
``data:`` URIs up to a size budget, so the HTML can be mailed or opened alone. Plots beyond the
budget are linked (a path relative to the report for a local store, else the store URL).
"""
from __future__ import annotations

import base64
import os
from datetime import datetime

import jinja2

from .accounting import read_costs
from .errors import InputError
from .ledger import Ledger
from .status import load_study_columns, status_rows
from .store import Store, store_errors

COLORS = {"done": "#2e7d32", "failed": "#c62828", "skipped": "#9e9e9e", "pending": "#f9a825"}
MAX_TIMELINE_ROWS = 400
#: plots embedded in one report, in bytes of PNG (base64 adds a third); the rest are linked
MAX_INLINE_BYTES = 24 * 1024 * 1024
#: one plot larger than this is always linked, in bytes
MAX_IMAGE_BYTES = 4 * 1024 * 1024
_CHAR_PX = 6.7  # width of one character of the 11 px monospace timeline labels, px

_env = jinja2.Environment(loader=jinja2.PackageLoader("runfleet", "templates"),
                          autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True,
                          lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def _ts(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def read_study_records(study_url: str, storage_options: dict | None = None):
    """What the report reads from the store, in one place.

    Parameters
    ----------
    study_url : str
        ``<store>/<study name>`` (local path or fsspec URL).
    storage_options : dict, optional
        fsspec options of the store (credentials; never shown).

    Returns
    -------
    rows : list of dict
        ``runfleet.study_status`` rows, one per run of the study record.
    records : dict
        Newest record of each run (``Ledger.load``), by run name.
    store : Store
        The store, to list and read plot files.
    root : str
        The study's directory in the store.

    Raises
    ------
    InputError
        No study at ``study_url``.
    """
    _, cols, records = load_study_columns(study_url, storage_options)  # one read of the store
    rows = status_rows(cols, records)
    store_url, name = study_url.rstrip("/").rsplit("/", 1)
    store = Store(store_url, storage_options)
    return rows, records, store, Ledger(store, name).root


def find_plots(store: Store, root: str, run_names) -> tuple[list[str], dict[str, list[str]]]:
    """PNG files of a study: study-level ones, and per run (``runs/<name>/...``), sorted.

    Parameters
    ----------
    store : Store
    root : str
        The study's directory in the store.
    run_names : iterable of str
        Runs of the study record; PNGs of other run directories are ignored.

    Returns
    -------
    study : list of str
        Paths of PNGs under ``root`` but not under ``root/runs/`` or ``root/_packs/``.
    by_run : dict of str to list of str
        Paths of PNGs under each run's directory.
    """
    names = set(run_names)
    study: list[str] = []
    by_run: dict[str, list[str]] = {}
    runs_prefix = f"{root}/runs/"
    for path in sorted(store.find(root)):
        if not path.lower().endswith(".png"):
            continue
        if path.startswith(runs_prefix):
            run = path[len(runs_prefix):].split("/", 1)[0]
            if run in names:
                by_run.setdefault(run, []).append(path)
        elif not path.startswith(f"{root}/_packs/"):
            study.append(path)
    return study, by_run


def collect(study_url: str, storage_options: dict | None = None) -> dict:
    """Rows of ``study_status`` plus start/finish times (epoch s), failure details and plot paths.

    Parameters
    ----------
    study_url : str
        ``<store>/<study name>``.
    storage_options : dict, optional
        fsspec options of the store.

    Returns
    -------
    dict
        ``name``, ``url``, ``rows`` (one dict per run), ``root``, ``store``, ``plots``
        (``(study paths, {run: paths})``) and ``costs`` (the invocations' worker-seconds paid,
        busy and idle: :func:`runfleet.accounting.read_costs`).
    """
    rows, records, store, root = read_study_records(study_url, storage_options)
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
    name = study_url.rstrip("/").rsplit("/", 1)[1]
    with store_errors(store.url):
        costs = read_costs(store, root)
    return {"name": name, "url": study_url, "rows": rows, "root": root, "store": store,
            "plots": find_plots(store, root, [r["name"] for r in rows]), "costs": costs}


class _Images:
    """Turns plot paths into ``src`` values: data URIs within the budget, links beyond it."""

    def __init__(self, store: Store | None, root: str, out_dir: str | None, budget: int):
        self.store, self.root, self.out_dir, self.left, self.linked = store, root, out_dir, budget, 0

    def __call__(self, path: str) -> dict:
        caption = path[len(self.root) + 1:] if path.startswith(self.root + "/") else path
        data = self.store.read_bytes(path) if self.store is not None else None
        if data is not None and len(data) <= min(self.left, MAX_IMAGE_BYTES):
            self.left -= len(data)
            return {"src": "data:image/png;base64," + base64.b64encode(data).decode("ascii"), "caption": caption}
        self.linked += 1
        if self.store is not None and self.store.is_local and self.out_dir:
            src = os.path.relpath(path, self.out_dir).replace(os.sep, "/")
        else:
            src = path
        return {"src": src, "caption": caption}


def _timeline(rows: list[dict]) -> dict | None:
    timed = [r for r in rows if r["t_start"] is not None and r["t_end"] is not None]
    if not timed:
        return None
    t0 = min(r["t_start"] for r in timed)
    t1 = max(r["t_end"] for r in timed)
    span = max(t1 - t0, 1e-6)
    shown = sorted(timed, key=lambda r: r["t_start"])[:MAX_TIMELINE_ROWS]
    # the full run name on every row: the label column is as wide as the longest name
    label_w = int(max(len(r["name"]) for r in shown) * _CHAR_PX) + 12
    plot_w, row_h = 900, 14
    bars = []
    for i, r in enumerate(shown):
        bars.append({"name": r["name"], "y": i * row_h + 2, "x": label_w + (r["t_start"] - t0) / span * plot_w,
                     "w": max((r["t_end"] - r["t_start"]) / span * plot_w, 1.0), "duration": r["t_end"] - r["t_start"],
                     "color": COLORS.get(r["status"], "#555")})
    return {"span": span, "busy": sum(r["t_end"] - r["t_start"] for r in timed), "bars": bars,
            "hidden": len(timed) - len(shown), "label_w": label_w, "width": label_w + plot_w,
            "height": row_h * len(shown) + 20, "row_h": row_h}


def render(report: dict, out_dir: str | None = None, max_inline_bytes: int = MAX_INLINE_BYTES) -> str:
    """The HTML page of a report.

    Parameters
    ----------
    report : dict
        From ``collect``.
    out_dir : str, optional
        Local directory the page will be written to (for links to plots over the budget).
    max_inline_bytes : int
        PNG bytes embedded in the page at most; later plots are linked instead.

    Returns
    -------
    str
        The HTML page.
    """
    rows = report["rows"]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    by_fn: dict[str, list[float]] = {}
    for r in rows:
        if r["status"] == "done" and r.get("duration_s") is not None:
            by_fn.setdefault(r.get("fn") or "?", []).append(r["duration_s"])
    study_paths, run_paths = report.get("plots") or ([], {})
    images = _Images(report.get("store"), report.get("root", ""), out_dir, max_inline_bytes)
    study_images = [images(p) for p in study_paths]
    order = [r["name"] for r in rows]
    run_images = [(n, [images(p) for p in run_paths[n]]) for n in order if n in run_paths]
    return _env.get_template("report.html.j2").render(
        name=report["name"], url=report["url"], rows=rows, colors=COLORS,
        chips=[{"status": s, "count": counts.get(s, 0), "color": COLORS[s]}
               for s in ("done", "failed", "skipped", "pending")],
        timeline=_timeline(rows),
        by_fn=[{"fn": fn, "n": len(ds), "mean": sum(ds) / len(ds), "max": max(ds), "total": sum(ds)}
               for fn, ds in sorted(by_fn.items())],
        bad=[r for r in rows if r["status"] in ("failed", "skipped")],
        study_images=study_images, run_images=run_images, images_linked=images.linked,
        cost=_cost(report.get("costs") or []))


def _cost(costs: list[dict]) -> dict | None:
    """Rows of the adaptive clusters' invocations and their total (``None``: none adaptive)."""
    rows = []
    for c in costs:
        if not c.get("adaptive"):
            continue
        paid, busy = float(c.get("paid_s") or 0.0), float(c.get("busy_s") or 0.0)
        rows.append({"started": datetime.fromtimestamp(c.get("started") or 0).isoformat(timespec="seconds"),
                     "paid": paid, "busy": busy, "idle": paid - busy, "fraction": busy / paid if paid > 0 else None,
                     "workers": c.get("workers"), "peak": c.get("peak_workers"), "to_zero": c.get("to_zero_s"),
                     "at_end": c.get("workers_at_end") or 0})
    if not rows:
        return None
    paid, busy = sum(r["paid"] for r in rows), sum(r["busy"] for r in rows)
    return {"rows": rows, "paid": paid, "busy": busy, "idle": paid - busy,
            "fraction": busy / paid if paid > 0 else None}


def write_report(study_url: str, out_path: str, storage_options: dict | None = None,
                 max_inline_bytes: int = MAX_INLINE_BYTES) -> str:
    """Write the HTML report of ``<store>/<study>`` to a local file.

    Parameters
    ----------
    study_url : str
        ``<store>/<study name>``.
    out_path : str
        Local HTML file to write.
    storage_options : dict, optional
        fsspec options of the store.
    max_inline_bytes : int
        PNG bytes embedded at most (see ``render``).

    Returns
    -------
    str
        ``out_path``.

    Raises
    ------
    InputError
        No study at ``study_url``, or ``out_path`` cannot be written.
    """
    out_dir = os.path.dirname(os.path.abspath(out_path))
    page = render(collect(study_url, storage_options), out_dir=out_dir, max_inline_bytes=max_inline_bytes)
    try:
        with open(out_path, "w", encoding="utf-8") as f:
            f.write(page)
    except OSError as e:
        raise InputError(f"--out {out_path}: cannot write the report ({e.strerror or e})") from None
    return out_path
