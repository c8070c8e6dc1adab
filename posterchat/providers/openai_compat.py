"""Every OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp server): streams through the official SDK, whole
answers straight over aiohttp (the SDK's own transport)."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import re
import time
import urllib.parse
import urllib.request
import weakref
from collections.abc import AsyncIterator, Mapping
from functools import lru_cache
from typing import Any

import aiohttp
import openai

from .. import fastjson
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
from .base import ChunkDict, Provider, Request, first_choice

log = logging.getLogger("posterchat.openai")

CONTEXT_WINDOWS = {"gpt-4o": 128_000, "gpt-4.1": 1_000_000, "ft:gpt-4o": 128_000, "ft:gpt-4.1": 1_000_000, "o": 128_000}
DEFAULT_CONTEXT = 8192
CHARS_PER_TOKEN_ESTIMATE = 3  # deliberately low, so estimates overcount
OPENAI_BASE_URL = "https://api.openai.com/v1"
MAX_CONNECTIONS = 1000  # as the SDK's own client
# Anything shaped like a credential in an upstream's message is masked before a client sees it.
SECRET = re.compile(r"\b(sk|pc|rk|key)[-_][A-Za-z0-9_*-]{4,}|Bearer\s+\S+", re.IGNORECASE)


class OpenAICompatProvider(Provider):
    """Chat completions from one OpenAI-compatible base_url; requests pass through unchanged."""

    supports_tools = True
    kind = "openai"

    def __init__(self, *, api_key: str | None, base_url: str | None, context_windows: dict[str, int] | None = None):
        self.api_key = api_key
        self.base_url = base_url
        self.context_windows = {**CONTEXT_WINDOWS, **(context_windows or {})}
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
            weakref.WeakKeyDictionary()
        )
        self._url = f"{(base_url or OPENAI_BASE_URL).rstrip('/')}/chat/completions"
        self._proxy = _env_proxy(self._url)
        self._headers = {"Authorization": f"Bearer {api_key or 'not-needed'}", "Content-Type": "application/json",
                         "Accept": "application/json"}

    def _check_configured(self, model: str) -> None:
        if not self.api_key and not self.base_url:
            raise MissingAPIKey(
                f"model {model!r} is served by OpenAI: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local "
                "OpenAI-compatible server), or use the embedded model 'local'"
            )

    def _client(self, model: str) -> openai.AsyncOpenAI:
        """The client for the running event loop; the SDK's retries are off (core/retry.py is the one policy)."""
        self._check_configured(model)
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # aiohttp, the SDK's faster transport: ~1.4× the requests per second of its default (bench/notes.md)
            client = self._clients[loop] = openai.AsyncOpenAI(api_key=self.api_key or "not-needed",
                                                              base_url=self.base_url, max_retries=0,
                                                              http_client=openai.DefaultAioHttpClient())
        return client

    def _session(self, model: str) -> aiohttp.ClientSession:
        """The aiohttp session for the running event loop."""
        self._check_configured(model)
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            session = self._sessions[loop] = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS), proxy=self._proxy)
        return session

    def context_window(self, model: str) -> int:
        matches = [prefix for prefix in self.context_windows if model.startswith(prefix)]
        return self.context_windows[max(matches, key=len)] if matches else DEFAULT_CONTEXT

    def count_tokens(self, text: str, model: str) -> int:
        encoding = _encoding(model)
        if encoding is None:
            return len(text) // CHARS_PER_TOKEN_ESTIMATE + 1
        return len(encoding.encode(text, disallowed_special=()))

    async def stream(self, request: Request, *, timeout: float) -> AsyncIterator[ChunkDict]:
        model = request.get("model", "")
        options = request.get("stream_options") or {}
        body = {**request, "stream": True, "stream_options": {**options, "include_usage": True}}
        try:
            # The SDK's low-level call: the body is already JSON-ready and the events stay plain dicts, which skips
            # the per-call parameter transform and a response model per event (half a request's CPU; bench/notes.md).
            response = await self._client(model).post(
                "/chat/completions", body=body, cast_to=object, stream=True, stream_cls=openai.AsyncStream[object],
                options={"timeout": timeout})
        except PosterchatError:
            raise
        except Exception as exc:
            raise _translate(exc, model) from None
        async with response:
            finished = False
            async for chunk in _events(response, model):
                finished = finished or first_choice(chunk).get("finish_reason") is not None
                yield chunk
        if not finished:
            raise StreamInterrupted("The model server stopped answering mid-way; the answer is incomplete.")

    async def complete(self, request: Request, *, timeout: float) -> dict[str, Any]:
        """One POST, the answer's JSON as it came: a gateway's hot path, where the SDK's request building would
        cost ~0.45 ms a call, about half of what posterchat may add (bench/notes.md)."""
        model = request.get("model", "")
        data = fastjson.dumps({key: value for key, value in request.items() if key not in ("stream", "stream_options")})
        deadlines = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        try:
            async with self._session(model).post(self._url, data=data, headers=self._headers,
                                                 timeout=deadlines) as response:
                status, headers, raw = response.status, response.headers, await response.read()
        except PosterchatError:
            raise
        except Exception as exc:
            raise _translate(exc, model) from None
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if status >= 400:
            raise _from_status(status, answer, headers, model)
        if not isinstance(answer, dict):
            raise UpstreamError("The model server sent an answer that could not be read.")
        return answer

    async def aclose(self) -> None:
        for client in list(self._clients.values()):
            await client.close()
        for session in list(self._sessions.values()):
            await session.close()
        self._clients.clear()
        self._sessions.clear()


