"""Usage and cost: prices per model, each completion's tokens, totals, and monthly budgets per key."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from anyio import to_thread
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import BudgetExceeded, ConfigError
from ..providers import Usage
from ..store.keys import KeyRecord
from ..store.usage import UsageStore

log = logging.getLogger("posterchat.usage")

USAGE_FLUSH_SECONDS = 0.5  # how long usage may stay counted in memory before it is stored
HOLD = timedelta(minutes=15)  # a budget hold outlives its request only if the instance died; then it expires

DEFAULT_PRICES = Path(__file__).parent.parent / "prices.toml"
PER_TOKENS = 1_000_000
COST_DIGITS = 8


class Price(BaseModel):
    """US dollars per 1M tokens."""

    model_config = ConfigDict(extra="forbid")

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)


class PriceFile(BaseModel):
    """A prices file: `models` maps a model id, or an id prefix, to its price."""

    model_config = ConfigDict(extra="forbid")

    models: dict[str, Price]


class PriceTable:
    """Looks up a model's price by its exact id, else by the longest matching prefix."""

    def __init__(self, prices: dict[str, Price]):
        self.prices = prices
        self._warned = False
        self.find = lru_cache(maxsize=1024)(self._find)  # on every answer; a prices file holds dozens of prefixes

    def _find(self, model: str) -> Price | None:
        """The price for `model`, or None when nothing matches."""
        if model in self.prices:
            return self.prices[model]
        prefixes = [name for name in self.prices if model.startswith(name)]
        return self.prices[max(prefixes, key=len)] if prefixes else None

    def cost(self, model: str, usage: Usage, *, local: bool = False) -> float:
        """What `usage` of `model` costs in USD; unpriced models cost nothing (reported once, for the first: callers
        choose model names, so a line per name would let them fill the log)."""
        price = self.find(model)
        if price is None:
            if not local and not self._warned:
                self._warned = True
                log.warning("no price for model %r (nor, from now on, for others not reported); their usage is "
                            "recorded at no cost (see POSTERCHAT_PRICES_FILE)", model[:200])
            return 0.0
        return (usage.prompt_tokens * price.prompt + usage.completion_tokens * price.completion) / PER_TOKENS


def load_prices(path: Path | None = None) -> PriceTable:
    """Read a TOML or JSON prices file (the packaged one by default); a bad file is a ConfigError naming it."""
    path = path or DEFAULT_PRICES
    try:
        raw = path.read_bytes()
        data = json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw.decode())
        return PriceTable(PriceFile.model_validate(data).models)
    except OSError as exc:
        problem = exc.strerror or str(exc)
    except (ValueError, UnicodeDecodeError) as exc:  # JSON, TOML and validation errors are all ValueErrors
        problem = _first_problem(exc)
    raise ConfigError(f"setting POSTERCHAT_PRICES_FILE: {path} cannot be used: {problem}")


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
    return str(exc)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _today() -> date:
    return datetime.now(UTC).date()


class UsageTotals(BaseModel):
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float = Field(description="US dollars, from the prices file at the time of each request.")


class UsageDay(UsageTotals):
    day: date = Field(description="UTC day.")
    model: str


class UsageModel(UsageTotals):
    model: str


class Budget(BaseModel):
    monthly_usd: float
    spent_usd: float = Field(description="Spent this calendar month (UTC).")
    resets_on: date


class UsageReport(BaseModel):
    since: date | None
    data: list[UsageDay] = Field(description="One entry per day and model, oldest first.")
    models: list[UsageModel] = Field(description="Totals per model.")
    total: UsageTotals
    budget: Budget | None = Field(description="The API key's monthly budget, when it has one.")


