"""``python -m dipnb``: see :mod:`dipnb.cli`. Ctrl-C while it starts or runs ends with one line,
not a traceback (an experiment's own message says what it saved and how to resume)."""
import os
import sys

try:
    from .cli import main
    status = main()
except KeyboardInterrupt:
    print("\ninterrupted: nothing was run", file=sys.stderr)
    status = 130
except BrokenPipeError:               # the output was piped into a program that stopped reading (head)
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    status = 0
sys.exit(status)
