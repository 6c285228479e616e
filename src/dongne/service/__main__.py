"""``python -m dongne.service``: run the web service (see :mod:`dongne.service.command`)."""

import sys

from dongne.service.command import main

if __name__ == "__main__":
    sys.exit(main())
