"""The embedded model: a GGUF file served in-process by llama.cpp's own server library (xllamacpp)."""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import secrets
import threading
import urllib.request
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from cachetools import LRUCache, cachedmethod

from ..errors import ConfigError, InvalidInput, Overloaded, PosterchatError, UpstreamError, UpstreamTimeout
from .base import Provider

log = logging.getLogger("posterchat.embedded")

_END = object()
_PROGRESS = object()  # the engine is reading the prompt: not silence, though there is nothing to yield yet
_ENGINES: dict[tuple, tuple[Any, str]] = {}  # (model path, context, slots, threads) -> (engine, its HTTP key)
_ENGINES_LOCK = threading.Lock()
TOKEN_COUNTS_KEPT = 8192
# Request fields llama.cpp's server accepts but ignores, with the values that ask for nothing it would have to do.
_IGNORED_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "audio": (None,), "modalities": (None, ["text"]), "prediction": (None,), "web_search_options": (None,),
    "reasoning_effort": (None,), "functions": (None, []), "function_call": (None, "none", "auto"),
    "tools": (None, []), "tool_choice": (None, "none", "auto"),
}
N_BATCH = 64  # prompt tokens per decode step: a slot's prompt delays the other slots' next token by at most this much
PROMPT_CACHE_MIB = 128  # host memory for prompt prefixes of conversations whose slot was reused (llama.cpp: 8 GiB)


