"""What ``ratedesign`` prints about runs: tariff periods named by season and time of day, the per-run
table (adapted to the terminal width, wrapped, never cut), the same table as CSV or JSON, the
dry-run plan with the inputs that changed, and the one-run summary of ``ratedesign run``.

Period names come from a tariff's own 12x24 weekday/weekend schedules (URDB
``energyweekdayschedule``): the months where a period applies give its season (``summer`` when they
lie in Apr-Sep or include July but not January, ``winter`` for the reverse, ``all year`` for all
twelve, else the month range; two seasons of one name get their months, ``winter (Oct-Dec)``), and periods that share the same months are ranked by price into ``peak`` /
``mid-peak`` / ``off-peak`` with the hours they cover on weekdays (``16-20h`` = hour-beginning
16:00 to 19:00). Rates are in $/kWh.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import textwrap

import numpy as np

from ratedesign.calendar import MONTH_NAMES
from ratedesign.chain import INPUT_PREFIX
from ratedesign.errors import InputError

UNIT = "$/kWh"
BAT_NOTE = ("BAT = weighted mean BAT_percustomer, $/customer-year (+ pays a subsidy, - receives one); n/a for "
            "default runs, whose 1e12 placeholder revenue requirement makes BAT meaningless; 0.0 where "
            "HP and non-HP customers each have their own revenue requirement, which precalc calibrates each "
            "group to exactly.")


# ------------------------------------------------------------------------------------ period names
def _ranges(values: list[int], n: int) -> list[tuple[int, int]]:
    """Sorted integers in 0..n-1 -> circular runs [(first, last)], e.g. months 9,10,11,0,1,2 -> [(9, 2)]."""
    s = sorted(set(values))
    if not s:
        return []
    runs, start, prev = [], s[0], s[0]
    for v in s[1:]:
        if v != prev + 1:
            runs.append((start, prev))
            start = v
        prev = v
    runs.append((start, prev))
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == n - 1:  # wrap around the year/day
        runs = [(runs[-1][0], runs[0][1])] + runs[1:-1]
    return runs


def month_text(months: list[int]) -> str:
    """Months as text: ``Apr-Sep`` / ``Oct-Mar`` / ``Jan, Jun-Aug``.

    Parameters
    ----------
    months : list of int
        0-based months.

    Returns
    -------
    str
        Circular ranges of month names.
    """
    return ", ".join(MONTH_NAMES[a] if a == b else f"{MONTH_NAMES[a]}-{MONTH_NAMES[b]}" for a, b in _ranges(months, 12))


def hour_text(hours: list[int]) -> str:
    """Hours of the day as text: ``16-20h`` (16:00 to 20:00) / ``0-24h``.

    Parameters
    ----------
    hours : list of int
        Hour-beginning hours of the day, 0..23.

    Returns
    -------
    str
        Circular ranges of hours.
    """
    if len(set(hours)) == 24:
        return "0-24h"
    return ", ".join(f"{a}-{b + 1}h" for a, b in _ranges(hours, 24))


SUMMER_HALF = frozenset(range(3, 9))  # Apr-Sep, 0-based months


def _season(months: frozenset) -> str:
    if len(months) == 12:
        return "all year"
    if months <= SUMMER_HALF or (6 in months and 0 not in months):
        return "summer"
    if not (months & SUMMER_HALF) or (0 in months and 6 not in months):
        return "winter"
    return month_text(sorted(months))


def describe_periods(weekday, weekend, price, n_tiers=None, tier_max=None) -> list[dict]:
    """Name every period of a tariff by season and time of day.

    Parameters
    ----------
    weekday : array_like of int, shape (12, 24)
        0-based period of each month and hour on weekdays (URDB ``energyweekdayschedule``).
    weekend : array_like of int, shape (12, 24)
        The same on weekends (``energyweekendschedule``).
    price : array_like of float, shape (P, T)
        Rate (+ adjustment) of each period and tier, $/kWh.
    n_tiers : array_like of int, shape (P,), optional
        Real tiers per period (default: all T).
    tier_max : array_like of float, shape (P, T), optional
        Cumulative monthly ceiling of each tier, kWh (``inf`` for the last).

    Returns
    -------
    list of dict
        One dict per period and tier, in period order: ``period`` (0-based), ``tier`` (1-based),
        ``season``, ``time`` (``peak`` | ``mid-peak`` | ``off-peak`` | ``weekend`` | ``""``),
        ``months`` and ``hours`` (text), ``label`` (e.g. ``summer peak 16-20h``) and ``rate``
        ($/kWh).
    """
    wk, we = np.asarray(weekday, dtype=int), np.asarray(weekend, dtype=int)
    price = np.atleast_2d(np.asarray(price, dtype=float))
    n_p = price.shape[0]
    nt = np.full(n_p, price.shape[1]) if n_tiers is None else np.asarray(n_tiers, dtype=int)
    tier_max = None if tier_max is None else np.asarray(tier_max, dtype=float)
    months = {p: frozenset(np.nonzero(((wk == p) | (we == p)).any(axis=1))[0].tolist()) for p in range(n_p)}
    wk_hours = {p: sorted(set(np.nonzero((wk == p).any(axis=0))[0].tolist())) for p in range(n_p)}
    we_only = {p: not (wk == p).any() and (we == p).any() for p in range(n_p)}
    seasons = {p: _season(months[p]) for p in range(n_p)}
    # two different month sets with the same season name: add the months
    by_name: dict[str, set] = {}
    for p in range(n_p):
        by_name.setdefault(seasons[p], set()).add(months[p])
    for p in range(n_p):
        if len(by_name[seasons[p]]) > 1 and seasons[p] in ("summer", "winter"):
            seasons[p] = f"{seasons[p]} ({month_text(sorted(months[p]))})"
    times: dict[int, str] = {}
    groups: dict[frozenset, list[int]] = {}
    for p in range(n_p):
        if months[p]:
            groups.setdefault(months[p], []).append(p)
    for ps in groups.values():
        weekday_ps = [p for p in ps if not we_only[p]]
        for p in ps:
            if we_only[p]:
                times[p] = "weekend"
        if len(weekday_ps) == 1:
            times[weekday_ps[0]] = ""
        elif weekday_ps:
            ranked = sorted(weekday_ps, key=lambda p: -price[p, 0])
            for rank, p in enumerate(ranked):
                times[p] = "peak" if rank == 0 else "off-peak" if rank == len(ranked) - 1 else "mid-peak"
            if len(ranked) > 3:
                for k, p in enumerate(ranked[1:-1], 1):
                    times[p] = f"mid-peak {k}"
    rows = []
    for p in range(n_p):
        season = seasons[p] if months[p] else "unused"
        time = times.get(p, "")
        hours = hour_text(wk_hours[p]) if wk_hours[p] else ""
        parts = [season] + ([time] if time else []) + ([hours] if time in ("peak", "mid-peak") or
                                                       time.startswith("mid-peak") else [])
        base = " ".join(parts)
        for t in range(int(nt[p])):
            label = base
            if nt[p] > 1:
                lo = 0.0 if t == 0 else float(tier_max[p, t - 1]) if tier_max is not None else None
                hi = float(tier_max[p, t]) if tier_max is not None else None
                if hi is None or lo is None:
                    label += f" tier {t + 1}"
                elif not np.isfinite(hi) or hi >= 1e37:
                    label += f" tier {t + 1} (>{lo:g} kWh)"
                else:
                    label += f" tier {t + 1} (<={hi:g} kWh)"
            rows.append({"period": p, "tier": t + 1, "season": season, "time": time,
                         "months": month_text(sorted(months[p])), "hours": hours, "label": label,
                         "rate": float(price[p, t])})
    seen: dict[str, int] = {}
    for r in rows:
        seen[r["label"]] = seen.get(r["label"], 0) + 1
    for r in rows:  # never two rates under one name
        if seen[r["label"]] > 1:
            r["label"] += f" (period {r['period'] + 1})"
    return rows


def tariff_rate_periods(tariffs: dict) -> dict:
    """Period names and rates of a run's calibrated tariffs; small and JSON-able.

    Parameters
    ----------
    tariffs : dict
        ``{tariff key: ratedesign.tariff.Tariff}``.

    Returns
    -------
    dict
        ``{tariff key: describe_periods(...)}`` (rates in $/kWh).
    """
    return {k: describe_periods(t.weekday_schedule, t.weekend_schedule, t.price, t.n_tiers, t.tier_max)
            for k, t in tariffs.items()}


def _fallback_periods(rates: list) -> list[dict]:
    """Labels for a run value without ``rate_periods`` (committed by an older version)."""
    out = []
    for p, tiers in enumerate(rates):
        for t, r in enumerate(tiers):
            out.append({"period": p, "tier": t + 1, "season": "", "time": "", "months": "", "hours": "",
                        "label": f"period {p + 1}" + (f" tier {t + 1}" if len(tiers) > 1 else ""), "rate": float(r)})
    return out


def rates_of(value: dict) -> dict:
    """Period rows of each tariff of a run's returned value, with the calibrated rates.

    Parameters
    ----------
    value : dict
        The run function's returned value.

    Returns
    -------
    dict
        ``{tariff key: [period rows]}``, rates in $/kWh.
    """
    periods = value.get("rate_periods") or {}
    out = {}
    for key, rates in (value.get("calibrated_rates") or {}).items():
        out[key] = periods.get(key) or _fallback_periods(rates)
    return out


def rates_text(rows: list[dict]) -> str:
    """Rates as one line: ``summer peak 16-20h 0.2046 $/kWh; ...``.

    Parameters
    ----------
    rows : list of dict
        Period rows (:func:`describe_periods`).

    Returns
    -------
    str
        The text.
    """
    return "; ".join(f"{r['label']} {r['rate']:.4f} {UNIT}" for r in rows)


# ------------------------------------------------------------------------------------ the run table
def _last_line(text) -> str:
    lines = [ln.strip() for ln in str(text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def table_rows(chains, summary) -> list[dict]:
    """One dict per scenario run of ``chains``: what the table shows, as data.

    Parameters
    ----------
    chains : list of ratedesign.chain.Chain
        The expanded chains.
    summary : runfleet.StudySummary
        The study's outcome.

    Returns
    -------
    list of dict
        ``run``, ``entry`` (scenario key), ``utility``, ``index`` (1-based position), ``type``
        (precalc | default), ``status`` (done | failed | skipped | not run), ``reason``,
        ``resumed``, ``duration_s`` (s), ``bat_hp`` / ``bat_non_hp`` (weighted mean
        BAT_percustomer, $/customer-year; None where not meaningful) and ``tariffs``
        (``{tariff key: [period rows]}``, see ``describe_periods``).
    """
    rows = []
    for ch in chains:
        for st in ch.scenario_steps:
            o = summary.outcomes.get(st.name)
            row = {"run": st.name, "entry": st.label, "utility": ch.utility, "index": st.index,
                   "type": (st.params.get("scenario") or {}).get("run_type", ""), "status": "not run",
                   "reason": "", "resumed": False, "duration_s": None, "bat_hp": None, "bat_non_hp": None,
                   "tariffs": {}}
            if o is not None:
                row.update(status=o.status, resumed=bool(o.resumed), duration_s=o.duration_s)
                if o.status == "failed":
                    cls, msg = o.error_class or "error", _last_line(o.error)
                    row["reason"] = msg if msg.startswith(cls) else f"{cls}: {msg}".rstrip(": ")
                elif o.status == "skipped":
                    row["reason"] = _last_line(o.error) or "an upstream run failed"
            v = o.value if o is not None and o.status == "done" and isinstance(o.value, dict) else None
            if v is not None:
                row["type"] = v.get("run_type", row["type"])
                row["tariffs"] = rates_of(v)
                if row["type"] == "precalc":
                    bh = v.get("bat_by_hp") or {}
                    row["bat_hp"], row["bat_non_hp"] = bh.get("hp"), bh.get("non-hp")
            rows.append(row)
    return rows


def _bat(x) -> str:
    if not isinstance(x, (int, float)):
        return "n/a"
    return f"{(0.0 if abs(x) < 0.05 else x):.1f}"


def _time(row) -> str:
    if row["resumed"]:
        return "stored"
    return f"{row['duration_s']:.1f}" if row["duration_s"] is not None else ""


def _detail(row) -> list[list[str]]:
    """The free-text part of a row, as chunks to keep on one line each: per tariff its name and
    each ``label rate $/kWh``; or the reason the run has no rates."""
    if row["status"] != "done":
        return [[f"{row['status']}: {row['reason']}" if row["reason"] else row["status"]]]
    if not row["tariffs"]:
        return [["no calibrated rates returned"]]
    out = []
    for key, rates in row["tariffs"].items():
        parts = rates_text(rates).split("; ")
        out.append([f"{key}:"] + [p + (";" if i < len(parts) - 1 else "") for i, p in enumerate(parts)])
    return out


def wrap_chunks(chunks: list[str], width: int, indent: str = "", subsequent: str = "") -> list[str]:
    """Lines of at most ``width`` characters holding ``chunks`` separated by spaces.

    A chunk is split (between words, else between characters) only when it does not fit on a line
    of its own.

    Parameters
    ----------
    chunks : list of str
        Text pieces kept whole where possible.
    width : int
        Columns.
    indent : str, default ""
        Prefix of the first line.
    subsequent : str, default ""
        Prefix of the other lines.

    Returns
    -------
    list of str
        The lines.
    """
    lines: list[str] = []
    cur = indent
    for chunk in chunks:
        pad = "" if cur in (indent, subsequent) and not cur.strip() else " "
        if len(cur) + len(pad) + len(chunk) <= width:
            cur += pad + chunk
            continue
        if cur.strip():
            lines.append(cur)
            cur = subsequent if lines else indent
        if len(cur) + len(chunk) <= width:
            cur += chunk
        else:
            pieces = textwrap.wrap(chunk, width - len(subsequent), break_long_words=True, break_on_hyphens=False)
            lines += [(cur if i == 0 else subsequent) + piece for i, piece in enumerate(pieces[:-1])]
            cur = subsequent + pieces[-1]
    if cur.strip():
        lines.append(cur)
    return lines


def terminal_width(default: int = 100) -> int:
    """Columns of the terminal (``COLUMNS`` wins; ``default`` when not a terminal).

    Parameters
    ----------
    default : int, default 100
        Width when stdout is not a terminal.

    Returns
    -------
    int
        Columns.
    """
    return shutil.get_terminal_size((default, 24)).columns


def format_table(rows: list[dict], width: int | None = None) -> str:
    """The per-run table as text no wider than ``width`` columns, wrapping long text (never cut).

    Parameters
    ----------
    rows : list of dict
        From ``table_rows``.
    width : int, optional
        Columns (default: the terminal's width).

    Returns
    -------
    str
        A header, one block per run and the BAT note. When the tariff column would be narrower than
        40 characters, tariffs and rates go on indented lines under each run's line.
    """
    width = max(int(width or terminal_width()), 40)
    name_w = max([len("run")] + [len(r["run"]) for r in rows])
    heads = [("run", name_w, "<"), ("type", 8, "<"), ("BAT hp", 8, ">"), ("BAT non-hp", 10, ">"), ("time s", 7, ">")]
    fixed = sum(w for _, w, _ in heads) + len(heads)
    free = width - fixed
    wide = free >= 40

    def cells(values):
        return " ".join(f"{v:{a}{w}}" for v, (_, w, a) in zip(values, heads))

    lines = [cells([h for h, _, _ in heads]) + (" tariff: rates" if wide else "")]
    if not wide:
        lines.append("  tariff: rates (" + UNIT + ")")
    for r in rows:
        head = cells([r["run"], r["type"] or "", _bat(r["bat_hp"]) if r["type"] == "precalc" else "n/a",
                      _bat(r["bat_non_hp"]) if r["type"] == "precalc" else "n/a", _time(r)])
        if r["status"] != "done":
            head = cells([r["run"], r["type"] or "", "", "", ""])
        if wide:
            wrapped = []
            for chunks in _detail(r):
                wrapped += wrap_chunks(chunks, free - 1, "", "  ") or [""]
            lines.append(head + " " + wrapped[0])
            lines += [" " * (fixed + 1) + w for w in wrapped[1:]]
        else:
            lines.append(head.rstrip())
            for chunks in _detail(r):
                lines += wrap_chunks(chunks, width, "  ", "      ")
    lines += textwrap.wrap(BAT_NOTE + " time s: 'stored' = already in the store, not re-run.", width,
                           break_on_hyphens=False)
    return "\n".join(ln.rstrip() for ln in lines)


def long_rows(rows: list[dict]) -> list[dict]:
    """The table in long form: one row per run, tariff, period and tier (one row for a run without rates).

    Parameters
    ----------
    rows : list of dict
        :func:`table_rows`.

    Returns
    -------
    list of dict
        Columns as in ``table_rows`` plus ``tariff``, ``period`` (1-based), ``tier``,
        ``season``, ``time_of_day``, ``months``, ``hours``, ``label`` and ``rate_usd_per_kwh`` ($/kWh).
    """
    out = []
    for r in rows:
        base = {k: r[k] for k in ("run", "entry", "utility", "index", "type", "status", "reason", "resumed",
                                  "duration_s", "bat_hp", "bat_non_hp")}
        items = [(k, p) for k, ps in r["tariffs"].items() for p in ps] or [(None, None)]
        for key, p in items:
            out.append({**base, "tariff": key, "period": None if p is None else p["period"] + 1,
                        "tier": None if p is None else p["tier"], "season": None if p is None else p["season"],
                        "time_of_day": None if p is None else p["time"], "months": None if p is None else p["months"],
                        "hours": None if p is None else p["hours"], "label": None if p is None else p["label"],
                        "rate_usd_per_kwh": None if p is None else p["rate"]})
    return out


def write_table(rows: list[dict], path: str) -> str:
    """Write the table to ``path``: ``.csv`` (long form, ``long_rows``) or ``.json`` (``table_rows``).

    Parameters
    ----------
    rows : list of dict
        :func:`table_rows`.
    path : str
        Local file (``.csv`` or ``.json``).

    Returns
    -------
    str
        ``path``.

    Raises
    ------
    InputError
        Another extension, or the file cannot be written.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext == ".json":
        text = json.dumps({"unit": UNIT, "bat_unit": "$/customer-year", "runs": rows}, indent=2)
    elif ext == ".csv":
        buf = io.StringIO()
        lr = long_rows(rows)
        w = csv.DictWriter(buf, fieldnames=list(lr[0]) if lr else ["run"], lineterminator="\n")
        w.writeheader()
        w.writerows(lr)
        text = buf.getvalue()
    else:
        raise InputError(f"--table-out {path}: expected a .csv or .json file name")
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise InputError(f"--table-out {path}: cannot write ({e.strerror or e})") from None
    return path


def check_table_out(path: str | None) -> None:
    """Reject a ``--table-out`` name before anything runs (exit 2, nothing written).

    Parameters
    ----------
    path : str or None
        The ``--table-out`` value (None: no table file).

    Returns
    -------
    None
        Returns when the name is usable.

    Raises
    ------
    ratedesign.errors.InputError
        An extension other than ``.csv`` / ``.json``, or a directory that does not exist.
    """
    if path and os.path.splitext(path)[1].lower() not in (".csv", ".json"):
        raise InputError(f"--table-out {path}: expected a .csv or .json file name")
    if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise InputError(f"--table-out {path}: directory {os.path.dirname(os.path.abspath(path))} does not exist")


# ------------------------------------------------------------------------------------ one run
def run_summary_text(name: str, value: dict, resumed: bool, out: str) -> str:
    """What ``ratedesign run`` prints: ran or already in the store, rates by period, BAT summary.

    Parameters
    ----------
    name : str
        The run's name.
    value : dict
        The run's returned value.
    resumed : bool
        True when the run was already in the store.
    out : str
        Its output directory.

    Returns
    -------
    str
        The text (BAT in $/customer-year, rates in $/kWh).
    """
    how = "already in the store, not re-run" if resumed else "ran"
    lines = [f"ratedesign: {name}: {how}; {value.get('n_buildings', '?')} buildings, "
             f"RR ${value.get('revenue_requirement', float('nan')):,.0f}, "
             f"marginal cost ${value.get('total_marginal_cost', float('nan')):,.0f}, "
             f"residual ${value.get('residual', float('nan')):,.0f}; outputs in {out}"]
    width = terminal_width()
    kind = "calibrated rates" if value.get("run_type") == "precalc" else "rates (as input; default run)"
    for key, rates in rates_of(value).items():
        parts = rates_text(rates).split("; ")
        lines += wrap_chunks([f"{kind} {key}:"] + [p + (";" if i < len(parts) - 1 else "") for i, p in enumerate(parts)],
                             width, "", "    ")
    bh = value.get("bat_by_hp") or {}
    if value.get("run_type") == "precalc" and bh:
        lines.append(f"BAT (weighted mean BAT_percustomer, $/customer-year): HP {_bat(bh.get('hp'))}, "
                     f"non-HP {_bat(bh.get('non-hp'))} (+ pays a subsidy, - receives one)")
    elif value.get("run_type") != "precalc":
        lines.append("BAT: n/a for a default run (its placeholder revenue requirement makes BAT meaningless)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ dry run


def recorded_params(store: str, name: str, storage_options: dict | None = None) -> dict:
    """``{run name: params}`` of the study's last invocation (its study record, ``<store>/<name>/study.json``).

    The one place ``ratedesign`` reads runfleet's study record.

    Parameters
    ----------
    store : str
        The store (local path or URL).
    name : str
        The study's name.
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    dict
        ``{run name: params}``; ``{}`` when the study has no record.
    """
    from runfleet import study_params

    try:
        return study_params(store, name, storage_options)
    except (OSError, ValueError):
        return {}


def _display_path(path: str) -> str:
    """A path for people: relative to the working directory when the file is under it."""
    if os.path.isabs(path):
        rel = os.path.relpath(path)
        if not rel.startswith(".."):
            return rel
    return path


def changed_params(old: dict, new: dict) -> list[str]:
    """What differs between two params dicts of a run, in words.

    Parameters
    ----------
    old : dict
        Params of the run in the last invocation.
    new : dict
        Params of the run now.

    Returns
    -------
    list of str
        ``input changed: <path>`` / ``input added: <path>`` / ``input removed: <path>`` for the
        ``input:<path>`` content hashes, then ``parameters changed: <key>[.<field>], ...`` for the
        others (one level into dict params such as ``scenario``).
    """
    new = json.loads(json.dumps(new, default=str))  # as recorded in study.json (tuples -> lists)
    out, params = [], []
    for k in sorted(set(old) | set(new)):
        if old.get(k) == new.get(k) and (k in old) == (k in new):
            continue
        if k.startswith(INPUT_PREFIX):
            what = "changed" if k in old and k in new else "added" if k in new else "removed"
            out.append(f"input {what}: {_display_path(k[len(INPUT_PREFIX):])}")
        elif isinstance(old.get(k), dict) and isinstance(new.get(k), dict):
            o, n = old[k], new[k]
            params += [f"{k}.{f}" for f in sorted(set(o) | set(n)) if o.get(f) != n.get(f) or (f in o) != (f in n)]
        else:
            params.append(k)
    if params:
        out.append("parameters changed: " + ", ".join(params))
    return out


_PARAMS_REASON = re.compile(r"parameters changed(?:: .*?)?(?=, (?:code|upstream|fn|key) changed|$)")


def explain_plan(rows: list[dict], params: dict, previous: dict) -> list[dict]:
    """runfleet's plan rows with ``parameters changed`` replaced by what changed (``changed_params``
    against the last record; without one, the ``input:`` keys runfleet names become file paths).

    Parameters
    ----------
    rows : list of dict
        ``runfleet.plan_study`` rows (``name``, ``action``, ``reason``).
    params : dict
        ``{run name: params}`` of the study as expanded now.
    previous : dict
        ``recorded_params`` of the last invocation.

    Returns
    -------
    list of dict
        The rows, with ``reason`` in words.
    """
    out = []
    for r in rows:
        reason = r["reason"]
        m = _PARAMS_REASON.search(reason or "") if r["action"] == "run" else None
        what = []
        if m and r["name"] in previous:
            what = changed_params(previous[r["name"]], params.get(r["name"], {}))
        elif m and m.group(0).startswith("parameters changed: "):  # keys named by runfleet itself
            keys = m.group(0)[len("parameters changed: "):].split(", ")
            what = [f"input changed: {_display_path(k[len(INPUT_PREFIX):])}" for k in keys if k.startswith(INPUT_PREFIX)]
            rest = [k for k in keys if not k.startswith(INPUT_PREFIX)]
            what += [f"parameters changed: {', '.join(rest)}"] if rest else []
        if what:
            reason = reason[:m.start()] + "; ".join(what) + reason[m.end():]
        out.append({**r, "reason": reason})
    return out


def format_plan(name: str, rows: list[dict]) -> str:
    """The plan as text: ``study: <name>``, one line per run (action, name, reason), ``N of M runs would run``.

    Parameters
    ----------
    name : str
        The study's name.
    rows : list of dict
        :func:`explain_plan` rows.

    Returns
    -------
    str
        The text.
    """
    w = max([len(r["name"]) for r in rows] + [3])
    lines = [f"study: {name}"]
    lines += [f"{r['action']:<5} {r['name']:<{w}}  {r['reason']}" for r in rows]
    n = sum(r["action"] == "run" for r in rows)
    lines.append(f"{n} of {len(rows)} runs would run")
    return "\n".join(lines)


__all__ = ["BAT_NOTE", "UNIT", "changed_params", "check_table_out", "describe_periods", "explain_plan", "format_plan",
           "format_table", "hour_text", "long_rows", "month_text", "rates_of", "rates_text", "recorded_params",
           "run_summary_text", "table_rows", "tariff_rate_periods", "terminal_width", "wrap_chunks", "write_table"]
