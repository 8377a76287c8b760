"""`python -m colornet.cli ARGS`: the `colornet` command, as the console script runs it."""

import sys

from colornet.cli import main

sys.exit(main())
