"""OpenAI-compatible endpoints, so the official SDKs and OpenAI tools can use posterchat as their server."""

from __future__ import annotations


import anyio
from fastapi import APIRouter, Request

from ...core import preferences
from ...core.completions import completion_turn
from ...core.retry import RetryPolicy
from ...core.turn import Turn
from ...errors import ModelNotFound
from .. import deps, metering, openapi
from ..errors import stream_error
from ..jsonresponse import FastJSONResponse
from ..leanroute import LeanRoute
from ..schemas.openai import Completion, CompletionRequest, ModelCard, ModelList
from ..services import Services
from ..streaming import event, primed, sse
from .chat import ERRORS

# Its routes take no dependencies (each costs ~20 µs in FastAPI, and the app adds them as its own: web/app.py)
router = APIRouter(prefix="/v1", tags=["openai"])

# Clients that retry by themselves (the official SDKs send this header, 0 on the first try): posterchat then does
# not retry too, or one client call would multiply into (client tries × server tries) upstream calls.
CLIENT_RETRIES_HEADER = "x-stainless-retry-count"
RETRIES_HEADER = "x-posterchat-retries"
FALLBACK_HEADER = "X-Posterchat-Fallback-From"


def _cards(services: Services) -> list[ModelCard]:
    return [ModelCard(id=m.id, owned_by="posterchat" if m.local else "openai", default=m.default)
            for m in services.chat.router.models()]


@router.get("/models", response_model=ModelList)
async def models(request: Request) -> ModelList:
    """The models this server routes to; `default` marks the one used when a request names none."""
    return ModelList(data=_cards(request.app.state.services))


@router.get("/models/{model_id:path}", response_model=ModelCard, responses=ERRORS)
async def model(model_id: str, request: Request) -> ModelCard:
    """One model, by id or alias."""
    services: Services = request.app.state.services
    wanted = services.chat.router.canonical(model_id)
    for card in _cards(services):
        if card.id == wanted:
            return card
    raise ModelNotFound(f"The model {model_id!r} does not exist on this server", param="model")


def policy(request: Request, services: Services) -> RetryPolicy:
    """The server's retries, unless the client retries by itself or names its own number."""
    headers = request.headers
    named = headers.get(RETRIES_HEADER, "")
    if named.isdigit():
        return services.chat.policy(max_retries=min(int(named), services.settings.max_retries))
    if CLIENT_RETRIES_HEADER in headers:
        return services.chat.policy(max_retries=0)
    return services.chat.policy()


async def chat_completions(request: Request, body: CompletionRequest):
    """Chat Completions, streamed or not: the request passes through to the routed model, with posterchat's
    system prompt where the client sent none, its retries and fallbacks."""
    # What other routes take as dependencies, this one reads itself (a LeanRoute passes only the request and body).
    await metering.metered(request)
    services: Services = request.app.state.services
    owner = deps.owner_of(request)
    prefs = await services.store.read(preferences.load, services.store, owner)
    turn, grounding = completion_turn(services.chat, body.model_dump(exclude_unset=True), prefs,
                                      policy(request, services))
    held = await metering.hold(request, turn)
    if body.stream:
        include_usage = bool((body.stream_options or {}).get("include_usage"))
        stream = await primed(metering.accounted(request, turn, turn.chunks(), held))
        return _said_who(sse(_events(turn, stream, include_usage, _facts(grounding))), turn)
    try:
        completion = await turn.complete()
    finally:
        with anyio.CancelScope(shield=True):
            await metering.settle(request, turn, held)
    return _said_who(FastJSONResponse({**completion, **_facts(grounding)}), turn)


# The gateway's hot route skips FastAPI's per-request handler work (web/leanroute.py); it takes no dependencies
router.add_api_route("/chat/completions", chat_completions, methods=["POST"], response_model=Completion,
                     responses={**ERRORS, 200: openapi.COMPLETION_STREAM}, route_class_override=LeanRoute)


def _facts(grounding) -> dict:
    """A posterchat extra beside OpenAI's fields (clients ignore what they do not know): the measured facts."""
    return {"facts": [fact.model_dump(mode="json") for fact in grounding.facts]} if grounding.facts else {}


def _said_who(response, turn: Turn):
    """Name the model that failed when a fallback answered instead (the body's `model` names the one that did)."""
    if turn.fallback_from:
        response.headers[FALLBACK_HEADER] = turn.fallback_from
    return response


async def _events(turn: Turn, stream, include_usage: bool, extra: dict):
    """The model server's chunks as they come (`extra` on the first), then [DONE]; a failure mid-way ends with an
    error object."""
    try:
        async for chunk in stream:
            if chunk.get("choices") or include_usage or not chunk.get("usage"):  # drop only the usage we asked for
                if extra:
                    chunk, extra = {**chunk, **extra}, {}
                yield event(None, chunk)
    except Exception as exc:
        yield event(None, stream_error(exc))
    yield event(None, "[DONE]")
