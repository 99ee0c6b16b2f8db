"""Per-run records in the store: commit markers, failures and skips, logs. Resume reads only this.

Layout under ``<store>/<study>/`` (a contract: README "Store layout")::

    study.json                  header of the study record of the last invocation (name, seed, store,
                                updated, format 2, run_count, shards, digest); a whole-study ``runs`` list
                                in stores written before format 2
    _study/<gen>-<n>.parquet    the study record's runs, columnar (name, fn, params, after, key,
                                retries, timeout_s), shards written incrementally
    runs/<name>/_result.json    commit marker (written last, atomically, by the worker)
    runs/<name>/_error.json     last failure or skip (written by the driver)
    runs/<name>/_log.txt        captured log of the last attempt
    _packs/<id>.json.gz         commit markers of packed short runs, columnar (format 2: fields
                                shared by the pack once, per-run fields as columns; gzip)
    _packs/<id>.json            the same, written before format 2: {"markers": {name: marker}}
    _started/<attempt id>.json  a single run's attempt executing on a Dask cluster (removed when it
                                ends; one left behind: its worker died running it; never read by
                                resume). Packs have none: their one object is the pack file

When a run has several records (an old marker, a newer failure), the newest one (``finished``
time) is the run's state.

Only :class:`Ledger` reads and writes these files, and every record is a :class:`RunRecord`
(made with :meth:`RunRecord.done`, :meth:`RunRecord.failed` or :meth:`RunRecord.skipped`).
The formats of two kinds of file live in modules of their own: pack files in
:mod:`runfleet.packfile`, the study record (header and shards) in :mod:`runfleet.studyrecord`.
"""
from __future__ import annotations

import bisect
import json
import time
import uuid
import zlib
from collections.abc import Mapping, ValuesView
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .errors import InputError
from .keys import param_hashes
from .packfile import PACK_SUFFIX, decode_pack, decode_pack_index, encode_pack, pack_markers
from .studyrecord import STUDY_COLUMNS, STUDY_SHARDS, StudyColumns, StudyRecordWriter, read_shard
from .values import decode_value

MARKER = "_result.json"
ERROR = "_error.json"
LOG = "_log.txt"
STUDY = "study.json"
PACKS = "_packs"
RUNS = "runs"
TIMEOUT_MARK = "_timeout_kill"
#: ``<study>/_started/<attempt id>.json``: written exclusively when a single run's attempt starts
#: executing, removed when it ends in the executor; one left behind means its worker died running
#: it. Packs write none (docs/requests.md).
STARTED = "_started"

#: characters of an attempt's message kept in the attempt history
HISTORY_MESSAGE_CHARS = 500


_ISO_SECOND: tuple[int, str] = (-1, "")  # the last second formatted by now_iso, and its text


