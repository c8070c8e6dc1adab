"""GET /metrics: Prometheus text format, for scrapers."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(request: Request) -> Response:
    """Requests, latency, tokens, cost, upstream errors, retries and the embedded model's queue."""
    return Response(request.app.state.services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
