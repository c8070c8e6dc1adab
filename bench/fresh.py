"""`make run` on a fresh clone: the seconds from `git clone` to the first answer of the embedded model.

The clone is of the last commit; `make install` runs as `make run` would, with pip's download cache as the machine
has it (`--cold`: none), then `python server.py` on a free port, asked one chat until it answers.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from tests.support.servers import free_port

from . import peers

TARGET_S = 90.0


def _first_answer(url: str, server: subprocess.Popen, deadline: float) -> dict:
    """Poll POST /chat until the embedded model answers (the model loads on the first chat)."""
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server.py exited with {server.returncode}")
        try:
            response = httpx.post(f"{url}/chat", json={"message": "Hello", "conversation_history": [],
                                                        "max_tokens": 8, "temperature": 0}, timeout=30)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("no answer in time")


def run(*, cold: bool = False, log=print, timeout: float = 900) -> dict:
    """Clone, install, serve, ask; the seconds each took."""
    with tempfile.TemporaryDirectory(prefix="posterchat-fresh-") as tmp:
        clone = Path(tmp) / "posterchat"
        env = {key: value for key, value in os.environ.items() if not key.startswith(("POSTERCHAT_", "VIRTUAL_ENV"))}
        env.update(PATH=os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(peers.ROOT))),
                   POSTERCHAT_DATABASE_URL=f"sqlite:///{tmp}/posterchat.db", **({"PIP_NO_CACHE_DIR": "1"} if cold else {}))
        started = time.monotonic()
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(peers.ROOT), str(clone)], check=True)
        subprocess.run(["make", "-s", "install"], cwd=clone, env=env, check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL)
        installed = time.monotonic()
        log(f"  installed in {installed - started:.1f} s")
        port = free_port()
        server = subprocess.Popen([str(clone / ".venv/bin/python"), "server.py", "--port", str(port)], cwd=clone,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            answer = _first_answer(f"http://127.0.0.1:{port}", server, started + timeout)
        finally:
            server.terminate()
            server.wait(30)
        answered = time.monotonic()
        log(f"  first answer after {answered - started:.1f} s: {answer['response'][:40]!r}")
        return {"install_s": installed - started, "serve_s": answered - installed, "total_s": answered - started,
                "cold": cold}


def tables(result: dict) -> list[str]:
    cache = "no pip cache" if result["cold"] else "pip's download cache as the machine had it"
    return ["## 8. A fresh clone's `make run`", "",
            f"`git clone`, `make install` ({cache}), `python server.py`, then `POST /chat` until the embedded model "
            "answers.", "", "| clone + install s | serve to first answer s | total s |", "| --- | --- | --- |",
            f"| {result['install_s']:.1f} | {result['serve_s']:.1f} | {result['total_s']:.1f} |", ""]


def targets(result: dict) -> list[tuple[str, str, bool]]:
    return [(f"fresh clone: `make run` answers its first chat within {TARGET_S:.0f} s", f"{result['total_s']:.1f} s",
             result["total_s"] <= TARGET_S)]
