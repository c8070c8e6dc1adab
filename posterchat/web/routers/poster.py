"""POST /poster/check: the measured design findings alone."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from ...core.chat import ChatService
from ...poster import CheckOptions, Finding, Poster, summarize
from ...poster.assistant import PosterView
from .. import deps
from .chat import ERRORS

router = APIRouter(prefix="/poster", tags=["poster"])


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    poster: Poster
    viewing_distance_m: float | None = Field(None, gt=0, le=1000, description="Default from settings.")


class CheckResponse(BaseModel):
    findings: list[Finding]
    summary: str = Field(description="The plain-text summary the assistant is given.")


@router.post("/check", response_model=CheckResponse, responses=ERRORS)
async def check(body: CheckRequest, service: ChatService = Depends(deps.service)) -> CheckResponse:
    """Measure a poster: contrast, text size for the viewing distance, print safety, layout and hierarchy."""
    distance = body.viewing_distance_m or service.settings.viewing_distance_m
    view = await to_thread.run_sync(PosterView.measure, body.poster, CheckOptions(viewing_distance_m=distance))
    return CheckResponse(findings=view.findings, summary=summarize(view.findings))
