"""`posterchat export`: every stored conversation as a fine-tuning file, for the operator."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..config import get_settings
from ..core import export
from ..store import open_store
from .common import CliError, write_atomically


def since(value: str) -> datetime:
    """argparse type for --since: an ISO date or date-time; without a zone, UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2025-01-31 or 2025-01-31T12:00") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def export_command(args: argparse.Namespace) -> int:
    """Write the training file: atomically to --output, else to stdout."""
    settings = get_settings()
    if args.output is not None and not args.output.resolve().parent.is_dir():
        raise CliError(f"directory {args.output.resolve().parent} does not exist")
    store = open_store(settings.resolved_database_url)
    try:
        conversations = store.training.iter_conversations(args.since)
        examples = export.training_examples(conversations, args.system or settings.system_message,
                                            only_liked=args.only_liked)
        lines = export.jsonl_lines(examples)
        if args.output is None:
            sys.stdout.writelines(lines)
            return 0
        count = write_atomically(args.output, lines)
    finally:
        store.close()
    print(f"wrote {count} examples to {args.output}", file=sys.stderr)
    return 0


def register(commands) -> None:
    """Add `export` to the posterchat command."""
    parser = commands.add_parser(
        "export", help="write stored conversations as an OpenAI fine-tuning file (JSONL)",
        description="Every owner's stored conversations as OpenAI chat fine-tuning examples, one per line. "
                    "By default each conversation is one example and thumbs-down answers get weight 0; with "
                    "--only-liked each thumbs-up answer is one example: the conversation up to it, only it learnt.",
    )
    parser.add_argument("--format", choices=["jsonl"], default="jsonl", help="output format (only jsonl)")
    parser.add_argument("--since", type=since, help="only conversations updated on or after this date (UTC)")
    parser.add_argument("--only-liked", action="store_true", help="one example per thumbs-up answer")
    parser.add_argument("--output", "-o", type=Path, help="file to write atomically (default: stdout)")
    parser.add_argument("--system", help="system message for the examples (default: POSTERCHAT_SYSTEM_MESSAGE)")
    parser.set_defaults(func=export_command)
