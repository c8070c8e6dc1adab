"""The command line: the spec's `python chat_bot.py …` and the `posterchat` command."""

from __future__ import annotations

import sys

from ..config import get_settings
from ..errors import ConfigError
from . import chat, keys, serve
from . import export as export_cli
from .common import EXIT_USAGE, Parser, run_cli, setup_logging


def spec_defaults(as_script: bool) -> tuple[str, str]:
    """DEFAULT_CHAT_MODEL and the system message for chat_bot.py; a bad setting ends a script with one line."""
    try:
        settings = get_settings()
    except ConfigError as exc:
        if not as_script:
            raise
        print(f"error: {exc.message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    return settings.resolved_default_model, settings.system_message


def chat_bot_main(argv: list[str] | None = None, chat_function=None) -> int:
    """Entry point of `python chat_bot.py`; `chat_function` replaces chat_with_model (the root module's)."""
    def go() -> int:
        args = chat.chat_bot_parser().parse_args(argv)
        setup_logging()
        return chat.chat_bot_command(args, chat_function or chat.chat_with_model)

    return run_cli(go)


def build_parser() -> Parser:
    """The `posterchat` command and its subcommands."""
    parser = Parser(prog="posterchat", description="Chat-assistant backend for poster design.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    chat.register(commands)
    serve.register(commands)
    keys.register(commands)
    export_cli.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `posterchat` command."""
    def go() -> int:
        args = build_parser().parse_args(argv)
        setup_logging()
        return args.func(args)

    return run_cli(go)
