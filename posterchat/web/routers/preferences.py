"""GET, PUT and DELETE /preferences: the caller's defaults for every chat."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, Depends, Response

from ...core import preferences
from ...core.preferences import Preferences
from .. import deps
from ..schemas.common import ErrorBody

router = APIRouter(prefix="/preferences", tags=["preferences"])

INVALID = {422: {"model": ErrorBody}}


@router.get("", response_model=Preferences, response_model_exclude_none=True)
async def get_preferences(owner: str = Depends(deps.owner), store=Depends(deps.store)) -> Preferences:
    """The caller's preferences; fields never set are left out (the server's defaults apply)."""
    return await to_thread.run_sync(preferences.load, store, owner) or Preferences()


@router.put("", response_model=Preferences, response_model_exclude_none=True, responses=INVALID)
async def put_preferences(body: Preferences, owner: str = Depends(deps.owner),
                          store=Depends(deps.store)) -> Preferences:
    """Replace the caller's preferences; a request's own model or temperature still wins over them."""
    await to_thread.run_sync(preferences.save, store, owner, body)
    return body


@router.delete("", status_code=204)
async def delete_preferences(owner: str = Depends(deps.owner), store=Depends(deps.store)) -> Response:
    """Forget the caller's preferences."""
    await to_thread.run_sync(store.preferences.delete, owner)
    return Response(status_code=204)
