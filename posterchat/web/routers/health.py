"""Liveness, and whether each model is ready."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ...core.chat import ChatService
from .. import deps
from ..schemas.common import Health, ModelHealth

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health(service: ChatService = Depends(deps.service)) -> Health:
    """The server is up; each model says whether it can answer now."""
    router_ = service.router
    models = {}
    for info in router_.models():
        provider = router_.resolve(info.id)[1]
        models[info.id] = ModelHealth(provider=info.provider, ready=provider.is_ready())
    return Health(models=models)
