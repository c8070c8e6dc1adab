"""Profile posterchat under gateway load with py-spy, for optimisation work.

    python -m bench.profile                      # /v1/chat/completions, 1 client: top functions, own and total
    python -m bench.profile --path /chat --clients 16
    python -m bench.profile --streams 500              # streamed chats from the slow upstream instead
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
import tempfile

from . import load, peers, streaming
from .ab import BODY
from .streaming import SPEC_BODY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/v1/chat/completions", choices=["/v1/chat/completions", "/chat"])
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--streams", type=int, help="profile this many concurrent streamed chats instead")
    args = parser.parse_args(argv)
    load.fast_loop()
    body = BODY if args.path != "/chat" else {**SPEC_BODY, "stream": False, "model": peers.MODEL}
    stacks = tempfile.NamedTemporaryFile(suffix=".txt", delete=False).name
    with peers.upstream("slow" if args.streams else "fast", {peers.CLIENT_CPU}) as upstream, \
            peers.Posterchat(upstream.port, {peers.SERVER_CPU}) as server:
        raw = load.request_bytes(args.path, body, server.port, server.headers)
        if not args.streams:  # warm up the request path before sampling
            asyncio.run(load.closed_loop(server.port, raw, args.clients, 500, 5, warmup=50))
        spy = subprocess.Popen([str(peers.BIN / "py-spy"), "record", "--pid", str(server.process.pid), "--rate", "1000",
                                "--duration", str(args.seconds), "--nonblocking", "--format", "raw", "-o", stacks],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        load.pin({peers.CLIENT_CPU})
        if args.streams:
            raw = load.request_bytes("/chat", SPEC_BODY, server.port, server.headers)
            result = streaming.measure(server, raw, b"event: delta", b"event: done", args.streams)
            print(f"{args.streams} streams: p99 added gap {result['added_gap_p99_ms']:.1f} ms")
        else:
            run = asyncio.run(load.closed_loop(server.port, raw, args.clients, 10**7, args.seconds, warmup=0))
            print(f"{run.rps:.0f} req/s, p50 {load.percentile(run.latencies, 0.5) * 1000:.2f} ms")
        spy.wait()
    report(stacks, args.top)
    print(f"stacks: {stacks}")
    return 0


def report(path: str, top: int) -> None:
    """Own and total share of samples per function, from py-spy's collapsed stacks."""
    own: collections.Counter = collections.Counter()
    total: collections.Counter = collections.Counter()
    samples = 0
    for line in open(path):
        stack, _, count = line.rstrip().rpartition(" ")
        frames = [frame.split(" (")[0] + " " + frame.rsplit("/", 1)[-1].split(":")[0] for frame in stack.split(";")]
        n = int(count)
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    print(f"{samples} samples")
    for title, counter in (("own", own), ("total", total)):
        print(f"\n-- {title}")
        for frame, n in counter.most_common(top):
            print(f"{n / samples * 100:5.1f}%  {frame}")


if __name__ == "__main__":
    sys.exit(main())
