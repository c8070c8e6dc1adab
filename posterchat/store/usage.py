"""Token usage and cost per owner, model and day: each completion adds to its day's row."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from .db import dialect_insert
from .models import UsageRecord

MODEL_CHARS = 200


@cache
def _upsert(dialect: str):
    """INSERT ... ON CONFLICT DO UPDATE adding to the day's row, built once per dialect (then cached compiled)."""
    table = UsageRecord.__table__
    statement = dialect_insert(dialect)(table)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c.owner, table.c.model, table.c.day],
        set_={name: table.c[name] + new[name] for name in ("requests", "prompt_tokens", "completion_tokens", "cost")},
    )


class UsageStore:
    """The usage table."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def add_many(self, rows: list[dict[str, Any]]) -> None:
        """Add several rows' counts in one transaction: all of them are stored, or none."""
        if not rows:
            return
        rows = [{**row, "model": row["model"][:MODEL_CHARS]} for row in rows]
        with self.sessions.begin() as session:
            session.execute(_upsert(session.get_bind().dialect.name), rows)

    def rows(self, owner: str, since: date | None = None) -> list[dict[str, Any]]:
        """The owner's rows from `since` on, by day then model."""
        query = select(UsageRecord).where(UsageRecord.owner == owner).order_by(UsageRecord.day, UsageRecord.model)
        if since is not None:
            query = query.where(UsageRecord.day >= since)
        with self.sessions() as session:
            return [
                {"day": row.day, "model": row.model, "requests": row.requests, "prompt_tokens": row.prompt_tokens,
                 "completion_tokens": row.completion_tokens, "cost": row.cost}
                for row in session.scalars(query)
            ]

    def cost_since(self, owner: str, since: date) -> float:
        """What the owner has spent from `since` on, in USD."""
        with self.sessions() as session:
            total = session.scalar(select(func.sum(UsageRecord.cost))
                                   .where(UsageRecord.owner == owner, UsageRecord.day >= since))
        return float(total or 0.0)
