"""Gateway overhead and throughput: posterchat and the LiteLLM proxy in front of the fast upstream, and it direct."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from . import load, peers

CLIENTS = (1, 16, 64)
QUESTION = "Hello! Which fonts suit a jazz poster?"
CHAT_COMPLETION = {"model": peers.MODEL, "messages": [{"role": "user", "content": QUESTION}], "max_tokens": 64,
                   "temperature": 0.7}
SPEC_CHAT = {"message": QUESTION, "conversation_history": [], "model": peers.MODEL,
             "max_tokens": 64}


@dataclass
class Target:
    """A server and the request sent to it."""

    name: str
    peer: peers.Peer
    path: str
    body: dict
    headers: dict


def targets(direct: peers.Peer, posterchat: peers.Posterchat, litellm: peers.LiteLLM | None) -> list[Target]:
    found = [Target("direct", direct, "/v1/chat/completions", CHAT_COMPLETION, {}),
             Target("posterchat /v1/chat/completions", posterchat, "/v1/chat/completions", CHAT_COMPLETION,
                    posterchat.headers),
             Target("posterchat /chat", posterchat, "/chat", SPEC_CHAT, posterchat.headers)]
    if litellm is not None:
        found.append(Target("litellm /v1/chat/completions", litellm, "/v1/chat/completions", CHAT_COMPLETION,
                            litellm.headers))
    return found


def measure(target: Target, clients: int, duration: float) -> dict:
    """One bounded run against one target."""
    raw = load.request_bytes(target.path, target.body, target.peer.port, target.headers)
    limit = 4000 if clients == 1 else 40000
    run = asyncio.run(load.closed_loop(target.peer.port, raw, clients, limit, duration, warmup=min(20 * clients, 200)))
    return {"rps": run.rps, "p50_ms": load.percentile(run.latencies, 0.5) * 1000,
            "p99_ms": load.percentile(run.latencies, 0.99) * 1000, "requests": len(run.latencies),
            "errors": run.errors, "first_error": run.first_error, "generator_load": run.generator_load,
            "rss_mb": target.peer.rss() / 2**20}


def run(reps: int, duration: float, with_litellm: bool = True, log=print) -> dict:
    """Every target at every client count, `reps` times, interleaved; returns raw runs and summaries."""
    load.raise_open_files()
    server, client = {peers.SERVER_CPU}, {peers.CLIENT_CPU}
    with peers.upstream("fast", client) as upstream, peers.upstream("fast", server) as direct:
        with peers.Posterchat(upstream.port, server) as posterchat:
            litellm = peers.LiteLLM(upstream.port, server).start() if with_litellm else None
            try:
                chosen = targets(direct, posterchat, litellm)
                idle = {t.name: t.peer.rss() / 2**20 for t in chosen}
                runs = _interleaved(chosen, reps, duration, log)
            finally:
                if litellm is not None:
                    litellm.stop()
    return {"runs": runs, "idle_rss_mb": idle, "summary": summarize(runs, idle), "reps": reps, "duration": duration,
            "posterchat_keys": bool(posterchat.key)}


def _interleaved(chosen: list[Target], reps: int, duration: float, log) -> dict:
    """Runs keyed by target and clients; the target order rotates every repetition."""
    runs: dict[str, dict[int, list[dict]]] = {t.name: {c: [] for c in CLIENTS} for t in chosen}
    load.pin({peers.CLIENT_CPU})
    try:
        for rep in range(reps):
            for clients in CLIENTS:
                order = chosen[rep % len(chosen):] + chosen[:rep % len(chosen)]
                for target in order:
                    result = measure(target, clients, duration)
                    runs[target.name][clients].append(result)
                    log(f"  gateway rep {rep + 1} {target.name:34s} {clients:3d} clients: {result['rps']:8.0f} req/s "
                        f"p50 {result['p50_ms']:7.2f} ms p99 {result['p99_ms']:7.2f} ms errors {result['errors']}")
    finally:
        load.pin(None)
    return runs


def summarize(runs: dict, idle: dict) -> dict:
    """Median and spread per target and client count; latency added over the direct upstream, per repetition."""
    direct = runs["direct"]
    out: dict[str, dict] = {}
    for name, by_clients in runs.items():
        out[name] = {"rss_mb": max(r["rss_mb"] for rs in by_clients.values() for r in rs), "idle_rss_mb": idle[name]}
        for clients, results in by_clients.items():
            added50 = [r["p50_ms"] - d["p50_ms"] for r, d in zip(results, direct[clients], strict=False)]
            added99 = [r["p99_ms"] - d["p99_ms"] for r, d in zip(results, direct[clients], strict=False)]
            out[name][clients] = {
                "rps": load.summary([r["rps"] for r in results]),
                "p50_ms": load.summary([r["p50_ms"] for r in results]),
                "p99_ms": load.summary([r["p99_ms"] for r in results]),
                "added_p50_ms": load.summary(added50), "added_p99_ms": load.summary(added99),
                "errors": sum(r["errors"] for r in results),
                "generator_load": max(r["generator_load"] for r in results),
            }
    return out
