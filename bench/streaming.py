"""Streaming at scale: many concurrent streamed chats through posterchat from the slow upstream, and direct."""

from __future__ import annotations

import asyncio
import random
import time

from . import load, peers, upstreams

RAMP_SECONDS = 0.25  # streams start at random moments in this window, so their 20 ms grids are not all aligned
TOKEN_MARKER_DIRECT = b'"content":"tok'
SPEC_BODY = {"message": "Stream me an answer about poster grids.", "conversation_history": [], "model": peers.MODEL,
             "stream": True, "max_tokens": 128}
DIRECT_BODY = {"model": peers.MODEL, "stream": True, "max_tokens": 128,
               "messages": [{"role": "user", "content": "Stream me an answer about poster grids."}]}


async def _many(port: int, raw: bytes, marker: bytes, done: bytes, streams: int) -> tuple[list, float, int]:
    """`streams` streams started over the ramp; returns them, the wall time, and the most in flight at once."""
    in_flight = [0, 0]

    async def one() -> load.Stream:
        await asyncio.sleep(random.uniform(0, RAMP_SECONDS))
        in_flight[0] += 1
        in_flight[1] = max(in_flight[1], in_flight[0])
        try:
            return await load.stream_counting(port, raw, marker, done, timeout=60)
        finally:
            in_flight[0] -= 1

    started = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(streams)))
    return results, time.perf_counter() - started, in_flight[1]


async def _sample_rss(peer: peers.Peer, box: list[float]) -> None:
    while True:
        box.append(peer.rss() / 2**20)
        await asyncio.sleep(0.1)


def measure(peer: peers.Peer, raw: bytes, marker: bytes, done: bytes, streams: int) -> dict:
    """One wave of concurrent streams, with the server's memory sampled throughout."""
    async def wave():
        rss: list[float] = []
        sampler = asyncio.create_task(_sample_rss(peer, rss))
        try:
            return await _many(peer.port, raw, marker, done, streams), rss
        finally:
            sampler.cancel()

    (results, wall, most), rss = asyncio.run(wave())
    return describe(results, wall, most, max(rss or [0.0]))


def describe(results: list[load.Stream], wall: float, most: int, rss_mb: float) -> dict:
    """Share completed, time to first token, and the gaps between tokens beyond the upstream's cadence."""
    gaps = [(b - a - upstreams.TOKEN_GAP) * 1000 for r in results for a, b in zip(r.tokens, r.tokens[1:])]
    ttft = [(r.tokens[0] - r.sent) * 1000 for r in results if r.tokens]
    errors = [r.error for r in results if r.error]
    return {"streams": len(results), "completed": sum(r.completed and len(r.tokens) >= upstreams.TOKENS
                                                       for r in results),
            "added_gap_p50_ms": load.percentile(gaps, 0.5), "added_gap_p99_ms": load.percentile(gaps, 0.99),
            "added_gap_max_ms": max(gaps) if gaps else float("nan"), "ttft_p50_ms": load.percentile(ttft, 0.5),
            "ttft_p99_ms": load.percentile(ttft, 0.99), "wall_s": wall, "max_in_flight": most,
            "rss_mb": rss_mb, "errors": len(errors), "first_error": errors[0] if errors else ""}


def run(reps: int, counts: list[int], log=print) -> dict:
    """Direct and through posterchat at each number of streams, interleaved, `reps` times."""
    load.raise_open_files()
    runs: dict[str, dict[int, list[dict]]] = {"direct": {}, "posterchat /chat": {}}
    # The answer guard holds each sentence until it ends (it may leave out one that contradicts a measured fact), so
    # with grounding on, tokens arrive a sentence at a time by design; this measures what posterchat adds per token.
    with peers.upstream("slow", {peers.CLIENT_CPU}) as upstream, \
            peers.Posterchat(upstream.port, {peers.SERVER_CPU}, POSTERCHAT_GROUNDING="false") as posterchat:
        ways = {"direct": (upstream, load.request_bytes("/v1/chat/completions", DIRECT_BODY, upstream.port),
                           TOKEN_MARKER_DIRECT, b"[DONE]"),
                "posterchat /chat": (posterchat, load.request_bytes("/chat", SPEC_BODY, posterchat.port,
                                                                    posterchat.headers), b"event: delta",
                                     b"event: done")}
        load.pin({peers.CLIENT_CPU})
        try:
            for rep in range(reps):
                for count in counts:
                    for name in (list(ways) if rep % 2 == 0 else list(reversed(ways))):
                        result = measure(*ways[name], count)
                        runs[name].setdefault(count, []).append(result)
                        log(f"  streaming rep {rep + 1} {name:18s} {count:5d} streams: {result['completed']} completed, "
                            f"added gap p50 {result['added_gap_p50_ms']:.2f} p99 {result['added_gap_p99_ms']:.2f} ms, "
                            f"rss {result['rss_mb']:.0f} MB, errors {result['errors']} {result['first_error'][:60]}")
                        time.sleep(1)
        finally:
            load.pin(None)
    return {"runs": runs, "streams": max(counts), "counts": counts, "reps": reps, "summary": summarize(runs)}


def summarize(runs: dict) -> dict:
    """Per way and number of streams: median and spread over repetitions."""
    keys = ("completed", "added_gap_p50_ms", "added_gap_p99_ms", "added_gap_max_ms", "ttft_p50_ms", "rss_mb",
            "max_in_flight")
    return {name: {count: {key: load.summary([r[key] for r in results]) for key in keys}
                   for count, results in by_count.items()} for name, by_count in runs.items()}
