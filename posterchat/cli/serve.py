"""`posterchat serve`: run the HTTP API with uvicorn."""

from __future__ import annotations

import argparse
import os

import uvicorn

from ..core.keys import is_loopback
from ..core.logs import uvicorn_log_config
from ..config import Settings, get_settings
from ..store import open_store
from ..core.usage import load_prices
from .common import EXIT_USAGE, CliError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
PROTOCOL = "posterchat.web.protocol:GuardedHttpTools"  # a string, so every worker process imports it


def serve_command(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    settings = get_settings()
    load_prices(settings.prices_file)  # a bad prices file is reported here in one line
    if not (is_loopback(args.host) or args.insecure):
        settings = _require_keys(args.host, settings)
    uvicorn.run(
        "posterchat.web.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
        log_level=settings.log_level.lower(), access_log=False, timeout_graceful_shutdown=5,
        log_config=uvicorn_log_config(settings.log_level), **connection_options(settings),
    )
    return 0


def connection_options(settings: Settings) -> dict:
    """uvicorn's protocol, limits and timeouts, and whose X-Forwarded-For to trust (nobody's unless configured)."""
    return {
        "http": PROTOCOL, "limit_concurrency": settings.limit_concurrency,
        "timeout_keep_alive": settings.keep_alive_timeout,
        "proxy_headers": bool(settings.forwarded_allow_ips),
        "forwarded_allow_ips": ",".join(settings.forwarded_allow_ips) or None,
    }


def _require_keys(host: str, settings: Settings) -> Settings:
    """Beyond loopback, start only with API keys, and refuse requests if they are all revoked later."""
    store = open_store(settings.resolved_database_url)
    try:
        keys_exist = store.keys.any_active()
    finally:
        store.close()
    if not keys_exist:
        raise CliError(f"refusing to listen on {host} without API keys, as anyone who can reach it could use it; "
                       "create one with `posterchat keys create --name NAME`, or pass --insecure", EXIT_USAGE)
    os.environ["POSTERCHAT_REQUIRE_KEYS"] = "true"  # read by the app, in this process and in any workers
    get_settings.cache_clear()
    return get_settings()


def register(commands) -> None:
    """Add `serve` to the posterchat command."""
    serve = commands.add_parser("serve", help="serve the HTTP API and the chat page")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--insecure", action="store_true",
                       help="allow a non-loopback --host while no API keys exist (anyone reaching it may use it)")
    serve.set_defaults(func=serve_command)
