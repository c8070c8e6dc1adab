"""Numbers as the reports print them, and the machine they were measured on."""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path


def machine() -> dict:
    """nproc, CPU model, memory, kernel, load averages."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = next((line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "?")
    return {"nproc": os.cpu_count(), "cpu": model, "memory": memory, "kernel": platform.release(),
            "loadavg": os.getloadavg()}


def fmt(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def spread(summary: dict, digits: int = 1) -> str:
    """median (min–max)."""
    if not summary or not summary.get("n"):
        return "–"
    if summary["n"] == 1:
        return fmt(summary["median"], digits)
    return f"{fmt(summary['median'], digits)} ({fmt(summary['min'], digits)}–{fmt(summary['max'], digits)})"


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("**pass**" if ok else "**FAIL**")
