"""The command line: the spec's `python chat_bot.py …` and the `posterchat` command."""

from __future__ import annotations

from . import chat, serve
from .common import Parser, run_cli, setup_logging


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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `posterchat` command."""
    def go() -> int:
        args = build_parser().parse_args(argv)
        setup_logging()
        return args.func(args)

    return run_cli(go)
