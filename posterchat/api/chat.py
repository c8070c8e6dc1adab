"""The spec's endpoints: POST /chat and POST /chat/reset."""

from __future__ import annotations

from collections.abc import AsyncIterator

from anyio import to_thread
from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from .. import idempotency
from ..errors import PosterchatError
from ..exchange import ConversationChat, Exchange
from . import contract, deps, gate
from .schemas import ChatRequest, ChatResponse, ErrorBody, ResetRequest, ResetResponse
from .streaming import event, primed, sse

router = APIRouter(tags=["chat"])

ERRORS = {status: {"model": ErrorBody} for status in (400, 401, 404, 413, 422, 429, 502, 503, 504)}
SSE_DOC = contract.CHAT_STREAM


@router.post("/chat", response_model=ChatResponse, responses={**ERRORS, 409: {"model": ErrorBody}, 200: SSE_DOC},
             dependencies=[Depends(gate.metered)], openapi_extra=idempotency.OPENAPI)
async def chat(
    request: Request,
    body: ChatRequest,
    owner: str = Depends(deps.owner),
    conversations: ConversationChat = Depends(deps.conversation_chat),
):
    """Send a message; the answer comes back whole, or streamed as Server-Sent Events."""
    claim = await idempotency.hold(request, owner, body, exclude={"stream"})
    if isinstance(claim, idempotency.Replay):
        return claim.response(body.stream, ChatResponse)
    try:
        response = await _answer(request, body, owner, conversations, claim.record if claim else None)
    except BaseException:
        if claim:
            await claim.settle()
        raise
    return await idempotency.settle_after(claim, response)


async def _answer(request: Request, body: ChatRequest, owner: str, conversations: ConversationChat, record):
    """Run the turn: the stored JSON answer, or a streaming response that stores it at the end."""
    history = [m.model_dump() for m in body.conversation_history] if body.conversation_history is not None else None
    exchange = await conversations.begin(
        owner, body.message, history=history, conversation_id=body.conversation_id, regenerate=body.regenerate,
        model=body.model, max_tokens=body.max_tokens, poster=body.poster, include_history=body.include_history,
        temperature=body.temperature if "temperature" in body.model_fields_set else None,  # else preferences decide
    )
    if body.stream:
        stream = gate.accounted(request, exchange.turn, await primed(exchange.turn.stream()))
        return sse(_events(conversations, exchange, stream, record))
    await exchange.turn.finish()
    await gate.account(request, exchange.turn)
    return JSONResponse(await conversations.commit(exchange, record))  # ChatResponse's shape, built by commit()


async def _events(conversations: ConversationChat, exchange: Exchange, stream: AsyncIterator[str], record=None):
    """delta events as text arrives, then done with the stored result, or error."""
    try:
        async for text in stream:
            yield event("delta", {"text": text})
        yield event("done", await conversations.commit(exchange, record))
    except PosterchatError as exc:
        yield event("error", {"error": {"code": exc.code, "message": exc.message}})


@router.post("/chat/reset", response_model=ResetResponse, responses=ERRORS)
async def reset(
    body: ResetRequest | None = Body(None),
    owner: str = Depends(deps.owner),
    store=Depends(deps.store),
) -> ResetResponse:
    """Reset the conversation: a stored one is emptied; a client-kept one just starts over."""
    conversation_id = body.conversation_id if body else None
    if conversation_id:
        await to_thread.run_sync(store.conversations.reset, owner, conversation_id)
    return ResetResponse(conversation_id=conversation_id)
