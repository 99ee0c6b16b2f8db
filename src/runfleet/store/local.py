"""A store in a local (or network-mounted) directory, with plain ``os`` calls.

Atomic writes go to a temporary file in the same directory that is renamed into place;
exclusive creation hard-links a complete temporary file, so of two writers exactly one wins.
"""
from __future__ import annotations

import os
import shutil
import uuid

from .base import Store


class LocalStore(Store):
    """A store in a local directory (``Store("/path")`` or ``Store("file:///path")``).

    Parameters
    ----------
    url : str
        Directory (made absolute).
    storage_options : dict, optional
        Not needed for the directory itself; kept so runs get them as ``ctx.storage_options``
        (to read inputs on object stores).
    """

    is_local = True

    def _fs_options(self) -> dict:
        return {}  # a local store needs no options

    def pandas_storage_options(self) -> dict | None:
        return None

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def read_bytes(self, path: str) -> bytes | None:
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        out = {}
        for p in paths:
            data = self.read_bytes(p)
            if data is not None:
                out[p] = data
        return out

    def find(self, prefix: str) -> list[str]:
        out = []
        for root, _dirs, files in os.walk(prefix):
            out.extend(os.path.join(root, f) for f in files)
        return out

    def write_bytes_atomic(self, path: str, data: bytes) -> None:
        """Temp file in the same directory, then ``os.replace``."""
        os.replace(_complete_temp_file(path, data), path)

    def create_exclusive(self, path: str, data: bytes) -> bool:
        """Race-free: hard link of a complete temp file (fails if ``path`` exists)."""
        tmp = _complete_temp_file(path, data)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)

    def remove_tree(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)

    def remove(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def open(self, path: str, mode: str = "rb", **kwargs):
        return open(path, mode, **kwargs)

    def _probe_write(self, probe: str) -> None:
        """Directories the probe had to create are removed again."""
        created = []
        d = self.url
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


def _complete_temp_file(path: str, data: bytes) -> str:
    """Write ``data`` to a new temporary file beside ``path`` (same directory, so a rename or hard
    link into place is atomic); returns the temporary file's path."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".tmp-{uuid.uuid4().hex}")
    with open(tmp, "wb") as f:
        f.write(data)
    return tmp


__all__ = ["LocalStore"]
