"""The small exception hierarchy every layer speaks."""

from __future__ import annotations


class PosterchatError(Exception):
    """Base of every error posterchat raises on purpose."""

    code = "error"
    status = 500
    transient = False  # worth trying again (the retry policy, core/retry.py)

    def __init__(self, message: str, *, retry_after: float | None = None, param: str | None = None,
                 transient: bool | None = None, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.param = param  # the request field at fault, for OpenAI-shaped errors
        if transient is not None:
            self.transient = transient
        if status is not None:
            self.status = status
        if code is not None:  # a model server's own code, passed on
            self.code = code


class ConfigError(PosterchatError):
    """A setting is missing or invalid."""

    code = "config_error"
    status = 500


class InvalidInput(PosterchatError):
    """The caller sent something that cannot be used."""

    code = "invalid_request"
    status = 400


class NotFound(PosterchatError):
    """A conversation, message or other resource does not exist for this caller."""

    code = "not_found"
    status = 404


class ModelNotFound(NotFound):
    """The requested model is not known here or upstream."""

    code = "model_not_found"


class AuthError(PosterchatError):
    """The upstream or this server refused the credentials."""

    code = "unauthorized"
    status = 401


class MissingAPIKey(ConfigError):
    """An OpenAI-routed model was asked for but no API key is set; to a client, that model is not here."""

    code = "model_not_found"
    status = 404


class RateLimited(PosterchatError):
    """A rate limit or quota was hit; retry_after says when to come back."""

    code = "rate_limited"
    status = 429


class Unauthorized(AuthError):
    """The caller sent no valid API key for this server."""


class BudgetExceeded(RateLimited):
    """The API key's monthly budget is used up."""

    code = "budget_exceeded"


class Conflict(PosterchatError):
    """The request conflicts with a change made meanwhile; nothing was changed."""

    code = "conflict"
    status = 409


class IdempotencyKeyReused(PosterchatError):
    """An Idempotency-Key came back with a different request body."""

    code = "idempotency_key_reused"
    status = 422


class IdempotencyInProgress(PosterchatError):
    """The request holding this Idempotency-Key is still running, or lost its claim to another."""

    code = "idempotency_in_progress"
    status = 409


class Overloaded(PosterchatError):
    """The embedded model's queue is full."""

    code = "overloaded"
    status = 503


class UpstreamError(PosterchatError):
    """The model server failed or answered something unusable."""

    code = "upstream_error"
    status = 502


class UpstreamAuthError(UpstreamError):
    """The model server refused posterchat's own API key."""

    code = "upstream_auth"


class UpstreamTimeout(UpstreamError):
    """The model server did not answer in time."""

    code = "upstream_timeout"
    status = 504
    transient = True


class StreamInterrupted(UpstreamError):
    """The answer stream ended before it was complete."""

    code = "stream_interrupted"
