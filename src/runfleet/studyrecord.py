"""The study record: every run of a study's last invocation (name, fn, params, after, key,
retries, timeout_s), as a ``study.json`` header plus parquet shards ``_study/<gen>-<n>.parquet``
written incrementally, so no file holds every run's params and the driver never builds the whole
record in memory. Only :class:`runfleet.ledger.Ledger` reads and writes it (through
:class:`StudyRecordWriter` and :func:`read_shard`).
"""
from __future__ import annotations

import hashlib
import io
import json
import uuid
from typing import TYPE_CHECKING

from .errors import InputError
from .keys import one_shot_encoder

if TYPE_CHECKING:  # (the ledger imports this module)
    from .ledger import Ledger

#: ``<study>/_study/``: the study record's run shards (parquet), listed in ``study.json``
STUDY_SHARDS = "_study"
#: rows of one study-record shard at most
SHARD_ROWS = 250_000
#: columns of the study record, in order
STUDY_COLUMNS = ("name", "fn", "params", "after", "key", "retries", "timeout_s")
#: the columns the record's digest covers: all but ``params``, which each run's content key covers
#: (its params hash), so a resume checks an unchanged record without encoding every run's params
DIGEST_COLUMNS = tuple(c for c in STUDY_COLUMNS if c != "params")


class StudyColumns:
    """The runs of a study record, column by column (no dict per run).

    Parameters
    ----------
    columns : dict
        ``{column: list}`` for every name of :data:`STUDY_COLUMNS` (or the ones a reader asked
        for: ``name`` and ``key`` always); ``params`` and ``after`` hold JSON text (parsed by
        :meth:`params` / :meth:`after`) or already parsed values.
    """

    def __init__(self, columns: dict):
        self._cols = columns
        self.names: list[str] = columns["name"]
        self.keys: list[str | None] = columns["key"]

    def __len__(self) -> int:
        return len(self.names)

    def column(self, name: str) -> list:
        """One column, parsed (``params`` as dicts, ``after`` as lists)."""
        if name in ("params", "after"):
            return [self._parse(name, i) for i in range(len(self.names))]
        return self._cols[name]

    def _parse(self, name: str, i: int):
        v = self._cols[name][i]
        if isinstance(v, str):
            v = json.loads(v)
        return v if v is not None else ({} if name == "params" else [])

    def params(self, i: int) -> dict:
        """Params of the ``i``-th run."""
        return self._parse("params", i)

    def after(self, i: int) -> list:
        """Upstream names of the ``i``-th run."""
        return self._parse("after", i)

    @classmethod
    def from_rows(cls, rows: list[dict]) -> "StudyColumns":
        """From run dicts (a study.json written before format 2); rows without a name are dropped."""
        rows = [r for r in rows if isinstance(r, dict) and "name" in r]
        return cls({c: [r.get(c) for r in rows] for c in STUDY_COLUMNS})

    @classmethod
    def concat(cls, parts: list["StudyColumns"]) -> "StudyColumns":
        """The runs of several shards, in order (the columns all of them have)."""
        if len(parts) == 1:
            return parts[0]
        present = [c for c in STUDY_COLUMNS if all(c in p._cols for p in parts)] if parts else STUDY_COLUMNS
        return cls({c: [v for p in parts for v in p._cols[c]] for c in present})


def _study_schema():
    import pyarrow as pa

    return pa.schema([("name", pa.string()), ("fn", pa.dictionary(pa.int32(), pa.string())),
                      ("params", pa.string()), ("after", pa.string()), ("key", pa.string()),
                      ("retries", pa.int32()), ("timeout_s", pa.float64())])


