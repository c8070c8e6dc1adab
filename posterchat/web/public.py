"""The paths anyone may read without an API key."""

from __future__ import annotations

OPEN_PATHS = frozenset({"/", "/health", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json",
                        "/favicon.ico"})
OPEN_PREFIXES = ("/static/", "/docs/assets/")


def is_open(path: str) -> bool:
    """The page, its assets, health, metrics and the API docs."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)
