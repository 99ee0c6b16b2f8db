"""Pack files: the commit markers of a pack of short runs in one object (``_packs/<id>.json.gz``).

Format 2: gzip-compressed JSON with fields equal in every marker once
(``shared``), fields every marker has as ``columns`` (one item per run) and fields only some have
as ``sparse`` (``{position: value}``); about 80 bytes per trivial run. Format 1 (older stores):
``_packs/<id>.json`` holding ``{"markers": {name: marker}}``; still read. Only
:class:`runfleet.ledger.Ledger` reads and writes pack files; this module is their codec.
"""
from __future__ import annotations

import gzip
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (the ledger imports this module)
    from .ledger import RunRecord

#: suffix of format-2 pack files (columnar JSON, gzip)
PACK_SUFFIX = ".json.gz"


def encode_pack(records: list[RunRecord], finished: str) -> bytes:
    """A pack file (format 2): fields equal in every marker once (``shared``), fields every
    marker has as ``columns`` (one list item per run), fields only some have as ``sparse``
    (``{position: value}``); gzip-compressed JSON.

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
    fields: dict[str, None] = {}
    for d in datas:
        for k in d:
            fields.setdefault(k, None)
    n = len(datas)
    shared, columns, sparse = {}, {}, {}
    for f in fields:
        if f == "name":
            columns[f] = [d[f] for d in datas]
            continue
        present = [d for d in datas if f in d]
        if len(present) < n:
            sparse[f] = {str(i): d[f] for i, d in enumerate(datas) if f in d}
            continue
        v0 = datas[0][f]
        t0 = type(v0)
        if all(type(d[f]) is t0 and d[f] == v0 for d in datas):
            shared[f] = v0
        else:
            columns[f] = [d[f] for d in datas]
    doc = {"format": 2, "finished": finished, "shared": shared, "columns": columns}
    if sparse:
        doc["sparse"] = sparse
    raw = json.dumps(doc, separators=(",", ":"), default=str).encode("utf-8")
    return gzip.compress(raw, compresslevel=6, mtime=0)


def decode_pack(blob: bytes) -> dict:
    """The document of a pack file: format 2 (gzip, columnar) as written by :func:`encode_pack`;
    a format-1 document (``{"markers": {name: marker}}``) is returned as it is."""
    if blob[:2] == b"\x1f\x8b":
        blob = gzip.decompress(blob)
    return json.loads(blob)


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
    if doc.get("format") != 2:
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


__all__ = ["PACK_SUFFIX", "decode_pack", "encode_pack", "pack_markers"]
