"""``python -m forecaster``: see ``forecaster.cli``."""

import sys

from forecaster.cli import main

sys.exit(main())
