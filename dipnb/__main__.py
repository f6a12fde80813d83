"""``python -m dipnb``: see :mod:`dipnb.cli`."""
import sys

from .cli import main

sys.exit(main())
