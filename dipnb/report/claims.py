"""The row types of the book's tables: :class:`Table`, :class:`Claim` and :class:`ClaimTable`."""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Table", "Claim", "ClaimTable", "claims_by_key", "AGREES", "WITHIN", "DISAGREES",
           "NOT_TESTED", "NOT_TESTABLE", "BEYOND", "ERRATUM", "VERDICTS", "FINDING_STATUSES", "DEPENDS", "decide",
           "decide_direction", "Reading", "settle", "verdict_kind",
           "BADGE_COLOURS", "headline", "badge_html", "evidence_html", "verdict_html"]

#: The verdicts of a claim (the rules are on the book's findings page, "How a verdict is decided").
AGREES = "agrees"
#: A difference within the uncertainty plus half a grid step (rule 4).
WITHIN = "agrees within resolution"
#: A difference beyond it, at the paper's reading and under every reasonable reading of ours.
DISAGREES = "disagrees"
#: Our run is not at the paper's setting (rule 7).
NOT_TESTED = "not tested at the paper's setting"
#: The paper leaves the claim without a number to test (e.g. its unnamed constants C, C').
NOT_TESTABLE = "not testable"
#: Our own hypothesis, not a claim of the paper.
BEYOND = "beyond the paper"
#: A slip in the statement, not a claim about numbers.
ERRATUM = "erratum"
#: Every verdict, in the order above.
VERDICTS = (AGREES, WITHIN, DISAGREES, NOT_TESTED, NOT_TESTABLE, BEYOND, ERRATUM)
#: What a finding rests on: a derivation in the book, a measurement, or a choice of ours.
FINDING_STATUSES = ("proved", "numerical", "depends on our choices")
#: The status of a claim whose verdict changes between reasonable readings of our own choices
#: (rule 9), or that rests on a choice of ours the paper leaves open.
DEPENDS = FINDING_STATUSES[2]


def decide(measured, paper, tolerance: float, interval=None, resolution: float = 0.0) -> str:
    """The verdict on a numeric claim (e.g. a width in decades), fixed before looking at data.

    * :data:`AGREES` when ``|measured - paper| <= tolerance`` (how precisely the paper's
      number can be read, e.g. half a decade off a heat map);
    * :data:`WITHIN` when it does not, but the paper's value lies within the measured
      ``interval`` (bootstrap, Wilson) widened by half the grid ``resolution``, or the
      difference is below ``tolerance`` plus half a grid step: the data cannot tell them apart;
    * :data:`DISAGREES` otherwise. A measurement that does not exist (NaN: the level is
      never reached on the grid) gives :data:`NOT_TESTABLE`.
    """
    if measured is None or not math.isfinite(float(measured)):
        return NOT_TESTABLE
    measured, paper = float(measured), float(paper)
    if abs(measured - paper) <= tolerance + 1e-12:
        return AGREES
    half = resolution / 2
    lo, hi = interval if interval is not None else (measured, measured)
    if lo - half <= paper <= hi + half or abs(measured - paper) <= tolerance + half + 1e-12:
        return WITHIN
    return DISAGREES


def decide_direction(values, intervals=None, decreasing: bool = True, resolution: float = 0.0,
                     reversed_steps=()) -> str:
    """The verdict on a claim of direction ("γ gets smaller as n grows") over an ordered list.

    ``values`` are the point estimates in the claimed order, ``intervals`` their ``(low,
    high)``. :data:`AGREES` when the last lies beyond the first by more than both intervals
    (widened by half the grid ``resolution``) and no step goes the other way by more than
    its intervals; :data:`DISAGREES` when some step goes significantly the other way, or the
    last is significantly on the wrong side of the first; :data:`WITHIN` otherwise (the
    estimates may follow the claim but the intervals overlap). ``reversed_steps``: indices i of
    steps (i to i + 1) that another test found going significantly the other way (e.g. the
    probabilities at one γ, with disjoint Wilson intervals): any gives :data:`DISAGREES`.
    Fewer than two finite values: :data:`NOT_TESTABLE`.
    """
    sign = -1.0 if decreasing else 1.0
    pts = [(float(v), iv) for v, iv in zip(values, intervals if intervals is not None else [None] * len(values))
           if v is not None and math.isfinite(float(v))]
    if len(pts) < 2:
        return NOT_TESTABLE
    half = resolution / 2

    def span(v, iv):
        return (v, v) if iv is None else (float(iv[0]), float(iv[1]))

    def beyond(a, b):          # b lies beyond a in the claimed direction, significantly
        (alo, ahi), (blo, bhi) = span(*a), span(*b)
        return (bhi + half < alo - half) if sign < 0 else (blo - half > ahi + half)

    if (any(beyond(pts[i + 1], pts[i]) for i in range(len(pts) - 1)) or beyond(pts[-1], pts[0])
            or len(reversed_steps) > 0):
        return DISAGREES
    return AGREES if beyond(pts[0], pts[-1]) else WITHIN