def _write_shard(cols: dict) -> bytes:
    """Parquet bytes of study-record columns (``params`` and ``after`` already JSON text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({c: cols[c] for c in STUDY_COLUMNS}, schema=_study_schema())
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


#: the record's JSON text of params and after (``JSONEncoder(...).encode``'s text, built faster)
_dumps = one_shot_encoder(json.JSONEncoder(separators=(",", ":"), default=str))
#: :data:`_dumps` of a validated run's params (checked JSON-able when the run was submitted)
_dumps_checked = one_shot_encoder(json.JSONEncoder(separators=(",", ":"), default=str), checked=True)


def _rows_to_columns(rows: list[dict]) -> dict:
    return {
        "name": [r["name"] for r in rows],
        "fn": [r.get("fn") for r in rows],
        "params": [_dumps(r.get("params") or {}) for r in rows],
        "after": [_dumps(list(r.get("after") or ())) for r in rows],
        "key": [r.get("key") for r in rows],
        "retries": [r.get("retries") for r in rows],
        "timeout_s": [r.get("timeout_s") for r in rows],
    }


def read_shard(blob: bytes, path: str, columns=STUDY_COLUMNS) -> StudyColumns:
    """The runs of one shard of the study record.

    Parameters
    ----------
    blob : bytes
        The shard's parquet bytes.
    path : str
        Where it was read (for the message when it is corrupt).
    columns : sequence of str
        The :data:`STUDY_COLUMNS` to read (``name`` and ``key`` always are).

    Returns
    -------
    StudyColumns

    Raises
    ------
    InputError
        A corrupt shard.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    wanted = [c for c in STUDY_COLUMNS if c in columns or c in ("name", "key")]
    try:
        table = pq.read_table(pa.BufferReader(blob), columns=wanted)
        cols = {c: table.column(c).to_pylist() for c in wanted}
    except (pa.ArrowException, KeyError, OSError) as e:
        raise InputError(f"{path}: corrupt shard of the study record ({type(e).__name__}: {_short(e)})") from None
    return StudyColumns(cols)


def _short(e: BaseException) -> str:
    return " ".join(str(e).split())[:200]


