"""Per-run records in the store: commit markers, failures and skips, logs. Resume reads only this.

Layout under ``<store>/<study>/`` (a contract: README "Store layout")::

    study.json                  the expanded study of the last invocation
    runs/<name>/_result.json    commit marker (written last, atomically, by the worker)
    runs/<name>/_error.json     last failure or skip (written by the driver)
    runs/<name>/_log.txt        captured log of the last attempt
    _packs/<id>.json            commit markers of packed short runs: {"markers": {name: marker}}
    _started/<attempt id>.json  an attempt executing on a Dask cluster (removed when it ends; one
                                left behind: its worker died running it; never read by resume)
    _started/pack-<id>.json     the same for a pack: one marker naming its runs' attempt ids

When a run has several records (an old marker, a newer failure), the newest one (``finished``
time) is the run's state.

Only :class:`Ledger` reads and writes these files, and every record is a :class:`RunRecord`
(made with :meth:`RunRecord.done`, :meth:`RunRecord.failed` or :meth:`RunRecord.skipped`).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .keys import param_hashes
from .values import decode_value

MARKER = "_result.json"
ERROR = "_error.json"
LOG = "_log.txt"
STUDY = "study.json"
PACKS = "_packs"
RUNS = "runs"
TIMEOUT_MARK = "_timeout_kill"
#: ``<study>/_started/<attempt id>.json``: written exclusively when an attempt starts executing,
#: removed when it ends in the executor; one left behind means its worker died running it.
#: A pack has one, ``_started/pack-<pack id>.json``, naming its runs' attempt ids.
STARTED = "_started"
PACK_STARTED_PREFIX = "pack-"

#: characters of an attempt's message kept in the attempt history
HISTORY_MESSAGE_CHARS = 500


def now_iso() -> str:
    """Current UTC time, ISO 8601 with microseconds (the ``started``/``finished`` fields)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def attempt_entry(attempt: int, failure: dict | None = None, *, started: str | None = None,
                  finished: str | None = None, host: str | None = None) -> dict:
    """One item of a record's ``attempts_history``.

    Parameters
    ----------
    attempt : int
        1 for the first attempt of this invocation, 2 for the first retry, ...
    failure : dict, optional
        The attempt's failure (``kind``, ``error_class``, ``message``, ``started``, ``finished``,
        ``host``); None for the successful attempt.
    started, finished, host : str, optional
        Times (ISO 8601, UTC) and host when ``failure`` does not carry them.

    Returns
    -------
    dict
        ``attempt``, ``status`` (``done`` | ``failed``), ``error_class``, ``kind``, ``message``
        (first 500 characters), ``started``, ``finished``, ``host``.
    """
    f = failure or {}
    return {"attempt": attempt, "status": "failed" if failure is not None else "done",
            "error_class": f.get("error_class"), "kind": f.get("kind"),
            "message": (f.get("message") or "")[:HISTORY_MESSAGE_CHARS] or None,
            "started": f.get("started", started), "finished": f.get("finished") or finished or now_iso(),
            "host": f.get("host", host)}


