"""What the book shows a reader: tables, and the paper's claims against our measurements.

A :class:`Claim` is one row of a "paper says / we measure / agree?" table, as data: the
claim in the paper's words, what the paper gives, what we measure (in words), the verdict,
and the numbers behind them (``value`` and ``values``), so that a chapter quotes a field of
the claim rather than recomputing it. Where a verdict rests on a choice of ours (a reading
level, a criterion, an operator), each reasonable choice is a :class:`Reading` and
:func:`settle` decides the headline verdict and whether it is robust (rule 9 of the verdicts).
:class:`Table` shows rows as HTML in the book and in Jupyter and as Markdown in a terminal. The
comparisons of each figure are in :mod:`.sweeps` (Fig 1, Fig 2, the step-size threshold) and
:mod:`.images` (Fig 3, Fig 4); :mod:`.audit` says where each experiment sits against the
theorem's hypotheses, and :mod:`.findings` collects everything for the findings page.
"""
from . import audit, findings, images, sweeps
from .claims import (
                     AGREES,
                     BEYOND,
                     DEPENDS,
                     DISAGREES,
                     ERRATUM,
                     FINDING_STATUSES,
                     NOT_TESTABLE,
                     NOT_TESTED,
                     VERDICTS,
                     WITHIN,
                     Claim,
                     ClaimTable,
                     Reading,
                     Table,
                     claims_by_key,
                     decide,
                     decide_direction,
                     settle,
)

__all__ = ["Table", "Claim", "ClaimTable", "Reading", "settle", "claims_by_key", "decide", "decide_direction",
           "VERDICTS", "FINDING_STATUSES", "AGREES", "WITHIN", "DISAGREES", "NOT_TESTED", "NOT_TESTABLE", "BEYOND",
           "ERRATUM", "DEPENDS", "audit", "findings", "images", "sweeps"]
