"""Pack files: the commit markers of a pack of short runs in one object (``_packs/<id>.json.gz``).

Format 3: two gzip members of JSON, each with fields equal in every marker once (``shared``),
fields every marker has as ``columns`` (one item per run) and fields only some have as
``sparse`` (``{position: value}``). The first member, the *index*, holds what a resume, a dry run
and ``runfleet status`` read (:data:`INDEX_FIELDS`: name, key, value, duration, finish time,
attempt, fn, ``upstream_missing``) and the shared fields; the second holds the rest of each marker
(start time, seed, parameter hashes, ...), read only when a whole marker is asked for. About 80
bytes per trivial run. Format 2 (one gzip member, the same document) and format 1
(``_packs/<id>.json`` holding ``{"markers": {name: marker}}``) are still read.
Only :class:`runfleet.ledger.Ledger` reads and writes pack files; this module is their codec.
"""
from __future__ import annotations

import gzip
import json
import zlib
from operator import itemgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (the ledger imports this module)
    from .ledger import RunRecord

#: suffix of format-2 and format-3 pack files (columnar JSON, gzip)
PACK_SUFFIX = ".json.gz"
#: fields of a marker kept in a format-3 pack's index (its first gzip member)
INDEX_FIELDS = frozenset({"name", "key", "value", "duration_s", "finished", "attempt", "fn", "status",
                          "upstream_missing"})


def encode_pack(records: list[RunRecord], finished: str) -> bytes:
    """A pack file (format 3): fields equal in every marker once (``shared``), fields every
    marker has as ``columns`` (one list item per run), fields only some have as ``sparse``
    (``{position: value}``); the :data:`INDEX_FIELDS` in a first gzip member of JSON, the other
    columns in a second.

    Parameters
    ----------
    records : list of RunRecord
        The done records of a pack.
    finished : str
        ISO time of the commit.

    Returns
    -------
    bytes
    """
    datas = [r.data for r in records]
    n = len(datas)
    fields = dict.fromkeys(datas[0]) if datas else {}
    keys0 = datas[0].keys() if datas else None
    uniform = True  # every marker has the same fields (the usual pack: one function, first attempts)
    for d in datas:
        if d.keys() != keys0:
            uniform = False
            fields.update(dict.fromkeys(d))
    if uniform and n:  # the columns in one C-level transpose
        grid = zip(*map(itemgetter(*fields), datas)) if len(fields) > 1 else ((d[f] for d in datas) for f in fields)
        full = dict(zip(fields, map(list, grid)))
    else:
        full = {f: [d[f] for d in datas] for f in fields if all(f in d for d in datas)}
    shared, columns, sparse = {}, {}, {}
    for f in fields:
        col = full.get(f)
        if col is None:
            sparse[f] = {str(i): d[f] for i, d in enumerate(datas) if f in d}
        elif f != "name" and col.count(col[0]) == n and len(set(map(type, col))) == 1:
            shared[f] = col[0]  # equal in every marker, and of one type (1 and 1.0 and True differ)
        else:
            columns[f] = col
    index = {"format": 3, "finished": finished, "shared": shared,
             "columns": {f: v for f, v in columns.items() if f in INDEX_FIELDS}}
    rest = {"columns": {f: v for f, v in columns.items() if f not in INDEX_FIELDS}}
    if sparse:
        index["sparse"] = {f: v for f, v in sparse.items() if f in INDEX_FIELDS}
        rest["sparse"] = {f: v for f, v in sparse.items() if f not in INDEX_FIELDS}
    # level 1: a third of level 6's CPU for 3% more bytes (about 82 instead of 79 per trivial run)
    return b"".join(gzip.compress(json.dumps(part, separators=(",", ":"), default=str).encode("utf-8"),
                                  compresslevel=1, mtime=0) for part in (index, rest))


def _first_member(blob: bytes) -> tuple[bytes, bytes]:
    """The first gzip member of ``blob`` decompressed, and the bytes after it."""
    d = zlib.decompressobj(wbits=31)
    return d.decompress(blob), d.unused_data


def decode_pack_index(blob: bytes) -> dict:
    """What resume reads of a pack file: the index of a format-3 pack (its first gzip member:
    the :data:`INDEX_FIELDS` and the shared fields), the whole document of older formats.

    Parameters
    ----------
    blob : bytes
        The content of ``_packs/<id>.json.gz`` (or ``_packs/<id>.json``).

    Returns
    -------
    dict
        ``format``, ``finished``, ``shared``, ``columns`` and ``sparse`` (format 2 and 3), or a
        format-1 document (``{"markers": {name: marker}}``).
    """
    if blob[:2] == b"\x1f\x8b":
        blob, _ = _first_member(blob)
    return json.loads(blob)


def decode_pack(blob: bytes) -> dict:
    """The whole document of a pack file: format 3 (index and rest merged) or 2 (gzip, columnar)
    as written by :func:`encode_pack`; a format-1 document (``{"markers": {name: marker}}``) is
    returned as it is."""
    if blob[:2] != b"\x1f\x8b":
        return json.loads(blob)
    raw, tail = _first_member(blob)
    doc = json.loads(raw)
    while tail:  # format 3: the rest of the columns
        raw, tail = _first_member(tail)
        part = json.loads(raw)
        doc.setdefault("columns", {}).update(part.get("columns", {}))
        if part.get("sparse"):
            doc.setdefault("sparse", {}).update(part["sparse"])
    return doc


def pack_markers(blob: bytes) -> dict[str, dict]:
    """``{run name: marker}`` of a pack file's bytes, format 2 or earlier (for tools and tests).

    Parameters
    ----------
    blob : bytes
        The content of ``_packs/<id>.json.gz`` (or ``_packs/<id>.json``).

    Returns
    -------
    dict
    """
    doc = decode_pack(blob)
    if doc.get("format") not in (2, 3):
        return dict(doc.get("markers", {}))
    shared, cols, sparse = doc.get("shared", {}), doc.get("columns", {}), doc.get("sparse", {})
    out = {}
    for i, name in enumerate(cols.get("name", [])):
        m = dict(shared)
        for f, col in cols.items():
            m[f] = col[i]
        for f, entries in sparse.items():
            if str(i) in entries:
                m[f] = entries[str(i)]
        out[name] = m
    return out


__all__ = ["INDEX_FIELDS", "PACK_SUFFIX", "decode_pack", "decode_pack_index", "encode_pack", "pack_markers"]
