"""`python -m bot` is `contest-bot`."""

import sys

from bot.cli import main

sys.exit(main())
