"""Record formats of array submissions in the store (this module owns them).

Layout under ``<store>/<study>/_arrays/``::

    current.json                         {"submission": id}: the study's latest submission
    <id>/submission.json                 study, store, waves (run names), job template (no secrets)
    <id>/w<wave>-r<round>.json           manifest header: created, number of elements, shard size
    <id>/w<wave>-r<round>/s<j>.json      manifest shard: specs of elements j*100 .. j*100+99 and the
                                         values of their upstream runs done before the submission
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
SHARD = 100  # elements per manifest shard: an element reads ~1 small file, however big the wave


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

    def _shard_path(self, sub: str, wave: int, rnd: int, j: int) -> str:
        return f"{self.dir(sub)}/w{wave}-r{rnd}/s{j}.json"

    def write_manifest(self, sub: str, wave: int, rnd: int, doc: dict) -> None:
        """Write a round's manifest: ``doc`` has ``elements`` (lists of run specs), ``known``
        (values of upstream runs done before the submission) and header fields (``created``).
        Shards are written before the header, so a reader that finds the header finds them."""
        elements, known = doc["elements"], doc.get("known") or {}
        n_shards = max(1, -(-len(elements) // SHARD))
        for j in range(n_shards):
            part = elements[j * SHARD:(j + 1) * SHARD]
            needed = {u for e in part for spec in e for u in spec.get("upstream_names", ())}
            self._write(self._shard_path(sub, wave, rnd, j),
                        {"elements": part, "known": {u: v for u, v in known.items() if u in needed}})
        header = {k: v for k, v in doc.items() if k not in ("elements", "known")}
        header.update(wave=wave, round=rnd, n_elements=len(elements), shard_size=SHARD)
        self._write(self.manifest_path(sub, wave, rnd), header)

    def read_manifest(self, sub: str, wave: int, rnd: int) -> dict | None:
        """The whole manifest of a round (header fields, ``elements``, ``known``), or None."""
        header = self._read(self.manifest_path(sub, wave, rnd))
        if header is None:
            return None
        elements, known = [], {}
        for j in range(max(1, -(-header["n_elements"] // header["shard_size"]))):
            shard = self._read(self._shard_path(sub, wave, rnd, j)) or {}
            elements.extend(shard.get("elements", []))
            known.update(shard.get("known", {}))
        return {**header, "elements": elements, "known": known}

    def read_element(self, sub: str, wave: int, rnd: int, index: int) -> tuple[list[dict], dict] | None:
        """The run specs of element ``index`` and the known upstream values of its shard, or None."""
        header = self._read(self.manifest_path(sub, wave, rnd))
        if header is None or not 0 <= index < header["n_elements"]:
            return None
        size = header["shard_size"]
        shard = self._read(self._shard_path(sub, wave, rnd, index // size)) or {}
        return shard["elements"][index % size], shard.get("known", {})

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
