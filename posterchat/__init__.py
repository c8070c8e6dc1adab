"""posterchat: a chat-assistant backend for poster-design tools."""

from .chat import ChatResult, ChatService, chat_with_model
from .errors import PosterchatError

__all__ = ["ChatResult", "ChatService", "PosterchatError", "chat_with_model"]
__version__ = "0.1.0"