def _env_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, NO_PROXY, ...), as the SDK's client would use.

    Looked up once: aiohttp's `trust_env` looks it up again in a worker thread on every request.
    """
    parts = urllib.parse.urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)


async def _events(response, model: str) -> AsyncIterator[ChunkDict]:
    """The stream's events as they came; a broken connection mid-answer is StreamInterrupted."""
    started = False
    try:
        async for event in response:
            started = True
            yield event
    except Exception as exc:
        error = _translate(exc, model)
        if started and error.transient:
            raise StreamInterrupted("The connection to the model server broke mid-answer.") from None
        raise error from None


def _translate(exc: Exception, model: str) -> PosterchatError:
    """Map SDK and transport exceptions onto posterchat errors; transient ones may be retried."""
    if (isinstance(exc, openai.APITimeoutError) and _timed_out(exc)) or isinstance(exc, TimeoutError):
        return UpstreamTimeout("The model server did not answer in time.")
    if isinstance(exc, openai.APIConnectionError | aiohttp.ClientError):
        return UpstreamError("Could not reach the model server.", transient=True)
    if isinstance(exc, openai.APIStatusError):
        return _from_status(exc.status_code, exc.body, exc.response.headers, model)
    if isinstance(exc, openai.APIError):  # an error event inside the stream
        return UpstreamError(f"The model server reported an error mid-answer: {_said(exc.body, exc.message)}")
    if isinstance(exc, ValueError | KeyError | TypeError | AttributeError | openai.APIResponseValidationError):
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


def _said(body: Any, fallback: str = "") -> str:
    """The upstream's own error message, with anything like a credential masked."""
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return SECRET.sub("[redacted]", str(message or fallback))[:500]


def _from_status(status: int, body: Any, headers: Mapping[str, str], model: str) -> PosterchatError:
    """Map an upstream's HTTP error onto ours, keeping its own message for the caller; 408, 409, 429 and 5xx are
    worth another try (as the SDK's retries judge them)."""
    body = body if isinstance(body, dict) else {}
    error = body["error"] if isinstance(body.get("error"), dict) else body  # the SDK may have unwrapped it
    said = _said(body) or f"HTTP {status}"
    retry_after = retry_after_seconds(headers)
    if status == 429 and (error.get("code") or error.get("type")) == "insufficient_quota":
        return RateLimited(f"The model provider's quota is used up; check the plan and billing of the API key. "
                           f"({said})")
    if status == 429:
        wait = f" Try again in {retry_after:.0f} seconds." if retry_after else ""
        return RateLimited(f"The model provider is rate limiting requests.{wait}", retry_after=retry_after,
                           transient=True)
    if status in (401, 403):
        return UpstreamAuthError(f"The model server refused the API key; check OPENAI_API_KEY. ({said})")
    if status == 404:
        return ModelNotFound(f"Model {model!r} was not found on the model server: {said}")
    if status >= 500 or status in (408, 409):
        return UpstreamError(f"The model server failed (HTTP {status}).", retry_after=retry_after, transient=True)
    code = error.get("code") if isinstance(error.get("code"), str) else None
    return InvalidInput(f"The model server rejected the request: {said}", param=error.get("param"), code=code,
                        status=status if 400 <= status < 500 else 400)


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
