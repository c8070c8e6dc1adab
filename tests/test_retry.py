"""The one retry layer: its delay table and which failures it retries."""

import pytest

from posterchat.errors import InvalidInput, RateLimited, UpstreamError
from posterchat.portal import run
from posterchat.retry import BACKOFF_FACTOR, MAX_DELAY, Retryable, delay, retrying


@pytest.mark.parametrize(
    ("attempt", "retry_wait", "retry_after", "jitter", "expected"),
    [
        (1, 1.0, None, 0.0, 1.0),
        (2, 1.0, None, 0.0, 2.0),
        (3, 1.0, None, 0.0, 4.0),
        (4, 0.5, None, 0.0, 4.0),
        (1, 1.0, None, 0.25, 1.25),
        (2, 1.0, None, -0.25, 1.5),
        (20, 1.0, None, 0.0, MAX_DELAY),
        (1, 1.0, 7.0, 0.25, 7.0),  # Retry-After wins, without jitter
        (3, 1.0, 0.0, 0.0, 0.0),
        (1, 0.0, None, 0.0, 0.0),
        (1, 1.0, -3.0, 0.0, 0.0),
    ],
)
def test_delay_table(attempt, retry_wait, retry_after, jitter, expected):
    assert delay(attempt, retry_wait, retry_after, jitter) == pytest.approx(expected)
    assert BACKOFF_FACTOR == 2.0


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
    options = {"max_retries": 3, "retry_wait": 0.0, "max_retry_after": 30.0, **options}
    return [item async for item in retrying(factory, **options)]


def test_transient_failures_are_retried_until_success():
    factory, calls = _attempts(Retryable(UpstreamError("500")), Retryable(UpstreamError("503")), "answer")
    assert run(_collect, factory) == ["answer"]
    assert len(calls) == 3


def test_gives_up_after_max_retries_with_the_cause():
    factory, calls = _attempts(*[Retryable(UpstreamError("down"))] * 5)
    with pytest.raises(UpstreamError, match="down") as raised:
        run(_collect, factory)
    assert not isinstance(raised.value, Retryable)
    assert len(calls) == 4  # the first try and three retries


def test_permanent_failures_are_not_retried():
    factory, calls = _attempts(InvalidInput("bad"), "never")
    with pytest.raises(InvalidInput):
        run(_collect, factory)
    assert len(calls) == 1


def test_retry_after_beyond_the_cap_is_reported_not_waited():
    factory, calls = _attempts(Retryable(RateLimited("slow down", retry_after=120)), "never")
    with pytest.raises(RateLimited) as raised:
        run(_collect, factory)
    assert raised.value.retry_after == 120
    assert len(calls) == 1


def test_failure_after_the_first_chunk_is_not_retried():
    async def broken():
        yield "partial"
        raise Retryable(UpstreamError("cut"))

    calls = []

    def factory():
        calls.append(1)
        return broken()

    with pytest.raises(UpstreamError, match="cut"):
        run(_collect, factory)
    assert len(calls) == 1
