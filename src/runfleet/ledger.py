"""Per-run records in the store: commit markers, errors and skips, logs. Resume reads only this.

Layout under ``<store>/<study>/``::

    study.json                  the expanded study of the last invocation
    runs/<name>/_result.json    commit marker (written last, atomically, by the worker)
    runs/<name>/_error.json     last failure or skip (written by the driver)
    runs/<name>/_log.txt        captured log of the last attempt
    _packs/<id>.json            commit markers of packed short runs: {name: marker}

When a run has several records (an old marker, a newer failure), the newest one (``finished``
time) is the run's state.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .store import Store

MARKER = "_result.json"
ERROR = "_error.json"
LOG = "_log.txt"
STUDY = "study.json"
PACKS = "_packs"
RUNS = "runs"


@dataclass
class Record:
    """The newest record of a run found in the store."""

    name: str
    status: str  # "done" | "failed" | "skipped"
    data: dict

    @property
    def key(self) -> str | None:
        return self.data.get("key")

    @property
    def finished(self) -> str:
        return self.data.get("finished") or ""


class Ledger:
    """Reads and writes one study's records in a store."""

    def __init__(self, store: Store, study: str):
        self.store = store
        self.study = study
        self.root = store.join(study)

    def run_dir(self, name: str) -> str:
        return f"{self.root}/{RUNS}/{name}"

    def marker_path(self, name: str) -> str:
        return f"{self.run_dir(name)}/{MARKER}"

    def error_path(self, name: str) -> str:
        return f"{self.run_dir(name)}/{ERROR}"

    def pack_path(self, pack_id: str) -> str:
        return f"{self.root}/{PACKS}/{pack_id}.json"

    # -- reading -------------------------------------------------------------------------------
    def load(self) -> tuple[dict[str, Record], set[str]]:
        """All runs' newest records, and the names of runs that have files in their directory.

        One listing of the study plus one (concurrent on object stores) read of the record files.
        """
        files = self.store.find(self.root)
        runs_prefix = f"{self.root}/{RUNS}/"
        packs_prefix = f"{self.root}/{PACKS}/"
        wanted, dirty = [], set()
        for path in files:
            if path.startswith(runs_prefix):
                rest = path[len(runs_prefix):]
                name, _, leaf = rest.partition("/")
                dirty.add(name)
                if leaf in (MARKER, ERROR):
                    wanted.append(path)
            elif path.startswith(packs_prefix) and path.endswith(".json"):
                wanted.append(path)
        blobs = self.store.read_many(wanted)
        records: dict[str, Record] = {}

        def offer(name: str, status: str, data: dict) -> None:
            current = records.get(name)
            if current is None or (data.get("finished") or "") >= current.finished:
                records[name] = Record(name, status, data)

        for path, blob in blobs.items():
            try:
                doc = json.loads(blob)
            except ValueError:
                continue  # a torn write cannot happen with atomic commits; ignore foreign files
            if path.startswith(packs_prefix):
                for name, marker in doc.get("markers", {}).items():
                    offer(name, "done", marker)
            elif path.endswith(MARKER):
                offer(doc.get("name", path.split("/")[-2]), "done", doc)
            else:
                offer(doc.get("name", path.split("/")[-2]), doc.get("status", "failed"), doc)
        return records, dirty

    def read_study(self) -> dict | None:
        return self.store.read_json(f"{self.root}/{STUDY}")

    # -- writing (driver) ----------------------------------------------------------------------
    def write_study(self, doc: dict) -> None:
        data = json.dumps(doc, separators=(",", ":"), default=str).encode("utf-8")
        self.store.write_bytes_atomic(f"{self.root}/{STUDY}", data)

    def record_error(self, name: str, data: dict[str, Any]) -> None:
        """Write a failure or skip record (``data['status']`` is ``failed`` or ``skipped``)."""
        self.store.write_json_atomic(self.error_path(name), data)
