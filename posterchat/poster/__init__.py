"""Poster description schema and measured design checks with JSON Patch fixes."""

from .checks import CHECK_ORDER, check_poster
from .sample import SAMPLE_POSTER
from .schema import CheckOptions, Finding, Poster
from .summary import summarize

__all__ = [
    "CHECK_ORDER", "SAMPLE_POSTER", "CheckOptions", "Finding", "Poster", "check_poster", "summarize",
]
