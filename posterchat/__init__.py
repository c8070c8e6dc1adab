"""posterchat: a chat-assistant backend for poster-design tools."""

from .core.chat import ChatService, chat_with_model
from .core.messages import ChatResult
from .errors import PosterchatError

__all__ = ["ChatResult", "ChatService", "PosterchatError", "chat_with_model"]
__version__ = "0.1.0"