class EmbeddedProvider(Provider):
    """One GGUF model, loaded lazily, answering up to `parallel` chats at once with continuous batching."""

    kind = "llama.cpp"
    runs_in_process = True
    supports_tools = False  # SmolLM2's chat template has no tool syntax, so llama.cpp would drop `tools` silently
    unsupported: ClassVar[frozenset[str]] = frozenset(_IGNORED_DEFAULTS)

    def __init__(self, model_path: Path, *, n_ctx: int = 2048, threads: int | None = None, parallel: int = 4,
                 queue_size: int = 32, cache_prompt: bool = True):
        self.model_path = Path(model_path)
        self.n_ctx, self.parallel, self.queue_size = n_ctx, parallel, queue_size
        # llama.cpp's own default: a prompt whose start a slot has already evaluated (posterchat's system prompt,
        # a conversation's earlier turns) is not evaluated again. Its logits are not bit-for-bit those of a whole
        # evaluation, so an answer at temperature 0 may differ after other chats; false (or a request's own
        # "cache_prompt": false) evaluates every prompt whole, for answers that repeat exactly.
        self.cache_prompt = cache_prompt
        self.threads = threads or os.cpu_count() or 1
        self._server = None
        self._key = ""
        self._counts: LRUCache = LRUCache(maxsize=TOKEN_COUNTS_KEPT)
        self._counts_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="embedded")
        self._pending = 0  # running plus waiting for a slot
        self._pending_lock = threading.Lock()

    def _load(self):
        """The engine, started on first use and shared by every provider of this model in the process."""
        if self._server is None:
            shape = (self.model_path, self.n_ctx, self.parallel, self.threads)
            with _ENGINES_LOCK:
                if shape not in _ENGINES:
                    key = secrets.token_urlsafe(24)  # the engine listens on 127.0.0.1: only this process may use it
                    engine = self._start(key)
                    # Never freed: xllamacpp's destructor waits forever to join the engine's loop, so a process
                    # that freed one could not exit. It lives as long as the process, which the OS cleans up.
                    ctypes.pythonapi.Py_IncRef(ctypes.py_object(engine))
                    _ENGINES[shape] = (engine, key)
                self._server, self._key = _ENGINES[shape]
        return self._server

    def _start(self, key: str):
        """Load the model into a new engine (holds the GIL for the load: ~0.5 s for SmolLM2-135M)."""
        if not self.model_path.is_file():
            raise ConfigError(f"model file {self.model_path} does not exist; check POSTERCHAT_EMBEDDED_MODEL_PATH "
                              "or POSTERCHAT_LOCAL_MODELS")
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.n_parallel = self.parallel
        params.n_ctx = self.n_ctx * self.parallel  # split evenly: every slot gets the whole n_ctx
        params.n_batch = params.n_ubatch = N_BATCH
        # Steps of one token are bound by memory, not cores: one core fewer leaves room for the event loop and the
        # engine's per-token work (on 2 cores: +40% tokens/s, bench/engines.py). Prompts and multi-chat steps use all.
        params.cpuparams.n_threads, params.cpuparams_batch.n_threads = max(1, self.threads - 1), self.threads
        # A slot's prompt is copied to host memory when the slot is given to another chat (~4 ms per 250 tokens), so
        # that chat can come back without its prompt being evaluated again. llama.cpp also copies every idle slot
        # whenever a task starts, which protects slots that a unified KV cache may clear; each slot has KV memory
        # of its own here, so those copies would only delay the new task.
        params.kv_unified = False
        params.cache_ram_mib, params.cache_idle_slots = PROMPT_CACHE_MIB, False
        params.api_keys, params.n_threads_http = [key], 1
        params.endpoint_metrics, params.verbosity = True, -1
        log.debug("loading %s", self.model_path.name)
        try:
            return xllamacpp.Server(params)
        except RuntimeError as exc:
            raise UpstreamError(f"The embedded model {self.model_path.name} could not be loaded: {exc}") from None

    def is_ready(self) -> bool:
        return self._server is not None or self.model_path.is_file()

    def context_window(self, model: str) -> int:
        return self.n_ctx

    # a stored conversation's messages are counted again every turn
    @cachedmethod(lambda self: self._counts, lock=lambda self: self._counts_lock)
    def count_tokens(self, text: str, model: str) -> int:
        return len(self._call_http("/tokenize", {"content": text, "add_special": False})["tokens"])

    def _call_http(self, path: str, body: dict) -> dict:
        """One request to the engine's own HTTP endpoint, for what its Python API lacks."""
        request = urllib.request.Request(self._load().listening_address + path, data=json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {self._key}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def metrics(self) -> dict[str, float]:
        """The engine's counters (tokens predicted, decode calls, busy slots), without the `llamacpp:` prefix."""
        lines = self._load().handle_metrics().splitlines()
        return {name.removeprefix("llamacpp:"): float(value)
                for name, value in (line.split() for line in lines if line and not line.startswith("#"))}

    def queue_depth(self) -> int:
        return max(0, self._pending - self.parallel)

    def _change_pending(self, delta: int) -> None:
        with self._pending_lock:
            self._pending += delta

    def _submit(self, work: Callable[[Any], Any], deliver: Callable[[Any], None]) -> Future:
        """Run `work(engine)` on a slot thread, handing its result or exception and then _END to `deliver`."""
        with self._pending_lock:
            if self._pending - self.parallel >= self.queue_size:
                raise Overloaded("The embedded model is busy; try again in a few seconds.", retry_after=5)
            self._pending += 1

        def run() -> None:
            try:
                if (result := work(self._load())) is not None:
                    deliver(result)
            except Exception as exc:  # handed to the awaiting coroutine, translated there
                deliver(exc)
            finally:
                self._change_pending(-1)
                deliver(_END)

        return self._executor.submit(run)

    async def stream(self, request: dict, *, timeout: float) -> AsyncIterator[dict]:
        """Yield the engine's chat.completion.chunk dicts; closing the iterator stops generation."""
        body = {"cache_prompt": self.cache_prompt, **_checked(request), "stream": True, "stream_options": {"include_usage": True},
                "return_progress": True}  # progress chunks during the prompt give a closed stream a chance to stop
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def deliver(item) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def on_chunk(chunk: dict) -> bool:  # on the slot thread; True tells the engine to stop
            deliver(_PROGRESS if "prompt_progress" in chunk else chunk)
            return stop.is_set()

        future = self._submit(lambda engine: engine.handle_chat_completions(body, on_chunk), deliver)
        usage = None
        try:
            while (item := await _next(queue, timeout)) is not _END:
                if item is _PROGRESS:
                    continue
                if isinstance(item, BaseException) or "error" in item:
                    raise _translate(item)
                usage = item.get("usage") or usage
                item["model"] = request.get("model")  # the engine names its file; callers asked by id
                yield item
            if usage is None:
                raise UpstreamError("The embedded model stopped mid-answer.")
        finally:
            stop.set()
            if future.cancel():
                self._change_pending(-1)

    async def complete(self, request: dict, *, timeout: float) -> dict:
        """The engine's whole chat.completion; the engine finishes it even if the caller stops waiting."""
        body = {"cache_prompt": self.cache_prompt, **_checked(request), "stream": False}
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()

        def deliver(item) -> None:
            if item is not _END:
                loop.call_soon_threadsafe(lambda: done.done() or done.set_result(item))

        future = self._submit(lambda engine: engine.handle_chat_completions(body), deliver)
        try:
            result = await asyncio.wait_for(done, timeout)
        except TimeoutError:
            raise UpstreamTimeout(f"The embedded model did not answer within {timeout:g} s.") from None
        finally:
            if future.cancel():
                self._change_pending(-1)
        if isinstance(result, BaseException) or "error" in result or "choices" not in result:
            raise _translate(result)
        result["model"] = request.get("model")
        return result

    async def aclose(self) -> None:
        """Take no more work; the engine itself stays for the process's other providers (see _load)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


async def _next(queue: asyncio.Queue, timeout: float):
    """The next item from the slot thread, or UpstreamTimeout after `timeout` seconds of silence."""
    try:
        async with asyncio.timeout(timeout):  # no task per chunk, unlike wait_for
            return await queue.get()
    except TimeoutError:
        raise UpstreamTimeout(f"The embedded model sent nothing for {timeout:g} s.") from None


def _checked(request: dict) -> dict:
    """`request` unless it asks for something the engine would silently ignore (InvalidInput naming the field)."""
    for field, defaults in _IGNORED_DEFAULTS.items():
        if request.get(field) not in defaults:
            raise InvalidInput(f"The embedded model does not support the field '{field}'.")
    return request


def _translate(item: Any) -> PosterchatError:
    """Map an engine error (its JSON error or a Python exception) onto posterchat errors."""
    if isinstance(item, PosterchatError):
        return item
    error = item.get("error", item) if isinstance(item, dict) else {"message": repr(item)}
    message = str(error.get("message") or "no details")
    if error.get("type") == "exceed_context_size_error":
        return InvalidInput(f"The conversation is too long for the embedded model's context window "
                            f"({error.get('n_prompt_tokens')} tokens; it holds {error.get('n_ctx')}).")
    if error.get("code") == 400 or error.get("type") == "invalid_request_error":
        return InvalidInput(f"The embedded model refused the request: {message}")
    log.error("embedded model failed: %s", message)
    return UpstreamError(f"The embedded model failed: {message}")
