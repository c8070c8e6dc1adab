"""The embedded model: posterchat's streaming against llama-cpp-python's own server and the library in-process."""

from __future__ import annotations

import asyncio
import time

import httpx
from httpx_sse import aconnect_sse

from . import load, peers

MAX_TOKENS = 128
N_CTX = 2048
SYSTEM = "You are a helpful AI assistant for poster design and layout."
PROMPT = "Give me ten concrete tips for designing a concert poster, one per line."
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}]


async def _stream_http(port: int, path: str, body: dict, headers: dict) -> load.Stream:
    """One streamed completion over HTTP, timing every event that carries text."""
    result = load.Stream()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        result.sent = time.perf_counter()
        async with aconnect_sse(client, "POST", path, json=body, headers=headers) as source:
            if source.response.status_code != 200:
                result.error = f"HTTP {source.response.status_code}"
                return result
            async for sse in source.aiter_sse():
                if sse.data == "[DONE]":
                    result.completed = True
                    break
                choices = sse.json().get("choices") or [{}]
                if (choices[0].get("delta") or {}).get("content"):
                    result.tokens.append(time.perf_counter())
    return result


def _stream_in_process(llama) -> load.Stream:
    """The same completion straight from llama-cpp-python in this process."""
    result = load.Stream(sent=time.perf_counter())
    for event in llama.create_chat_completion(messages=MESSAGES, stream=True, temperature=0.0,
                                              max_tokens=MAX_TOKENS, seed=0):
        if event["choices"][0]["delta"].get("content"):
            result.tokens.append(time.perf_counter())
    result.completed = True
    return result


def describe(stream: load.Stream) -> dict:
    """Time to first token and tokens per second after it."""
    tokens = stream.tokens
    rate = (len(tokens) - 1) / (tokens[-1] - tokens[0]) if len(tokens) > 1 else float("nan")
    return {"ttft_ms": (tokens[0] - stream.sent) * 1000 if tokens else float("nan"), "tokens_per_s": rate,
            "tokens": len(tokens), "error": stream.error}


def run(reps: int, log=print) -> dict:
    """Interleaved repetitions of the three ways, after one warm-up each."""
    from llama_cpp import Llama

    body = {"model": "local", "messages": MESSAGES, "stream": True, "temperature": 0, "max_tokens": MAX_TOKENS,
            "seed": 0}
    runs: dict[str, list[dict]] = {"posterchat": [], "llama-cpp-python server": [], "llama-cpp-python in-process": []}
    # Like for like: with grounding on, posterchat also sends the model its reference notes, a prompt several times
    # longer, which SmolLM2 decodes ~20% slower (measured); the peers get only MESSAGES.
    with peers.Posterchat(None, None, name="posterchat-embedded", POSTERCHAT_GROUNDING="false",
                          POSTERCHAT_EMBEDDED_CONTEXT=str(N_CTX),
                          POSTERCHAT_EMBEDDED_THREADS=str(peers.cores())) as posterchat, \
            peers.llama_server(N_CTX, peers.cores()) as server:
        llama = Llama(model_path=peers.gguf_path(), n_ctx=N_CTX, n_threads=peers.cores(), verbose=False)
        ways = {
            "posterchat": lambda: asyncio.run(_stream_http(posterchat.port, "/v1/chat/completions", body,
                                                           posterchat.headers)),
            "llama-cpp-python server": lambda: asyncio.run(_stream_http(server.port, "/v1/chat/completions", body, {})),
            "llama-cpp-python in-process": lambda: _stream_in_process(llama),
        }
        for way in ways.values():
            way()  # warm-up: loads, first prompt evaluation
        for rep in range(reps):
            for name in list(ways)[rep % 3:] + list(ways)[:rep % 3]:
                result = describe(ways[name]())
                runs[name].append(result)
                log(f"  embedded rep {rep + 1} {name:28s}: {result['tokens_per_s']:6.1f} tok/s, "
                    f"TTFT {result['ttft_ms']:6.1f} ms, {result['tokens']} tokens {result['error']}")
        rss = {"posterchat": posterchat.rss() / 2**20, "llama-cpp-python server": server.rss() / 2**20}
    return {"runs": runs, "reps": reps, "rss_mb": rss, "summary": summarize(runs)}


def summarize(runs: dict) -> dict:
    return {name: {key: load.summary([r[key] for r in results]) for key in ("tokens_per_s", "ttft_ms", "tokens")}
            for name, results in runs.items()}
