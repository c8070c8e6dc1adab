"""Run the spec's chat bot checks: `python test_chat.py`."""

import sys

from posterchat.web.selftest import run

if __name__ == "__main__":
    sys.exit(0 if run() else 1)
