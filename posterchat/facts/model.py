"""The Fact model: one design fact computed exactly from the designer's question."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FactKind = Literal["contrast", "paper_size", "text_size", "conversion", "resolution"]


class Fact(BaseModel):
    """A measured design fact, given to the model as context and returned to the client; shown verbatim."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [{
                "kind": "paper_size",
                "statement": "A2 is 420 × 594 mm (16.5 × 23.4 in).",
                "values": {"name": "A2", "width_mm": 420, "height_mm": 594, "width_in": 16.54, "height_in": 23.39},
            }]
        },
    )

    kind: FactKind = Field(description="What was measured.")
    statement: str = Field(description="One complete English sentence with the numbers and their units.")
    values: dict[str, bool | int | float | str] = Field(description="The numbers behind the statement.")


@dataclass(frozen=True)
class Found:
    """A fact and where in the question the text it comes from starts and ends."""

    start: int
    end: int
    fact: Fact


def first_distinct(found: Iterable[Found], limit: int) -> list[Found]:
    """The first `limit` facts with different statements, taken lazily so that repeats cost nothing more."""
    kept: dict[str, Found] = {}
    for item in found:
        if item.fact.statement not in kept:
            kept[item.fact.statement] = item
            if len(kept) == limit:
                break
    return list(kept.values())