class StudyRecordWriter:
    """Writes a study record incrementally: runs are appended as they are planned, and each
    :meth:`flush` writes the runs appended since the last one as new parquet shards
    (``_study/<generation>-<n>.parquet``), then the ``study.json`` header listing every shard
    of this record. The first flush removes the previous record's shards after its header is
    replaced, so a reader always finds a complete record (the old one or the new one).

    The header carries a ``digest`` of every run's row: when the first flush finds the same
    record in the store already (same header fields, same rows in the same order: a resume with
    nothing changed), it writes nothing and goes on from the stored shards.

    Parameters
    ----------
    ledger : Ledger
        The study's ledger.
    header : dict
        Header fields (``name``, ``seed``, ``store``, ...); ``updated``, ``format``,
        ``run_count``, ``shards`` and ``digest`` are set by the writer.
    before_write : callable, optional
        Called once, before the writer's first write to the store (the engine's writability
        probe: a record that is already there costs no probe).
    """

    def __init__(self, ledger: "Ledger", header: dict, before_write=None):
        self.ledger = ledger
        self.header = dict(header)
        self.generation = uuid.uuid4().hex[:12]
        self.shards: list[str] = []
        self.count = 0
        self._pending: dict[str, list] = {c: [] for c in STUDY_COLUMNS}
        self._flushed_once = False
        self._before_write = before_write
        self._hashes = {c: hashlib.sha256() for c in STUDY_COLUMNS}  # one running digest per column

    def append(self, rows: list[dict]) -> None:
        """Queue run rows (dicts with the :data:`STUDY_COLUMNS`) for the next flush."""
        self.append_columns(_rows_to_columns(rows))

    def append_columns(self, columns: dict) -> None:
        """Queue runs given column by column (``{column: list}`` for every :data:`STUDY_COLUMNS`;
        ``params`` and ``after`` as objects or as JSON text)."""
        self._hash_columns(columns, self._hashes, self._pending)

    @staticmethod
    def _hash_columns(columns: dict, hashes: dict, pending: dict | None) -> int:
        n = 0
        for c in STUDY_COLUMNS:
            if c == "params" and pending is None:
                continue  # not in the digest (DIGEST_COLUMNS); a check may leave it out
            col = columns[c]
            if c in ("params", "after"):
                col = [v if isinstance(v, str) else _dumps(list(v) if c == "after" else (v or {})) for v in col]
            if pending is not None:
                pending[c].extend(col)
            n = len(col)
            if c == "params":
                continue
            # boundary-free: the digest of every value followed by a separator, whatever the batches
            # (names are plain, JSON text escapes control characters)
            text = "\x1f".join(col if c in ("params", "after", "name") else map(str, col))
            hashes[c].update((text + "\x1f").encode("utf-8") if col else b"")
        return n

    def already_stored(self, batches) -> bool:
        """True when the store already holds exactly the record of ``batches`` (an iterable of
        column dicts as for :meth:`append_columns`, covering every run; ``params`` may be left out:
        the digest does not cover it): the writer then goes on
        from the stored shards and nothing is written. Nothing is kept of the batches but their
        digest, so a record of 1,000,000 runs is checked without holding its columns.

        Only before the writer's first flush, with nothing appended yet; False otherwise.
        """
        if self._flushed_once or self.count or self.pending:
            return False
        try:
            old = self.ledger.read_study_header()
        except InputError:
            return False
        if not isinstance(old, dict) or old.get("format") != 2 or not isinstance(old.get("shards"), list):
            return False
        hashes = {c: hashlib.sha256() for c in STUDY_COLUMNS}
        n = sum(self._hash_columns(b, hashes, None) for b in batches)
        saved, self._hashes = self._hashes, hashes
        if old.get("run_count") == n and old.get("digest") == self.digest() and all(
                old.get(k) == v for k, v in self.header.items()):
            self._flushed_once = True
            self.shards, self.count = list(old["shards"]), n
            return True
        self._hashes = saved
        return False

    def digest(self) -> str:
        """The digest of every row appended so far (sha256 hex of the per-column digests of
        :data:`DIGEST_COLUMNS`)."""
        return hashlib.sha256("".join(self._hashes[c].hexdigest() for c in DIGEST_COLUMNS).encode()).hexdigest()

    @property
    def pending(self) -> int:
        """Rows appended and not flushed yet."""
        return len(self._pending["name"])

    def flush(self, header: dict | None = None) -> None:
        """Write pending rows as shards and the header (updated with ``header``)."""
        store, root = self.ledger.store, self.ledger.root
        if header:
            self.header.update(header)
        old = None
        if not self._flushed_once:
            try:
                old = self.ledger.read_study_header()
            except InputError:
                old = None
            if self._same_record(old):  # already in the store: nothing to write
                self._flushed_once = True
                self.shards, self.count = list(old["shards"]), int(old["run_count"])
                self._pending = {c: [] for c in STUDY_COLUMNS}
                return
        if self._before_write is not None:
            self._before_write()
            self._before_write = None
        cols, self._pending = self._pending, {c: [] for c in STUDY_COLUMNS}
        n = len(cols["name"])
        for start in range(0, n, SHARD_ROWS):
            rel = f"{STUDY_SHARDS}/{self.generation}-{len(self.shards):05d}.parquet"
            part = {c: v[start:start + SHARD_ROWS] for c, v in cols.items()}
            store.write_bytes_atomic(f"{root}/{rel}", _write_shard(part))
            self.shards.append(rel)
        del cols
        self.count += n
        from .ledger import now_iso  # (the ledger imports this module)

        doc = {**self.header, "updated": now_iso(), "format": 2, "run_count": self.count, "shards": list(self.shards),
               "digest": self.digest()}
        store.write_bytes_atomic(self.ledger.study_path, json.dumps(doc, indent=1, default=str).encode("utf-8"))
        if not self._flushed_once:
            self._flushed_once = True
            if isinstance(old, dict) and old.get("format") == 2:
                for rel in old.get("shards") or []:
                    if rel not in self.shards and isinstance(rel, str) and rel.startswith(f"{STUDY_SHARDS}/"):
                        store.remove(f"{root}/{rel}")

    def _same_record(self, old) -> bool:
        """True when ``old`` (the stored header) is this writer's record: format 2, the same
        header fields, the same number of rows and the same digest of them."""
        if not isinstance(old, dict) or old.get("format") != 2 or not isinstance(old.get("shards"), list):
            return False
        if old.get("digest") != self.digest() or old.get("run_count") != self.count + self.pending:
            return False
        return all(old.get(k) == v for k, v in self.header.items())


__all__ = ["DIGEST_COLUMNS", "SHARD_ROWS", "STUDY_COLUMNS", "STUDY_SHARDS", "StudyColumns", "StudyRecordWriter", "read_shard"]
