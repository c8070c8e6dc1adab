"""What the embedded engine is doing, from its own counters (llama.cpp server metrics)."""

from __future__ import annotations


def busy(provider) -> bool:
    """Whether the engine is answering a request now."""
    return provider.metrics()["requests_processing"] > 0


def decoded(provider) -> float:
    """Decode steps the engine has run so far; it stops growing once nothing is generated."""
    return provider.metrics()["n_decode_total"]
