"""The spec's endpoints: POST /chat and POST /chat/reset."""

from __future__ import annotations

from collections.abc import AsyncIterator

from anyio import to_thread
from fastapi import APIRouter, Body, Depends, Request, Response

from ...core.conversations import Exchange
from ...core.idempotency import OPENAPI as IDEMPOTENCY_HEADER
from ...core.idempotency import Replay
from ...core.messages import ChatRequest, ChatResult
from .. import deps, idempotency, metering, openapi
from ..schemas.chat import ResetRequest, ResetResponse
from ..errors import stream_error
from ..middleware.cors import is_null_origin, refuse_stored_data_to_null_origin
from ..schemas.common import ErrorBody
from ..services import Services
from ..streaming import event, primed, sse

router = APIRouter(tags=["chat"])

ERRORS = {status: {"model": ErrorBody} for status in (400, 401, 404, 409, 413, 422, 429, 502, 503, 504)}


@router.post("/chat", response_model=ChatResult, responses={**ERRORS, 200: openapi.CHAT_STREAM},
             dependencies=[Depends(metering.metered)], openapi_extra=IDEMPOTENCY_HEADER)
async def chat(request: Request, body: ChatRequest, owner: str = Depends(deps.owner),
               services: Services = Depends(deps.services)):
    """Send a message; the answer comes back whole, or streamed as Server-Sent Events."""
    stored = body.conversation_id is not None or body.conversation_history is None
    refuse_stored_data_to_null_origin(request.scope, stored)
    claim = await idempotency.hold(request, owner, body, exclude={"stream"})
    if isinstance(claim, Replay):
        return idempotency.replay(claim, body.stream)
    try:
        response = await _answer(request, body, owner, services, claim.record if claim else None)
    except BaseException:
        if claim:
            await claim.settle()
        raise
    return await idempotency.settle_after(claim, response)


async def _answer(request: Request, body: ChatRequest, owner: str, services: Services, record):
    """Run the turn: the stored JSON answer, or a streaming response that stores it at the end."""
    # a page of unknown origin (null) gets the stateless chat, which must not reveal the saved preferences either
    exchange = await services.conversations.begin(owner, body, stored_preferences=not is_null_origin(request.scope))
    held = await metering.hold(request, exchange.turn)
    answer = metering.accounted(request, exchange.turn, exchange.turn.stream(), held)
    if body.stream:
        return sse(_events(services, exchange, await primed(answer), record))
    async for _ in answer:
        pass
    result = await services.conversations.commit(exchange, record)
    return Response(result.model_dump_json(), media_type="application/json")


async def _events(services: Services, exchange: Exchange, stream: AsyncIterator[str], record=None):
    """delta events as text arrives, then done with the stored result, or error."""
    try:
        async for text in stream:
            if text:
                yield event("delta", {"text": text})
        result = await services.conversations.commit(exchange, record)
        yield event("done", result.model_dump(mode="json"))
    except Exception as exc:  # the status line went out long ago: the error event is the only way left to say it
        yield event("error", stream_error(exc))


@router.post("/chat/reset", response_model=ResetResponse, responses=ERRORS)
async def reset(request: Request, body: ResetRequest | None = Body(None), owner: str = Depends(deps.owner),
                services: Services = Depends(deps.services)) -> ResetResponse:
    """Reset the conversation: a stored one is emptied; a client-kept one just starts over."""
    conversation_id = body.conversation_id if body else None
    refuse_stored_data_to_null_origin(request.scope, conversation_id is not None)
    if conversation_id:
        await to_thread.run_sync(services.store.conversations.reset, owner, conversation_id)
    return ResetResponse(conversation_id=conversation_id)
