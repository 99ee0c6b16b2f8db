"""The store interface: what runfleet needs from a place that keeps a study's records and outputs.

Two implementations: :class:`~runfleet.store.local.LocalStore` (a directory, plain ``os`` calls)
and :class:`~runfleet.store.objectstore.ObjectStore` (any fsspec URL: ``s3://``, ``gs://``,
``abfs://``, ``memory://``). ``Store(url, storage_options)`` picks one from the URL's protocol,
as ``fsspec.filesystem(protocol)`` does.

Atomic means a reader sees either the whole file or no file. ``storage_options`` hold
credentials: they are passed to fsspec and never printed, logged or written to the store.

References
----------
fsspec, ``AbstractFileSystem``: https://filesystem-spec.readthedocs.io/en/latest/api.html
"""
from __future__ import annotations

import json
import os
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Iterator

import fsspec
from fsspec.core import split_protocol

from ..errors import InputError, RunfleetError, StoreUnavailable

LOCAL_PROTOCOLS = (None, "file", "local")


def normalize_url(url: str) -> str:
    """Absolute local path, or the URL without a trailing slash."""
    protocol, _ = split_protocol(url)
    if protocol in LOCAL_PROTOCOLS:
        path = url.split("://", 1)[1] if protocol else url
        return os.path.abspath(os.path.expanduser(path))
    return url.rstrip("/")


class Store:
    """A place to keep a study's records and outputs: a local directory or an fsspec URL.

    ``Store(url, storage_options)`` returns the implementation for the URL's protocol
    (:class:`~runfleet.store.local.LocalStore` or :class:`~runfleet.store.objectstore.ObjectStore`).

    Parameters
    ----------
    url : str
        Local directory or fsspec URL (``s3://bucket/prefix``).
    storage_options : dict, optional
        fsspec options (credentials, endpoint); never printed.

    Raises
    ------
    InputError
        When ``url`` is not a non-empty string.
    """

    #: True for a local directory (plain paths, ``open()`` works)
    is_local: bool = False

    def __new__(cls, url: str = "", storage_options: dict | None = None):
        if cls is Store:
            if isinstance(url, str) and url and split_protocol(url)[0] in LOCAL_PROTOCOLS:
                from .local import LocalStore as impl
            else:
                from .objectstore import ObjectStore as impl
            return super().__new__(impl)
        return super().__new__(cls)

    def __init__(self, url: str, storage_options: dict | None = None):
        if not isinstance(url, str) or not url:
            raise InputError(f"store: expected a directory or URL, got {url!r}")
        self.url = normalize_url(url)
        self.storage_options = dict(storage_options or {})
        protocol, _ = split_protocol(self.url)
        self.protocol = protocol or "file"
        self._fs = None

    def __repr__(self) -> str:  # never shows storage_options
        return f"{type(self).__name__}({self.url!r})"

    def __reduce__(self):  # pickles as the factory call (workers rebuild their own filesystem)
        return (Store, (self.url, self.storage_options))

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        """The fsspec filesystem of the store."""
        if self._fs is None:
            self._fs = fsspec.filesystem(self.protocol, **self._fs_options())
        return self._fs

    def _fs_options(self) -> dict:
        return self.storage_options

    def join(self, *parts: str) -> str:
        """``url/part/part`` (parts stripped of slashes; empty parts dropped)."""
        return "/".join([self.url.rstrip("/")] + [p.strip("/") for p in parts if p])

    # -- the interface ---------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        """True when ``path`` exists."""
        raise NotImplementedError

    def read_bytes(self, path: str) -> bytes | None:
        """Bytes of a file, or None when it does not exist."""
        raise NotImplementedError

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        """Bytes of several files at once (concurrent on object stores); missing ones omitted."""
        raise NotImplementedError

    def find(self, prefix: str) -> list[str]:
        """All file paths under ``prefix`` (recursive), as full URLs/paths; [] if none."""
        raise NotImplementedError

    def write_bytes_atomic(self, path: str, data: bytes) -> None:
        """Write the whole file or nothing."""
        raise NotImplementedError

    def create_exclusive(self, path: str, data: bytes) -> bool:
        """Write ``path`` only if it does not exist yet; True if this call created it."""
        raise NotImplementedError

    def remove_tree(self, path: str) -> None:
        """Remove a directory (or prefix) and everything under it; no error if absent."""
        raise NotImplementedError

    def remove(self, path: str) -> None:
        """Remove one file; no error if absent."""
        raise NotImplementedError

    def makedirs(self, path: str) -> None:
        """Create a directory and its parents (a no-op on object stores without directories)."""
        raise NotImplementedError

    def open(self, path: str, mode: str = "rb", **kwargs):
        """A file object for ``path``."""
        raise NotImplementedError

    def _probe_write(self, probe: str) -> None:
        raise NotImplementedError

    # -- built on the interface ------------------------------------------------------------------
    def read_json(self, path: str) -> Any | None:
        """The parsed JSON document at ``path``, or None when it does not exist."""
        data = self.read_bytes(path)
        if data is None:
            return None
        try:
            return json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{path}: corrupt record, not JSON ({getattr(e, 'msg', type(e).__name__)} "
                             f"at byte {getattr(e, 'pos', getattr(e, 'start', '?'))})") from None

    def write_json_atomic(self, path: str, obj: Any) -> None:
        """Write ``obj`` as indented JSON, atomically."""
        self.write_bytes_atomic(path, json.dumps(obj, indent=1, default=str).encode("utf-8"))

    def pandas_storage_options(self) -> dict | None:
        """``storage_options`` to pass to pandas/pyarrow readers and writers (None when local)."""
        return self.storage_options

    def check_writable(self) -> None:
        """Write and remove a probe file at the store root, leaving no trace.

        Raises
        ------
        InputError
            Naming the store and the reason when it cannot be written (exit 2).
        StoreUnavailable
            When the store does not answer (connection refused, timeouts, server errors: an
            infrastructure failure, exit 4, as ``status`` and ``report`` give for it).
        """
        probe = self.join(f".runfleet-probe-{uuid.uuid4().hex}")
        try:
            self._probe_write(probe)
        except InputError:
            raise
        except Exception as e:  # noqa: BLE001 - any failure means "cannot write"
            if transient(e):
                raise store_error(e, self.url) from None
            reason = getattr(e, "strerror", None) or f"{type(e).__name__}: {e}"
            raise InputError(f"store {self.url}: cannot be written ({reason})") from None


