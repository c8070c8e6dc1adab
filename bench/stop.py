"""Stop: how soon a client hanging up mid-answer stops the upstream request and the embedded model's decoding."""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time

from tests.support.engine import busy, decoded

from . import load, peers

TOKENS_BEFORE_HANGUP = 3
POLL_SECONDS = 0.0005
SPEC_BODY = {"message": "Tell me everything about poster typography, at length.", "conversation_history": [],
             "stream": True, "max_tokens": 400}


async def _hang_up(port: int, body: dict, headers: dict) -> float:
    """Stream until a few tokens arrived, then close the socket; returns time.monotonic() at the close."""
    connection = await load.Connection(port).open()
    connection.writer.write(load.request_bytes("/chat", body, port, headers))
    status, response_headers = await connection.head()
    if status != 200:
        raise RuntimeError(f"/chat answered {status}")
    seen = 0
    async for data in connection.chunks(response_headers):
        seen += data.count(b"event: delta")
        if seen >= TOKENS_BEFORE_HANGUP:
            break
    connection.writer.transport.abort()  # close now, no lingering FIN handshake on our side
    return time.monotonic()


async def _upstream_trial(posterchat: peers.Posterchat, upstream: peers.Peer) -> float:
    """Milliseconds from the client's close to the upstream seeing posterchat's request closed."""
    before = len((await load.get_json(upstream.port, "/stats"))["disconnects"])
    closed = await _hang_up(posterchat.port, {**SPEC_BODY, "model": peers.MODEL}, posterchat.headers)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        disconnects = (await load.get_json(upstream.port, "/stats"))["disconnects"]
        if len(disconnects) > before:
            return (disconnects[before] - closed) * 1000
        await asyncio.sleep(0.005)
    return float("nan")


def upstream_stop(trials: int, log=print) -> list[float]:
    """posterchat in front of the slow upstream, which records when each request's connection closes."""
    with peers.upstream("slow") as upstream, peers.Posterchat(upstream.port) as posterchat:
        delays = []
        for trial in range(trials):
            delays.append(asyncio.run(_upstream_trial(posterchat, upstream)))
            log(f"  stop (upstream) trial {trial + 1}: {delays[-1]:.1f} ms")
            time.sleep(0.2)
    return delays


class InProcess:
    """posterchat's app served by uvicorn in a thread of this process, so its embedded model can be watched."""

    def __init__(self):
        import uvicorn

        from posterchat.config import load_settings
        from posterchat.web.app import create_app

        self.workdir = tempfile.mkdtemp(prefix="bench-stop-")
        settings = load_settings(data_dir=self.workdir, rate_limit_rpm=1_000_000, rate_limit_tpm=1_000_000_000,
                                 default_model="local", embedded_threads=peers.cores())
        self.app = create_app(settings)
        self.port = peers.free_port()
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on", timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> InProcess:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def provider(self):
        return self.app.state.services.chat.router.local("smollm2-135m-instruct")


def _embedded_trial(server: InProcess) -> dict:
    """Hang up mid-answer; poll the engine's counters until it stops decoding."""
    provider = server.provider()
    closed = asyncio.run(_hang_up(server.port, {**SPEC_BODY, "model": "local"}, {}))
    at_close = decoded(provider)
    deadline = time.monotonic() + 10
    while busy(provider) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    stopped = time.monotonic()
    return {"ms": (stopped - closed) * 1000, "tokens_after_close": decoded(provider) - at_close,
            "stopped": not busy(provider)}


def embedded_stop(trials: int, log=print) -> list[dict]:
    """The embedded model, in this process."""
    results = []
    with InProcess() as server:
        asyncio.run(_hang_up(server.port, {**SPEC_BODY, "model": "local"}, {}))  # warm-up: load the model
        time.sleep(1)
        for trial in range(trials):
            results.append(_embedded_trial(server))
            log(f"  stop (embedded) trial {trial + 1}: {results[-1]['ms']:.1f} ms, "
                f"{results[-1]['tokens_after_close']} tokens decoded after the close")
            time.sleep(0.3)
    return results


def run(trials: int, log=print) -> dict:
    upstream = upstream_stop(trials, log)
    embedded = embedded_stop(trials, log)
    return {"trials": trials, "upstream_ms": upstream, "embedded": embedded,
            "summary": {"upstream_ms": load.summary(upstream),
                        "upstream_p_max_ms": max(upstream) if upstream else float("nan"),
                        "embedded_ms": load.summary([r["ms"] for r in embedded]),
                        "embedded_tokens_after_close": load.summary([r["tokens_after_close"] for r in embedded])}}
