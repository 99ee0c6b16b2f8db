"""A study's state read from its store: one row per run (what ``runfleet status`` prints)."""
from __future__ import annotations

from .errors import InputError
from .ledger import Ledger
from .store import Store


def study_status(study_url: str, storage_options: dict | None = None) -> list[dict]:
    """One row per run of the study at ``study_url`` (``<store>/<name>``): name, status, attempts,
    duration_s, error_class, finished, key."""
    url = study_url.rstrip("/")
    if "/" not in url.split("://")[-1]:
        raise InputError(f"{study_url}: expected <store>/<study name>")
    store_url, name = url.rsplit("/", 1)
    ledger = Ledger(Store(store_url, storage_options), name)
    doc = ledger.read_study()
    if doc is None:
        raise InputError(f"{study_url}: no study here (no {name}/study.json in store {store_url})")
    records, _ = ledger.load()
    rows = []
    for run in doc.get("runs", []):
        rec = records.get(run["name"])
        row = {"name": run["name"], "status": "pending", "attempts": 0, "duration_s": None,
               "error_class": None, "finished": None, "key": run.get("key")}
        if rec is not None and rec.key == run.get("key"):
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