@dataclass
class RunRecord:
    """One record of a run: a commit marker (``done``), a failure (``failed``) or a skip (``skipped``).

    The record *is* its JSON document (``data``), so the on-disk fields are kept exactly; the
    properties read them. Build records with :meth:`done`, :meth:`failed` and :meth:`skipped`.

    Parameters
    ----------
    name : str
        The run's name.
    status : str
        ``done`` | ``failed`` | ``skipped``.
    data : dict
        The JSON document. Common fields: ``name``, ``status``, ``key``, ``fn``, ``params_hash``,
        ``param_hashes`` (hash per top-level parameter), ``code``, ``upstream`` ({name: key}),
        ``finished``. Done: ``value``, ``attempt``, ``started``, ``duration_s`` (s), ``host``,
        ``pid``, ``seed``, ``versions``, ``commit_id``. Failed: ``kind``, ``error_class``,
        ``message``, ``traceback``, ``attempts``, ``duration_s``, ``host``. Skipped: ``reason``,
        ``error_class`` (None), ``attempts`` (0). ``attempts_history`` (list of
        :func:`attempt_entry`) on failures, and on markers of runs that needed more than one attempt.
    """

    name: str
    status: str
    data: dict

    # -- reading -----------------------------------------------------------------------------
    @property
    def key(self) -> str | None:
        """Content key the record was made for."""
        return self.data.get("key")

    @property
    def finished(self) -> str:
        """ISO time the record was made ("" when unknown)."""
        return self.data.get("finished") or ""

    @property
    def value(self) -> Any:
        """Returned value (done records), NaN and infinities decoded (:mod:`runfleet.values`)."""
        return decode_value(self.data.get("value"))

    @property
    def duration_s(self) -> float | None:
        """Duration of the successful (or last) attempt, in seconds."""
        return self.data.get("duration_s")

    @property
    def attempts(self) -> int:
        """Attempts made in the invocation that wrote the record."""
        return int(self.data.get("attempt", self.data.get("attempts", 0)) or 0)

    @property
    def host(self) -> str | None:
        """Host of the successful (or last) attempt."""
        return self.data.get("host")

    @property
    def attempts_history(self) -> list[dict]:
        """Every attempt of the invocation that wrote the record (see :func:`attempt_entry`); for a
        marker without one (first attempt succeeded) the single attempt from its own fields."""
        hist = self.data.get("attempts_history")
        if hist is not None:
            return list(hist)
        if self.status == "done":
            return [{"attempt": self.attempts or 1, "status": "done", "error_class": None, "kind": None,
                     "message": None, "started": self.data.get("started"), "finished": self.data.get("finished"),
                     "host": self.data.get("host")}]
        return []

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def done(cls, identity: dict, *, value: Any, attempt: int, started: str, finished: str, duration_s: float,
             host: str, pid: int, seed: int, versions: dict, history: list[dict] | None = None,
             params: dict | None = None) -> "RunRecord":
        """A commit marker.

        Parameters
        ----------
        identity : dict
            ``name``, ``key``, ``fn``, ``params_hash``, ``upstream``, ``code`` and, for runs with
            input files, ``files_hash`` (:meth:`runfleet.plan.KeyedRun.identity`).
        value : Any
            The JSON-able value the run returned.
        attempt : int
            This attempt's number.
        started, finished : str
            ISO 8601 UTC times.
        duration_s : float
            Seconds the run function took.
        host, pid, seed, versions
            Where it ran, its seed, package versions.
        history : list of dict, optional
            Failed earlier attempts; when given, ``attempts_history`` is written (them + this one).
        params : dict, optional
            The run's params: ``param_hashes`` is written from them.
        """
        data = {"name": identity["name"], "status": "done", "key": identity["key"], "fn": identity["fn"],
                "params_hash": identity["params_hash"], "upstream": identity["upstream"], "code": identity["code"],
                "value": value, "attempt": attempt, "started": started, "finished": finished,
                "duration_s": duration_s, "host": host, "pid": pid, "seed": seed, "versions": versions,
                "commit_id": uuid.uuid4().hex}
        if params is not None:
            data["param_hashes"] = param_hashes(params, identity.get("files_hash"))
        if history:
            data["attempts_history"] = list(history) + [attempt_entry(attempt, started=started, finished=finished,
                                                                      host=host)]
        return cls(identity["name"], "done", data)

    @classmethod
    def failed(cls, identity: dict, failure: dict, *, attempts: int, history: list[dict],
               params: dict | None = None) -> "RunRecord":
        """A failure record: the last attempt's ``failure`` (kind, error_class, message, traceback,
        duration_s, host, and the fields of its ``details``, e.g. a command's ``exit_code`` and
        ``stderr_tail``), ``attempts`` made and every attempt in ``history``."""
        data = {**_identity_fields(identity, params), "status": "failed", "kind": failure.get("kind"),
                "error_class": failure.get("error_class"), "message": failure.get("message"),
                "traceback": failure.get("traceback", ""), "attempts": attempts,
                "duration_s": failure.get("duration_s"), "host": failure.get("host"), "finished": now_iso(),
                "attempts_history": list(history)}
        for k, v in (failure.get("details") or {}).items():
            data.setdefault(k, v)
        return cls(identity["name"], "failed", data)

    @classmethod
    def skipped(cls, identity: dict, reason: str, params: dict | None = None) -> "RunRecord":
        """A skip record: the run did not execute because of ``reason`` (an upstream failed)."""
        data = {**_identity_fields(identity, params), "status": "skipped", "reason": reason, "error_class": None,
                "attempts": 0, "finished": now_iso()}
        return cls(identity["name"], "skipped", data)


def _identity_fields(identity: dict, params: dict | None) -> dict:
    out = {"name": identity["name"], "key": identity["key"], "fn": identity["fn"],
           "params_hash": identity["params_hash"], "code": identity["code"], "upstream": identity["upstream"]}
    if params is not None:
        out["param_hashes"] = param_hashes(params, identity.get("files_hash"))
    return out