def verdict_kind(verdict: str) -> str:
    """What a verdict says, for comparing readings: "agrees" (:data:`AGREES`, :data:`WITHIN`),
    "disagrees", "open" (:data:`NOT_TESTED`, :data:`NOT_TESTABLE`), or the verdict itself."""
    return {AGREES: "agrees", WITHIN: "agrees", DISAGREES: "disagrees", NOT_TESTED: "open",
            NOT_TESTABLE: "open"}.get(verdict, verdict)


@dataclass
class Reading:
    """One reasonable reading of a choice that is ours, not the paper's (rule 9 of the verdicts):
    a level at which a probability map is read, a criterion we fixed (a PSNR bar), a budget,
    an operator the paper leaves open, which saved run is read.

    Attributes
    ----------
    name : str
        The reading, e.g. ``"first failure"``, ``"half the runs"``, ``"40 dB at the last step"``.
    verdict : str
        One of :data:`VERDICTS`: the verdict the claim gets under this reading.
    measured : str
        What is measured under this reading, in a few words.
    paper : bool
        Whether this is the reading the paper's own words imply (exactly one per claim).
    """

    name: str
    verdict: str
    measured: str = ""
    paper: bool = False


def settle(claim: Claim, readings, why: str) -> Claim:
    """Rule 9: the headline verdict of ``claim`` is its verdict under the reading the paper's
    words imply (``why`` says in one phrase why that reading is the paper's); when two readings
    decide differently (one agrees, another disagrees: :func:`verdict_kind`), the claim's status
    is :data:`DEPENDS` and its "agree?" cell shows each reading's verdict. A claim is "robust"
    (:attr:`Claim.robust`) when no two readings decide differently (a reading under which the
    claim is not tested contradicts nothing); the findings page lists a disagreement only when
    it is robust."""
    readings = list(readings)
    paper = [r for r in readings if r.paper]
    if len(paper) != 1:
        raise ValueError(f"exactly one reading must be the paper's; got {len(paper)} of {len(readings)} "
                         f"({[r.name for r in readings]})")
    if any(r.verdict not in VERDICTS for r in readings):
        raise ValueError(f"unknown verdicts {[r.verdict for r in readings if r.verdict not in VERDICTS]}; "
                         f"accepted: {list(VERDICTS)}")
    head = paper[0]
    claim.readings, claim.why, claim.verdict = readings, why, head.verdict
    others = "; ".join(f"{r.name}: {r.verdict}" for r in readings if not r.paper)
    claim.agree = f"{head.verdict} at {head.name} ({why})"
    if not claim.robust:
        claim.status = DEPENDS
        claim.agree += f"; {DEPENDS}: {others}"
    elif others:
        claim.agree += f"; no other reading contradicts it ({others})"
    return claim


