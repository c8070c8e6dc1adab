"""Instructions per request: the app driven in-process under callgrind, a count that does not move with the machine.

    python -m bench.instructions                        # /v1/chat/completions with the gateway benchmark's question
    python -m bench.instructions --path /chat --before /tmp/before   # and an older tree's, for before/after work

This machine's speed moves by up to 3x within an hour, so seconds cannot tell a 5% change from the noise; the
number of instructions the server process runs per request repeats to 0.01% (bench/notes.md). The app runs in this
process (no uvicorn, no sockets on the client side) against the fast upstream in another, unmeasured process, and
collection is switched on only around the measured requests, after a warm-up. Needs valgrind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from . import gateway, load, peers

BODIES = {"/v1/chat/completions": gateway.CHAT_COMPLETION, "/chat": gateway.SPEC_CHAT}


def count(path: str, requests: int, tree: str | None = None) -> int:
    """Instructions per request for `path`, in posterchat from `tree` (this one by default)."""
    with tempfile.TemporaryDirectory() as out:
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}/cg.%p",
                   sys.executable, "-m", "bench.instructions", "--inside", "--path", path, "--requests", str(requests),
                   *(["--before", tree] if tree else [])]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, cwd=peers.ROOT, env=env, capture_output=True, text=True, timeout=1800)
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or collected is None or "requests ok" not in done.stdout:
        raise SystemExit(f"the measured run failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return int(collected.group(1)) // requests


def inside(path: str, requests: int, tree: str | None) -> None:
    """Under valgrind: start the app, warm it up, and count only the measured requests."""
    if tree:  # the tree's posterchat, not this checkout's (which bench.peers has imported already)
        sys.path.insert(0, tree)
        for name in [name for name in sys.modules if name.split(".")[0] == "posterchat"]:
            del sys.modules[name]
    with peers.upstream("fast") as upstream:
        workdir = tempfile.mkdtemp(prefix="bench-instructions-")
        env = peers.posterchat_env(upstream.port, workdir)
        os.environ.update(env)
        key = peers.create_key(env, workdir)
        from posterchat.web.app import create_app  # after the environment it reads is set, from the tree asked for

        print(f"posterchat from {sys.modules['posterchat'].__file__}")

        app = create_app()
        body = json.dumps(BODIES[path]).encode()
        headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode()), (b"authorization", f"Bearer {key}".encode())]

        # A bare ASGI call, not httpx's ASGITransport: the client's own work would be counted with the server's.
        async def one(state: dict) -> None:
            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                     "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                     "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 5000),
                     "state": dict(state)}
            messages = [{"type": "http.request", "body": body, "more_body": False}]
            sent: list[dict] = []

            async def receive() -> dict:
                return messages.pop() if messages else await asyncio.Event().wait()

            async def send(message: dict) -> None:
                sent.append(message)

            await app(scope, receive, send)
            if sent[0]["status"] != 200:
                raise SystemExit(f"{path} answered {sent[0]['status']}")

        async def run() -> None:
            async with app.router.lifespan_context(app) as state:
                for _ in range(200):
                    await one(state or {})
                subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], capture_output=True)
                for _ in range(requests):
                    await one(state or {})
                subprocess.run(["callgrind_control", "--instr=off", str(os.getpid())], capture_output=True)

        load.fast_loop()
        asyncio.run(run())
        shutil.rmtree(workdir, ignore_errors=True)
    print("requests ok")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/v1/chat/completions", choices=sorted(BODIES))
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--before", help="a directory holding an older posterchat/ package, counted too")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        inside(args.path, args.requests, args.before)
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    trees = {"before": args.before, "this tree": None} if args.before else {"this tree": None}
    for name, tree in trees.items():
        print(f"{name}: {count(args.path, args.requests, tree) / 1e6:.3f} M instructions per {args.path} request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
