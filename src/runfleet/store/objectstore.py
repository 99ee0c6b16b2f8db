"""A store on an object store or any other fsspec filesystem (``s3://``, ``gs://``, ``memory://``).

A single PUT is atomic, so atomic writes are one ``pipe_file``. Exclusive creation on S3 is one
conditional PUT (``If-None-Match: *``, no existence check first: the server refuses the second
writer with 412), so of two racing writers only one creates the object; other stores check
(HEAD), then PUT. Every write is one request: no HEAD or listing before it.

References
----------
S3 conditional writes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
"""
from __future__ import annotations

import time

from ..errors import InputError, StoreUnavailable
from .base import Store, transient

#: protocols whose ``pipe_file(mode="create")`` is a conditional PUT
CONDITIONAL_PUT = ("s3", "s3a")

#: object stores with buckets and no directories: ``makedirs`` is a no-op there, because s3fs's
#: ``mkdir`` of a path in a missing bucket creates the bucket (a study must never re-create its
#: bucket after it vanished)
BUCKETED = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss")

#: botocore timeouts (s) and attempts runfleet sets on S3 unless the storage options set them
#: (``config_kwargs``; s3fs's own retry loop is cut to 2 tries); botocore's and s3fs's defaults
#: (60 s read timeout, 5 x several attempts) froze a driver for minutes
S3_CONFIG = {"connect_timeout": 5, "read_timeout": 30, "retries": {"max_attempts": 2, "mode": "standard"}}

#: request bodies from this size on (bytes) keep botocore's ``Expect: 100-continue``; smaller ones
#: are sent at once (the threshold of the AWS SDK for Go, ``ContinueHeaderThresholdBytes``)
CONTINUE_MIN_BYTES = 2 * 2**20


def _send_small_bodies_at_once(params: dict, **kwargs) -> None:
    """botocore ``before-call.s3`` handler: drop ``Expect: 100-continue`` from requests whose body
    is smaller than :data:`CONTINUE_MIN_BYTES`.

    botocore asks for it on every S3 request with a file-like body (``add_expect_header``), so a
    PUT waits one round trip for the server's ``100 Continue`` before it sends its body: two round
    trips per marker, pack or small output instead of one (76 vs 39 ms per PUT at +30 ms of
    latency, ``benchmarks/latency_proxy.py``). The handshake only saves sending a large body the
    server would refuse; a marker's few hundred bytes cost less than the wait.

    References
    ----------
    botocore ``handlers.add_expect_header``; RFC 9110, section 10.1.1 (Expect);
    boto/botocore#3123 (an opt-out for empty bodies only).
    """
    headers = params.get("headers")
    if not headers or headers.get("Expect") != "100-continue":
        return
    from botocore.utils import determine_content_length

    size = determine_content_length(params.get("body"))
    if size is not None and size < CONTINUE_MIN_BYTES:
        del headers["Expect"]


def _install_small_body_handler(fs) -> None:
    """Register :func:`_send_small_bodies_at_once` on an s3fs filesystem's client (once per client;
    a client s3fs makes anew, e.g. after a session refresh, gets it at its first use here)."""
    client = getattr(fs, "_s3", None)
    if client is None:
        fs.connect()  # makes the client (no request)
        client = fs._s3
    if client is None or getattr(client, "_runfleet_small_bodies", False):
        return
    client.meta.events.register_last("before-call.s3", _send_small_bodies_at_once,
                                     unique_id="runfleet-send-small-bodies-at-once")
    client._runfleet_small_bodies = True


def retry_budget_s() -> float:
    """Seconds a store write keeps retrying transient errors (``runfleet.store-retry-s``)."""
    from ..config import setting

    return float(setting("store-retry-s"))


