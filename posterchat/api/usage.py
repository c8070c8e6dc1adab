"""GET /usage: the caller's tokens and cost by day and model, with totals and the key's budget."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, BeforeValidator, Field

from . import deps, gate
from .schemas import ErrorBody

router = APIRouter(tags=["usage"])


def _iso_date(value):
    """Only YYYY-MM-DD: pydantic alone also reads "0" as a Unix time."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date, YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class UsageTotals(BaseModel):
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float = Field(description="US dollars, from the prices file at the time of each request.")


class UsageDay(UsageTotals):
    day: date = Field(description="UTC day.")
    model: str


class UsageModel(UsageTotals):
    model: str


class Budget(BaseModel):
    monthly_usd: float
    spent_usd: float = Field(description="Spent this calendar month (UTC).")
    resets_on: date


class UsageReport(BaseModel):
    since: date | None
    data: list[UsageDay] = Field(description="One entry per day and model, oldest first.")
    models: list[UsageModel] = Field(description="Totals per model.")
    total: UsageTotals
    budget: Budget | None = Field(description="The API key's monthly budget, when it has one.")


@router.get("/usage", response_model=UsageReport, responses={401: {"model": ErrorBody}, 422: {"model": ErrorBody}})
async def usage(
    request: Request,
    since: IsoDate | None = Query(None, description="First day to include (YYYY-MM-DD, UTC)."),
    owner: str = Depends(deps.owner),
) -> UsageReport:
    """What the caller's completions used and cost."""
    meter = gate.guards(request).meter
    key = getattr(request.state, "api_key", None)
    return await to_thread.run_sync(meter.summary, owner, since, key)
