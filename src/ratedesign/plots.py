"""PNG plots of rate-design runs (matplotlib, Agg backend), embedded by ``runfleet report``.

Per precalc run, written by the run function on the worker under ``<run dir>/plots/``:

- ``bat_by_group.png``: the distribution of BAT_percustomer ($/customer-year) of HP and non-HP
  customers (and of each subclass of a subclass run), weighted by customers, with weighted means;
- ``bills_before_after.png``: each customer's annual electric bill ($/year) at the input tariff's
  rates (before calibration) against the calibrated rates (after), HP and non-HP, and the weighted
  mean bill of each group before and after;
- ``rate_heatmap.png``: the calibrated tariff's rate ($/kWh, first tier) by month and hour of day,
  weekdays (and weekends when they differ), one panel per tariff.

Per study, written by the ``ratedesign`` command after the study under ``<study>/plots/``:

- ``rate_levels.png``: every scenario run's rates by period, in chain order.

Only the run's own small frames are used (one row per building); nothing big is gathered.
"""

from __future__ import annotations

import io
import logging

import dask.config
import numpy as np

from ratedesign.calendar import MONTH_NAMES
from ratedesign.fsio import join, write_bytes

#: ``ratedesign.run-plots`` (Dask configuration, read on the workers): False skips the plots of each
#: precalc run (``DASK_RATEDESIGN__RUN_PLOTS=false``); about a second of matplotlib per run
dask.config.update_defaults({"ratedesign": {"run-plots": True}})

log = logging.getLogger("ratedesign")
HP_COLORS = {"HP": "#d95f02", "non-HP": "#1b9e77"}
DPI = 100


