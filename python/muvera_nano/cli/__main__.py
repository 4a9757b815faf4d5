"""`python -m muvera_nano.cli`: the same as the `muvera-nano` command."""

import sys

from . import main

sys.exit(main())
