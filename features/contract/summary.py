"""The printed summary of a load: rows read, kept and rejected per table, problems, notes and warnings."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from features.contract.report import UNREADABLE_FILE, Problem, ValidationReport
from features.contract.schemas import REQUIRED_TABLES, TABLES


def print_summary(
    console: Console,
    report: ValidationReport,
    missing_tables: list[str],
    warnings: list[str],
    rejects_path: Path,
) -> None:
    """Print the summary of a load.

    Problems that stop the load are not repeated here: they make the message of the
    :class:`~features.contract.report.ContractError` that follows.

    Args:
        console: where to print.
        report: the report of the load.
        missing_tables: contract tables absent from the folder.
        warnings: warnings to show (always printed).
        rejects_path: the rejects folder.

    """
    console.print(_counts_table(report))
    if report.row_problems:
        console.print(_problems_table(report.row_problems))
    if any(t.rows_rejected for t in report.tables.values()):
        console.print(f"Rejected rows and their reasons: {escape(str(rejects_path))}/<table>.csv")
    optional = [t for t in missing_tables if t not in REQUIRED_TABLES]  # a required one is the error below
    if optional:
        absent = ", ".join(optional)
        console.print(f"Tables absent (the feature groups reading them are left out): {escape(absent)}")
    for note in report.notes:
        console.print(f"[dim]note:[/] {escape(note)}")
    for warning in warnings:
        console.print(f"[bold yellow]WARNING:[/] {escape(warning)}")


def _counts_table(report: ValidationReport) -> Table:
    unreadable = {p.table for p in report.fatal if p.rule == UNREADABLE_FILE}
    table = Table(title="Raw data contract: rows per table")
    for header in ("table", "file", "read", "kept", "rejected", "rejected %"):
        table.add_column(header, justify="left" if header in ("table", "file") else "right")
    for name in TABLES:
        counts = report.tables.get(name)
        if counts is None:
            continue
        source = counts.source.name if counts.source else "-"
        if name in unreadable:
            table.add_row(escape(name), escape(source), "unreadable", "-", "-", "-", style="bold red")
            continue
        numbers = (counts.rows_read, counts.rows_kept, counts.rows_rejected)
        cells = (name, source, *(f"{n:,}" for n in numbers), f"{counts.rejected_share:.2%}")
        table.add_row(*(escape(c) for c in cells), style="red" if counts.rows_rejected else None)
    return table


def _problems_table(problems: list[Problem]) -> Table:
    table = Table(title="Rejected rows by rule (row numbers: 1-based data rows of the file)")
    for header in ("table", "column", "rule", "count", "first rows"):
        table.add_column(header, overflow="fold", justify="right" if header == "count" else "left")
    for problem in problems:
        rows = ", ".join(str(r) for r in problem.rows) + (
            ", ..." if problem.count > len(problem.rows) else ""
        )
        cells = (problem.table, problem.column, problem.rule, f"{problem.count:,}", rows)
        table.add_row(*(escape(c) for c in cells))
    return table
