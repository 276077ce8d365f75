"""What a load found: problems, per-table counts, and the error that stops a load."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MAX_ROWS_SHOWN = 10
"""How many row numbers a problem keeps (the first ones)."""

# Rules of problems that stop a load on their own (table- or file-level, no row numbers).
MISSING_TABLE = "missing_table"
MISSING_COLUMN = "missing_column"
DUPLICATE_COLUMN = "duplicate_column"
DUPLICATE_TABLE = "duplicate_table"
UNREADABLE_FILE = "unreadable_file"
MISSING_FOLDER = "missing_folder"
REJECTS_THRESHOLD = "rejects_threshold"
NO_ROWS = "no_rows"


@dataclass(frozen=True)
class Problem:
    """One broken rule.

    Attributes:
        table: table name.
        column: column name (``""`` for a table-level problem; ``a+b`` for a rule on several columns).
        rule: the rule broken, e.g. ``not_null``, ``unique``, ``type: int``, ``allowed: a|b``, ``>= 0``,
            ``fk -> accounts.account_id``, ``closed_at >= opened_at``, ``list_format``, or one of the
            table-level rules (``missing_table``, ``missing_column``, ``unreadable_file``, ...).
        count: number of rows breaking it (0 for table-level problems).
        rows: the first row numbers breaking it (at most :data:`MAX_ROWS_SHOWN`): 1-based data row numbers
            of the file, row 1 being the first row after the CSV header (or the first Parquet row).
        detail: human explanation: what went wrong for table-level problems, what a valid value looks like
            for type problems (empty otherwise).
        fatal: the problem stops the load by itself (missing table or column, unreadable file, threshold).
        example: one offending value with its row (``data row 1 holds '26/04/2017'``), for type problems
            of columns that do not describe people.

    """

    table: str
    column: str
    rule: str
    count: int
    rows: list[int] = field(default_factory=list)
    detail: str = ""
    fatal: bool = False
    example: str = ""

    def describe(self) -> str:
        """One line for people.

        Returns:
            E.g. ``accounts.segment [allowed: enterprise|mid-market|smb]: 2 rows (data rows 3, 7)``, or
            ``accounts.arr_usd [type: float]: 1 row (data rows 2); expected a finite number; data row 2
            holds '$12,000'``.

        """
        where = f"{self.table}.{self.column}" if self.column else self.table
        if self.fatal:
            return f"{where} [{self.rule}]: {self.detail}" if self.detail else f"{where} [{self.rule}]"
        shown = ", ".join(str(r) for r in self.rows)
        more = ", ..." if self.count > len(self.rows) else ""
        noun = "row" if self.count == 1 else "rows"
        hint = f"; expected {self.detail}" if self.detail else ""
        example = f"; {self.example}" if self.example else ""
        return f"{where} [{self.rule}]: {self.count:,} {noun} (data rows {shown}{more}){hint}{example}"


@dataclass
class TableReport:
    """Counts of one table.

    Attributes:
        table: table name.
        source: the file read.
        rows_read: data rows in the file.
        rows_kept: rows returned.
        rows_rejected: rows written to the rejects file and left out.
        rejects_file: the rejects file, when rows were rejected and it was written.

    """

    table: str
    source: Path | None
    rows_read: int = 0
    rows_kept: int = 0
    rows_rejected: int = 0
    rejects_file: Path | None = None

    @property
    def rejected_share(self) -> float:
        """Share of rows rejected (0 for an empty table)."""
        return self.rows_rejected / self.rows_read if self.rows_read else 0.0


@dataclass
class ValidationReport:
    """Everything a load found.

    Attributes:
        tables: per-table counts, in contract order, for the tables present.
        problems: every problem, table-level (``fatal``) and row-level.
        notes: checks that were skipped (a referenced table is absent) and files that were ignored.

    """

    tables: dict[str, TableReport] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def fatal(self) -> list[Problem]:
        """Problems that stop the load."""
        return [p for p in self.problems if p.fatal]

    @property
    def row_problems(self) -> list[Problem]:
        """Problems that reject rows."""
        return [p for p in self.problems if not p.fatal]


class ContractError(Exception):
    """The raw data breaks the contract in a way that stops the run.

    Its message lists every problem found (those that stop the run first, then the row problems).

    Attributes:
        problems: every problem found.
        report: the report of the load, when it got that far.

    """

    def __init__(self, problems: list[Problem], report: ValidationReport | None = None) -> None:
        self.problems = problems
        self.report = report
        super().__init__(format_problems(problems))


def format_problems(problems: list[Problem]) -> str:
    """Message listing every problem.

    Args:
        problems: the problems, in any order.

    Returns:
        A multi-line message, stopping problems first.

    """
    fatal = [p for p in problems if p.fatal]
    rows = [p for p in problems if not p.fatal]
    lines = [f"the raw data breaks the data contract ({len(fatal)} problem(s) stop the run):"]
    lines += [f"  - {p.describe()}" for p in fatal]
    if rows:
        lines.append("row problems (row numbers are 1-based data rows of the file, header excluded):")
        lines += [f"  - {p.describe()}" for p in rows]
    return "\n".join(lines)
