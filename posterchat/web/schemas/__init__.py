"""Request and response bodies of the HTTP API (the chat turn's own live in core/messages.py)."""
