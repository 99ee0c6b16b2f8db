"""A study's state read from its store: one row per run (what ``runfleet status`` prints).

:func:`load_study_records` is the one place that reads a study's records here (through the
ledger's public read API); :mod:`runfleet.results` uses it too.
"""
from __future__ import annotations

from .errors import InputError
from .ledger import Ledger, Record
from .store import Store


def split_study_url(study_url: str) -> tuple[str, str]:
    """``<store>/<study name>`` to ``(store url, study name)``; InputError if there is no name."""
    url = study_url.rstrip("/")
    if "/" not in url.split("://")[-1]:
        raise InputError(f"{study_url}: expected <store>/<study name>")
    store_url, name = url.rsplit("/", 1)
    return store_url, name


def load_study_records(study_url: str, storage_options: dict | None = None) -> tuple[dict, dict[str, Record]]:
    """The study record (``study.json``: its runs with name, fn, params, key) and every run's
    newest record (markers, pack files, errors), read once from the store.

    Raises InputError when there is no study at ``study_url``.
    """
    store_url, name = split_study_url(study_url)
    ledger = Ledger(Store(store_url, storage_options), name)
    doc = ledger.read_study()
    if doc is None:
        raise InputError(f"{study_url}: no study here (no {name}/study.json in store {store_url})")
    records, _ = ledger.load()
    return doc, records


def current_record(run: dict, records: dict[str, Record]) -> Record | None:
    """The run's record if it belongs to the run's current key (an older key's record is stale)."""
    rec = records.get(run["name"])
    return rec if rec is not None and rec.key == run.get("key") else None


def study_status(study_url: str, storage_options: dict | None = None) -> list[dict]:
    """One row per run of the study at ``study_url`` (``<store>/<name>``): name, status, attempts,
    duration_s, error_class, finished, key; ``error`` (first 500 characters of the message) for
    failed runs and ``reason`` for skipped ones. Status is ``done``, ``failed``, ``skipped`` or
    ``pending`` (no record for the run's current key)."""
    doc, records = load_study_records(study_url, storage_options)
    rows = []
    for run in doc.get("runs", []):
        rec = current_record(run, records)
        row = {"name": run["name"], "status": "pending", "attempts": 0, "duration_s": None,
               "error_class": None, "finished": None, "key": run.get("key")}
        if rec is not None:
            d = rec.data
            row.update(status=rec.status, attempts=d.get("attempt", d.get("attempts", 0)),
                       duration_s=d.get("duration_s"), error_class=d.get("error_class"),
                       finished=d.get("finished"))
            if rec.status == "failed":
                row["error"] = (d.get("message") or "")[:500]
            if rec.status == "skipped":
                row["reason"] = d.get("reason")
        rows.append(row)
    return rows
