"""`python -m saliency_desktop`: the same as the `saliency-desktop` command."""

import sys

from saliency_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
