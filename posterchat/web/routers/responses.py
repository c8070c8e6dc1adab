"""OpenAI's Responses API, text in and out: POST /v1/responses (whole or streamed) and GET /v1/responses/{id}."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request

from ...core import preferences, responses
from ...core.idempotency import OPENAPI as IDEMPOTENCY_HEADER
from ...core.idempotency import Claim, Replay
from ...errors import InvalidInput, PosterchatError
from .. import deps, idempotency, metering, openapi
from ..errors import INTERNAL
from ..jsonresponse import FastJSONResponse
from ..schemas.responses import ResponseObject, ResponseRequest
from ..services import Services
from ..streaming import event, primed, sse
from .chat import ERRORS
from .openai import policy

router = APIRouter(prefix="/v1", tags=["openai"])
log = logging.getLogger("posterchat.web")

def wire(obj: dict[str, Any]) -> dict[str, Any]:
    """A response object checked against its model, as it goes out."""
    return ResponseObject.model_validate(obj).model_dump(mode="json")


@router.post("/responses", response_model=ResponseObject, responses={**ERRORS, 200: openapi.RESPONSE_STREAM},
             dependencies=[Depends(metering.metered)], openapi_extra=IDEMPOTENCY_HEADER)
async def create_response(request: Request, body: ResponseRequest, owner: str = Depends(deps.owner),
                          services: Services = Depends(deps.services)):
    """A model response to text input, continuing `previous_response_id` when given; stored unless `store` is
    false. Answered through the same path as /v1/chat/completions."""
    claim = await idempotency.hold(request, owner, body, exclude={"stream"})
    if isinstance(claim, Replay):
        return sse(_replayed(claim.body)) if body.stream else idempotency.replay(claim, False)
    try:
        response = await _answer(request, body, owner, services, claim)
    except BaseException:
        if claim:
            await claim.settle()
        raise
    return await idempotency.settle_after(claim, response)


@router.get("/responses/{response_id}", response_model=ResponseObject, responses=ERRORS)
async def get_response(response_id: str, stream: bool = False, owner: str = Depends(deps.owner),
                       services: Services = Depends(deps.services)) -> FastJSONResponse:
    """A stored response of the caller's."""
    if stream:
        raise InvalidInput("streaming a stored response again is not supported", param="stream")
    return FastJSONResponse(wire(await responses.stored(services.store, owner, response_id)))


async def _answer(request: Request, body: ResponseRequest, owner: str, services: Services, claim: Claim | None):
    """Run the turn: the response as JSON, or its events, stored before the last one goes out."""
    prefs = await services.store.read(preferences.load, services.store, owner)
    rt = await responses.begin(services.chat, services.store, owner, body.model_dump(exclude_unset=True), prefs,
                               policy(request, services))
    held = await metering.hold(request, rt.turn)
    record = None if claim is None else (lambda session, obj: claim.record(session, ResponseObject.model_validate(obj)))
    if body.stream:
        stream = await primed(metering.accounted(request, rt.turn, rt.turn.text(), held))
        return sse(_events(services, owner, rt, stream, record))
    try:
        await rt.turn.complete()
    finally:
        with anyio.CancelScope(shield=True):  # a client that left cancels this request; its tokens still count
            await metering.settle(request, rt.turn, held)
    answer = wire(responses.finish(rt))
    await responses.save(services.store, owner, rt, answer, record)
    return FastJSONResponse(answer)


async def _events(services: Services, owner: str, rt: responses.ResponseTurn, stream: AsyncIterator[str], record):
    """The Responses events as text arrives; a failure after the first words ends with response.failed."""
    events = responses.Events(wire(responses.shell(rt)), rt.message_id)
    for item in events.opening():
        yield _sse(item)
    try:
        async for text in stream:
            yield _sse(events.delta(text))
        answer = wire(responses.finish(rt))
        await responses.save(services.store, owner, rt, answer, record)
        for item in events.closing(answer):
            yield _sse(item)
    except PosterchatError as exc:
        yield _sse(events.failed(_failed(rt, exc, exc.message)))
    except Exception:  # the status line went out long ago: the failed event is the only way left to say it
        log.exception("the response stream failed")
        yield _sse(events.failed(_failed(rt, None, INTERNAL)))


def _failed(rt: responses.ResponseTurn, exc: PosterchatError | None, message: str) -> dict[str, Any]:
    return wire(responses.response_object(rt, "failed", text=rt.turn.answer, usage=rt.turn.usage(),
                                          error=responses.failure(exc, message)))


def _sse(item: dict[str, Any]) -> dict[str, str]:
    return event(item["type"], item)


async def _replayed(found: dict[str, Any]):
    """The first answer to a request with the same Idempotency-Key, as its whole stream again."""
    for item in responses.replayed(found):
        yield _sse(item)
