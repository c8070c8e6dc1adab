"""Token usage and cost per owner, model and day: each completion adds to its day's row."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from .db import dialect_insert
from .models import ApiKey, BudgetHold, UsageRecord

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

    def add_many(self, rows: list[dict[str, Any]], release: Iterable[str] = ()) -> None:
        """Add several rows' counts and release the budget holds they settle, in one transaction: all or none."""
        rows = [{**row, "model": row["model"][:MODEL_CHARS]} for row in rows]
        release = list(release)
        if not rows and not release:
            return
        with self.sessions.begin() as session:
            if rows:
                session.execute(_upsert(session.get_bind().dialect.name), rows)
            if release:
                session.execute(delete(BudgetHold).where(BudgetHold.id.in_(release)))

    def hold(self, key_id: str, budget: float, since: date, amount: float, now: datetime, until: datetime
             ) -> str | None:
        """Hold `amount` against the key's budget while what is spent since `since` plus what is held stays under
        it; None (nothing held) once it does not. Holds of every instance queue on the key's row lock."""
        with self.sessions.begin() as session:
            session.execute(update(ApiKey).where(ApiKey.id == key_id)  # the lock: later holds wait for this one
                            .values(monthly_budget=ApiKey.monthly_budget))
            spent = session.scalar(select(func.sum(UsageRecord.cost))
                                   .where(UsageRecord.owner == key_id, UsageRecord.day >= since)) or 0.0
            held = session.scalar(select(func.sum(BudgetHold.amount))
                                  .where(BudgetHold.key_id == key_id, BudgetHold.expires_at > now)) or 0.0
            if spent + held >= budget:
                return None
            hold_id = secrets.token_hex(16)
            session.add(BudgetHold(id=hold_id, key_id=key_id, amount=amount, expires_at=until))
            return hold_id

    def drop_expired_holds(self, now: datetime) -> None:
        """Forget holds whose requests never settled (their instance died)."""
        with self.sessions.begin() as session:
            session.execute(delete(BudgetHold).where(BudgetHold.expires_at <= now))

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
