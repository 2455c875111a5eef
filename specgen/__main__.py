"""``python -m specgen`` is the ``specgen`` console script."""

import sys

from .cli import main

sys.exit(main())
