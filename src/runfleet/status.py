"""A study's state read from its store: one row per run (what ``runfleet status`` prints).

:func:`load_study_records` is the one place that reads a study's records here (through the
ledger's public read API); :mod:`runfleet.results` uses it too.
"""
from __future__ import annotations

from .errors import InputError
from .ledger import STUDY_COLUMNS, Ledger, Record
from .store import Store, store_errors


def split_study_url(study_url: str) -> tuple[str, str]:
    """``<store>/<study name>`` to ``(store url, study name)``; InputError if there is no name."""
    url = study_url.rstrip("/")
    if "/" not in url.split("://")[-1]:
        raise InputError(f"{study_url}: expected <store>/<study name>")
    store_url, name = url.rsplit("/", 1)
    return store_url, name


def load_study_columns(study_url: str, storage_options: dict | None = None, columns=STUDY_COLUMNS):
    """The study record as columns and every run's newest record, read once from the store.

    Parameters
    ----------
    study_url : str
        ``<store>/<study name>``.
    storage_options : dict, optional
        fsspec options of the store.
    columns : sequence of str
        The study record's columns to read (``name`` and ``key`` always are).

    Returns
    -------
    header : dict
        The ``study.json`` header (``name``, ``seed``, ``store``, ``updated``, ...).
    columns : runfleet.ledger.StudyColumns
        One item per run of the study record (name, fn, params, after, key, retries, timeout_s).
    records : dict
        ``{run name: newest record}`` (markers, pack files, errors).

    Raises
    ------
    InputError
        No study at ``study_url``, a corrupt record, or refused credentials (exit 2).
    StoreUnavailable
        The store does not answer (exit 4).
    """
    store_url, name = split_study_url(study_url)
    ledger = Ledger(Store(store_url, storage_options), name)
    with store_errors(store_url):
        head, cols = ledger.read_study_columns(columns)
        if head is None:
            raise InputError(f"{study_url}: no study here (no {name}/study.json in store {store_url})")
        records, _ = ledger.load()
    return head, cols, records


def load_study_records(study_url: str, storage_options: dict | None = None) -> tuple[dict, dict[str, Record]]:
    """The study record (``study.json`` and its shards: its runs with name, fn, params, key) and
    every run's newest record (markers, pack files, errors), read once from the store.

    Raises InputError when there is no study at ``study_url``, its record is corrupt or the store
    refuses the credentials (exit 2); StoreUnavailable when the store does not answer (exit 4).
    """
    head, cols, records = load_study_columns(study_url, storage_options)
    doc = dict(head)
    doc["runs"] = [dict(zip(STUDY_COLUMNS, row)) for row in zip(*(cols.column(c) for c in STUDY_COLUMNS))]
    return doc, records


def study_params(store, study: str, storage_options: dict | None = None) -> dict[str, dict]:
    """``{run name: params}`` of a study's record (its last invocation), read through the ledger.

    Parameters
    ----------
    store : str or runfleet.store.Store
        The store (local path or URL).
    study : str
        The study's name.
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    dict
        ``{}`` when the study has no record.
    """
    if not isinstance(store, Store):
        store = Store(store, storage_options)
    return Ledger(store, study).study_params()


def current_record(run: dict, records: dict[str, Record]) -> Record | None:
    """The run's record if it belongs to the run's current key (an older key's record is stale)."""
    rec = records.get(run["name"])
    return rec if rec is not None and rec.key == run.get("key") else None


def study_status(study_url: str, storage_options: dict | None = None) -> list[dict]:
    """One row per run of the study at ``study_url`` (``<store>/<name>``): name, status, attempts,
    duration_s, error_class, finished, key; ``error`` (first 500 characters of the message) for
    failed runs and ``reason`` for skipped ones. Status is ``done``, ``failed``, ``skipped`` or
    ``pending`` (no record for the run's current key).

    Parameters
    ----------
    study_url : str
        ``<store>/<study name>``, a directory or ``s3://bucket/prefix/<name>``.
    storage_options : dict, optional
        fsspec options of the store.

    Returns
    -------
    list of dict
        One row per run of the study record, in its order.

    Raises
    ------
    InputError
        No study at ``study_url``, a corrupt record, or refused credentials (exit 2).
    StoreUnavailable
        The store does not answer (exit 4).
    """
    _, cols, records = load_study_columns(study_url, storage_options, columns=("name", "key"))
    return status_rows(cols, records)


