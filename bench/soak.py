"""Soak: mixed traffic at a steady rate against a real `python server.py`, watching errors, memory and files.

Short chats, stored conversations, streams, clients that leave mid-stream and injected upstream faults, from a
FakeUpstream (tests/upstream.py) on loopback. Every outcome is classified; a fault only counts as expected when
it is the one injected for that request. Afterwards the results go into docs/reliability.md.

    python -m bench.soak                      # 10 minutes
    python -m bench.soak --duration 60 --rate 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from httpx_sse import EventSource

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.servers import free_port, wait_until_up  # noqa: E402
from tests.support.upstream import Behaviour, FakeUpstream, cut, hang, ok, status, trickle  # noqa: E402

MODEL = "ft:gpt-4o-mini-2024-07-18:soak:posters:1"
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- soak:begin -->", "<!-- soak:end -->"
SAMPLE_SECONDS = 5.0
KEPT_LOG = ROOT / "test-artifacts" / "soak-server.log"
LONG_ANSWER = " ".join(f"word{i}" for i in range(60))
MIX = {  # kind: share of the traffic
    "chat": 30, "chat_stored": 15, "stream": 15, "v1": 10, "v1_stream": 5, "disconnect": 5,
    "fault_500": 5, "fault_429": 5, "fault_hang": 5, "fault_cut": 5,
}
EXPECTED = {  # what an injected fault must look like to the client
    "fault_500": "502 upstream_error", "fault_429": "429 rate_limited", "fault_hang": "504 upstream_timeout",
    "fault_cut": "event error stream_interrupted", "disconnect": "left mid-stream",
}
SERVER_ENV = {
    "POSTERCHAT_DEFAULT_MODEL": MODEL, "OPENAI_API_KEY": "sk-soak", "POSTERCHAT_RATE_LIMIT_RPM": "0",
    "POSTERCHAT_RATE_LIMIT_TPM": "0", "POSTERCHAT_REQUEST_TIMEOUT": "2", "POSTERCHAT_MAX_RETRIES": "1",
    "POSTERCHAT_RETRY_WAIT": "0.05", "POSTERCHAT_LOG_LEVEL": "INFO",
}


def upstream_behaviour() -> Behaviour:
    """Answer by the message's first word, so concurrent requests each get the fault meant for them."""
    faults = {"fault_500": status(500), "fault_429": status(429, headers={"Retry-After": "300"}),
              "fault_hang": hang(10), "fault_cut": cut(after_chunks=2), "disconnect": trickle(LONG_ANSWER, 0.05)}
    normal = ok(delay=0.05)

    async def respond(ex) -> bool:
        return await faults.get(ex.last_user_content().split(" ", 1)[0], normal).respond(ex)

    return Behaviour("soak", respond)


@dataclass
class Tally:
    """Outcomes by kind, and the numbers watched over time."""

    outcomes: Counter = field(default_factory=Counter)  # (kind, outcome)
    latencies: list[float] = field(default_factory=list)
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (seconds, RSS kB, open fds)
    skipped: int = 0

    def unexpected(self) -> Counter:
        return Counter({key: n for key, n in self.outcomes.items() if key[1] not in ("ok", EXPECTED.get(key[0]))})


async def one_request(client: httpx.AsyncClient, kind: str, number: int, stored: list[str]) -> str:
    """Send one request of `kind`; return "ok", the expected fault's description, or what went wrong."""
    message = f"{kind} request {number}"
    if kind in ("v1", "v1_stream"):
        body = {"messages": [{"role": "user", "content": message}], "stream": kind == "v1_stream"}
        result = await _exchange(client, "/v1/chat/completions", body, kind == "v1_stream")
        return "ok" if result.startswith("ok ") else result
    body: dict = {"message": message}
    if kind == "chat_stored" and stored:
        body["conversation_id"] = random.choice(stored)
    elif kind != "chat_stored":
        body["conversation_history"] = []
    streaming = kind in ("stream", "disconnect", "fault_cut")
    result = await _exchange(client, "/chat", {**body, "stream": streaming}, streaming, leave=kind == "disconnect")
    if kind == "chat_stored" and result.startswith("ok ") and len(stored) < 50:
        stored.append(result.split(" ", 1)[1])
    return result.split(" ", 1)[0] if result.startswith("ok ") else result


