"""posterchat under test: `python server.py` in a child process with its own data dir, stopped however the run ends."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180.0  # seconds; the first start may load the embedded model


class ServerError(RuntimeError):
    """posterchat did not come up; the message ends with the last lines of its log."""


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(data_dir: str, grounding: bool, local_models: dict[str, str]) -> dict[str, str]:
    """The settings the benchmark runs posterchat under, on top of the caller's environment."""
    env = {
        "POSTERCHAT_DATA_DIR": data_dir,
        "POSTERCHAT_RATE_LIMIT_RPM": "0",
        "POSTERCHAT_RATE_LIMIT_TPM": "0",
        "POSTERCHAT_GROUNDING": "true" if grounding else "false",
        "POSTERCHAT_LOG_LEVEL": "WARNING",
    }
    if local_models:
        env["POSTERCHAT_LOCAL_MODELS"] = json.dumps(local_models)
    return {**os.environ, **env}


class Server:
    """`with Server(grounding=True) as server:` serves posterchat on server.url until the block ends."""

    def __init__(self, grounding: bool, local_models: dict[str, str] | None = None):
        self.grounding = grounding
        self.local_models = dict(local_models or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self._tmp = tempfile.TemporaryDirectory(prefix="posterchat-eval-")
        self.log_path = Path(self._tmp.name) / "server.log"
        env = server_env(str(Path(self._tmp.name) / "data"), self.grounding, self.local_models)
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "server.py", "--port", str(self.port)], cwd=ROOT, env=env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,  # own group: Ctrl-C reaches us, we stop it
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_healthy(self) -> None:
        """Until GET /health answers 200; ServerError if the process dies or START_TIMEOUT passes."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerError(f"posterchat exited with code {self._process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2.0, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise ServerError(f"posterchat did not answer /health within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the server wrote."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __exit__(self, *exc: object) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
            except ProcessLookupError:
                pass
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
