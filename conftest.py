# Root conftest: every pytest run in this repository that uses --nbmake runs the chapters
# through tools/nbwatch.py (stall watchdog, one retry; see tools/nbwatch_pytest.py).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))

from nbwatch_pytest import pytest_configure  # noqa: E402,F401  (a historic hook: runs even if loaded late)
