"""Start the posterchat server: `python server.py` serves the chat API on http://127.0.0.1:5000."""

import sys

from posterchat.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