class UsageMeter:
    """Records what each owner's completions used and cost, and enforces keys' monthly budgets."""

    def __init__(self, usage: UsageStore, prices: PriceTable):
        self.usage = usage
        self.prices = prices
        # (owner, model, day) -> [requests, prompt tokens, completion tokens, cost], counted until the next flush()
        self._pending: dict[tuple[str, str, date], list] = {}
        self._settled: list[str] = []  # budget holds to release with the next flush
        self._lock = threading.Lock()

    def hold(self, key: KeyRecord, model: str, worst: Usage, *, local: bool = False) -> str | None:
        """Reserve a request's worst-case cost against the key's monthly budget before it runs (no hold for keys
        without a budget); BudgetExceeded once spent plus held reaches it. A request is held until its usage is
        stored, so concurrent requests, on any instance, overshoot the budget by at most one request's cost."""
        if key.monthly_budget is None:
            return None
        self.flush()  # this instance's finished requests: their usage in, their holds out
        now = datetime.now(UTC)
        amount = self.prices.cost(model, worst, local=local)
        hold = self.usage.hold(key.id, key.monthly_budget, month_start(now.date()), amount, now, now + HOLD)
        if hold is None:
            resets = next_month(now.date())
            wait = (datetime.combine(resets, time(), UTC) - now).total_seconds()
            raise BudgetExceeded(f"monthly budget of ${key.monthly_budget:.2f} for key {key.name!r} is used up; "
                                 f"it resets on {resets.isoformat()}", retry_after=wait)
        return hold

    def release(self, hold: str | None) -> None:
        """Let go of a hold whose request used nothing (with the next flush)."""
        if hold is not None:
            with self._lock:
                self._settled.append(hold)

    def add(self, owner: str, model: str, usage: Usage, *, local: bool = False, hold: str | None = None) -> float:
        """Count a completion in memory until the next flush() and return its cost; no I/O. Its budget hold is
        released in the same transaction as its usage is stored (UsageWriter writes every USAGE_FLUSH_SECONDS)."""
        cost = self.prices.cost(model, usage, local=local)
        with self._lock:
            if hold is not None:
                self._settled.append(hold)
            row = self._pending.setdefault((owner, model, _today()), [0, 0, 0, 0.0])
            row[0] += 1
            row[1] += usage.prompt_tokens
            row[2] += usage.completion_tokens
            row[3] += cost
        return cost

    def flush(self) -> None:
        """Write what add() counted to the database; on failure it stays counted for the next flush."""
        with self._lock:
            pending, self._pending = self._pending, {}
            settled, self._settled = self._settled, []
        try:
            self.usage.add_many([
                {"owner": owner, "model": model, "day": day, "requests": requests, "prompt_tokens": prompt,
                 "completion_tokens": completion, "cost": cost}
                for (owner, model, day), (requests, prompt, completion, cost) in pending.items()
            ], release=settled)
        except BaseException:
            with self._lock:
                self._settled += settled
                for key, row in pending.items():
                    into = self._pending.setdefault(key, [0, 0, 0, 0.0])
                    for index, value in enumerate(row):
                        into[index] += value
            raise

    def summary(self, owner: str, since: date | None = None, key: KeyRecord | None = None) -> UsageReport:
        """The owner's usage by day and model, by model, in total, and the key's budget if it has one."""
        self.flush()
        rows = self.usage.rows(owner, since)
        by_model: dict[str, dict[str, Any]] = {}
        for row in rows:
            _add(by_model.setdefault(row["model"], {"model": row["model"]}), row)
        budget = None
        if key is not None and key.monthly_budget is not None:
            today = _today()
            spent = self.usage.cost_since(owner, month_start(today))
            budget = Budget(monthly_usd=key.monthly_budget, spent_usd=round(spent, COST_DIGITS),
                            resets_on=next_month(today))
        return UsageReport(
            since=since, data=[UsageDay(day=row["day"], model=row["model"], **_totals(row)) for row in rows],
            models=[UsageModel(model=name, **_totals(entry)) for name, entry in sorted(by_model.items())],
            total=UsageTotals(**_totals(_add({}, *rows))), budget=budget)


def _add(into: dict[str, Any], *rows: dict[str, Any]) -> dict[str, Any]:
    for row in rows:
        for name in ("requests", "prompt_tokens", "completion_tokens", "cost"):
            into[name] = into.get(name, 0) + row[name]
    return into


def _totals(row: dict[str, Any]) -> dict[str, Any]:
    prompt, completion = row.get("prompt_tokens", 0), row.get("completion_tokens", 0)
    return {"requests": row.get("requests", 0), "prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion, "cost_usd": round(row.get("cost", 0.0), COST_DIGITS)}


class UsageWriter:
    """Write-behind: usage is counted in memory at once and stored in one transaction per interval.

    Answers never wait on the database for their usage row; under load the database sees one upsert per owner,
    model and day per interval. Reads of usage flush first, and so does shutdown; a crash loses at most one
    interval's counts (docs/reliability.md). Budgets stay safe meanwhile: a request's hold is released only in the
    transaction that stores its usage.
    """

    def __init__(self, meter: UsageMeter, interval: float = USAGE_FLUSH_SECONDS):
        self.meter = meter
        self.interval = interval
        self._task: asyncio.Task | None = None

    def write(self, owner: str, model: str, usage, *, local: bool, hold: str | None = None) -> float:
        """Count the usage (settling its budget hold), have it stored within the interval, and return its cost."""
        cost = self.meter.add(owner, model, usage, local=local, hold=hold)
        self._schedule()
        return cost

    def release(self, hold: str | None) -> None:
        """A request that used nothing lets go of its budget hold, within the interval."""
        if hold is not None:
            self.meter.release(hold)
            self._schedule()

    def _schedule(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.interval)
        try:
            await to_thread.run_sync(self.meter.flush)
        except Exception:  # the counts stay in memory for the next flush
            log.exception("could not store usage; retrying with the next answer")

    async def close(self) -> None:
        """Store what is still counted (from the lifespan, before the store closes)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        await to_thread.run_sync(self.meter.flush)