def now_iso() -> str:
    """Current UTC time, ISO 8601 with microseconds (the ``started``/``finished`` fields), e.g.
    ``2026-11-29T23:40:22.123456+00:00`` (``datetime.isoformat``'s text; a worker writes two per
    run, so the date part is formatted once per second)."""
    global _ISO_SECOND
    sec, ns = divmod(time.time_ns(), 1_000_000_000)
    cached = _ISO_SECOND
    if cached[0] != sec:
        cached = _ISO_SECOND = (sec, datetime.fromtimestamp(sec, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{cached[1]}.{ns // 1000:06d}+00:00"


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
    def fn(self) -> str | None:
        """The run's function path (``module:qualname``)."""
        return self.data.get("fn")

    @property
    def upstream_missing(self) -> list[str] | None:
        """Upstreams that were not done when an aggregator over survivors ran (markers only)."""
        return self.data.get("upstream_missing")

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
             params: dict | None = None, commit_id: str | None = None) -> "RunRecord":
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
        commit_id : str, optional
            The id of the commit writing the marker (a pack's id); a new random id when None.
        """
        data = {"name": identity["name"], "status": "done", "key": identity["key"], "fn": identity["fn"],
                "params_hash": identity["params_hash"], "upstream": identity["upstream"], "code": identity["code"],
                "value": value, "attempt": attempt, "started": started, "finished": finished,
                "duration_s": duration_s, "host": host, "pid": pid, "seed": seed, "versions": versions,
                "commit_id": commit_id or uuid.uuid4().hex}
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


class _Pack:
    """One format-2 or format-3 pack file as the ledger keeps it after a listing: the columns
    resume needs (name, key, value, duration_s, finished, upstream_missing, fn; a format-3 pack's
    index), and where to read the rest.

    A pack's full records are parsed again only when a reader asks for a record's ``data``
    (``status``, ``report``, ``results``), and then cached here.
    """

    __slots__ = ("path", "store", "names", "keys", "values", "durations", "finished", "fn", "attempt", "missing",
                 "_doc")

    def __init__(self, path: str, store, doc: dict):
        self.path, self.store = path, store
        shared, cols, sparse = doc.get("shared", {}), doc.get("columns", {}), doc.get("sparse", {})
        self.names = cols.get("name") or []

        def column(field):
            if field in cols:
                return cols[field]
            if field in shared:
                return shared[field]
            return None

        self.keys = column("key")
        self.values = column("value")
        self.durations = column("duration_s")
        self.finished = column("finished") or doc.get("finished")
        self.fn = column("fn")
        self.attempt = column("attempt")
        self.missing = {int(i): v for i, v in (sparse.get("upstream_missing") or {}).items()} or None
        self._doc = None

    def get(self, attr: str, i: int):
        col = getattr(self, attr)
        return col[i] if isinstance(col, list) else col

    def doc(self) -> dict:
        """The whole pack document (read again from the store, once)."""
        if self._doc is None:
            blob = self.store.read_bytes(self.path)
            self._doc = decode_pack(blob) if blob is not None else {}
        return self._doc

    def data(self, i: int) -> dict:
        """The marker of the pack's ``i``-th run, exactly as :meth:`RunRecord.done` built it."""
        doc = self.doc()
        out = dict(doc.get("shared", {}))
        for field, col in doc.get("columns", {}).items():
            out[field] = col[i]
        for field, entries in doc.get("sparse", {}).items():
            if str(i) in entries:
                out[field] = entries[str(i)]
        return out


class PackedRecord:
    """The commit marker of a run committed in a format-2 pack file: a :class:`RunRecord` (same
    properties) whose fields stay in the pack's columns until ``data`` is asked for.

    Parameters
    ----------
    pack : _Pack
        The pack the marker is in.
    index : int
        Its position in the pack's columns.
    """

    __slots__ = ("_pack", "_i")
    status = "done"

    def __init__(self, pack: _Pack, index: int):
        self._pack, self._i = pack, index

    @property
    def name(self) -> str:
        return self._pack.names[self._i]

    @property
    def data(self) -> dict:
        """The marker's JSON document (read from the pack file when first asked for)."""
        return self._pack.data(self._i)

    @property
    def key(self) -> str | None:
        return self._pack.get("keys", self._i)

    @property
    def finished(self) -> str:
        return self._pack.get("finished", self._i) or ""

    @property
    def value(self) -> Any:
        return decode_value(self._pack.get("values", self._i))

    @property
    def duration_s(self) -> float | None:
        return self._pack.get("durations", self._i)

    @property
    def fn(self) -> str | None:
        return self._pack.get("fn", self._i)

    @property
    def upstream_missing(self) -> list[str] | None:
        return None if self._pack.missing is None else self._pack.missing.get(self._i)

    @property
    def attempts(self) -> int:
        return int(self._pack.get("attempt", self._i) or 0)

    host = RunRecord.host
    attempts_history = RunRecord.attempts_history

    def __repr__(self) -> str:
        return f"PackedRecord({self.name!r}, key={self.key!r})"


class _Values(ValuesView):
    """The records of a :class:`RunRecords`, also from the last (``reversed``)."""

    def __reversed__(self):
        m = self._mapping
        for name in reversed(list(m)):
            yield m[name]


class RunRecords(Mapping):
    """``{run name: newest record}`` of a study, as :meth:`Ledger.load` returns it.

    Records of runs committed in pack files are not made one object per run at load time: the
    mapping keeps each pack's columns and a position per name, and makes a
    :class:`PackedRecord` when one is asked for (a million packed runs load as a few hundred
    packs and one dict of names).

    Parameters
    ----------
    single : dict
        ``{name: RunRecord}`` of the records in files of their own (markers, failures, skips,
        format-1 pack entries), the newest already chosen among them.
    packs : list of _Pack
        The format-2/3 packs, in listing order.
    """

    def __init__(self, single: dict, packs: list):
        self._single = single
        self._packs = packs
        self._offsets: list[int] = []
        self._pos: dict[str, int] = {}
        self._flat = None  # done_columns(), built when first asked for
        off = 0
        for pack in packs:
            self._offsets.append(off)
            names = pack.names
            clash = self._pos.keys() & names if self._pos else ()
            if clash:  # a run in several packs (it ran again later): the newest marker wins
                for i, name in enumerate(names):
                    if name in clash:
                        if pack.get("finished", i) >= self._packed(self._pos[name]).finished:
                            self._pos[name] = off + i
                    else:
                        self._pos[name] = off + i
            else:
                self._pos.update(zip(names, range(off, off + len(names))))
            off += len(names)
        for name in [n for n in single if n in self._pos]:  # a marker of its own against a pack's
            packed = self._packed(self._pos[name])
            if single[name].finished >= packed.finished:
                del self._pos[name]
            else:
                del single[name]

    def _packed(self, p: int) -> "PackedRecord":
        k = bisect.bisect_right(self._offsets, p) - 1
        return PackedRecord(self._packs[k], p - self._offsets[k])

    def __getitem__(self, name: str):
        rec = self._single.get(name)
        if rec is not None:
            return rec
        return self._packed(self._pos[name])

    def get(self, name: str, default=None):
        rec = self._single.get(name)
        if rec is not None:
            return rec
        p = self._pos.get(name)
        return default if p is None else self._packed(p)

    def __contains__(self, name) -> bool:
        return name in self._single or name in self._pos

    def __iter__(self):
        yield from self._single
        yield from self._pos

    def __len__(self) -> int:
        return len(self._single) + len(self._pos)

    def values(self) -> _Values:
        return _Values(self)

    def done_columns(self) -> tuple[dict, dict, list, list, list]:
        """The records laid out for a bulk comparison of keys (a resume of a million runs):
        ``(single, positions, keys, values, durations)``. ``single`` is ``{name: RunRecord}`` of
        the records in files of their own; ``positions`` ``{name: p}`` of the runs whose newest
        record is a packed marker, and ``keys[p]``, ``values[p]`` (as stored: see
        :func:`runfleet.values.decode_value`) and ``durations[p]`` its key, value and duration.
        A name is in at most one of ``single`` and ``positions``. Built once, then shared:
        treat as read-only."""
        got = self._flat
        if got is None:
            keys: list = []
            values: list = []
            durations: list = []
            for pack in self._packs:
                n = len(pack.names)
                for attr, out in (("keys", keys), ("values", values), ("durations", durations)):
                    col = getattr(pack, attr)
                    out.extend(col if isinstance(col, list) else [col] * n)
            got = self._flat = (self._single, self._pos, keys, values, durations)
        return got

    def packed_states(self) -> dict[str, tuple]:
        """``{name: (key, attempts, duration_s, finished)}`` of the runs whose newest record is a
        packed marker, read pack by pack from the columns (what ``runfleet status`` shows of a
        done run, without a record object per run)."""
        out: dict[str, tuple] = {}
        pos = self._pos
        for pack, off in zip(self._packs, self._offsets):
            n = len(pack.names)

            def col(attr, default=None):
                v = getattr(pack, attr)
                return v if isinstance(v, list) else [default if v is None else v] * n

            keys, attempts, durations, finished = col("keys"), col("attempt", 0), col("durations"), col("finished")
            for i, name in enumerate(pack.names):
                if pos.get(name) == off + i:
                    out[name] = (keys[i], int(attempts[i] or 0), durations[i], finished[i] or "")
        return out


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
        """Path of the pack file ``pack_id`` (format 2: ``_packs/<pack_id>.json.gz``)."""
        return f"{self.root}/{PACKS}/{pack_id}{PACK_SUFFIX}"

    # -- reading -------------------------------------------------------------------------------
    def load(self) -> tuple["RunRecords", set[str]]:
        """All runs' newest records (a :class:`RunRecords` mapping), and the names of runs that
        have files in their directory.

        One listing of the study plus one (concurrent on object stores) read of the record files;
        of a format-3 pack file only its index is decompressed and parsed.
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
            elif path.startswith(packs_prefix) and (path.endswith(".json") or path.endswith(PACK_SUFFIX)):
                wanted.append(path)
        blobs = self.store.read_many(wanted)
        single: dict[str, RunRecord] = {}
        packs: list[_Pack] = []

        def offer(name: str, status: str, data: dict) -> None:
            current = single.get(name)
            if current is None or (data.get("finished") or "") >= current.finished:
                single[name] = RunRecord(name, status, data)

        for path in wanted:  # listing order: the same newest record whatever order reads finish in
            blob = blobs.pop(path, None)
            if blob is None:
                continue
            is_pack = path.startswith(packs_prefix)
            try:
                doc = decode_pack_index(blob) if is_pack else json.loads(blob)
            except (ValueError, OSError, EOFError, zlib.error):
                continue  # a torn write cannot happen with atomic commits; ignore foreign files
            if is_pack and doc.get("format") in (2, 3):
                packs.append(_Pack(path, self.store, doc))
            elif is_pack:
                for name, marker in doc.get("markers", {}).items():
                    offer(name, "done", marker)
            elif path.endswith(MARKER):
                offer(doc.get("name", path.split("/")[-2]), "done", doc)
            else:
                offer(doc.get("name", path.split("/")[-2]), doc.get("status", "failed"), doc)
        return RunRecords(single, packs), dirty

    def committed_names(self, batch: int = 64):
        """Names of the runs with a commit marker (single or packed), pack by pack: one listing,
        single markers named by their path, pack files read ``batch`` at a time. Nothing is kept
        per run (the engine's final check of a million runs).

        Yields
        ------
        str
        """
        files = self.store.find(self.root)
        runs_prefix = f"{self.root}/{RUNS}/"
        packs_prefix = f"{self.root}/{PACKS}/"
        packs = []
        for path in files:
            if path.startswith(runs_prefix) and path.endswith(f"/{MARKER}"):
                name, _, leaf = path[len(runs_prefix):].partition("/")
                if leaf == MARKER:
                    yield name
            elif path.startswith(packs_prefix) and (path.endswith(".json") or path.endswith(PACK_SUFFIX)):
                packs.append(path)
        for start in range(0, len(packs), batch):
            blobs = self.store.read_many(packs[start:start + batch])
            for blob in blobs.values():
                try:
                    doc = decode_pack_index(blob)
                except (ValueError, OSError, EOFError, zlib.error):
                    continue
                if doc.get("format") in (2, 3):
                    yield from doc.get("columns", {}).get("name", [])
                else:
                    yield from doc.get("markers", {})

    @property
    def study_path(self) -> str:
        """Where the study record (``study.json``) is."""
        return f"{self.root}/{STUDY}"

    def read_study(self) -> dict | None:
        """The study record with every run: the ``study.json`` header and a ``runs`` list of
        ``{name, fn, params, after, key, retries, timeout_s}`` read from its shards (or a whole
        ``study.json`` written before format 2, as it is); None when there is none.

        For big studies prefer :meth:`read_study_columns` (no dict per run).

        Raises
        ------
        InputError
            A corrupt header or shard.
        """
        head, cols = self.read_study_columns()
        if head is None or cols is None:
            return head
        doc = dict(head)
        doc["runs"] = [dict(zip(STUDY_COLUMNS, row)) for row in zip(*(cols.column(c) for c in STUDY_COLUMNS))]
        return doc

    def read_study_header(self) -> dict | None:
        """The ``study.json`` document as stored (format 2: the header; earlier: the whole study)."""
        doc = self.store.read_json(self.study_path)
        if doc is not None and not isinstance(doc, dict):
            raise InputError(f"{self.study_path}: corrupt record (expected an object)")
        return doc

    def read_study_columns(self, columns=STUDY_COLUMNS) -> tuple[dict | None, "StudyColumns | None"]:
        """The study record as ``(header, columns)``: the header fields of ``study.json``
        (``name``, ``seed``, ``store``, ``updated``, ...) and a :class:`StudyColumns` with one
        item per run; ``(None, None)`` when the study has no record. ``columns``: the
        :data:`STUDY_COLUMNS` to read from the shards (``name`` and ``key`` always are; ``status``
        reads only these).

        Raises
        ------
        InputError
            A corrupt header or shard, or a shard the header lists that is missing.
        """
        doc = self.read_study_header()
        if doc is None:
            return None, None
        if doc.get("format") != 2:  # a whole study.json (before format 2)
            runs = doc.get("runs", [])
            if not isinstance(runs, list):
                raise InputError(f"{self.study_path}: corrupt record (expected an object with a 'runs' list)")
            head = {k: v for k, v in doc.items() if k != "runs"}
            return head, StudyColumns.from_rows(runs)
        shards = doc.get("shards") or []
        blobs = self.store.read_many([f"{self.root}/{rel}" for rel in shards])
        parts = []
        for rel in shards:
            blob = blobs.get(f"{self.root}/{rel}")
            if blob is None:
                raise InputError(f"{self.root}/{rel}: missing shard of the study record {self.study_path}")
            parts.append(read_shard(blob, f"{self.root}/{rel}", columns))
        return doc, StudyColumns.concat(parts)

    def study_params(self) -> dict[str, dict]:
        """``{run name: params}`` of the study record (the last invocation); ``{}`` without one."""
        head, cols = self.read_study_columns()
        if cols is None:
            return {}
        return {n: cols.params(i) for i, n in enumerate(cols.names)}

    def study_writer(self, header: dict, before_write=None) -> "StudyRecordWriter":
        """A :class:`StudyRecordWriter` that writes this study's record incrementally
        (``before_write``: called once before its first write)."""
        return StudyRecordWriter(self, header, before_write)

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

    def attempt_started(self, attempt_id: str) -> bool:
        """True when single-run attempt ``attempt_id`` started and did not end in its executor
        (its worker died): its start marker is there (one HEAD; asked only when a task was lost
        with its worker)."""
        return self.store.exists(self.started_path(attempt_id))

    def end_started(self, attempt_id: str) -> None:
        """Remove the start marker of an attempt that ended in its executor.

        Best effort: attempt ids are unique, so a marker left behind (the store went away just
        then) refuses nothing later; it must not turn the run's own outcome into a store error.
        """
        try:
            self.store.remove(self.started_path(attempt_id))
        except Exception:  # noqa: BLE001 - see above
            pass

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
        """Commit the done records of a pack in one atomic write of ``_packs/<pack_id>.json.gz``
        (:func:`encode_pack`)."""
        for r in records:  # one commit: one id (the executor's records have it already); durations to the µs
            data = r.data
            if data.get("commit_id") != pack_id:
                data["commit_id"] = pack_id
            duration = data.get("duration_s")
            if type(duration) is float:
                data["duration_s"] = round(duration, 6)
        self.store.write_bytes_atomic(self.pack_path(pack_id), encode_pack(records, now_iso()))

    # -- writing (driver) ----------------------------------------------------------------------
    def write_study(self, doc: dict) -> None:
        """Write the whole study record: ``doc``'s fields but ``runs`` as the ``study.json``
        header, and its ``runs`` (dicts with the :data:`STUDY_COLUMNS`) as parquet shards under
        ``_study/``; the shards of the previous record are removed afterwards."""
        header = {k: v for k, v in doc.items() if k != "runs"}
        writer = self.study_writer(header)
        writer.append(doc.get("runs") or [])
        writer.flush()

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


__all__ = ["ERROR", "LOG", "Ledger", "MARKER", "PACKS", "PACK_SUFFIX", "PackedRecord", "RUNS", "Record", "RunRecord",
           "RunRecords",
           "STUDY", "STUDY_COLUMNS", "STUDY_SHARDS", "StudyColumns", "StudyRecordWriter", "TIMEOUT_MARK",
           "attempt_entry", "decode_pack", "encode_pack", "now_iso", "pack_markers", "run_dir", "run_relpath"]
