"""``python -m forecaster``: see ``forecaster.cli``."""

import sys

from forecaster.cli import main

if __name__ == "__main__":  # importing the module (the docs' API reference does) runs nothing
    sys.exit(main())
