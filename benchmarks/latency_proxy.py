"""A TCP proxy that adds latency to every HTTP request, for object-store benchmarks.

Every byte still reaches the real server behind it (moto here): this is not a mock. Each request
(a burst of client bytes after the server last answered, or the first bytes of a connection) is
delayed by ``delay_s`` before it is forwarded, which is how a 20-50 ms round trip to S3 looks
to a client. The proxy also counts requests by kind (:func:`request_kind`: ``PUT``, ``GET``,
``HEAD``, ``LIST``, ``DELETE``, ...) and keeps each request's kind and path (:attr:`LatencyProxy.log`),
so a benchmark or a test can report and bound the object-store requests per run.

Usage, in a benchmark::

    proxy = LatencyProxy("127.0.0.1", moto_port, delay_s=0.030)
    proxy.start()                     # background thread; proxy.port is the port to use
    ...
    print(proxy.counts)               # {"GET": 120, "PUT": 41, "LIST": 2, ...}
    print(proxy.log[:3])              # [("PUT", "/bucket/runs/s/_started/ab12-1.json"), ...]
    proxy.stop()

Or standalone: ``python benchmarks/latency_proxy.py --target 127.0.0.1:5000 --port 5001 --delay-ms 30``.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import re
import threading

_REQUEST_LINE = re.compile(rb"^(GET|PUT|POST|HEAD|DELETE|PATCH|OPTIONS) (\S+) HTTP/")


def request_kind(method: str, target: str) -> str:
    """The S3 request kind of an HTTP request: ``LIST`` for a GET of a bucket (ListObjects,
    ``?list-type=2``), ``DELETE`` for a DeleteObjects batch (``POST /bucket?delete``), else the
    method (``PUT``, ``GET``, ``HEAD``, ``DELETE``, ``POST``).

    Parameters
    ----------
    method : str
        The HTTP method.
    target : str
        The request target (``/bucket/key?query``, path-style addressing as moto and botocore with
        an ``endpoint_url`` use).

    Returns
    -------
    str
        The kind.
    """
    path, _, query = target.partition("?")
    params = {q.split("=", 1)[0] for q in query.split("&") if q}
    key = path.strip("/")
    if method == "GET" and ("list-type" in params or (key and "/" not in key)):
        return "LIST"
    if method == "POST" and "delete" in params:
        return "DELETE"
    return method


class LatencyProxy:
    """Forward TCP connections from 127.0.0.1:``port`` to ``host:target_port``, delaying each request.

    Parameters
    ----------
    host, target_port : str, int
        The real server (e.g. a moto server on 127.0.0.1).
    delay_s : float
        Added delay per request, seconds (default 0.030: a typical in-region S3 round trip).
    port : int
        Port to listen on; 0 picks a free one (read :attr:`port` after :meth:`start`).
    """

    def __init__(self, host: str, target_port: int, delay_s: float = 0.030, port: int = 0):
        self.host, self.target_port, self.delay_s = host, target_port, delay_s
        self.port = port
        self.counts: collections.Counter = collections.Counter()
        #: (kind, path) of every request, in arrival order (path without the query string)
        self.log: list[tuple[str, str]] = []
        #: requests that waited for the server's ``100 Continue`` before sending their body: each
        #: cost a second round trip (and a second ``delay_s``)
        self.continue_waits = 0
        #: (kind, path) of those requests
        self.continue_log: list[tuple[str, str]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    async def _pipe_client(self, reader, writer, state):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if state["turn"] != "client":  # a new request (or a body after 100-continue): one round trip
                    if state["turn"] != "continue":
                        self._count(data)
                        state["waited"] = False
                        state["request"] = self.log[-1] if self.log else ("other", "")
                    state["turn"] = "client"
                    if self.delay_s > 0:
                        await asyncio.sleep(self.delay_s)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _count(self, data: bytes) -> None:
        m = _REQUEST_LINE.match(data)
        if m is None:
            self.counts["other"] += 1
            return
        target = m.group(2).decode("latin-1")
        kind = request_kind(m.group(1).decode(), target)
        self.counts[kind] += 1
        self.log.append((kind, target.partition("?")[0]))

    def mark(self) -> int:
        """The position in :attr:`log` now: pass it to :meth:`since` to get the requests after it."""
        return len(self.log)

    def since(self, mark: int) -> collections.Counter:
        """Requests by kind since :meth:`mark` returned ``mark``."""
        return collections.Counter(kind for kind, _ in self.log[mark:])

    async def _pipe_server(self, reader, writer, state):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if data.startswith(b"HTTP/1.1 100"):
                    if not state.get("waited"):  # once per request (a server may send it twice)
                        self.continue_waits += 1
                        self.continue_log.append(state.get("request") or ("other", ""))
                        state["waited"] = True
                    state["turn"] = "continue"
                else:
                    state["turn"] = "server"
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, c_reader, c_writer):
        try:
            s_reader, s_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            c_writer.close()
            return
        state = {"turn": None}
        await asyncio.gather(self._pipe_client(c_reader, s_writer, state),
                             self._pipe_server(s_reader, c_writer, state))

    async def _serve(self):
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._stopping = asyncio.Event()
        self._ready.set()
        async with self._server:
            await self._stopping.wait()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()
        await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}), return_exceptions=True)

    def start(self) -> "LatencyProxy":
        """Start serving in a daemon thread; returns self once :attr:`port` is bound."""
        def run():
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._serve())
            except asyncio.CancelledError:
                pass
        self._thread = threading.Thread(target=run, daemon=True, name="latency-proxy")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("latency proxy did not start")
        return self

    def stop(self) -> None:
        """Stop serving (open connections are dropped)."""
        if self._loop is not None and self._ready.is_set():
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_moto():
    """Start a moto S3 server on a free 127.0.0.1 port (the venv's ``moto_server``) and wait
    until it answers; return ``(process, port)``. The caller stops the process."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    exe = os.path.join(os.path.dirname(sys.executable), "moto_server")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).read()
            return proc, port
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto_server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", required=True, help="host:port of the real server")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, default=30.0)
    args = ap.parse_args()
    host, port = args.target.rsplit(":", 1)
    proxy = LatencyProxy(host, int(port), args.delay_ms / 1000, args.port).start()
    print(f"proxy {proxy.url} -> {args.target}, +{args.delay_ms:g} ms per request; Ctrl-C to stop", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        proxy.stop()
        print(dict(proxy.counts))


if __name__ == "__main__":
    main()
