"""Before/after: posterchat from another source tree against this one, interleaved, for optimisation work.

    git worktree add /tmp/before <commit>        # or any copy of an older posterchat/ package
    python -m bench.ab --before /tmp/before      # gateway CPU per request and req/s; streaming CPU per token
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys

import psutil

from . import load, peers, streaming

BODY = {"model": peers.MODEL, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 16}


def _cpu(peer: peers.Peer) -> float:
    times = psutil.Process(peer.process.pid).cpu_times()
    return times.user + times.system


def gateway(pair: dict[str, peers.Posterchat], clients: int, duration: float) -> dict[str, tuple]:
    """CPU ms per request, req/s and p50 ms for each tree, one run each."""
    out = {}
    for name, peer in pair.items():
        raw = load.request_bytes("/v1/chat/completions", BODY, peer.port, peer.headers)
        before = _cpu(peer)
        run = asyncio.run(load.closed_loop(peer.port, raw, clients, 50_000, duration, warmup=50))
        out[name] = ((_cpu(peer) - before) / max(1, len(run.latencies) + 50) * 1000, run.rps,
                     load.percentile(run.latencies, 0.5) * 1000)
    return out


def streams(pair: dict[str, peers.Posterchat], count: int) -> dict[str, tuple]:
    """CPU µs per token, p99 added gap, wave time and median time to first token for each tree."""
    out = {}
    for name, peer in pair.items():
        raw = load.request_bytes("/chat", streaming.SPEC_BODY, peer.port, peer.headers)
        before = _cpu(peer)
        result = streaming.measure(peer, raw, b"event: delta", b"event: done", count)
        out[name] = ((_cpu(peer) - before) / (count * 50) * 1e6, result["added_gap_p99_ms"], result["wall_s"],
                     result["ttft_p50_ms"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="a directory holding the older posterchat/ package")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--streams", type=int, default=200, help="concurrent streams (0: skip the streaming runs)")
    parser.add_argument("--clients", default="1,16,64", help="comma-separated gateway client counts")
    args = parser.parse_args(argv)
    load.fast_loop()
    load.raise_open_files()
    server = {peers.SERVER_CPU}
    with peers.upstream("fast", {peers.CLIENT_CPU}) as fast, peers.upstream("slow", {peers.CLIENT_CPU}) as slow:
        rows: dict[str, list] = {}
        clients_list = [int(n) for n in args.clients.split(",") if n]
        for upstream, label in ((fast, "gateway"), (slow, "streaming"))[:2 if args.streams else 1]:
            with peers.Posterchat(upstream.port, server, name="before", PYTHONPATH=args.before) as old, \
                    peers.Posterchat(upstream.port, server, name="after") as new:
                load.pin({peers.CLIENT_CPU})
                try:
                    for _ in range(args.reps):
                        if label == "gateway":
                            for clients in clients_list:
                                for name, value in gateway({"before": old, "after": new}, clients,
                                                           args.duration).items():
                                    rows.setdefault(f"gateway {clients:2d} clients {name}", []).append(value)
                        else:
                            for name, value in streams({"before": old, "after": new}, args.streams).items():
                                rows.setdefault(f"{args.streams} streams {name}", []).append(value)
                finally:
                    load.pin(None)
    print("| measurement | CPU per request ms / per token µs | req/s or p99 added gap ms | p50 ms or wave s |")
    print("| --- | --- | --- | --- |")
    for key, values in rows.items():
        print(f"| {key} | " + " | ".join(f"{statistics.median(v[i] for v in values):.2f}" for i in range(3)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
