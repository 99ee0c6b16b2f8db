"""Record formats of array submissions in the store (this module owns them).

Layout under ``<store>/<study>/_arrays/``::

    current.json                         {"submission": id}: the study's latest submission
    <id>/submission.json                 study, store, waves (run names), job template (no secrets)
    <id>/w<wave>-r<round>.json           manifest: the elements' run specs, values of done upstreams
    <id>/w<wave>-r<round>.jobs.json      the arrays ({job, offset, count, array}) and final job of a round
    <id>/attempts/<run>.json             a started attempt: {"attempt", "state": running|error, ...}
    <id>/logs/<job name>-<array id>_<element>.out   element logs (SLURM's output, local stores)
    <id>/cancelled.json                  written by ``runfleet cancel``: finalizers submit nothing more
    <id>/finished.json                   written by the last final job: the submission is over

Round 0 of a wave is its first array; a wave's final job submits round 1 with the retries and
the runs lost with their element, and so on. Run records (markers, ``_error.json``, logs) stay
where the ledger keeps them: these files only say what was submitted and what is in flight.
No secrets are ever written here (storage options and env values travel in a 0600 file).
"""
from __future__ import annotations

import json
from typing import Any

from ..ledger import Ledger
from ..store import Store

ARRAYS = "_arrays"


class Submissions:
    """Reads and writes the array records of one study."""

    def __init__(self, store: Store, study: str):
        self.store = store
        self.study = study
        self.ledger = Ledger(store, study)
        self.root = f"{self.ledger.root}/{ARRAYS}"

    # -- paths ---------------------------------------------------------------------------------
    def dir(self, sub: str) -> str:
        return f"{self.root}/{sub}"

    def manifest_path(self, sub: str, wave: int, rnd: int) -> str:
        return f"{self.dir(sub)}/w{wave}-r{rnd}.json"

    def jobs_path(self, sub: str, wave: int, rnd: int) -> str:
        return f"{self.dir(sub)}/w{wave}-r{rnd}.jobs.json"

    def attempt_path(self, sub: str, run: str) -> str:
        return f"{self.dir(sub)}/attempts/{run}.json"

    def logs_dir(self, sub: str) -> str:
        return f"{self.dir(sub)}/logs"

    # -- generic -------------------------------------------------------------------------------
    def _write(self, path: str, doc: Any) -> None:
        self.store.write_bytes_atomic(path, json.dumps(doc, separators=(",", ":"), default=str).encode("utf-8"))

    def _find(self, prefix: str) -> list[str]:
        """A fresh listing (s3fs would answer a poller from its listing cache)."""
        if not self.store.is_local:
            self.store.fs.invalidate_cache()
        return self.store.find(prefix)

    def _read(self, path: str) -> Any | None:
        try:
            return self.store.read_json(path)
        except ValueError:
            return None

    # -- submission ----------------------------------------------------------------------------
    def current(self) -> str | None:
        doc = self._read(f"{self.root}/current.json")
        return doc.get("submission") if isinstance(doc, dict) else None

    def set_current(self, sub: str) -> None:
        self._write(f"{self.root}/current.json", {"submission": sub})

    def read_submission(self, sub: str) -> dict | None:
        return self._read(f"{self.dir(sub)}/submission.json")

    def write_submission(self, sub: str, doc: dict) -> None:
        self._write(f"{self.dir(sub)}/submission.json", doc)

    def read_manifest(self, sub: str, wave: int, rnd: int) -> dict | None:
        return self._read(self.manifest_path(sub, wave, rnd))

    def write_manifest(self, sub: str, wave: int, rnd: int, doc: dict) -> None:
        self._write(self.manifest_path(sub, wave, rnd), doc)

    def read_jobs(self, sub: str, wave: int, rnd: int) -> dict | None:
        return self._read(self.jobs_path(sub, wave, rnd))

    def write_jobs(self, sub: str, wave: int, rnd: int, doc: dict) -> None:
        self._write(self.jobs_path(sub, wave, rnd), doc)

    def all_job_ids(self, sub: str) -> list[str]:
        """Every SLURM job id recorded for the submission (arrays and final jobs, all rounds)."""
        ids: list[str] = []
        for path in sorted(self._find(self.dir(sub))):
            if path.endswith(".jobs.json"):
                doc = self._read(path) or {}
                ids.extend(str(a["job"]) for a in doc.get("arrays", []))
                if doc.get("finalizer"):
                    ids.append(str(doc["finalizer"]))
        return list(dict.fromkeys(ids))

    # -- attempts ------------------------------------------------------------------------------
    def read_attempt(self, sub: str, run: str) -> dict | None:
        return self._read(self.attempt_path(sub, run))

    def write_attempt(self, sub: str, run: str, doc: dict) -> None:
        self._write(self.attempt_path(sub, run), doc)

    def remove_attempt(self, sub: str, run: str) -> None:
        self.store.remove(self.attempt_path(sub, run))

    def started_runs(self, sub: str) -> list[str]:
        """Runs with an attempt record: started and not done (running, or waiting for a retry)."""
        prefix = f"{self.dir(sub)}/attempts/"
        return [p[len(prefix):-len(".json")] for p in self._find(prefix.rstrip("/"))
                if p.startswith(prefix) and p.endswith(".json")]

    # -- marks ---------------------------------------------------------------------------------
    def mark(self, sub: str, what: str, doc: dict) -> None:
        """Write ``cancelled.json`` or ``finished.json``."""
        self._write(f"{self.dir(sub)}/{what}.json", doc)

    def marked(self, sub: str, what: str) -> dict | None:
        return self._read(f"{self.dir(sub)}/{what}.json")


__all__ = ["ARRAYS", "Submissions"]
