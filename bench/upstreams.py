"""Stand-in model servers on loopback: a fast OpenAI-compatible upstream and a slow streaming one.

Raw asyncio (uvloop) HTTP/1.1 with keep-alive, so the stand-in costs next to nothing next to the servers measured.
`fast` answers at once (JSON, or every SSE event in one write when asked to stream); `slow` streams TOKENS
tokens TOKEN_GAP seconds apart on an absolute schedule and records when a client leaves mid-answer.
GET /stats returns what it saw (JSON); POST /stats/reset clears it.

    python -m bench.upstreams --mode fast --port 8101
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

try:
    import orjson

    loads, dumps = orjson.loads, orjson.dumps
except ImportError:  # the stand-in works without the bench extras too
    loads = json.loads

    def dumps(obj) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

TOKENS = 50
TOKEN_GAP = 0.020
ANSWER = "Use a strong focal point, a clear hierarchy and generous margins."
USAGE = {"prompt_tokens": 12, "completion_tokens": 13, "total_tokens": 25}


class Stats:
    """What the upstream has seen since the last reset."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.last_messages = 0
        self.last_body_bytes = 0
        self.streams_started = 0
        self.streams_finished = 0
        self.disconnects: list[float] = []  # time.monotonic() when a client left mid-stream
        self.late: list[float] = []  # seconds each token was written after its scheduled time (sampled)

    def as_dict(self) -> dict:
        late = sorted(self.late)
        p99 = late[int(len(late) * 0.99)] if late else 0.0
        return {"requests": self.requests, "last_messages": self.last_messages,
                "last_body_bytes": self.last_body_bytes, "streams_started": self.streams_started,
                "streams_finished": self.streams_finished, "disconnects": self.disconnects,
                "token_late_p99_ms": p99 * 1000}


def _sse(obj) -> bytes:
    return b"data: " + dumps(obj) + b"\n\n"


def _chunk(model: str, delta: dict, finish: str | None = None) -> dict:
    return {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _chunked(payload: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def completion_body(model: str) -> bytes:
    """A whole non-streaming chat completion."""
    return dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": model,
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                               "finish_reason": "stop"}], "usage": USAGE})


def stream_tail(model: str) -> bytes:
    """The finish chunk, the usage chunk and [DONE]."""
    usage = {**_chunk(model, {}), "choices": [], "usage": USAGE}
    return _sse(_chunk(model, {}, "stop")) + _sse(usage) + b"data: [DONE]\n\n"


STREAM_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
               b"connection: keep-alive\r\n\r\n")


class Upstream(asyncio.Protocol):
    """One client connection: parses requests and answers them in the server's mode."""

    def __init__(self, mode: str, stats: Stats):
        self.mode, self.stats = mode, stats
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.streaming: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        if self.streaming is not None:
            self.stats.disconnects.append(time.monotonic())
            self.streaming.cancel()
            self.streaming = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:end]).decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4:end + 4 + length])
            del self.buffer[:end + 4 + length]
            method, path, _ = head.split(" ", 2)
            self.handle(method, path, body)

    def respond(self, status: str, body: bytes, ctype: bytes = b"application/json") -> None:
        self.transport.write(b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\nconnection: keep-alive\r\n\r\n"
                             % (status.encode(), ctype, len(body)) + body)

    def handle(self, method: str, path: str, body: bytes) -> None:
        if path.startswith("/stats"):
            if method == "POST":
                self.stats.reset()
            return self.respond("200 OK", dumps(self.stats.as_dict()))
        if not path.endswith("/chat/completions"):
            return self.respond("404 Not Found", b'{"error":{"message":"not found"}}')
        request = loads(body)
        self.stats.requests += 1
        self.stats.last_messages = len(request.get("messages", ()))
        self.stats.last_body_bytes = len(body)
        model = request.get("model") or "bench-model"
        if not request.get("stream"):
            return self.respond("200 OK", completion_body(model))
        if self.mode == "fast":
            events = _sse(_chunk(model, {"role": "assistant", "content": ANSWER})) + stream_tail(model)
            return self.transport.write(STREAM_HEAD + _chunked(events) + b"0\r\n\r\n")
        self.transport.write(STREAM_HEAD + _chunked(_sse(_chunk(model, {"role": "assistant", "content": ""}))))
        self.stats.streams_started += 1
        self._token(model, 0, time.monotonic())

    def _token(self, model: str, index: int, start: float) -> None:
        """Write token `index` and schedule the next on the absolute 20 ms grid."""
        loop = asyncio.get_running_loop()
        if index:
            if index % 10 == 0:
                self.stats.late.append(loop.time() - (start + index * TOKEN_GAP))
            self.transport.write(_chunked(_sse(_chunk(model, {"content": f"tok{index} "}))))
        if index == TOKENS:
            self.streaming = None
            self.stats.streams_finished += 1
            self.transport.write(_chunked(stream_tail(model)) + b"0\r\n\r\n")
            return
        self.streaming = loop.call_at(start + (index + 1) * TOKEN_GAP, self._token, model, index + 1, start)


async def serve(mode: str, host: str, port: int) -> None:
    """Serve until killed."""
    stats = Stats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Upstream(mode, stats), host, port, backlog=4096, reuse_address=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["fast", "slow"], default="fast")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the stand-in upstream listens on loopback only")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args.mode, args.host, args.port))


if __name__ == "__main__":
    main()
