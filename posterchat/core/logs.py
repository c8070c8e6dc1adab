"""JSON logs, one object per line, with the request id of the request being served."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from .. import fastjson

CHATTY_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "openai")

current_request_id: ContextVar[str | None] = ContextVar("posterchat_request_id", default=None)


_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message",
                                                                              "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id:
            data["request_id"] = request_id
        data.update({k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS and not k.startswith("_")})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return fastjson.dumps(data, default=str).decode()


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(level: str) -> None:
    """Make the process log JSON to stderr at `level`, uvicorn's own lines included."""
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    quiet_chatty_loggers()


def quiet_chatty_loggers() -> None:
    """HTTP client libraries log every request at INFO; show that only when the root logger is at DEBUG."""
    debug = logging.getLogger().level <= logging.DEBUG
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """A dictConfig for `uvicorn.run(log_config=...)`, so even the supervisor of several workers logs JSON."""
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {"uvicorn": {"handlers": [], "propagate": True}, "uvicorn.error": {"propagate": True},
                    "uvicorn.access": {"handlers": [], "propagate": False}},
        "root": {"handlers": ["stderr"], "level": level},
    }
