"""A lean HTTP/1.1 load generator on asyncio streams (keep-alive, chunked, SSE) and the statistics it reports."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"


def request_bytes(path: str, body: dict | None, port: int, headers: dict[str, str] | None = None,
                  method: str = "POST") -> bytes:
    """A whole HTTP/1.1 request, built once and sent as is."""
    payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"host: {HOST}:{port}", "accept: */*", "connection: keep-alive"]
    if body is not None:
        lines += ["content-type: application/json", f"content-length: {len(payload)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def fast_loop() -> None:
    """Run this process's event loops on uvloop where it is installed (the generator must outpace the servers)."""
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass


def raise_open_files(wanted: int = 16384) -> int:
    """Raise this process's open-file limit (children inherit it) and return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Connection:
    """One keep-alive connection."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port, limit=1 << 22)
        return self

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def head(self) -> tuple[int, dict[str, str]]:
        """Status and lower-case headers of the next response."""
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        return int(lines[0].split(" ", 2)[1]), headers

    async def chunks(self, headers: dict[str, str]):
        """The body's pieces as they arrive: chunked, sized, or until the server closes."""
        if "content-length" in headers:
            yield await self.reader.readexactly(int(headers["content-length"]))
            return
        if headers.get("transfer-encoding", "").lower() != "chunked":
            yield await self.reader.read()
            return
        while True:
            size = int((await self.reader.readline()).split(b";")[0], 16)
            if size == 0:
                await self.reader.readline()
                return
            data = await self.reader.readexactly(size + 2)
            yield data[:-2]

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send a request and read its whole response."""
        self.writer.write(raw)
        status, headers = await self.head()
        body = b"".join([piece async for piece in self.chunks(headers)])
        if headers.get("connection", "").lower() == "close":
            self.close()
            await self.open()
        return status, body


@dataclass
class Run:
    """One bounded closed-loop run at a fixed number of clients."""

    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    cpu: float = 0.0  # this process's CPU seconds during the run
    first_error: str = ""

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    @property
    def generator_load(self) -> float:
        """Share of one core the generator used."""
        return self.cpu / self.elapsed if self.elapsed else 0.0


async def closed_loop(port: int, raw: bytes, clients: int, max_requests: int, max_seconds: float,
                      warmup: int = 0) -> Run:
    """`clients` connections each sending `raw` back to back until the count or the time is used up."""
    connections = [await Connection(port).open() for _ in range(clients)]
    run = Run(clients)
    try:
        if warmup:
            await asyncio.gather(*(_burst(c, raw, max(1, warmup // clients)) for c in connections))
        left = [max_requests]
        cpu, started = time.process_time(), time.perf_counter()
        deadline = started + max_seconds
        await asyncio.gather(*(_client(c, raw, run, left, deadline) for c in connections))
        run.elapsed, run.cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        for connection in connections:
            connection.close()
    return run


async def _burst(connection: Connection, raw: bytes, count: int) -> None:
    for _ in range(count):
        await connection.request(raw)


async def _client(connection: Connection, raw: bytes, run: Run, left: list[int], deadline: float) -> None:
    clock = time.perf_counter
    while left[0] > 0 and clock() < deadline:
        left[0] -= 1
        started = clock()
        try:
            status, body = await connection.request(raw)
        except (OSError, asyncio.IncompleteReadError) as exc:
            run.errors += 1
            run.first_error = run.first_error or repr(exc)
            connection.close()
            await connection.open()
            continue
        if status == 200:
            run.latencies.append(clock() - started)
        else:
            run.errors += 1
            run.first_error = run.first_error or f"HTTP {status}: {body[:200]!r}"


@dataclass
class Stream:
    """One streamed answer as the client saw it."""

    sent: float = 0.0
    tokens: list[float] = field(default_factory=list)  # perf_counter() at each token event
    completed: bool = False
    error: str = ""


def count_tokens(data: bytes, marker: bytes) -> int:
    """How many token events one chunk of SSE carries."""
    return data.count(marker)


async def stream_once(port: int, raw: bytes, marker: bytes, done: bytes, stop_after: int | None = None,
                      timeout: float = 60.0) -> Stream:
    """Send one streaming request; time each token event; optionally hang up after `stop_after` tokens."""
    result = Stream()
    connection = Connection(port)
    try:
        await connection.open()
        result.sent = time.perf_counter()
        connection.writer.write(raw)
        async with asyncio.timeout(timeout):
            status, headers = await connection.head()
            if status != 200:
                result.error = f"HTTP {status}"
                return result
            async for data in connection.chunks(headers):
                now = time.perf_counter()
                result.tokens.extend([now] * data.count(marker))
                if done in data:
                    result.completed = True
                    break
                if stop_after is not None and len(result.tokens) >= stop_after:
                    break
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
        result.error = repr(exc)
    finally:
        connection.close()
    return result


async def get_json(port: int, path: str, method: str = "GET") -> dict:
    """A small JSON request on a fresh connection."""
    connection = await Connection(port).open()
    try:
        status, body = await connection.request(request_bytes(path, {} if method == "POST" else None, port,
                                                              method=method))
        return json.loads(body)
    finally:
        connection.close()


# Statistics


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    """Median, min, max of repeated measurements."""
    clean = [v for v in values if v == v]
    if not clean:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {"median": statistics.median(clean), "min": min(clean), "max": max(clean), "n": len(clean)}


def pin(cpus: set[int] | None) -> None:
    """Pin this process to `cpus` (None: every core)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus or set(range(os.cpu_count() or 1)))


class _StreamProtocol(asyncio.Protocol):
    """Counts token markers as bytes arrive, without parsing HTTP beyond the status line: cheap per chunk."""

    def __init__(self, raw: bytes, marker: bytes, done: bytes, result: Stream, finished: asyncio.Future):
        self.raw, self.marker, self.done, self.result, self.finished = raw, marker, done, result, finished
        self.tail = b""  # the end of the previous chunk, so a marker split across two reads still counts
        self.checked_status = False

    def connection_made(self, transport) -> None:
        self.result.sent = time.perf_counter()
        transport.write(self.raw)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self.checked_status:
            self.checked_status = True
            if not data.startswith(b"HTTP/1.1 200"):
                self._finish(f"HTTP {data[9:12].decode(errors='replace')}")
                return
        window = self.tail + data
        found = window.count(self.marker) - self.tail.count(self.marker)
        self.tail = window[-(max(len(self.marker), len(self.done)) - 1):]
        self.result.tokens.extend([now] * found)
        if self.done in window:
            self.result.completed = True
            self._finish("")

    def connection_lost(self, exc) -> None:
        self._finish("" if self.result.completed else f"connection lost: {exc!r}")

    def _finish(self, error: str) -> None:
        if not self.finished.done():
            self.result.error = self.result.error or error
            self.finished.set_result(None)


async def stream_counting(port: int, raw: bytes, marker: bytes, done: bytes, timeout: float = 60.0) -> Stream:
    """One streamed request timed token by token with a bare protocol (for thousands at once)."""
    loop = asyncio.get_running_loop()
    result, finished = Stream(), loop.create_future()
    try:
        transport, _ = await loop.create_connection(
            lambda: _StreamProtocol(raw, marker, done, result, finished), HOST, port)
    except OSError as exc:
        result.error = repr(exc)
        return result
    try:
        await asyncio.wait_for(finished, timeout)
    except TimeoutError:
        result.error = "timed out"
    finally:
        transport.close()
    return result
