"""``python -m dongne.cli``: the same as the ``dongne`` command."""

import sys

from dongne.cli import main

if __name__ == "__main__":
    sys.exit(main())
