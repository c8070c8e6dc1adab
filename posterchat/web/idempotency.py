"""Idempotency-Key on HTTP requests: claim the key, replay an earlier answer, settle once the response is sent."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from starlette.background import BackgroundTask

from ..core.idempotency import HEADER, Claim, Replay, check_key, fingerprint
from .streaming import event, sse

REPLAYED_HEADER = "Idempotent-Replayed"


async def hold(request: Request, owner: str, body: BaseModel, exclude: set[str] = frozenset()
               ) -> Claim | Replay | None:
    """For a request with an Idempotency-Key: its claim, or the earlier answer; None without the header."""
    key = check_key(request.headers.get(HEADER))
    if key is None:
        return None
    idempotency = request.app.state.services.idempotency
    canonical = body.model_dump(mode="json", exclude_unset=True, exclude=set(exclude))
    return await idempotency.begin(owner, key, fingerprint(canonical))


def replay(found: Replay, stream: bool) -> Response:
    """The earlier answer as JSON, or for a streaming request as a single `done` event."""
    if stream:
        async def once():
            yield event("done", found.body)

        return sse(once())
    content = json.dumps(found.body, ensure_ascii=False, separators=(",", ":"))
    return Response(content, media_type="application/json", headers={REPLAYED_HEADER: "true"})


async def settle_after(claim: Claim | None, response: Any) -> Any:
    """Settle the claim once `response` is complete: now for a body, after the stream for a streaming response."""
    if claim is None:
        return response
    if isinstance(response, Response):
        earlier = response.background

        async def after() -> None:
            await claim.settle()
            if earlier is not None:
                await earlier()

        response.background = BackgroundTask(after)
        return response
    await claim.settle()
    return response