async def _exchange(client: httpx.AsyncClient, path: str, body: dict, streaming: bool, leave: bool = False) -> str:
    try:
        if not streaming:
            response = await client.post(path, json=body)
            return _status(response, response.json())
        async with client.stream("POST", path, json=body) as response:
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                return _status(response, json.loads(await response.aread()))
            return await _events(response, leave)
    except httpx.HTTPError as exc:
        return f"client {type(exc).__name__}"


def _status(response: httpx.Response, data: dict) -> str:
    if response.status_code == 200:
        return f"ok {data.get('conversation_id')}"
    return f"{response.status_code} {data.get('error', {}).get('code')}"


async def _events(response: httpx.Response, leave: bool) -> str:
    """Read an SSE answer to its end (or leave after two events); report how it ended."""
    seen = 0
    async for sse in EventSource(response).aiter_sse():
        seen += 1
        if leave and seen == 2:
            return "left mid-stream"
        if sse.event == "done":
            return f"ok {sse.json().get('conversation_id')}"
        if sse.event == "error" or '"error"' in sse.data[:10]:
            return f"event error {sse.json()['error']['code']}"
        if sse.data == "[DONE]":
            return "ok -"
    return "stream ended without done"


def sample(pid: int) -> tuple[int, int]:
    """(RSS in kB, open file descriptors) of a process, from /proc."""
    status_text = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status_text).group(1))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


async def drive(url: str, pid: int, args: argparse.Namespace, tally: Tally) -> None:
    """Start one request every 1/rate s until the duration or request count is reached, sampling the server."""
    rng, kinds = random.Random(args.seed), list(MIX)
    weights = [MIX[k] for k in kinds]
    stored: list[str] = []
    limit = asyncio.Semaphore(args.concurrency)
    started = time.monotonic()
    tasks: set[asyncio.Task] = set()

    async def run(kind: str, number: int) -> None:
        async with limit:
            began = time.monotonic()
            tally.outcomes[(kind, await one_request(client, kind, number, stored))] += 1
            tally.latencies.append(time.monotonic() - began)

    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        next_sample = 0.0
        for number in range(args.max_requests):
            elapsed = time.monotonic() - started
            if elapsed >= args.duration:
                break
            if elapsed >= next_sample:
                tally.samples.append((elapsed, *sample(pid)))
                next_sample += SAMPLE_SECONDS
            if limit.locked():
                tally.skipped += 1
            else:
                task = asyncio.create_task(run(rng.choices(kinds, weights)[0], number))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.sleep(max(0.0, started + (number + 1) / args.rate - time.monotonic()))
        await asyncio.gather(*tasks)
    await asyncio.sleep(2)  # let the server close what the last requests left
    tally.samples.append((time.monotonic() - started, *sample(pid)))


def start_server(upstream: FakeUpstream, workdir: Path) -> tuple[subprocess.Popen, str, Path]:
    """`python server.py` on a fresh SQLite database, its output in a file (a pipe could fill and stall it)."""
    port, log_path = free_port(), workdir / "server.log"
    env = {**os.environ, **SERVER_ENV, "OPENAI_BASE_URL": upstream.base_url, "POSTERCHAT_DATA_DIR": str(workdir)}
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "server.py", "--port", str(port)], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url, process=process)
    return process, url, log_path