#: the name used before RunRecord existed
Record = RunRecord


class Ledger:
    """Reads and writes one study's records in a store.

    Parameters
    ----------
    store : runfleet.store.Store
        The store.
    study : str
        The study's name (its directory under the store).
    """

    def __init__(self, store, study: str):
        self.store = store
        self.study = study
        self.root = store.join(study)

    # -- layout --------------------------------------------------------------------------------
    def run_dir(self, name: str) -> str:
        """Directory (path or URL) of run ``name``'s outputs: ``<store>/<study>/runs/<name>``."""
        return f"{self.root}/{run_relpath(name)}"

    def marker_path(self, name: str) -> str:
        """Path of run ``name``'s individual commit marker."""
        return f"{self.run_dir(name)}/{MARKER}"

    def error_path(self, name: str) -> str:
        """Path of run ``name``'s failure or skip record."""
        return f"{self.run_dir(name)}/{ERROR}"

    def pack_path(self, pack_id: str) -> str:
        """Path of the pack file ``pack_id``."""
        return f"{self.root}/{PACKS}/{pack_id}.json"

    # -- reading -------------------------------------------------------------------------------
    def load(self) -> tuple[dict[str, RunRecord], set[str]]:
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
        records: dict[str, RunRecord] = {}

        def offer(name: str, status: str, data: dict) -> None:
            current = records.get(name)
            if current is None or (data.get("finished") or "") >= current.finished:
                records[name] = RunRecord(name, status, data)

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

    @property
    def study_path(self) -> str:
        """Where the study record (``study.json``) is."""
        return f"{self.root}/{STUDY}"

    def read_study(self) -> dict | None:
        """The study record (``study.json``), or None."""
        return self.store.read_json(f"{self.root}/{STUDY}")

    def timeout_marked(self, name: str) -> bool:
        """True when a worker ended itself because run ``name`` ignored its timeout."""
        return self.store.exists(f"{self.run_dir(name)}/{TIMEOUT_MARK}")

    # -- writing (worker) ----------------------------------------------------------------------
    def started_path(self, attempt_id: str) -> str:
        """The start marker of attempt ``attempt_id`` (see :data:`STARTED`)."""
        return f"{self.root}/{STARTED}/{attempt_id}.json"

    def mark_started(self, attempt_id: str, info: dict) -> bool:
        """Record that attempt ``attempt_id`` starts executing; False when it had started before
        (a scheduler re-ran it after its worker died: it must not run twice)."""
        return self.store.create_exclusive(self.started_path(attempt_id), json.dumps(info).encode("utf-8"))

    def mark_pack_started(self, pack_id: str, attempt_ids: dict[str, str], info: dict) -> bool:
        """Record that a pack starts executing: one start marker for all its runs' attempts.

        Parameters
        ----------
        pack_id : str
            The pack's id (unique per task).
        attempt_ids : dict
            ``{attempt id: run name}`` of the pack's runs.
        info : dict
            ``started``, ``host``, ``pid``.

        Returns
        -------
        bool
            False when the pack had started before (a scheduler re-ran it after its worker died:
            none of its runs may run twice).
        """
        doc = {**info, "pack": pack_id, "attempts": attempt_ids}
        return self.store.create_exclusive(self.started_path(PACK_STARTED_PREFIX + pack_id),
                                           json.dumps(doc, separators=(",", ":")).encode("utf-8"))

    def attempt_started(self, attempt_id: str) -> bool:
        """True when attempt ``attempt_id`` started and did not end in its executor (its worker died).

        Its own start marker, else a pack's start marker naming it (one listing of ``_started/``
        and a read of the pack markers there: only packs in flight or lost; asked only when a
        task was lost with its worker).
        """
        if self.store.exists(self.started_path(attempt_id)):
            return True
        prefix = f"{self.root}/{STARTED}/{PACK_STARTED_PREFIX}"
        packs = [p for p in self.store.find(f"{self.root}/{STARTED}") if p.startswith(prefix)]
        for blob in self.store.read_many(packs).values():
            try:
                if attempt_id in json.loads(blob).get("attempts", {}):
                    return True
            except (ValueError, AttributeError):
                continue
        return False

    def end_started(self, attempt_id: str) -> None:
        """Remove the start marker of an attempt that ended in its executor.

        Best effort: attempt ids are unique, so a marker left behind (the store went away just
        then) refuses nothing later; it must not turn the run's own outcome into a store error.
        """
        try:
            self.store.remove(self.started_path(attempt_id))
        except Exception:  # noqa: BLE001 - see above
            pass

    def end_pack_started(self, pack_id: str) -> None:
        """Remove the start marker of a pack that ended in its executor (best effort, as
        :meth:`end_started`)."""
        self.end_started(PACK_STARTED_PREFIX + pack_id)

    def clear_run(self, name: str) -> None:
        """Remove everything an earlier attempt left in run ``name``'s directory."""
        self.store.remove_tree(self.run_dir(name))

    def write_log(self, name: str, text: str) -> None:
        """Save the captured log of run ``name``'s attempt."""
        self.store.write_bytes_atomic(f"{self.run_dir(name)}/{LOG}", text.encode("utf-8"))

    def mark_timeout(self, name: str) -> None:
        """Leave the mark that says the worker is ending itself over run ``name``'s timeout."""
        self.store.write_bytes_atomic(f"{self.run_dir(name)}/{TIMEOUT_MARK}", b"timeout")

    def commit(self, record: RunRecord, remove_error: bool = True) -> bool:
        """Commit a done record as ``runs/<name>/_result.json``, exclusively; remove an older
        failure record unless ``remove_error`` is False (the executor knows there is none: the
        run's directory was cleared or never had files; a failure record left there would be
        older than the marker anyway, and the newest record is the run's state). Returns False
        when another attempt had committed it first."""
        blob = json.dumps(record.data, indent=1, default=str).encode("utf-8")
        created = self.store.create_exclusive(self.marker_path(record.name), blob)
        if remove_error:
            self.store.remove(self.error_path(record.name))
        return created

    def commit_pack(self, pack_id: str, records: list[RunRecord]) -> None:
        """Commit the done records of a pack in one atomic write of ``_packs/<pack_id>.json``."""
        blob = json.dumps({"markers": {r.name: r.data for r in records}, "finished": now_iso()},
                          separators=(",", ":"), default=str)
        self.store.write_bytes_atomic(self.pack_path(pack_id), blob.encode("utf-8"))  # compact: C encoder

    # -- writing (driver) ----------------------------------------------------------------------
    def write_study(self, doc: dict) -> None:
        """Write the study record (``study.json``)."""
        data = json.dumps(doc, separators=(",", ":"), default=str).encode("utf-8")
        self.store.write_bytes_atomic(f"{self.root}/{STUDY}", data)

    def record_failure(self, identity: dict, failure: dict, *, attempts: int, history: list[dict],
                       params: dict | None = None) -> RunRecord:
        """Write and return the failure record of a run that is out of attempts (see
        :meth:`RunRecord.failed`)."""
        record = RunRecord.failed(identity, failure, attempts=attempts, history=history, params=params)
        self.store.write_json_atomic(self.error_path(record.name), record.data)
        return record

    def record_skip(self, identity: dict, reason: str, params: dict | None = None) -> RunRecord:
        """Write and return the skip record of a run whose upstream failed or was skipped."""
        record = RunRecord.skipped(identity, reason, params)
        self.store.write_json_atomic(self.error_path(record.name), record.data)
        return record


