"""Test stand-in for API keys: the caller names its owner in a header."""

from __future__ import annotations

from fastapi import FastAPI, Request

from posterchat.web import deps

OWNER_HEADER = "x-test-owner"


def owner_from_header(request: Request) -> str:
    return request.headers.get(OWNER_HEADER, deps.OPEN_OWNER)


def with_test_owners(app: FastAPI) -> FastAPI:
    """Let requests choose their owner with the X-Test-Owner header."""
    app.dependency_overrides[deps.owner] = owner_from_header
    return app


def as_owner(owner: str) -> dict[str, str]:
    return {OWNER_HEADER: owner}