def status_rows(cols, records: dict) -> list[dict]:
    """The rows of :func:`study_status` from a study record's columns and the runs' records.

    Parameters
    ----------
    cols : runfleet.ledger.StudyColumns
        The study record (:func:`load_study_columns`).
    records : dict
        ``{run name: newest record}``.

    Returns
    -------
    list of dict
        One row per run, in the study record's order.
    """
    rows = []
    get = records.get
    packed = records.packed_states() if hasattr(records, "packed_states") else {}
    packed_get = packed.get
    for name, key in zip(cols.names, cols.keys):
        p = packed_get(name)
        if p is not None:  # a packed marker: its columns, no record object
            if p[0] == key:
                rows.append({"name": name, "status": "done", "attempts": p[1], "duration_s": p[2],
                             "error_class": None, "finished": p[3] or None, "key": key})
            else:
                rows.append({"name": name, "status": "pending", "attempts": 0, "duration_s": None,
                             "error_class": None, "finished": None, "key": key})
            continue
        rec = get(name)
        if rec is not None and rec.key != key:
            rec = None  # an older key's record is stale
        row = {"name": name, "status": "pending", "attempts": 0, "duration_s": None,
               "error_class": None, "finished": None, "key": key}
        if rec is not None:
            row.update(status=rec.status, attempts=rec.attempts, duration_s=rec.duration_s,
                       finished=rec.finished or None)
            if rec.status != "done":
                d = rec.data
                row["error_class"] = d.get("error_class")
            if rec.status == "failed":
                row["error"] = (d.get("message") or "")[:500]
            if rec.status == "skipped":
                row["reason"] = d.get("reason")
        rows.append(row)
    return rows


#: run states in the order ``runfleet status`` counts them
STATES = ("done", "failed", "skipped", "pending")
#: rows the status table shows unless ``--limit`` says otherwise
DEFAULT_LIMIT = 50


def status_exit_code(rows: list[dict]) -> int:
    """1 when any run failed or was skipped, else 0 (what ``runfleet status`` exits with)."""
    return 1 if any(r["status"] in ("failed", "skipped") for r in rows) else 0


def select_rows(rows: list[dict], statuses: list[str] | None = None, limit: int | None = None) -> tuple[list[dict], int]:
    """Rows whose status is in ``statuses`` (all when None), at most ``limit`` (all when None or
    0), in study order; returns (rows, how many more matched)."""
    chosen = [r for r in rows if not statuses or r["status"] in statuses]
    if limit:
        return chosen[:limit], max(0, len(chosen) - limit)
    return chosen, 0


def format_status(study_url: str, rows: list[dict], statuses: list[str] | None = None,
                  limit: int | None = DEFAULT_LIMIT) -> str:
    """The ``runfleet status`` text: counts by status, failures by error class, skip reasons,
    then a table of the selected rows (``... N more`` when the limit cut it)."""
    counts = {s: 0 for s in STATES}
    classes: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
        if r["status"] == "failed":
            cls = r.get("error_class") or "unknown"
            classes[cls] = classes.get(cls, 0) + 1
        elif r["status"] == "skipped":
            reason = r.get("reason") or "unknown"
            reasons[reason] = reasons.get(reason, 0) + 1
    lines = [f"study {study_url.rstrip('/')}: {len(rows)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items())]
    if classes:
        lines.append("failed by error class: " + ", ".join(
            f"{c} {n}" for c, n in sorted(classes.items(), key=lambda kv: (-kv[1], kv[0]))))
    if reasons:
        top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ", ".join(f"{reason} ({n})" for reason, n in top[:3])
        lines.append(f"skipped: {shown}" + (f", ... {len(top) - 3} other reasons" if len(top) > 3 else ""))
    chosen, more = select_rows(rows, statuses, limit)
    lines.append("")
    if not chosen:
        lines.append(f"no runs with status {', '.join(statuses)}" if statuses else "no runs")
        return "\n".join(lines)
    width = max([len(r["name"]) for r in chosen] + [3])
    lines.append(f"{'run':<{width}}  {'status':<8} {'attempts':>8} {'duration_s':>10}  error / reason")
    for r in chosen:
        dur = "" if r["duration_s"] is None else f"{r['duration_s']:.3f}"
        why = r.get("error_class") or r.get("reason") or ""
        if r.get("error"):
            why = f"{why}: {r['error'].splitlines()[0][:80]}"
        lines.append(f"{r['name']:<{width}}  {r['status']:<8} {r['attempts']:>8} {dur:>10}  {why}")
    if more:
        lines.append(f"... {more} more (--limit 0 shows all; --status failed|skipped|done|pending filters)")
    return "\n".join(lines)
