"""What every command shares: one-line errors, history files, logging."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn

from ..config import get_settings
from ..core.logs import quiet_chatty_loggers
from ..errors import ConfigError, InvalidInput, PosterchatError

EXIT_USAGE = 2
EXIT_FAILED = 1


class CliError(Exception):
    """A command-line problem reported as one line."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse that reports mistakes as one line instead of usage plus error."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see --help)")


def setup_logging() -> None:
    """Log at the configured level, in the spec's format."""
    logging.basicConfig(level=get_settings().log_level, format="[%(levelname)s] %(message)s")
    quiet_chatty_loggers()


def read_json(path: Path, what: str) -> Any:
    """The JSON in `path`; any problem is one line naming the `what` file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{what} file {path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise CliError(f"{what} file {path} is not valid JSON (line {exc.lineno}, column {exc.colno})") from None


def read_history(path: Path) -> list[dict[str, Any]]:
    """A conversation file: a JSON list of messages, or an object with `conversation_history`."""
    data = read_json(path, "history")
    if isinstance(data, dict) and "conversation_history" in data:
        data = data["conversation_history"]
    if not isinstance(data, list):
        raise CliError(f"history file {path} must hold a JSON list of messages")
    return data


def write_atomically(path: Path, lines: Iterable[str]) -> int:
    """Stream lines into a temporary file beside `path`, then rename it over `path`: a crash or an error leaves the
    old file whole and no temporary file behind. Returns the number of lines."""
    path = path.resolve()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            for line in lines:
                file.write(line)
                count += 1
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return count


def run_cli(func: Callable[[], int]) -> int:
    """Run a command, turning every expected failure into one line on stderr and an exit code."""
    try:
        return func()
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except (InvalidInput, ConfigError) as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except PosterchatError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
