"""Chatting from the terminal: the spec's chat_bot.py, `posterchat ask` and `posterchat chat`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core import portal
from ..core.chat import chat_with_model, default_service
from ..errors import PosterchatError
from .common import Parser, read_history, read_json, write_atomically


def temperature(value: str) -> float:
    """argparse type for --temp."""
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"temperature must be a number, not {value!r}") from None


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model, --temp and --max-tokens, shared by every chatting command."""
    parser.add_argument("--model", help="model id (default: POSTERCHAT_DEFAULT_MODEL or the embedded model)")
    parser.add_argument("--temp", type=temperature, default=0.7, help="temperature, 0 to 2 (default 0.7)")
    parser.add_argument("--max-tokens", type=int, help="longest answer in tokens")
    parser.add_argument("--poster", type=Path, help="poster description JSON: measured, and given to the assistant")


def chat_bot_parser() -> Parser:
    """The spec's command line: --message, --history, --model, --temp."""
    parser = Parser(prog="chat_bot.py", description="Chat with the poster-design assistant.")
    parser.add_argument("--message", "-m", required=True, help="the message to send")
    parser.add_argument("--history", type=Path, help="conversation JSON file, read and updated in place")
    add_model_options(parser)
    return parser


def chat_bot_command(args: argparse.Namespace, chat=chat_with_model) -> int:
    """Send one message, print the answer, update the history file."""
    history = read_history(args.history) if args.history else []
    result = chat(args.message, history, model=args.model, temp=args.temp, max_tokens=args.max_tokens,
                  poster=read_json(args.poster, "poster") if args.poster else None)
    print(result["response"])
    print_design_notes(result)
    if args.history:
        write_atomically(args.history, [json.dumps(result["conversation_history"], indent=2, ensure_ascii=False), "\n"])
    return 0


def _print_token(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def print_design_notes(result: dict) -> None:
    """The poster's measured findings, one line each on stderr."""
    for note in result.get("design_notes", []):
        print(f"design note ({note['severity']}): {note['message']}", file=sys.stderr)


def ask_command(args: argparse.Namespace) -> int:
    """Stream one answer to stdout."""
    result = chat_with_model(args.message, [], model=args.model, temp=args.temp, max_tokens=args.max_tokens,
                             poster=read_json(args.poster, "poster") if args.poster else None, on_token=_print_token)
    print()
    print_design_notes(result)
    return 0


def interactive_command(args: argparse.Namespace) -> int:
    """A conversation on the terminal: each answer streams as it is generated; /reset and /quit."""
    service, history = default_service(), []
    model = service.router.canonical(args.model)
    print(f"posterchat: chatting with {model}. /reset starts over, /quit or Ctrl-D leaves.", file=sys.stderr)
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            print(file=sys.stderr)
            return 0
        if line in ("/quit", "/exit"):
            return 0
        if line == "/reset":
            history = []
            print("Conversation history reset", file=sys.stderr)
            continue
        if not line:
            continue
        sys.stdout.write("assistant> ")
        try:
            result = portal.run(lambda: service.complete(
                line, history, model=model, temperature=args.temp, max_tokens=args.max_tokens, on_token=_print_token))
        except PosterchatError as exc:
            print(f"\nerror: {exc.message}", file=sys.stderr)
            continue
        history = result.conversation_history
        print()


def register(commands) -> None:
    """Add `ask` and `chat` to the posterchat command."""
    ask = commands.add_parser("ask", help="ask one question, streaming the answer")
    ask.add_argument("message")
    add_model_options(ask)
    ask.set_defaults(func=ask_command)
    chat = commands.add_parser("chat", help="chat interactively in the terminal")
    add_model_options(chat)
    chat.set_defaults(func=interactive_command)