class ObjectStore(Store):
    """A store at an fsspec URL; ``storage_options`` are passed to the filesystem."""

    is_local = False

    def _fs_options(self) -> dict:
        options = dict(self.storage_options)
        if self.protocol in ("s3", "s3a"):
            config = dict(options.get("config_kwargs") or {})
            for k, v in S3_CONFIG.items():
                config.setdefault(k, v)
            options["config_kwargs"] = config
        return options

    @property
    def fs(self):
        """The fsspec filesystem; on S3 with s3fs's own retry loop reduced to 2 tries (runfleet's
        :meth:`_retrying` bounds the total time instead) and small bodies sent without waiting for
        ``100 Continue`` (:func:`_send_small_bodies_at_once`)."""
        fs = Store.fs.fget(self)
        if self.protocol in ("s3", "s3a"):
            if getattr(fs, "retries", 0) > 2:
                fs.retries = 2
            if not getattr(fs, "asynchronous", False):
                try:
                    _install_small_body_handler(fs)
                except ValueError as e:  # botocore refuses the options (e.g. "Invalid endpoint: ...")
                    raise InputError(f"store {self.url}: storage options: {' '.join(str(e).split())}") from None
        return fs

    def pandas_storage_options(self) -> dict | None:
        """The filesystem options of :attr:`fs` (runfleet's S3 timeouts included), so pandas and
        pyarrow writers get the same cached filesystem: a run's ``ctx.write_parquet`` is one PUT
        of one round trip, like the store's own writes."""
        self.fs  # noqa: B018 - sets up the cached filesystem that fsspec hands pandas for these options
        return self._fs_options()

    def _retrying(self, what: str, path: str, fn, *args, **kwargs):
        """Call ``fn``; retry transient errors (connection refused/reset, timeouts, 5xx) with
        exponential backoff (0.5 s doubling, at most 8 s) for up to ``runfleet.store-retry-s``.

        Raises
        ------
        StoreUnavailable
            When the store still does not answer after the budget (one line, exit 4).
        """
        budget = retry_budget_s()
        deadline = time.monotonic() + budget
        delay = 0.5
        while True:
            try:
                return fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - only transient errors are retried
                if isinstance(e, FileNotFoundError) and what != "check" and self.protocol in BUCKETED:
                    raise StoreUnavailable(f"store {self.url}: cannot write {path.rsplit('/', 1)[-1]}: the bucket "
                                           "is gone (deleted or re-created empty while the study ran); not "
                                           "re-created by runfleet") from None
                if not transient(e):
                    raise
                if time.monotonic() + delay > deadline:
                    raise StoreUnavailable(
                        f"store {self.url}: not reachable for {budget:g} s while writing {path.rsplit('/', 1)[-1]} "
                        f"({type(e).__name__}); the study is resumable once the store is back") from None
                time.sleep(delay)
                delay = min(delay * 2, 8.0)
                self.fs.invalidate_cache()

    def exists(self, path: str) -> bool:
        return self._retrying("check", path, self.fs.exists, path)

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
        self._retrying("write", path, self.fs.pipe_file, path, data)

    def create_exclusive(self, path: str, data: bytes) -> bool:
        return self._retrying("create", path, self._create_exclusive, path, data)

    def _create_exclusive(self, path: str, data: bytes) -> bool:
        if self.protocol in CONDITIONAL_PUT:  # one request: the server decides
            try:
                self.fs.pipe_file(path, data, mode="create")
            except FileExistsError:
                return False
            return True
        if self.fs.exists(path):
            return False
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
        if self.protocol in BUCKETED:
            return  # no directories; never create a bucket implicitly
        self.fs.makedirs(path, exist_ok=True)

    def open(self, path: str, mode: str = "rb", **kwargs):
        return self.fs.open(path, mode, **kwargs)

    def _probe_write(self, probe: str) -> None:
        """Write the probe; on S3 with a conditional PUT, then check that a second conditional PUT
        is refused: exclusive commits rely on it (an S3-compatible server that ignores
        ``If-None-Match`` would let two attempts both commit)."""
        if self.protocol not in CONDITIONAL_PUT:
            self.fs.pipe_file(probe, b"probe")
            self.fs.rm_file(probe)
            return
        self.fs.pipe_file(probe, b"probe", mode="create")
        try:
            self.fs.pipe_file(probe, b"again", mode="create")
        except FileExistsError:
            return
        finally:
            self.fs.rm_file(probe)
        raise InputError(f"store {self.url}: the server does not refuse a conditional PUT (If-None-Match: *); "
                         "runfleet's exclusive commits need S3 conditional writes")


__all__ = ["ObjectStore"]
