"""OpenAI-compatible endpoints, so the official SDK and OpenAI tools can use posterchat as their server."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from .. import preferences
from ..chat import ChatService, Turn
from ..errors import InvalidInput, PosterchatError
from . import contract, deps, gate
from .chat import ERRORS
from .openai_schemas import Completion, CompletionRequest, chunk
from .schemas import ModelCard, ModelList
from .streaming import event, primed, sse

router = APIRouter(prefix="/v1", tags=["openai"])


@router.get("/models", response_model=ModelList)
async def models(service: ChatService = Depends(deps.service)) -> ModelList:
    """The models this server routes to."""
    return ModelList(data=[ModelCard(id=m.id, owned_by="posterchat" if m.local else "openai")
                           for m in service.router.models()])


def _turn(body: CompletionRequest, service: ChatService, prefs: preferences.Preferences | None = None) -> Turn:
    """Map OpenAI messages onto a turn: system messages replace the server's prompt, the last must be the user's."""
    *earlier, last = body.messages
    if last.role != "user":
        raise InvalidInput("the last message must have role 'user'")
    system = [m.text() for m in earlier if m.role in ("system", "developer")]
    history = [{"role": m.role, "content": m.text()} for m in earlier if m.role in ("user", "assistant")]
    options = preferences.turn_options(prefs, service.settings, model=body.model, temperature=body.temperature,
                                       max_tokens=body.max_completion_tokens or body.max_tokens)
    return service.start(last.text(), history, system_message="\n\n".join(system) or None, **options)


@router.post("/chat/completions", response_model=Completion, responses={**ERRORS, 200: contract.COMPLETION_STREAM},
             dependencies=[Depends(gate.metered)])
async def chat_completions(request: Request, body: CompletionRequest, service: ChatService = Depends(deps.service),
                           owner: str = Depends(deps.owner), store=Depends(deps.store)):
    """Chat Completions, streaming or not, through posterchat's routing, system prompt and retries."""
    turn = _turn(body, service, await preferences.load(store, owner))
    completion_id, created = f"chatcmpl-{secrets.token_hex(16)}", int(time.time())
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        stream = gate.accounted(request, turn, await primed(turn.stream()))
        return sse(_chunks(turn, stream, completion_id, created, include_usage))
    result = await turn.finish()
    await gate.account(request, turn)
    return JSONResponse({  # built here in the documented shape, so FastAPI need not validate it again
        "id": completion_id, "object": "chat.completion", "created": created, "model": result.model_used,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": result.response},
                     "finish_reason": result.finish_reason}],
        "usage": _usage(turn),
    })


def _usage(turn: Turn) -> dict[str, int]:
    usage = turn.result().usage
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens}


async def _chunks(turn: Turn, stream: AsyncIterator[str], completion_id: str, created: int, include_usage: bool):
    """chat.completion.chunk events, then [DONE]; a failure mid-way ends with an error object."""
    model = turn.model
    try:
        yield event(None, chunk(completion_id, created, model, {"role": "assistant", "content": ""}))
        async for text in stream:
            yield event(None, chunk(completion_id, created, model, {"content": text}))
        yield event(None, chunk(completion_id, created, model, {}, finish=turn.finish_reason or "stop"))
        if include_usage:
            yield event(None, chunk(completion_id, created, model, {}, usage=_usage(turn)))
    except PosterchatError as exc:
        yield event(None, {"error": {"code": exc.code, "message": exc.message, "type": exc.code}})
    yield event(None, "[DONE]")
