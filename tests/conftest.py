import os

import pytest
import torch

os.environ.setdefault("DIPNB_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_default_dtype(torch.float64)


@pytest.fixture
def tol():
    """Round-off tolerance for float64 comparisons of quantities of order 1."""
    return 1e-10
