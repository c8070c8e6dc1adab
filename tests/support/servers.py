"""Real posterchat servers on random loopback ports: in a thread (to inject providers) or as a process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    """Poll /health until it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not come up")


class ThreadServer:
    """uvicorn serving an app object in a background thread."""

    def __init__(self, app, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on", timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        wait_until_up(self.url)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class ProcessServer:
    """`python server.py --port N` (or other args) as a child process with its own environment."""

    def __init__(self, env: dict[str, str], args: list[str] | None = None, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.args = args or []
        self.process: subprocess.Popen | None = None
        self.log = b""

    def start(self) -> ProcessServer:
        self.process = subprocess.Popen(
            [sys.executable, "server.py", "--port", str(self.port), *self.args], cwd=ROOT, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        wait_until_up(self.url, process=self.process)
        return self

    def stop(self, kill: bool = False) -> str:
        """Stop (or SIGKILL) the server and return what it printed."""
        if self.process and self.process.poll() is None:
            self.process.kill() if kill else self.process.terminate()
        out, _ = self.process.communicate(timeout=20)
        self.log += out or b""
        return self.log.decode(errors="replace")

    def __enter__(self) -> ProcessServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
