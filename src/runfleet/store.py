"""The store: a local directory or ``s3://bucket/prefix`` (any fsspec URL), with atomic commits.

Atomic here means a reader sees either the whole file or no file: on a local disk the bytes go to
a temporary file in the same directory and are renamed into place; on object stores a single PUT
is already atomic. ``storage_options`` hold credentials: they are passed to fsspec and never
printed, logged or written to the store.
"""
from __future__ import annotations

import json
import os
import uuid
from typing import Any, Iterable

import fsspec
from fsspec.core import split_protocol

from .errors import InputError


def normalize_url(url: str) -> str:
    """Absolute local path, or the URL without a trailing slash."""
    protocol, _ = split_protocol(url)
    if protocol in (None, "file", "local"):
        path = url.split("://", 1)[1] if protocol else url
        return os.path.abspath(os.path.expanduser(path))
    return url.rstrip("/")


class Store:
    """A place to keep a study's records and outputs.

    url: local directory or fsspec URL. storage_options: fsspec options (credentials, endpoint).
    """

    def __init__(self, url: str, storage_options: dict | None = None):
        if not isinstance(url, str) or not url:
            raise InputError(f"store: expected a directory or URL, got {url!r}")
        self.url = normalize_url(url)
        self.storage_options = dict(storage_options or {})
        protocol, _ = split_protocol(self.url)
        self.protocol = protocol or "file"
        self.is_local = self.protocol == "file"
        self._fs = None

    def __repr__(self) -> str:  # never shows storage_options
        return f"Store({self.url!r})"

    def __getstate__(self):
        return {"url": self.url, "storage_options": self.storage_options}

    def __setstate__(self, state):
        self.__init__(state["url"], state["storage_options"])

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        if self._fs is None:
            # a local store needs no options; they still reach runs as ctx.storage_options (inputs)
            options = {} if self.is_local else self.storage_options
            self._fs = fsspec.filesystem(self.protocol, **options)
        return self._fs

    def join(self, *parts: str) -> str:
        return "/".join([self.url.rstrip("/")] + [p.strip("/") for p in parts if p])

    # -- reading -------------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        if self.is_local:
            return os.path.exists(path)
        return self.fs.exists(path)

    def read_bytes(self, path: str) -> bytes | None:
        """Bytes of a file, or None when it does not exist."""
        try:
            if self.is_local:
                with open(path, "rb") as f:
                    return f.read()
            return self.fs.cat_file(path)
        except FileNotFoundError:
            return None

    def read_json(self, path: str) -> Any | None:
        data = self.read_bytes(path)
        return None if data is None else json.loads(data)

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        """Bytes of several files at once (concurrent on object stores); missing ones omitted."""
        if not paths:
            return {}
        if self.is_local:
            out = {}
            for p in paths:
                data = self.read_bytes(p)
                if data is not None:
                    out[p] = data
            return out
        got = self.fs.cat(paths, on_error="omit")
        return {self._with_protocol(k): v for k, v in got.items()}

    def find(self, prefix: str) -> list[str]:
        """All file paths under ``prefix`` (recursive), as full URLs/paths; [] if none."""
        if self.is_local:
            out = []
            for root, _dirs, files in os.walk(prefix):
                out.extend(os.path.join(root, f) for f in files)
            return out
        try:
            return [self._with_protocol(p) for p in self.fs.find(prefix)]
        except FileNotFoundError:
            return []

    def _with_protocol(self, path: str) -> str:
        if self.is_local or "://" in path:
            return path
        return f"{self.protocol}://{path}"

    # -- writing -------------------------------------------------------------------------------
    def write_bytes_atomic(self, path: str, data: bytes) -> None:
        """Write the whole file or nothing (temp + rename locally, one PUT on object stores)."""
        if self.is_local:
            os.replace(_complete_temp_file(path, data), path)
        else:
            self.fs.pipe_file(path, data)

    def write_json_atomic(self, path: str, obj: Any) -> None:
        self.write_bytes_atomic(path, json.dumps(obj, indent=1, default=str).encode("utf-8"))

    def create_exclusive(self, path: str, data: bytes) -> bool:
        """Write ``path`` only if it does not exist yet; True if this call created it.

        Locally this is race-free (hard link of a complete temp file). On S3 the PUT is conditional
        (``If-None-Match: *``), so of two writers racing only one creates the object; the existence
        check before it also keeps stores that ignore the condition from overwriting a committed
        marker. Other object stores check and then PUT (exclusive except within the same instant).
        """
        if self.is_local:
            tmp = _complete_temp_file(path, data)
            try:
                os.link(tmp, path)
                return True
            except FileExistsError:
                return False
            finally:
                os.unlink(tmp)
        if self.fs.exists(path):
            return False
        if self.protocol in ("s3", "s3a"):
            try:
                self.fs.pipe_file(path, data, mode="create")
            except FileExistsError:
                return False
            return True
        self.fs.pipe_file(path, data)
        return True

    def remove_tree(self, path: str) -> None:
        """Remove a directory (or prefix) and everything under it; no error if absent."""
        if self.is_local:
            import shutil

            shutil.rmtree(path, ignore_errors=True)
            return
        try:
            self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass
        self.fs.invalidate_cache(path)

    def remove(self, path: str) -> None:
        try:
            if self.is_local:
                os.unlink(path)
            else:
                self.fs.rm_file(path)
        except FileNotFoundError:
            pass

    def makedirs(self, path: str) -> None:
        if self.is_local:
            os.makedirs(path, exist_ok=True)
        else:
            self.fs.makedirs(path, exist_ok=True)

    def check_writable(self) -> None:
        """Write and remove a probe file at the store root; InputError naming the store if not."""
        probe = self.join(f".runfleet-probe-{uuid.uuid4().hex}")
        try:
            if self.is_local:
                root = self.url
                created = []
                d = root
                while not os.path.exists(d):
                    created.append(d)
                    d = os.path.dirname(d)
                try:
                    self.write_bytes_atomic(probe, b"probe")
                finally:
                    if os.path.exists(probe):
                        os.unlink(probe)
                    for c in created:  # leave no trace: remove directories the probe made
                        try:
                            os.rmdir(c)
                        except OSError:
                            break
            else:
                self.fs.pipe_file(probe, b"probe")
                self.fs.rm_file(probe)
        except InputError:
            raise
        except Exception as e:  # noqa: BLE001 - any failure means "cannot write"
            reason = getattr(e, "strerror", None) or f"{type(e).__name__}: {e}"
            raise InputError(f"store {self.url}: cannot be written ({reason})") from None


def _complete_temp_file(path: str, data: bytes) -> str:
    """Write ``data`` to a new temporary file beside ``path`` (same directory, so a rename or hard
    link into place is atomic); returns the temporary file's path."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".tmp-{uuid.uuid4().hex}")
    with open(tmp, "wb") as f:
        f.write(data)
    return tmp


def parse_storage_options(pairs: Iterable[str] | None) -> dict:
    """``["key=value", "client_kwargs.endpoint_url=http://..."]`` to a nested dict.

    Values ``true``/``false``/``null`` and numbers are converted; dotted keys nest.
    """
    out: dict = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise InputError(f"--storage-option: expected key=value, got {pair.split('=')[0]!r}")
        key, _, raw = pair.partition("=")
        if not key:
            raise InputError("--storage-option: empty key in key=value")
        value: Any = raw
        low = raw.lower()
        if low in ("true", "false"):
            value = low == "true"
        elif low in ("null", "none"):
            value = None
        else:
            try:
                value = int(raw)
            except ValueError:
                try:
                    value = float(raw)
                except ValueError:
                    value = raw
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise InputError(f"--storage-option: {key!r} conflicts with an earlier option")
        node[parts[-1]] = value
    return out
