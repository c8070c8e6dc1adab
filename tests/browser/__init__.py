"""The chat page, driven in real headless Chromium through real posterchat servers."""
