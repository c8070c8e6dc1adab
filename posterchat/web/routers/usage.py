"""GET /usage: the caller's tokens and cost by day and model, with totals and the key's budget."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BeforeValidator

from ...core.usage import UsageReport
from .. import deps
from ..schemas.common import ErrorBody
from ..services import Services

router = APIRouter(tags=["usage"])


def _iso_date(value):
    """Only YYYY-MM-DD: pydantic alone also reads "0" as a Unix time."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date, YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


@router.get("/usage", response_model=UsageReport, responses={401: {"model": ErrorBody}, 422: {"model": ErrorBody}})
async def usage(
    request: Request,
    since: IsoDate | None = Query(None, description="First day to include (YYYY-MM-DD, UTC)."),
    owner: str = Depends(deps.owner),
    services: Services = Depends(deps.services),
) -> UsageReport:
    """What the caller's completions used and cost."""
    key = getattr(request.state, "api_key", None)
    return await to_thread.run_sync(services.meter.summary, owner, since, key)
