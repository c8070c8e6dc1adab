"""Every OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp server), through the official SDK."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from functools import lru_cache
from typing import Any

import openai

from ..errors import (
    InvalidInput,
    MissingAPIKey,
    ModelNotFound,
    PosterchatError,
    RateLimited,
    StreamInterrupted,
    UpstreamAuthError,
    UpstreamError,
    UpstreamTimeout,
)
from ..retry import Retryable
from .base import Chunk, GenerationParams, Provider, Usage

log = logging.getLogger("posterchat.openai")

CONTEXT_WINDOWS = {"gpt-4o": 128_000, "gpt-4.1": 1_000_000, "ft:gpt-4o": 128_000, "ft:gpt-4.1": 1_000_000, "o": 128_000}
DEFAULT_CONTEXT = 8192
CHARS_PER_TOKEN_ESTIMATE = 3  # deliberately low, so estimates overcount


class OpenAICompatProvider(Provider):
    """Chat completions from one OpenAI-compatible base_url."""

    name = "openai"
    supports_tools = True

    def __init__(self, *, api_key: str | None, base_url: str | None, context_windows: dict[str, int] | None = None):
        self.api_key = api_key
        self.base_url = base_url
        self.context_windows = {**CONTEXT_WINDOWS, **(context_windows or {})}
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self, model: str) -> openai.AsyncOpenAI:
        """The client for the running event loop; the SDK's own retries are off (posterchat retries once)."""
        if not self.api_key and not self.base_url:
            raise MissingAPIKey(
                f"model {model!r} is served by OpenAI: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local "
                "OpenAI-compatible server), or use the embedded model 'local'"
            )
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # aiohttp, the SDK's faster transport: ~1.4× the requests per second of its default (bench/notes.md)
            client = self._clients[loop] = openai.AsyncOpenAI(api_key=self.api_key or "not-needed",
                                                              base_url=self.base_url, max_retries=0,
                                                              http_client=openai.DefaultAioHttpClient())
        return client

    def context_window(self, model: str) -> int:
        matches = [prefix for prefix in self.context_windows if model.startswith(prefix)]
        return self.context_windows[max(matches, key=len)] if matches else DEFAULT_CONTEXT

    def count_tokens(self, text: str, model: str) -> int:
        encoding = _encoding(model)
        if encoding is None:
            return len(text) // CHARS_PER_TOKEN_ESTIMATE + 1
        return len(encoding.encode(text, disallowed_special=()))

    async def stream(self, messages: list[dict[str, Any]], params: GenerationParams) -> AsyncIterator[Chunk]:
        client = self._client(params.model)
        request: dict[str, Any] = dict(
            model=params.model, messages=messages, temperature=params.temperature, max_tokens=params.max_tokens,
            stream=True, stream_options={"include_usage": True}, **params.extra,
        )
        if params.tools:
            request["tools"] = params.tools
        try:
            # The SDK's low-level call: the body is already JSON-ready and the events stay plain dicts, which skips
            # the per-call parameter transform and a response model per event (half a request's CPU; bench/notes.md).
            response = await client.post("/chat/completions", body=request, cast_to=object, stream=True,
                                         stream_cls=openai.AsyncStream[object], options={"timeout": params.timeout})
        except Exception as exc:
            raise _translate(exc, params.model) from None
        async with response:
            finished = False
            async for chunk in _chunks(response, params.model):
                finished = finished or chunk.finish_reason is not None
                yield chunk
        if not finished:
            raise StreamInterrupted("The model server stopped answering mid-way; the answer is incomplete.")

    async def aclose(self) -> None:
        for client in list(self._clients.values()):
            await client.close()
        self._clients.clear()


