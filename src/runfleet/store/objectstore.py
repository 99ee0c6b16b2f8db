"""A store on an object store or any other fsspec filesystem (``s3://``, ``gs://``, ``memory://``).

A single PUT is atomic, so atomic writes are one ``pipe_file``. Exclusive creation is an
existence check, then on S3 a conditional PUT (``If-None-Match: *``), so of two racing writers
only one creates the object; other stores check, then PUT.

References
----------
S3 conditional writes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
"""
from __future__ import annotations

from .base import Store

#: protocols whose ``pipe_file(mode="create")`` is a conditional PUT
CONDITIONAL_PUT = ("s3", "s3a")


class ObjectStore(Store):
    """A store at an fsspec URL; ``storage_options`` are passed to the filesystem."""

    is_local = False

    def exists(self, path: str) -> bool:
        return self.fs.exists(path)

    def read_bytes(self, path: str) -> bytes | None:
        try:
            return self.fs.cat_file(path)
        except FileNotFoundError:
            return None

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        if not paths:
            return {}
        got = self.fs.cat(paths, on_error="omit")
        return {self._with_protocol(k): v for k, v in got.items()}

    def find(self, prefix: str) -> list[str]:
        try:
            return [self._with_protocol(p) for p in self.fs.find(prefix)]
        except FileNotFoundError:
            return []

    def _with_protocol(self, path: str) -> str:
        return path if "://" in path else f"{self.protocol}://{path}"

    def write_bytes_atomic(self, path: str, data: bytes) -> None:
        self.fs.pipe_file(path, data)

    def create_exclusive(self, path: str, data: bytes) -> bool:
        if self.fs.exists(path):
            return False
        if self.protocol in CONDITIONAL_PUT:
            try:
                self.fs.pipe_file(path, data, mode="create")
            except FileExistsError:
                return False
            return True
        self.fs.pipe_file(path, data)
        return True

    def remove_tree(self, path: str) -> None:
        try:
            self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass
        self.fs.invalidate_cache(path)

    def remove(self, path: str) -> None:
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            pass

    def makedirs(self, path: str) -> None:
        self.fs.makedirs(path, exist_ok=True)

    def open(self, path: str, mode: str = "rb", **kwargs):
        return self.fs.open(path, mode, **kwargs)

    def _probe_write(self, probe: str) -> None:
        self.fs.pipe_file(probe, b"probe")
        self.fs.rm_file(probe)


__all__ = ["ObjectStore"]
