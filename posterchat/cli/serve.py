"""`posterchat serve`: run the HTTP API with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from ..config import get_settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000


def serve_command(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    settings = get_settings()
    uvicorn.run(
        "posterchat.api.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
        log_level=settings.log_level.lower(), access_log=False, timeout_graceful_shutdown=5,
    )
    return 0


def register(commands) -> None:
    """Add `serve` to the posterchat command."""
    serve = commands.add_parser("serve", help="serve the HTTP API and the chat page")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.set_defaults(func=serve_command)