#: exception class names (anywhere in the MRO) that mean "no or refused credentials"
_CREDENTIAL_ERRORS = {"NoCredentialsError", "PartialCredentialsError", "NoAuthTokenError", "CredentialRetrievalError",
                      "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "DefaultCredentialsError"}


def store_error(exc: BaseException, url: str) -> RunfleetError | None:
    """The one-line runfleet error for an exception raised while reading or writing store ``url``.

    Parameters
    ----------
    exc : BaseException
        What fsspec / the object store client raised.
    url : str
        The store (never its storage options).

    Returns
    -------
    RunfleetError
        :class:`InputError` (exit 2) for missing or refused credentials and permissions, which
        the user fixes in the input; :class:`StoreUnavailable` (exit 4) for a store that does not
        answer (connection refused or reset, timeouts, server errors). None for anything else.
    """
    if isinstance(exc, RunfleetError):
        return exc
    names = {c.__name__ for c in type(exc).__mro__}
    text = " ".join(str(exc).split())[:200]
    if names & _CREDENTIAL_ERRORS or isinstance(exc, PermissionError) or "AccessDenied" in text:
        return InputError(f"store {url}: not authorised ({type(exc).__name__}: {text or 'no credentials'}); "
                          "check the store's credentials (--storage-option, AWS_* or aws_profile)")
    if transient(exc):
        return StoreUnavailable(f"store {url}: not reachable ({type(exc).__name__}: {text})")
    return None


#: exception class names (anywhere in the MRO) of a store that does not answer
_TRANSIENT_ERRORS = {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError",
                     "ClientConnectorError", "ServerDisconnectedError", "ClientOSError", "ServerTimeoutError",
                     "HTTPClientError", "ResponseStreamingError"}


def transient(exc: BaseException) -> bool:
    """True when ``exc`` means the store did not answer (connection refused or reset, a timeout,
    a 5xx server error) rather than a missing file, bad credentials or a bug."""
    if isinstance(exc, (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError)) or {c.__name__ for c in type(exc).__mro__} & _TRANSIENT_ERRORS:
        return True
    status = getattr(exc, "response", None)
    code = status.get("ResponseMetadata", {}).get("HTTPStatusCode") if isinstance(status, dict) else None
    if isinstance(code, int) and code >= 500:
        return True
    # s3fs wraps what it could not translate in OSError with the original as its cause
    cause = exc.__cause__ or exc.__context__
    return isinstance(exc, OSError) and cause is not None and cause is not exc and transient(cause)


@contextmanager
def store_errors(url: str) -> Iterator[None]:
    """Turn any failure of the block to read the store at ``url`` into :func:`store_error`'s one line.

    Parameters
    ----------
    url : str
        The store (or study) URL named in the message; credentials are never part of it.

    Raises
    ------
    InputError
        Corrupt record, missing or refused credentials (exit 2).
    StoreUnavailable
        The store does not answer (exit 4).
    """
    try:
        yield
    except RunfleetError:
        raise
    except Exception as e:  # noqa: BLE001 - store failures become one line and an exit code
        err = store_error(e, url)
        if err is None:
            raise
        raise err from None


#: threads that overlap a worker's independent store requests (a run's log, a start marker's removal)
BACKGROUND_THREADS = 8
_background: ThreadPoolExecutor | None = None
_background_lock = threading.Lock()


def in_background(fn, *args, **kwargs) -> Future:
    """Call ``fn(*args, **kwargs)`` in a small shared thread pool; the caller waits on the future.

    Used to overlap store requests that do not depend on each other (on an object store each is a
    round trip of 20-50 ms): a run's log is uploaded while the next packed run executes, a start
    marker is removed while the commit marker is written. A failure is raised by
    ``future.result()``, so the caller decides, as for a direct call.

    Parameters
    ----------
    fn : callable
        Usually a :class:`Store` or :class:`~runfleet.ledger.Ledger` method.
    *args, **kwargs
        Its arguments.

    Returns
    -------
    concurrent.futures.Future
        The call's future.
    """
    global _background
    if _background is None:
        with _background_lock:
            if _background is None:
                _background = ThreadPoolExecutor(BACKGROUND_THREADS, thread_name_prefix="runfleet-store")
    return _background.submit(fn, *args, **kwargs)


__all__ = ["LOCAL_PROTOCOLS", "Store", "in_background", "normalize_url", "store_error", "store_errors"]