def run_relpath(name: str) -> str:
    """Directory of run ``name`` relative to its study's directory: ``runs/<name>``.

    Workloads use it for labels that must not depend on where the store is (a derived input's
    source, a report link), instead of building the path themselves.

    Parameters
    ----------
    name : str
        The run's name.

    Returns
    -------
    str
        ``runs/<name>`` (``/``-separated on every platform).

    See Also
    --------
    run_dir : the absolute path or URL of the same directory.
    """
    return f"{RUNS}/{name}"


def run_dir(store, study: str, name: str, storage_options: dict | None = None) -> str:
    """Directory of a run's outputs in a store: ``<store>/<study>/runs/<name>``.

    Parameters
    ----------
    store : str or runfleet.store.Store
        The store (directory, URL or Store).
    study : str
        The study's name.
    name : str
        The run's name.
    storage_options : dict, optional
        fsspec options when ``store`` is a URL (not needed to build the path).

    Returns
    -------
    str
        Absolute local path or URL.
    """
    from .store import Store

    if not isinstance(store, Store):
        store = Store(store, storage_options)
    return Ledger(store, study).run_dir(name)


__all__ = ["ERROR", "LOG", "Ledger", "MARKER", "PACKS", "RUNS", "Record", "RunRecord", "STUDY", "TIMEOUT_MARK",
           "attempt_entry", "now_iso", "run_dir", "run_relpath"]