def summary(args: argparse.Namespace, tally: Tally, wall: float, log_lines: int) -> dict:
    """The numbers worth keeping: traffic, errors by kind, memory and descriptors at start and end."""
    warm = next((s for s in tally.samples if s[0] >= min(args.warmup, wall / 10)), tally.samples[0])
    first, last = tally.samples[0], tally.samples[-1]
    errors = Counter()
    for (kind, outcome), n in tally.outcomes.items():
        if outcome != "ok":
            errors[f"{outcome} ({'injected' if EXPECTED.get(kind) == outcome else 'UNEXPECTED'}: {kind})"] += n
    latencies = sorted(tally.latencies) or [0.0]
    return {
        "duration_s": round(wall), "rate_per_s": args.rate, "requests": sum(tally.outcomes.values()),
        "ok": sum(n for (_, o), n in tally.outcomes.items() if o == "ok"), "skipped_at_concurrency_limit": tally.skipped,
        "by_kind": dict(_sum_by_kind(tally)),
        "errors": dict(errors), "unexpected": sum(tally.unexpected().values()),
        "latency_p50_s": round(latencies[len(latencies) // 2], 3),
        "latency_p99_s": round(latencies[int(len(latencies) * 0.99)], 3),
        "rss_kb": {"at_start": first[1], "after_warmup": warm[1], "at_end": last[1]},
        "rss_growth_after_warmup_pct": round(100 * (last[1] - warm[1]) / warm[1], 1),
        "open_fds": {"at_start": first[2], "after_warmup": warm[2], "at_end": last[2]},
        "server_log_lines": log_lines,
    }


def _sum_by_kind(tally: Tally) -> Counter:
    totals = Counter()
    for (kind, _), n in tally.outcomes.items():
        totals[kind] += n
    return totals


def verdict(result: dict) -> list[str]:
    """What failed the soak: unexpected errors, memory growth of 10% or more, descriptors that leaked."""
    problems = []
    if result["unexpected"]:
        problems.append(f"{result['unexpected']} unexpected outcomes")
    if result["rss_growth_after_warmup_pct"] >= 10:
        problems.append(f"RSS grew {result['rss_growth_after_warmup_pct']}% after warm-up")
    if result["open_fds"]["at_end"] > result["open_fds"]["after_warmup"] + 10:
        problems.append("open file descriptors grew")
    return problems


def record(result: dict, problems: list[str], doc: Path) -> None:
    """Replace the soak section of the doc with this run's numbers."""
    rows = "\n".join(f"| {name} | {count} |" for name, count in sorted(result["errors"].items()))
    text = f"""{BEGIN}
Last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {result['duration_s']} s at {result['rate_per_s']} \
requests/s, on loopback against `python server.py` (SQLite). Verdict: {'; '.join(problems) or 'pass'}.

| Measure | Value |
| --- | --- |
| Requests sent / answered as asked | {result['requests']} / {result['ok']} |
| Requests by kind | {', '.join(f'{k} {n}' for k, n in sorted(result['by_kind'].items()))} |
| Latency p50 / p99 | {result['latency_p50_s']} s / {result['latency_p99_s']} s |
| RSS at start / after warm-up / at end | {' / '.join(f"{v / 1024:.1f} MiB" for v in result['rss_kb'].values())} |
| RSS growth after warm-up | {result['rss_growth_after_warmup_pct']}% |
| Open file descriptors at start / after warm-up / at end | {' / '.join(map(str, result['open_fds'].values()))} |
| Unexpected outcomes | {result['unexpected']} |

| Error seen by clients | Count |
| --- | --- |
{rows or '| none | 0 |'}
{END}"""
    current = doc.read_text() if doc.exists() else ""
    if BEGIN in current and END in current:
        current = current[:current.index(BEGIN)] + text + current[current.index(END) + len(END):]
    else:
        current = f"{current.rstrip()}\n\n{text}\n"
    doc.write_text(current)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of traffic (default 600)")
    parser.add_argument("--rate", type=float, default=8, help="requests started per second (default 8)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many (default 100000)")
    parser.add_argument("--concurrency", type=int, default=64, help="most requests in flight (default 64)")
    parser.add_argument("--warmup", type=float, default=60, help="seconds before the RSS baseline (default 60)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--doc", type=Path, default=DOC, help="where to record the results ('-' for nowhere)")
    args = parser.parse_args(argv)
    with FakeUpstream() as upstream, tempfile.TemporaryDirectory(prefix="soak-") as workdir:
        upstream.default = upstream_behaviour()
        process, url, log_path = start_server(upstream, Path(workdir))
        tally, began = Tally(), time.monotonic()
        try:
            asyncio.run(drive(url, process.pid, args, tally))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        result = summary(args, tally, time.monotonic() - began, len(log_path.read_text().splitlines()))
        problems = verdict(result)
        if problems:  # keep the server's log to find out why
            KEPT_LOG.parent.mkdir(exist_ok=True)
            KEPT_LOG.write_bytes(log_path.read_bytes())
            print(f"the server's log is in {KEPT_LOG}")
    print(json.dumps(result, indent=2))
    print("soak:", "; ".join(problems) or "pass")
    if str(args.doc) != "-":
        record(result, problems, args.doc)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
