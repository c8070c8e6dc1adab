"""Model providers behind one interface, and the router that picks one per model id."""

from .base import ChunkDict, Provider, Request, Usage, delta_text, first_choice
from .router import ModelInfo, Router

__all__ = ["ChunkDict", "ModelInfo", "Provider", "Request", "Router", "Usage", "delta_text", "first_choice"]