async def _chunks(response, model: str) -> AsyncIterator[Chunk]:
    """Turn SDK stream events into Chunks, gathering tool-call fragments into whole calls."""
    calls: dict[int, dict[str, Any]] = {}
    started = False
    try:
        async for event in response:
            usage = event.get("usage")
            usage = Usage(usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0) if usage else None
            choice = event["choices"][0] if event.get("choices") else {}
            delta = choice.get("delta") or {}
            for call in delta.get("tool_calls") or []:
                slot = calls.setdefault(call["index"], {"id": "", "type": "function",
                                                        "function": {"name": "", "arguments": ""}})
                slot["id"] = call.get("id") or slot["id"]
                if function := call.get("function"):
                    slot["function"]["name"] += function.get("name") or ""
                    slot["function"]["arguments"] += function.get("arguments") or ""
            finish = choice.get("finish_reason")
            text = delta.get("content") or ""
            if text or usage or finish:
                started = started or bool(text)
                yield Chunk(text=text, usage=usage, finish_reason=finish,
                            tool_calls=[calls[i] for i in sorted(calls)] if finish and calls else None)
    except PosterchatError:
        raise
    except Exception as exc:
        error = _translate(exc, model)
        if started and isinstance(error, Retryable):
            raise StreamInterrupted("The connection to the model server broke mid-answer.") from None
        raise error from None


def _translate(exc: Exception, model: str) -> Exception:
    """Map SDK and transport exceptions onto posterchat errors, wrapping the transient ones in Retryable."""
    if isinstance(exc, openai.APITimeoutError) and _timed_out(exc):
        return Retryable(UpstreamTimeout("The model server did not answer in time."))
    if isinstance(exc, openai.APIConnectionError):
        return Retryable(UpstreamError("Could not reach the model server."))
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        return _from_status(exc.status_code, body, exc.response.headers, model)
    if isinstance(exc, openai.APIError):  # an error event inside the stream
        return UpstreamError("The model server reported an error mid-answer.")
    if isinstance(exc, json.JSONDecodeError | openai.APIResponseValidationError | ValueError | KeyError | TypeError
                  | AttributeError):
        return UpstreamError("The model server sent an answer that could not be read.")
    log.error("unexpected upstream failure: %r", exc)
    return UpstreamError("The model server failed to answer.")


def _timed_out(exc: BaseException) -> bool:
    """Whether a timeout error really is one: the SDK's aiohttp transport reports a refused or reset connection as
    a connect timeout too, but only a real timeout has a TimeoutError among its causes."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, TimeoutError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _from_status(status: int, body: dict[str, Any], headers: Mapping[str, str], model: str) -> Exception:
    """Map an HTTP error status from the upstream."""
    error = body["error"] if isinstance(body.get("error"), dict) else body  # the SDK may have unwrapped it
    code = error.get("code") or error.get("type")
    retry_after = retry_after_seconds(headers)
    if status == 429:
        if code == "insufficient_quota":
            return RateLimited("The model provider's quota is used up; check the plan and billing of the API key.")
        wait = f" Try again in {retry_after:.0f} seconds." if retry_after else ""
        return Retryable(RateLimited(f"The model provider is rate limiting requests.{wait}", retry_after=retry_after))
    if status in (401, 403):
        return UpstreamAuthError("The model server refused the API key; check OPENAI_API_KEY.")
    if status == 404:
        return ModelNotFound(f"Model {model!r} was not found on the model server; check the model id.")
    if status in (408, 409) or status >= 500:
        return Retryable(UpstreamError(f"The model server failed (HTTP {status}).", retry_after=retry_after))
    return InvalidInput(f"The model server rejected the request (HTTP {status}).")


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds from Retry-After-Ms or Retry-After (seconds or an HTTP date), else None."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return max(0.0, email.utils.mktime_tz(parsed) - time.time()) if parsed else None


@lru_cache(maxsize=32)
def _encoding(model: str):
    """tiktoken's encoding for an OpenAI model id, or None (estimate instead): another vendor's model, or offline.

    Other servers' models have tokenizers of their own, so tiktoken would only guess, after loading ~5 MB.
    """
    try:
        import tiktoken

        return tiktoken.encoding_for_model(model.removeprefix("ft:").split(":")[0])
    except Exception:
        return None
