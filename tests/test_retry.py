"""The one retry policy: its delay table and which failures it retries."""

import pytest
from tenacity import RetryCallState

from posterchat.core.portal import run
from posterchat.core.retry import BACKOFF_BASE, MAX_DELAY, RetryPolicy
from posterchat.errors import InvalidInput, RateLimited, UpstreamError


def _state(attempt: int, failure: Exception) -> RetryCallState:
    """tenacity's record of a call that failed on try number `attempt`."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(failure), failure, None))
    return state


@pytest.mark.parametrize(
    ("attempt", "retry_wait", "retry_after", "expected"),
    [
        (1, 1.0, None, 1.0),
        (2, 1.0, None, 2.0),
        (3, 1.0, None, 4.0),
        (4, 0.5, None, 4.0),
        (20, 1.0, None, MAX_DELAY),
        (1, 1.0, 7.0, 7.0),  # Retry-After wins, without jitter
        (3, 1.0, 0.0, 0.0),
        (1, 0.0, None, 0.0),
        (1, 1.0, -3.0, 0.0),
    ],
)
def test_delay_table(attempt, retry_wait, retry_after, expected):
    policy = RetryPolicy(retry_wait=retry_wait, jitter=0)
    failure = UpstreamError("down", retry_after=retry_after, transient=True)
    assert policy.delay(_state(attempt, failure)) == pytest.approx(expected)
    assert BACKOFF_BASE == 2.0


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_jitter_adds_at_most_a_quarter_of_the_first_wait(attempt):
    policy = RetryPolicy(retry_wait=1.0)
    delays = {policy.delay(_state(attempt, UpstreamError("down", transient=True))) for _ in range(50)}
    base = 2.0 ** (attempt - 1)
    assert all(base <= delay <= base + 0.25 for delay in delays) and len(delays) > 1


def _attempts(*outcomes):
    """A stream factory: each call raises the next outcome, or yields it when it is a string."""
    calls = []

    def factory():
        async def stream():
            outcome = outcomes[len(calls) - 1]
            if isinstance(outcome, Exception):
                raise outcome
            yield outcome

        calls.append(1)
        return stream()

    return factory, calls


async def _collect(factory, **options):
    policy = RetryPolicy(**{"max_retries": 3, "retry_wait": 0.0, "max_retry_after": 30.0, **options})
    return [item async for item in await policy.open(factory)]


def test_transient_failures_are_retried_until_success():
    factory, calls = _attempts(UpstreamError("500", transient=True), UpstreamError("503", transient=True), "answer")
    assert run(_collect, factory) == ["answer"]
    assert len(calls) == 3


def test_gives_up_after_max_retries_with_the_last_failure():
    factory, calls = _attempts(*[UpstreamError("down", transient=True)] * 5)
    with pytest.raises(UpstreamError, match="down"):
        run(_collect, factory)
    assert len(calls) == 4  # the first try and three retries


def test_permanent_failures_are_not_retried():
    factory, calls = _attempts(InvalidInput("bad"), "never")
    with pytest.raises(InvalidInput):
        run(_collect, factory)
    assert len(calls) == 1


def test_retry_after_beyond_the_cap_is_reported_not_waited():
    factory, calls = _attempts(RateLimited("slow down", retry_after=120, transient=True), "never")
    with pytest.raises(RateLimited) as raised:
        run(_collect, factory)
    assert raised.value.retry_after == 120
    assert len(calls) == 1


def test_failure_after_the_first_chunk_is_not_retried():
    async def broken():
        yield "partial"
        raise UpstreamError("cut", transient=True)

    calls = []

    def factory():
        calls.append(1)
        return broken()

    with pytest.raises(UpstreamError, match="cut"):
        run(_collect, factory)
    assert len(calls) == 1
