"""A scriptable, fault-injecting OpenAI-compatible model server on loopback, for tests."""

# A small HTTP/1.1 server on asyncio streams (keep-alive, chunked SSE) rather than uvicorn: faults such as a
# TCP reset, a body cut short, or noticing a client that left mid-answer need the raw transport.

from __future__ import annotations

import asyncio
import http.client
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON, or None when the body was empty or not JSON
    client_port: int
    received_at: float  # time.monotonic()


@dataclass(frozen=True)
class Disconnect:
    """The client closed the connection while the answer to `requests[request]` was still running."""

    request: int
    at: float  # time.monotonic()


@dataclass(frozen=True)
class Behaviour:
    """How the fake answers one chat completion request; build one with ok(), status(), hang(), ..."""

    name: str
    respond: Callable[[_Exchange], Awaitable[bool]] = field(repr=False)  # returns whether to keep the connection


@dataclass(frozen=True)
class _Answer:
    """The content of a successful completion, rendered as one JSON body or as stream chunks."""

    text: str | None = None
    chunks: tuple[str, ...] | None = None
    usage: tuple[int, int] = (10, 5)
    tool_calls: tuple[tuple[str, Any], ...] = ()

    def full_text(self, ex: _Exchange) -> str:
        if self.chunks is not None:
            return "".join(self.chunks)
        if self.text is None:
            return "" if self.tool_calls else f"echo: {ex.last_user_content()}"
        return self.text

    def calls(self) -> list[dict[str, Any]]:
        return [
            {"id": f"call_fake_{i}", "type": "function",
             "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for i, (name, args) in enumerate(self.tool_calls)
        ]

    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"

    def usage_json(self) -> dict[str, int]:
        prompt, completion = self.usage
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def completion(self, ex: _Exchange) -> dict[str, Any]:
        """The non-streaming response body."""
        message: dict[str, Any] = {"role": "assistant", "content": self.full_text(ex) or None}
        if self.tool_calls:
            message["tool_calls"] = self.calls()
        choice = {"index": 0, "message": message, "finish_reason": self.finish_reason(), "logprobs": None}
        return {**ex.envelope("chat.completion"), "choices": [choice], "usage": self.usage_json()}

    def stream_chunks(self, ex: _Exchange) -> list[dict[str, Any]]:
        """The content chunks, the role on the first and the finish_reason on the last (no usage chunk)."""
        pieces = self.chunks if self.chunks is not None else re.findall(r"\s*\S+", self.full_text(ex))
        deltas: list[dict[str, Any]] = [{"content": piece} for piece in pieces]
        for i, call in enumerate(self.calls()):
            arguments = call["function"]["arguments"]
            half = len(arguments) // 2  # two fragments, so clients must join them
            head = {**call, "index": i, "function": {**call["function"], "arguments": arguments[:half]}}
            tail = {"index": i, "function": {"arguments": arguments[half:]}}
            deltas += [{"tool_calls": [head]}, {"tool_calls": [tail]}]
        deltas = deltas or [{"content": ""}]
        deltas[0] = {"role": "assistant", **deltas[0]}
        finishes = [None] * (len(deltas) - 1) + [self.finish_reason()]
        return [ex.chunk(delta, finish) for delta, finish in zip(deltas, finishes, strict=True)]


class _Conn:
    """A client connection with its own read buffer, so a disconnect watcher can read without losing bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer, self.buf = reader, writer, bytearray()

    async def _fill(self) -> None:
        data = await self.reader.read(65536)
        if not data:
            raise ConnectionResetError("client closed the connection")
        self.buf += data

    async def read_until(self, separator: bytes) -> bytes:
        while (end := self.buf.find(separator)) < 0:
            await self._fill()
        data = bytes(self.buf[:end])
        del self.buf[: end + len(separator)]
        return data

    async def read_exact(self, size: int) -> bytes:
        while len(self.buf) < size:
            await self._fill()
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    async def closed_by_client(self) -> None:
        """Return once the client closes or resets the connection."""
        try:
            while True:
                await self._fill()
        except ConnectionError:
            return

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


class _Exchange:
    """One chat request and the primitives behaviours answer it with."""

    def __init__(self, conn: _Conn, index: int, body: dict[str, Any]):
        self.conn, self.index, self.body = conn, index, body
        self.stream = bool(body.get("stream"))
        self.include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    def last_user_content(self) -> str:
        users = [m for m in self.body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
        content = users[-1].get("content", "") if users else ""
        if isinstance(content, list):
            return "".join(part.get("text", "") for part in content if isinstance(part, dict))
        return str(content)

    def envelope(self, kind: str) -> dict[str, Any]:
        model = self.body.get("model", "fake-model")
        return {"id": f"chatcmpl-fake-{self.index}", "object": kind, "created": int(time.time()), "model": model}

    def chunk(self, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        usage = {"usage": None} if self.include_usage else {}
        return {**self.envelope("chat.completion.chunk"), "choices": [choice], **usage}

    async def send(self, code: int, body: Any, headers: dict[str, str] | None = None, length: int | None = None):
        """A whole response: str as text/plain, bytes as they are, else JSON; `length` may overstate the size."""
        raw = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else json.dumps(body).encode()
        kind = "text/plain" if isinstance(body, str) else "application/json"
        head = {"Content-Type": kind, "Content-Length": str(len(raw) if length is None else length)}
        await self.conn.write(_head(code, head | (headers or {})) + raw)

    async def begin_stream(self, *, close: bool = False) -> None:
        head = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "Transfer-Encoding": "chunked"}
        await self.conn.write(_head(200, head | ({"Connection": "close"} if close else {})))

    async def event(self, data: Any, interval: float = 0.0) -> None:
        """One SSE `data:` event as one HTTP chunk; strings go as they are, anything else as JSON."""
        text = data if isinstance(data, str) else json.dumps(data)
        payload = f"data: {text}\n\n".encode()
        await self.conn.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        await asyncio.sleep(interval)

    async def end_stream(self, done: bool = True) -> None:
        """Send `data: [DONE]` (unless not `done`), then end the chunked body."""
        if done:
            await self.event("[DONE]")
        await self.conn.write(b"0\r\n\r\n")

    def abort(self) -> None:
        """Reset the TCP connection: SO_LINGER 0 makes the close send RST instead of FIN."""
        sock = self.conn.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.conn.writer.transport.abort()


def _head(code: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {code} {http.client.responses.get(code, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _error_body(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "fake_upstream_error", "param": None, "code": None}}


def ok(text: str | None = None, chunks: list[str] | None = None, delay: float = 0.0,
       usage: tuple[int, int] = (10, 5), tool_calls: list[tuple[str, Any]] | None = None,
       interval: float = 0.0) -> Behaviour:
    """A normal answer after `delay` s: `text`, or "echo: <last user message>" when it is None."""
    # Streams one chunk per word (or per item of `chunks`), `interval` s apart. `tool_calls` lists (function
    # name, arguments as a dict or JSON string); they make finish_reason "tool_calls" and text default to empty.
    answer = _Answer(text, tuple(chunks) if chunks is not None else None, usage, tuple(tool_calls or ()))

    async def respond(ex: _Exchange) -> bool:
        await asyncio.sleep(delay)
        if not ex.stream:
            await asyncio.sleep(interval * len(answer.stream_chunks(ex)))
            await ex.send(200, answer.completion(ex))
            return True
        await ex.begin_stream()
        for chunk in answer.stream_chunks(ex):
            await ex.event(chunk, interval)
        if ex.include_usage:
            await ex.event({**ex.envelope("chat.completion.chunk"), "choices": [], "usage": answer.usage_json()})
        await ex.end_stream()
        return True

    return Behaviour("ok", respond)


def trickle(text: str | None = None, interval: float = 0.02) -> Behaviour:
    """A streamed answer, one word per chunk, `interval` s apart (a non-streamed one waits as long in total)."""
    return ok(text, interval=interval)


def status(code: int, body: Any = None, headers: dict[str, str] | None = None) -> Behaviour:
    """An HTTP error with `headers`; `body` (str, bytes or JSON) defaults to an OpenAI-style error object."""
    payload = _error_body(f"fake upstream answered {code}") if body is None else body

    async def respond(ex: _Exchange) -> bool:
        await ex.send(code, payload, headers)
        return True

    return Behaviour(f"status({code})", respond)


def replay(completion: dict[str, Any] | None = None, chunks: list[dict[str, Any]] | None = None) -> Behaviour:
    """Exactly these bodies: `completion` as the non-streamed answer, `chunks` as the stream's events (then [DONE]),
    for fields ok() does not write (logprobs, refusal, system_fingerprint, ...)."""

    async def respond(ex: _Exchange) -> bool:
        if not ex.stream:
            await ex.send(200, completion)
            return True
        await ex.begin_stream()
        for chunk in chunks or ():
            await ex.event(chunk)
        await ex.end_stream()
        return True

    return Behaviour("replay", respond)


def hang(seconds: float = 30.0) -> Behaviour:
    """Send nothing for `seconds` (or until the client gives up), then close the connection."""

    async def respond(ex: _Exchange) -> bool:
        await asyncio.sleep(seconds)
        return False

    return Behaviour("hang", respond)


def reset(after_chunks: int = 0) -> Behaviour:
    """Reset the TCP connection (RST) without an answer, or for streams after `after_chunks` chunks."""
    answer = _Answer()

    async def respond(ex: _Exchange) -> bool:
        if ex.stream and after_chunks:
            await ex.begin_stream()
            for chunk in answer.stream_chunks(ex)[:after_chunks]:
                await ex.event(chunk)
            await asyncio.sleep(0.05)  # let the client read those chunks before the reset discards them
        ex.abort()
        return False

    return Behaviour("reset", respond)


def malformed() -> Behaviour:
    """200 with a body that is not JSON; for streams one good chunk, then a data line that is not JSON."""
    answer = _Answer()

    async def respond(ex: _Exchange) -> bool:
        if not ex.stream:
            await ex.send(200, b"<html>upstream proxy error</html>")  # still labelled application/json
            return True
        await ex.begin_stream()
        await ex.event(answer.stream_chunks(ex)[0])
        await ex.event("{this is not json")
        await ex.end_stream()
        return True

    return Behaviour("malformed", respond)


def cut(after_chunks: int = 2) -> Behaviour:
    """Stream `after_chunks` chunks and end the body without finish_reason or [DONE]; non-streams get half a body."""
    answer = _Answer()

    async def respond(ex: _Exchange) -> bool:
        if not ex.stream:
            body = json.dumps(answer.completion(ex)).encode()
            await ex.send(200, body[: len(body) // 2], length=len(body))  # then close, short of Content-Length
            return False
        await ex.begin_stream(close=True)
        for chunk in answer.stream_chunks(ex)[:after_chunks]:
            chunk["choices"][0]["finish_reason"] = None
            await ex.event(chunk)
        await ex.end_stream(done=False)
        return False

    return Behaviour("cut", respond)


class FakeUpstream:
    """An OpenAI-compatible server on 127.0.0.1 whose chat answers follow a script, recording what it sees."""

    def __init__(self) -> None:
        self.default: Behaviour = ok()  # answers chat requests when the script is empty
        self.models: list[str] = ["fake-model"]  # what GET /v1/models lists
        self.requests: list[RecordedRequest] = []  # every request, chat or not, in arrival order
        self.disconnects: list[Disconnect] = []  # clients that left while a chat answer was still running
        self.disconnected = threading.Event()  # set on each disconnect
        self.port = 0
        self._script: deque[Behaviour] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def calls(self) -> int:
        """How many chat completion requests arrived."""
        return sum(r.path == CHAT_PATH for r in self.requests)

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next chat requests, one each, after any still queued."""
        self._script.extend(behaviours)

    def clear(self) -> None:
        """Drop every open connection, forget script and records, and restore `default` and `models`."""
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._drop_connections(), self._loop).result(5)
        self._script.clear()
        self.default, self.models = ok(), ["fake-model"]
        self.requests.clear()
        self.disconnects.clear()
        self.disconnected.clear()

    def start(self) -> FakeUpstream:
        """Listen on a free port in a background thread; returns once connections are accepted."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="fake-upstream", daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("the fake upstream did not start")
        return self

    def stop(self) -> None:
        """Drop every connection, hanging ones too, and end the server thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop = self._thread = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        server = loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port, self._loop = server.sockets[0].getsockname()[1], loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            loop.run_until_complete(self._drop_connections())
            loop.run_until_complete(server.wait_closed())
            loop.close()

    async def _drop_connections(self) -> None:
        """Abort every open connection and wait for its handler to finish."""
        for writer in self._connections.values():
            writer.transport.abort()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer requests on one connection until either side closes it."""
        task = asyncio.current_task()
        self._connections[task] = writer
        conn = _Conn(reader, writer)
        try:
            while await self._exchange(conn):
                pass
        except ConnectionError:
            pass
        finally:
            del self._connections[task]
            writer.close()

    async def _exchange(self, conn: _Conn) -> bool:
        """Read, record and answer one request; returns whether the connection stays open."""
        request_line, *header_lines = (await conn.read_until(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        raw = await conn.read_exact(int(headers.get("content-length", "0")))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = target.split("?", 1)[0]
        self.requests.append(RecordedRequest(method, path, headers, body, conn.writer.get_extra_info("peername")[1],
                                             time.monotonic()))
        ex = _Exchange(conn, len(self.requests) - 1, body if isinstance(body, dict) else {})
        keep = await self._route(ex, method, path, body)
        return keep and headers.get("connection", "").lower() != "close"

    async def _route(self, ex: _Exchange, method: str, path: str, body: Any) -> bool:
        if (method, path) == ("GET", "/v1/models"):
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake-upstream"} for m in self.models]
            await ex.send(200, {"object": "list", "data": data})
        elif (method, path) != ("POST", CHAT_PATH):
            await ex.send(404, _error_body(f"no route for {method} {path}"))
        elif not isinstance(body, dict):
            await ex.send(400, _error_body("the request body is not a JSON object"))
        else:
            return await self._watched(ex, self._script.popleft() if self._script else self.default)
        return True

    async def _watched(self, ex: _Exchange, behaviour: Behaviour) -> bool:
        """Run `behaviour`, stopping it and recording a disconnect if the client goes away first."""
        answer = asyncio.ensure_future(behaviour.respond(ex))
        watcher = asyncio.ensure_future(ex.conn.closed_by_client())
        try:
            await asyncio.wait({answer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            answer.cancel()
            watcher.cancel()
            await asyncio.gather(answer, watcher, return_exceptions=True)
        if answer.cancelled() or isinstance(answer.exception(), ConnectionError):
            self.disconnects.append(Disconnect(ex.index, time.monotonic()))
            self.disconnected.set()
            return False
        return answer.result()


@pytest.fixture(scope="session")
def fake_upstream_server():
    """One FakeUpstream for the whole test session."""
    with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture
def fake_upstream(fake_upstream_server: FakeUpstream) -> FakeUpstream:
    """The session's FakeUpstream with its script, default, models, records and connections reset."""
    fake_upstream_server.clear()
    return fake_upstream_server
