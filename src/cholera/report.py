"""The text summary of a calibration that ``cholera summary`` and ``cholera calibrate`` print.

It is written to be read by an epidemiologist and to be honest about what the numbers can bear:

- outcome counts, and the failed simulations grouped by error class with one example message
  each (the simulation it came from, so its ``_error.json`` can be opened);
- the effective sample size (ESS) next to the posterior. Below
  :data:`cholera.posterior.ESS_MIN` a warning replaces the quantile table, and only the
  best-fitting simulation's parameters are shown (labelled as such);
- the posterior predictive check, with the number of distinct simulations it used, or why it
  could not be made;
- numbers rounded to 4 significant digits (log-likelihoods to 0.1).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import pandas as pd

from cholera.posterior import ESS_MIN

__all__ = ["fmt", "format_table", "render_summary", "MESSAGE_CHARS"]

#: longest example error message shown (characters; the full one is in the run's _error.json)
MESSAGE_CHARS = 160

_POSTERIOR_COLUMNS = ["parameter", "location", "prior_mean", "mean", "sd", "q2.5", "q50", "q97.5", "best"]
_BEST_COLUMNS = ["parameter", "location", "prior_mean", "best"]


def fmt(value: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits (``n/a`` for ``None`` and NaN).

    Parameters
    ----------
    value : float or int or None
        The number.
    digits : int, optional
        Significant digits.

    Returns
    -------
    str
        e.g. ``-751.3`` for ``-751.2686691165409``, ``6.6e-06``, ``n/a``.
    """
    if value is None:
        return "n/a"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    return f"{x:.{digits}g}"


def format_table(table: pd.DataFrame, digits: int = 4) -> str:
    """A table as aligned text, floats with ``digits`` significant digits, no index.

    Parameters
    ----------
    table : pandas.DataFrame
        The table.
    digits : int, optional
        Significant digits of floats.

    Returns
    -------
    str
    """
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 500):
        return table.to_string(index=False, float_format=lambda v: fmt(v, digits))


def _first_line(message: str | None) -> str:
    text = (message or "").strip().splitlines()
    line = text[-1].strip() if text else ""
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 3] + "..."


def _failure_lines(meta: Mapping[str, Any]) -> list[str]:
    failures = meta.get("failures")
    if failures is None:  # calibrations written before failures were recorded with examples
        failures = {cls: {"count": n} for cls, n in (meta.get("errors") or {}).items()}
    if not failures:
        return []
    lines = ["failed simulations by error class (count, one example):"]
    width = max(len(c) for c in failures)
    for cls, info in sorted(failures.items(), key=lambda kv: -int(kv[1].get("count", 0))):
        example = (f"e.g. {info['sim']}: {_first_line(info.get('message'))}" if info.get("sim")
                   else "(no example recorded)")
        lines.append(f"  {cls:<{width}}  {int(info.get('count', 0)):>5}  {example}")
    lines.append("  full messages and tracebacks: runs/<sim>/_error.json in the study directory")
    return lines


def _posterior_lines(table: pd.DataFrame, ess: float, n_done: int, best_sim: str | None) -> list[str]:
    if table.empty:
        return ["no simulation succeeded: no posterior"]
    if ess < ESS_MIN:
        best = table[[c for c in _BEST_COLUMNS if c in table.columns]]
        return [
            f"WARNING: effective sample size {fmt(ess, 3)} is below {fmt(ESS_MIN)}: the posterior rests on "
            f"about {max(1, round(ess))} of {n_done} simulations, so its quantiles are not meaningful and are not shown.",
            "  More simulations, narrower priors or a shorter simulated period raise the ESS.",
            f"best-fitting simulation ({best_sim or 'n/a'}), not a posterior estimate:",
            format_table(best),
        ]
    cols = [c for c in _POSTERIOR_COLUMNS if c in table.columns]
    return [f"posterior (importance-weighted, ESS {fmt(ess, 3)} of {n_done} simulations):", format_table(table[cols])]


def _ppc_lines(meta: Mapping[str, Any], ppc: pd.DataFrame | None) -> list[str]:
    info = meta.get("ppc") or {}
    requested = info.get("requested", meta.get("settings", {}).get("n_ppc", 0))
    if not requested:
        return ["posterior predictive check: not requested (--ppc 0 or n_ppc = 0)"]
    if info.get("error"):
        return [f"posterior predictive check: could not be made: {info['error']}"]
    sims = info.get("sims")
    if sims is not None and len(sims) < requested:
        head = (f"posterior predictive check: {requested} distinct simulations requested, only {len(sims)} "
                f"{'carries' if len(sims) == 1 else 'carry'} weight ({', '.join(sims)}); it shows "
                + ("that simulation's stochastic spread, not the posterior's" if len(sims) == 1
                   else "those simulations only"))
    elif sims is not None:
        head = f"posterior predictive check ({len(sims)} distinct simulations, reported cases):"
    else:
        head = "posterior predictive check (reported cases):"
    if not isinstance(ppc, pd.DataFrame) or ppc.empty:
        return [head, "  (no predictive runs finished)"]
    return [head, format_table(ppc)]


def render_summary(meta: Mapping[str, Any], sims: pd.DataFrame, table: pd.DataFrame,
                   ppc: pd.DataFrame | None, *, where: str) -> str:
    """The summary text of one calibration.

    Parameters
    ----------
    meta : mapping
        Content of ``calibration.json`` (settings, counts, failures, ppc).
    sims : pandas.DataFrame
        Committed simulation rows (``sim`` and ``ll`` columns at least).
    table : pandas.DataFrame
        :func:`cholera.posterior.posterior_table` of ``sims`` (with its ``ess`` column).
    ppc : pandas.DataFrame or None
        The predictive check table (``ppc.parquet``), if any.
    where : str
        URL of the calibration's results directory.

    Returns
    -------
    str
        Lines separated by newlines, no trailing newline.
    """
    settings = meta.get("settings", {})
    counts = meta.get("counts", {})
    n_done = int(len(sims))
    n_failed = int(counts.get("failed", 0))
    ll = sims["ll"].astype(float) if n_done else pd.Series(dtype=float)
    best_sim = str(sims.loc[ll.idxmax(), "sim"]) if n_done and ll.notna().any() else None
    ess = float(table["ess"].iloc[0]) if not table.empty and "ess" in table.columns else float(meta.get("ess") or 0.0)
    lines = [
        f"calibration {settings.get('name', '')}: locations {','.join(settings.get('locations', []))}, "
        f"days {settings.get('days') or 'all'}, seed {settings.get('seed')}, "
        f"stochastic iterations per simulation {settings.get('n_iter')}",
        f"stopped by {meta.get('stop_reason')} after {meta.get('sims_submitted', n_done + n_failed)} simulations: "
        f"{n_done} done, {n_failed} failed",
    ]
    lines += _failure_lines(meta)
    if n_done:
        lines.append(f"effective sample size {fmt(ess, 3)} (threshold {fmt(ESS_MIN)}); best log-likelihood "
                     f"{ll.max():.1f} ({best_sim})")
    lines += _posterior_lines(table, ess, n_done, best_sim)
    if n_done:
        lines += _ppc_lines(meta, ppc)
    lines.append(f"files: {where}/")
    return "\n".join(lines)