class Table:
    """Rows (dicts, or sequences with ``columns``) shown as a table: HTML in the book and in
    Jupyter (the book renders Markdown outputs as CommonMark, which has no tables), Markdown
    with ``str()``.

    ``columns`` defaults to the keys of the first row. Cells are written with ``str``;
    HTML is escaped, and ``|`` and newlines are escaped in Markdown.
    """

    def __init__(self, rows, columns=None, raw=()):
        self.raw = set(raw)          # columns whose cells are trusted HTML (links), not escaped
        rows = list(rows)
        if columns is None:
            if not rows or not isinstance(rows[0], dict):
                raise ValueError("Table needs `columns` unless rows are non-empty dicts")
            columns = list(rows[0])
        self.columns = list(columns)
        missing = sorted({c for r in rows if isinstance(r, dict) for c in self.columns if c not in r})
        if missing:
            raise ValueError(f"every row needs the columns {self.columns}; missing {missing}")
        self.cells = [[r[c] for c in self.columns] if isinstance(r, dict) else list(r) for r in rows]
        for i, c in enumerate(self.cells):
            if len(c) != len(self.columns):
                raise ValueError(f"row {i} has {len(c)} cells; accepted: {len(self.columns)} (the columns)")

    @classmethod
    def by_run(cls, columns: dict, digits: int = 4) -> Table:
        """One row per run from per-run columns ``{name: array of shape (R,) or scalar}``: a
        first column ``run``, numbers to ``digits`` significant digits, booleans as yes/no,
        strings as they are. A scalar column is repeated on every row."""
        def cell(v):
            if isinstance(v, str):
                return v
            if isinstance(v, (bool, np.bool_)):
                return "yes" if v else "no"
            return f"{v:.{digits}g}"

        values = {key: np.atleast_1d(np.asarray(v)).tolist() for key, v in columns.items()}
        runs = max(len(v) for v in values.values())
        bad = {key: len(v) for key, v in values.items() if len(v) not in (1, runs)}
        if bad:
            raise ValueError(f"every column needs {runs} values (one per run) or one; got {bad}")
        values = {key: v * runs if len(v) == 1 else v for key, v in values.items()}
        return cls([[r] + [cell(v[r]) for v in values.values()] for r in range(runs)],
                   columns=["run"] + list(values))

    def to_markdown(self) -> str:
        esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines = ["| " + " | ".join(esc(c) for c in self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(esc(x) for x in c) + " |" for c in self.cells]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        raw = [col in self.raw for col in self.columns]
        return fixed_table_html(self.columns, [[x if r else html.escape(str(x)) for x, r in zip(c, raw)]
                                               for c in self.cells], css="table")

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    __str__ = to_markdown


@dataclass
class Claim:
    """One claim of the paper against our measurement.

    Attributes
    ----------
    key : str
        A stable name, e.g. ``"fig1.conv_m2"`` (chapters look claims up by it).
    claim, paper, measured, agree : str
        The row as the table shows it: the claim, what the paper says, what we measure, the verdict.
    value : float or None
        The headline number of ``measured`` (e.g. :math:`\\log_{10}` of a width).
    values : dict
        Other numbers that ``measured`` quotes or that a chapter's prose needs, by name.
    interval : (float, float) or None
        The uncertainty of ``value`` (a Wilson interval for a probability, a bootstrap
        interval for a threshold or a slope).
    resolution : float or None
        The grid step of the reading (e.g. 0.25 decades of k).
    level : str
        How the number is read off the data (e.g. "P >= 0.98: all runs but at most one").
    verdict : str
        One of :data:`VERDICTS` (empty for rows written before the verdict rules).
    setting : str
        How our run differs from the paper's setting (empty when it does not).
    command : str
        The command that would settle the claim at the paper's full size.
    status : str
        One of :data:`FINDING_STATUSES`: what a disagreement rests on.
    readings : list of Reading
        The verdict under each reasonable reading of our own choices (:func:`settle`); empty
        for a claim that involves no such choice.
    why : str
        Why the headline reading is the paper's, in one phrase.
    """

    key: str
    claim: str
    paper: str
    measured: str
    agree: str
    value: float | None = None
    values: dict = field(default_factory=dict)
    interval: tuple | None = None
    resolution: float | None = None
    level: str = ""
    verdict: str = ""
    setting: str = ""
    command: str = ""
    status: str = ""
    readings: list = field(default_factory=list)
    why: str = ""

    _COLUMNS = {"claim": "claim", "paper says": "paper", "we measure": "measured", "agree?": "agree"}

    @property
    def robust(self) -> bool:
        """Whether no two readings of our own choices give contrary verdicts (:func:`settle`): every
        reading that decides (agrees or disagrees) decides the same way; a reading under which the
        claim is not tested contradicts nothing. True for a claim without readings."""
        return len({verdict_kind(r.verdict) for r in self.readings} - {"open"}) <= 1

    def row(self) -> dict:
        """The row of a table: ``{"claim", "paper says", "we measure", "agree?"}``."""
        return {col: getattr(self, attr) for col, attr in self._COLUMNS.items()}

    def __getitem__(self, column: str):
        """``claim["agree?"]`` and the other column names of :meth:`row`."""
        try:
            return getattr(self, self._COLUMNS[column])
        except KeyError:
            raise KeyError(f"no column {column!r}; accepted: {list(self._COLUMNS)}") from None


#: The colour of each verdict's badge (its background; the text is white, at a contrast of
#: at least 4.5:1, WCAG AA, against each of them): disagreements red, agreements green, untested
#: grey, errata amber, our own hypotheses blue.
BADGE_COLOURS = {AGREES: "#1a7f37", WITHIN: "#2f7d4a", DISAGREES: "#b42318", NOT_TESTED: "#5c6570",
                 NOT_TESTABLE: "#5c6570", BEYOND: "#0a58b8", ERRATUM: "#8a5a00"}

_BADGE_STYLE = ("display:inline-block;padding:0.05em 0.5em;border-radius:0.8em;font-size:0.85em;"
                "font-weight:600;line-height:1.5;white-space:nowrap;color:#fff;background:{}")
_STATUS_STYLE = ("display:inline-block;padding:0 0.45em;border:1px solid currentColor;border-radius:0.8em;"
                 "font-size:0.8em;line-height:1.5;white-space:nowrap;opacity:0.8")
#: A measurement shorter than this (in characters) is shown whole, not folded.
ONE_LINE_CHARS = 60
#: One line, cut with an ellipsis where it is longer than its cell (the whole text is folded under it).
_ONE_LINE = "white-space:nowrap;overflow:hidden;text-overflow:ellipsis;cursor:pointer"


def headline(text: str) -> tuple[str, str]:
    """``text`` split at its first ``"; "`` outside brackets: ``(head, rest)``, where ``rest`` is
    empty when there is no such break. A measurement's first clause is its headline."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth <= 0 and text.startswith("; ", i):
            return text[:i], text[i + 2:]
    return text, ""


def badge_html(verdict: str, status: str = "") -> str:
    """The verdict as a coloured badge (:data:`BADGE_COLOURS`), with ``status`` beside it as an
    outlined chip; a verdict that is not one of :data:`VERDICTS` is shown as plain text."""
    out = html.escape(verdict)
    if verdict in BADGE_COLOURS:
        slug = verdict.split()[0].replace("'", "")
        out = (f'<span class="dipnb-verdict dipnb-verdict-{slug}" '
               f'style="{_BADGE_STYLE.format(BADGE_COLOURS[verdict])}">{out}</span>')
    if status:
        out += f' <span class="dipnb-status" style="{_STATUS_STYLE}">{html.escape(status)}</span>'
    return out


def evidence_html(text: str, more: str = "") -> str:
    """A measurement on one line (its :func:`headline`, cut with an ellipsis where it is longer
    than its cell) with the whole text, its intervals and ``more`` folded under it."""
    head = headline(text)[0]
    if len(text) <= ONE_LINE_CHARS and not more:
        return html.escape(text)
    body = "".join(f"<p style=\"margin:0.3em 0\">{html.escape(t)}</p>" for t in (text, more) if t)
    return (f'<details class="dipnb-evidence"><summary style="{_ONE_LINE}" title="{html.escape(head)}">'
            f"{html.escape(head)}</summary>{body}</details>")


def verdict_html(claim: Claim, text: str = "", status: str | None = None) -> str:
    """A claim's verdict as a badge with its status beside it (``status``; default: the claim's,
    else :data:`DEPENDS` when a reading of our choices contradicts the headline), and ``text``, the
    verdict in words (default ``claim.agree``), folded under it when it says more than the badge."""
    text = text or claim.agree
    if status is None:
        status = claim.status or ("" if claim.robust or not claim.readings else DEPENDS)
    out = badge_html(claim.verdict or text, status)
    if text and text != claim.verdict:
        out += f'<details><summary>why</summary><p style="margin:0.3em 0">{html.escape(text)}</p></details>'
    return out


def fixed_table_html(columns, rows, widths=None, css: str = "table dipnb-claims") -> str:
    """An HTML table (class ``css``) of cells already written as HTML, with fixed column ``widths``
    if given (percentages: a one-line cell is cut to its column instead of widening it)."""
    cols = "" if widths is None else "<colgroup>" + "".join(f'<col style="width:{w}%">' for w in widths) + "</colgroup>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{x}</td>" for x in row) + "</tr>" for row in rows)
    style = "" if widths is None else ' style="table-layout:fixed;width:100%"'
    return f'<table class="{css}"{style}>{cols}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


class ClaimTable(Table):
    """Claims (or rows with their four columns) shown as a table: HTML in the book, Markdown
    with ``str()``. ``columns`` may drop the ``"claim"`` column where it repeats ``"paper says"``."""

    COLUMNS = ("claim", "paper says", "we measure", "agree?")

    def __init__(self, claims, columns=COLUMNS):
        claims = list(claims)
        rows = [c.row() if isinstance(c, Claim) else c for c in claims]
        super().__init__(rows, list(columns))
        self.claims = claims

    #: Column widths (percent) of the HTML table, by column.
    WIDTHS = {"claim": 22, "paper says": 20, "we measure": 38, "agree?": 20}

    def _repr_html_(self) -> str:
        """HTML that reads at a glance: the verdict as a coloured badge (:func:`verdict_html`), the
        measurement on one line (:func:`evidence_html`), the details of both folded under them
        (``<details>`` elements: no script needed)."""
        def cell(col, value, claim):
            text = str(value)
            if col == "we measure":
                return evidence_html(text)
            if col == "agree?" and isinstance(claim, Claim) and claim.verdict:
                return verdict_html(claim, text)
            return html.escape(text)

        widths = [self.WIDTHS.get(c, 20) for c in self.columns]
        total = sum(widths)
        rows = [[cell(col, x, claim) for col, x in zip(self.columns, row)] for row, claim in zip(self.cells, self.claims)]
        return fixed_table_html(self.columns, rows, [round(100 * w / total) for w in widths])


def claims_by_key(claims) -> dict:
    """``{claim.key: claim}`` (the keys must be distinct)."""
    out = {}
    for c in claims:
        if c.key in out:
            raise ValueError(f"two claims share the key {c.key!r}")
        out[c.key] = c
    return out
