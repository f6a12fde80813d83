"""The row types of the book's tables: :class:`Table`, :class:`Claim` and :class:`ClaimTable`."""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Table", "Claim", "ClaimTable", "claims_by_key"]


class Table:
    """Rows (dicts, or sequences with ``columns``) shown as a table: HTML in the book and in
    Jupyter (the book renders Markdown outputs as CommonMark, which has no tables), Markdown
    with ``str()``.

    ``columns`` defaults to the keys of the first row. Cells are written with ``str``;
    HTML is escaped, and ``|`` and newlines are escaped in Markdown.
    """

    def __init__(self, rows, columns=None):
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

    def to_markdown(self) -> str:
        esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines = ["| " + " | ".join(esc(c) for c in self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(esc(x) for x in c) + " |" for c in self.cells]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in c) + "</tr>"
                       for c in self.cells)
        return f'<table class="table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

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
    """

    key: str
    claim: str
    paper: str
    measured: str
    agree: str
    value: float | None = None
    values: dict = field(default_factory=dict)

    _COLUMNS = {"claim": "claim", "paper says": "paper", "we measure": "measured", "agree?": "agree"}

    def row(self) -> dict:
        """The row of a table: ``{"claim", "paper says", "we measure", "agree?"}``."""
        return {col: getattr(self, attr) for col, attr in self._COLUMNS.items()}

    def __getitem__(self, column: str):
        """``claim["agree?"]`` and the other column names of :meth:`row`."""
        try:
            return getattr(self, self._COLUMNS[column])
        except KeyError:
            raise KeyError(f"no column {column!r}; accepted: {list(self._COLUMNS)}") from None


class ClaimTable(Table):
    """Claims (or rows with their four columns) shown as a table: HTML in the book, Markdown
    with ``str()``. ``columns`` may drop the ``"claim"`` column where it repeats ``"paper says"``."""

    COLUMNS = ("claim", "paper says", "we measure", "agree?")

    def __init__(self, claims, columns=COLUMNS):
        claims = list(claims)
        rows = [c.row() if isinstance(c, Claim) else c for c in claims]
        super().__init__(rows, list(columns))
        self.claims = claims


def claims_by_key(claims) -> dict:
    """``{claim.key: claim}`` (the keys must be distinct)."""
    out = {}
    for c in claims:
        if c.key in out:
            raise ValueError(f"two claims share the key {c.key!r}")
        out[c.key] = c
    return out
