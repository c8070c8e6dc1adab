"""`posterchat keys create|list|revoke`: the API keys clients send as `Authorization: Bearer KEY`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime

from ..core.keys import create_key
from ..config import get_settings
from ..errors import NotFound
from ..store import Store, open_store
from ..store.keys import KeyRecord
from .common import EXIT_FAILED, CliError, Parser


def _with_store(action: Callable[[Store, argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run `action` on the configured database, closing it afterwards."""
    def run(args: argparse.Namespace) -> int:
        store = open_store(get_settings().resolved_database_url)
        try:
            return action(store, args)
        finally:
            store.close()

    return run


def create_command(store: Store, args: argparse.Namespace) -> int:
    """Print the new key on stdout, alone, and how to use it on stderr."""
    record, key = create_key(store.keys, args.name, args.monthly_budget)
    budget = f", monthly budget ${record.monthly_budget:.2f}" if record.monthly_budget is not None else ""
    print(f"created key {record.id} ({record.name!r}{budget}); it is shown only this once:", file=sys.stderr)
    print(key)
    print("clients send it as the header 'Authorization: Bearer <key>'", file=sys.stderr)
    return 0


def list_command(store: Store, args: argparse.Namespace) -> int:
    """Every key's id, name, prefix, dates and budget; never a key or its hash."""
    records = store.keys.list()
    if args.json:
        print(json.dumps([_as_dict(record) for record in records], indent=2))
        return 0
    if not records:
        print("no API keys: the server is open to anyone who can reach it (loopback only by default)",
              file=sys.stderr)
        return 0
    rows = [("ID", "NAME", "PREFIX", "CREATED", "REVOKED", "MONTHLY BUDGET")]
    rows += [(r.id, r.name, r.prefix + "…", _when(r.created_at), _when(r.revoked_at) or "-",
              f"${r.monthly_budget:.2f}" if r.monthly_budget is not None else "-") for r in records]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def revoke_command(store: Store, args: argparse.Namespace) -> int:
    """Revoke a key; requests with it are refused from now on."""
    try:
        record = store.keys.revoke(args.id)
    except NotFound as exc:
        raise CliError(exc.message, EXIT_FAILED) from None
    print(f"revoked key {record.id} ({record.name!r}) at {_when(record.revoked_at)}")
    return 0


def _as_dict(record: KeyRecord) -> dict:
    return {"id": record.id, "name": record.name, "prefix": record.prefix, "monthly_budget": record.monthly_budget,
            "created_at": record.created_at.isoformat(),
            "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _usd(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of US dollars") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("the monthly budget must be a positive number of US dollars")
    return value


def register(commands) -> None:
    """Add `keys` and its actions to the posterchat command."""
    keys = commands.add_parser("keys", help="create, list and revoke client API keys")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    create = actions.add_parser("create", help="create a key and print it (once)")
    create.add_argument("--name", required=True, help="who or what the key is for")
    create.add_argument("--monthly-budget", type=_usd, metavar="USD",
                        help="refuse model requests once this much is spent in a calendar month (UTC)")
    create.set_defaults(func=_with_store(create_command))
    listing = actions.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=_with_store(list_command))
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("id", help="the key's id, as `keys list` shows it")
    revoke.set_defaults(func=_with_store(revoke_command))