def _figure(**kw):
    """A matplotlib Figure on the Agg canvas, without pyplot's global state (thread-safe on workers)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kw)
    FigureCanvasAgg(fig)
    return fig


def _cmap(name: str):
    import matplotlib

    return matplotlib.colormaps[name]


def _save(fig, path: str, storage_options: dict | None) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    write_bytes(path, buf.getvalue(), storage_options)
    return path


def _hp_mask(meta) -> np.ndarray | None:
    col = "postprocess_group.has_hp"
    if col not in meta.columns:
        return None
    return meta[col].astype(str).str.lower().isin(["true", "1", "yes"]).to_numpy()


def _groups(res) -> list[tuple[str, np.ndarray]]:
    """(label, mask) of HP / non-HP customers, then of each subclass value when the run has subclasses."""
    meta = res.customer_metadata
    out = []
    hp = _hp_mask(meta)
    if hp is not None:
        out += [("HP", hp), ("non-HP", ~hp)]
    col = ((res.inputs.cfg.subclass_config or {}).get("group_col"))
    if col:
        name = col if col in meta.columns else f"postprocess_group.{col}"
        if name in meta.columns and name != "postprocess_group.has_hp":
            vals = meta[name].astype(str).to_numpy()
            out += [(f"{col}={v}", vals == v) for v in sorted(set(vals))]
    if not out:
        out = [("all", np.ones(len(meta), dtype=bool))]
    return [(label, m) for label, m in out if m.any()]


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    return float(w @ x / w.sum()) if w.sum() > 0 else float("nan")


def plot_bat_by_group(res, path: str, storage_options: dict | None = None, column: str = "BAT_percustomer") -> str:
    """Weighted histogram of a BAT column per customer group (HP and non-HP).

    Parameters
    ----------
    res : ratedesign.pipeline.RunResult
        A finished run.
    path : str
        PNG to write (local path or URL).
    storage_options : dict, optional
        fsspec options for URLs.
    column : str, default "BAT_percustomer"
        The BAT column, $/customer-year; bars are weighted by customers.

    Returns
    -------
    str
        ``path``.
    """
    bat = res.bat
    v, w = bat[column].to_numpy(dtype=float), bat["weight"].to_numpy(dtype=float)
    groups = _groups(res)
    fig = _figure(figsize=(7, 4.2))
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.13, top=0.86)
    ax = fig.subplots()
    lo, hi = np.percentile(v, [0.5, 99.5]) if len(v) else (0.0, 1.0)
    bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 41)
    cmap = _cmap("tab10")
    for k, (label, m) in enumerate(groups):
        color = HP_COLORS.get(label, cmap(k % 10))
        share = w[m] / w[m].sum()
        mean = _wmean(v[m], w[m])
        shown = 0.0 if abs(mean) < 0.5 else mean
        ax.hist(np.clip(v[m], bins[0], bins[-1]), bins=bins, weights=share, histtype="stepfilled", alpha=0.35,
                color=color, label=f"{label}: weighted mean {shown:,.0f} $/yr ({w[m].sum():,.0f} customers)")
        ax.axvline(mean, color=color, lw=2)
    ax.axvline(0, color="k", lw=0.8, ls=":")
    ax.set_xlabel(f"{column} ($/customer-year; + pays a subsidy, - receives one)")
    ax.set_ylabel("share of the group's customers")
    ax.set_title(f"{res.inputs.cfg.run_name}\nBill Alignment Test by group (weighted; tails beyond the "
                 f"0.5-99.5th percentiles in the end bins)", fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    return _save(fig, path, storage_options)


def plot_bills_before_after(res, path: str, storage_options: dict | None = None) -> str | None:
    """Annual electric bills at the input rates vs the calibrated rates, HP and non-HP.

    Parameters
    ----------
    res : ratedesign.pipeline.RunResult
        A finished precalc run.
    path : str
        PNG to write (local path or URL).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    str or None
        ``path``, or None when the run has no bills before calibration (a default run).
    """
    before = getattr(res, "elec_bills_input", None)
    if before is None:
        return None
    after = res.elec_bills
    b0, b1 = before["Annual"].to_numpy(dtype=float), after["Annual"].to_numpy(dtype=float)
    w = after["weight"].to_numpy(dtype=float)
    hp = _hp_mask(res.customer_metadata)
    groups = [("HP", hp), ("non-HP", ~hp)] if hp is not None else [("all", np.ones(len(b0), dtype=bool))]
    groups = [(g, m) for g, m in groups if m.any()]
    fig = _figure(figsize=(10, 4.6))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.9, wspace=0.3)
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    top = float(np.percentile(np.concatenate([b0, b1]), 99.5)) if len(b0) else 1.0
    for label, m in groups:
        ax.scatter(b0[m], b1[m], s=8, alpha=0.5, color=HP_COLORS.get(label, "#7570b3"), label=label, lw=0)
    ax.plot([0, top], [0, top], color="k", lw=0.8, ls=":", label="no change")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("annual electric bill at the input rates, $/year")
    ax.set_ylabel("at the calibrated rates, $/year")
    ax.legend(fontsize=8, loc="upper left")
    x = np.arange(len(groups))
    m0 = [_wmean(b0[m], w[m]) for _, m in groups]
    m1 = [_wmean(b1[m], w[m]) for _, m in groups]
    bx.bar(x - 0.2, m0, 0.4, color="#bbbbbb", label="before (input rates)")
    bx.bar(x + 0.2, m1, 0.4, color=[HP_COLORS.get(g, "#7570b3") for g, _ in groups], label="after (calibrated)")
    for i in range(len(groups)):
        bx.text(x[i] + 0.2, m1[i], f"{m1[i] - m0[i]:+,.0f}", ha="center", va="bottom", fontsize=8)
    bx.set_xticks(x, [g for g, _ in groups])
    bx.set_ylabel("weighted mean annual bill, $/year")
    bx.set_ylim(0, max(m0 + m1) * 1.18)
    bx.legend(fontsize=8, loc="upper center", ncol=2)
    fig.suptitle(f"{res.inputs.cfg.run_name}: electric bills before and after calibration", fontsize=10)
    return _save(fig, path, storage_options)


def plot_rate_heatmap(tariffs: dict, path: str, storage_options: dict | None = None, title: str = "") -> str:
    """Rate ($/kWh, first tier) by month (rows) and hour of day (columns) of each tariff.

    One panel per tariff (weekdays and weekends apart when they differ), one colour scale for all
    panels.

    Parameters
    ----------
    tariffs : dict
        ``{key: Tariff}``.
    path : str
        PNG to write (local path or URL).
    storage_options : dict, optional
        fsspec options for URLs.
    title : str, default ""
        Figure title.

    Returns
    -------
    str
        ``path``.
    """
    panels = []
    for key, t in tariffs.items():
        price = np.asarray(t.price, dtype=float)[:, 0]
        wk = price[np.asarray(t.weekday_schedule, dtype=int)]
        we = price[np.asarray(t.weekend_schedule, dtype=int)]
        same = np.array_equal(wk, we)
        panels.append((key if same else f"{key} (weekdays)", wk))
        if not same:
            panels.append((f"{key} (weekends)", we))
    ncols = 1 if len(panels) == 1 else 2
    nrows = -(-len(panels) // ncols)
    height = 3.0 * nrows + 0.6
    fig = _figure(figsize=(6.2 * ncols + 1.0, height))
    fig.subplots_adjust(left=0.06, right=0.88, bottom=0.5 / height, top=1 - 0.75 / height, hspace=0.55, wspace=0.15)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    vmin = min(float(g.min()) for _, g in panels)
    vmax = max(float(g.max()) for _, g in panels)
    im = None
    for ax, (label, grid) in zip(axes.ravel(), panels):
        lo, hi = float(grid.min()), float(grid.max())
        im = ax.imshow(grid, aspect="auto", cmap="viridis", interpolation="nearest", vmin=vmin,
                       vmax=vmax if vmax > vmin else vmin + 1e-6)
        ax.set_yticks(range(12), MONTH_NAMES, fontsize=7)
        ax.set_xticks(range(0, 24, 2), [str(h) for h in range(0, 24, 2)], fontsize=7)
        ax.set_xlabel("hour of day (hour beginning)", fontsize=8)
        ax.set_title(f"{label}\n{lo:.4f}" + (f" to {hi:.4f}" if hi > lo else "") + " $/kWh", fontsize=8)
    for ax in axes.ravel()[len(panels):]:
        ax.set_axis_off()
    fig.colorbar(im, cax=fig.add_axes((0.91, 0.5 / height, 0.015, 1 - 1.25 / height)), label="$/kWh (first tier)")
    if title:
        fig.suptitle(f"{title} (one colour scale for all panels)", fontsize=10)
    return _save(fig, path, storage_options)


def run_plots_enabled() -> bool:
    """Whether precalc runs write their plots (``ratedesign.run-plots`` in Dask's configuration).

    Returns
    -------
    bool
        False when the key is false (``false``, ``0``, ``no`` or ``off`` as a string).
    """
    value = dask.config.get("ratedesign.run-plots", default=True)
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def write_run_plots(res, out: str, storage_options: dict | None = None) -> list[str]:
    """The plots of one precalc run under ``<out>/plots/`` (none for other runs, nor when
    ``ratedesign.run-plots`` is false).

    Parameters
    ----------
    res : ratedesign.pipeline.RunResult
        A finished run.
    out : str
        The run's output directory (local or fsspec URL).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    list of str
        Paths written, relative to ``out``.
    """
    if res.inputs.cfg.run_type != "precalc" or not run_plots_enabled():
        return []
    try:
        _figure()
    except ImportError:
        log.warning("ratedesign: matplotlib is not installed on this worker; no plots for %s", res.inputs.cfg.run_name)
        return []
    written = [plot_bat_by_group(res, join(out, "plots/bat_by_group.png"), storage_options)]
    if plot_bills_before_after(res, join(out, "plots/bills_before_after.png"), storage_options):
        written.append(join(out, "plots/bills_before_after.png"))
    written.append(plot_rate_heatmap(res.calibrated, join(out, "plots/rate_heatmap.png"), storage_options,
                                     title=f"{res.inputs.cfg.run_name}: calibrated rates"))
    return [p[len(str(out).rstrip("/")) + 1:] for p in written]


def plot_rate_levels(rows: list[dict], path: str, storage_options: dict | None = None, title: str = "") -> str | None:
    """Rates ($/kWh) of every scenario run by period, in chain order.

    Parameters
    ----------
    rows : list of dict
        One row per run, from ``tables.table_rows``.
    path : str
        PNG to write (local path or URL).
    storage_options : dict, optional
        fsspec options for URLs.
    title : str, default ""
        Figure title.

    Returns
    -------
    str or None
        ``path``, or None when no run returned rates.
    """
    runs = [r for r in rows if r["tariffs"]]
    if not runs:
        return None
    cats: dict[str, int] = {}
    width = max(7.0, 0.55 * len(runs) + 3)
    fig = _figure(figsize=(width, 4.8))
    fig.subplots_adjust(left=0.7 / width, right=1 - 2.0 / width, bottom=0.24, top=0.92)
    ax = fig.subplots()
    cmap = _cmap("tab10")
    markers = "osD^v<>p"
    handles = {}
    for x, r in enumerate(runs):
        for k, (key, periods) in enumerate(r["tariffs"].items()):
            for p in periods:
                cat = " ".join(s for s in (p["season"], p["time"]) if s) or p["label"]
                c = cats.setdefault(cat, len(cats))
                offset = (k - (len(r["tariffs"]) - 1) / 2) * 0.18
                h = ax.scatter(x + offset, p["rate"], color=cmap(c % 10), marker=markers[k % len(markers)], s=36,
                               zorder=3)
                handles.setdefault(cat, h)
    ax.set_xticks(range(len(runs)), [f"{r['run']} {r['type']}" for r in runs], rotation=90, fontsize=7)
    ax.set_ylabel("rate, $/kWh")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(list(handles.values()), list(handles), fontsize=7, title="period", title_fontsize=8,
              loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title or "rates by period across the chain (marker: the run's 1st, 2nd, 3rd tariff = o, s, D)",
                 fontsize=10)
    return _save(fig, path, storage_options)


__all__ = ["plot_bat_by_group", "run_plots_enabled", "plot_bills_before_after", "plot_rate_heatmap", "plot_rate_levels",
           "write_run_plots"]
