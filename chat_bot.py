"""Chat with the poster-design assistant: `from chat_bot import chat_with_model`, or run this file.

The defaults below come from settings (POSTERCHAT_DEFAULT_MODEL, POSTERCHAT_SYSTEM_MESSAGE, or a .env file);
editing them here works too, as the spec describes.
"""

import logging
import sys

from posterchat.core.chat import chat_with_model as _chat_with_model
from posterchat.cli import chat_bot_main, spec_defaults

DEFAULT_CHAT_MODEL, system_msg = spec_defaults(as_script=__name__ == "__main__")

# The spec's debug mode: set POSTERCHAT_LOG_LEVEL=DEBUG, or uncomment this line.
# logging.basicConfig(level=logging.DEBUG, format='[%(levelname)s] %(message)s')
log = logging.getLogger("chat_bot")


def chat_with_model(user_message, conversation_history=None, model=None, temp=0.7, max_retries=3, retry_wait=1.0,
                    **options):
    """Send one message with its history; returns {"response", "conversation_history", "model_used", ...}."""
    options.setdefault("system_message", system_msg)
    return _chat_with_model(user_message, conversation_history, model or DEFAULT_CHAT_MODEL, temp, max_retries,
                            retry_wait, **options)


if __name__ == "__main__":
    sys.exit(chat_bot_main(chat_function=chat_with_model))
