"""The device self-check of the engine must catch a backend that differs from the reference."""
import numpy as np

from dipnb.engine import SweepResult
from dipnb.engine.selfcheck import compare


def _res(stop, err, conv):
    return SweepResult(np.zeros(len(stop)), np.array(stop), np.array(conv), np.array(err, dtype=float))


def test_compare_passes_equal_and_fails_different():
    ref = [_res([3, 9], [1.0, 2.0], [True, False])]
    assert compare(ref, ref)["ok"]
    assert not compare([_res([3, 8], [1.0, 2.0], [True, False])], ref)["ok"]        # a stop step
    assert not compare([_res([3, 9], [1.0, 2.0 * (1 + 1e-6)], [True, False])], ref)["ok"]   # an error
    assert compare([_res([3, 9], [1.0, 2.0 * (1 + 1e-10)], [True, False])], ref)["ok"]     # round-off
