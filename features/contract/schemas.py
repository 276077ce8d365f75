"""The raw data contract (v1) as data: tables, their columns, types and rules.

Other code reads these specs to learn which columns exist, which are required or optional, and what dtype the
loader returns for each (see :func:`output_dtype`). The validator builds its pandera schemas from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pandas as pd
import pyarrow as pa

LIST_SEPARATOR = ";"
"""Separator of the IDs of a list column in a CSV field."""

LIST_TYPE = pa.list_(pa.string())
"""Arrow type of a list column (``internal_participants``, ``external_participants``)."""


class Kind(StrEnum):
    """Logical type of a contract column."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"
    LIST = "list[str]"


@dataclass(frozen=True)
class ForeignKey:
    """A reference to the key column of another (or the same) table.

    Attributes:
        table: the referenced table.
        column: its key column.
        cascade: a row referring to a *rejected* row of the referenced table is rejected too. True for
            references to ``accounts`` (every such row describes an account the run cannot use). False for
            references to people (employees, contacts): the reference must exist in the file, and rows
            referring to a rejected person are kept and counted in a note, so that one bad person row does
            not take whole tables with it.

    """

    table: str
    column: str
    cascade: bool = False

    @property
    def label(self) -> str:
        """``table.column``, as used in rule names."""
        return f"{self.table}.{self.column}"


@dataclass(frozen=True)
class ColumnSpec:
    """One contract column.

    Attributes:
        name: column name, lower case, exactly as in the file.
        kind: logical type.
        required: the column must be in the file (a missing required column stops the load).
        nullable: values may be missing. Optional columns are nullable.
        unique: values must be unique within the table.
        allowed: closed set of allowed values (empty: any value).
        ge: smallest allowed value (inclusive), for numbers.
        le: largest allowed value (inclusive), for numbers.
        references: the value (or, for a list column, each element) must be a key of one of these.
        default: value filled in where the column is absent or a value is missing.
        fill_if_absent: an absent optional column is added, filled with NA (or ``default``).
        iana_timezone: values must be IANA time-zone names.
        event_stamp: the table's event stamp; the data's time span is taken over these, and a row stamped
            more than a day after the load is kept with a note but left out of the span (a row from the
            future would stretch it, and with it the snapshots whose labels count as seen).
        description: what the column means.

    """

    name: str
    kind: Kind
    required: bool = True
    nullable: bool = False
    unique: bool = False
    allowed: tuple[str, ...] = ()
    ge: float | None = None
    le: float | None = None
    references: tuple[ForeignKey, ...] = ()
    default: str | None = None
    fill_if_absent: bool = True
    iana_timezone: bool = False
    event_stamp: bool = False
    description: str = ""


@dataclass(frozen=True)
class OrderRule:
    """Row rule ``later >= earlier``, checked where both values are present."""

    later: str
    earlier: str

    @property
    def rule(self) -> str:
        """Rule name used in problems and rejects."""
        return f"{self.later} >= {self.earlier}"


@dataclass(frozen=True)
class TableSpec:
    """One contract table."""

    name: str
    description: str
    columns: tuple[ColumnSpec, ...]
    unique_together: tuple[str, ...] = ()
    order_rules: tuple[OrderRule, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """All contract column names, in contract order."""
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns that must be in the file."""
        return tuple(c.name for c in self.columns if c.required)

    @property
    def optional_columns(self) -> tuple[str, ...]:
        """Columns that may be absent from the file."""
        return tuple(c.name for c in self.columns if not c.required)

    def column(self, name: str) -> ColumnSpec:
        """Return the spec of one column.

        Args:
            name: column name.

        Returns:
            The column spec.

        Raises:
            KeyError: not a contract column of this table.

        """
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no contract column {name!r}")


def output_dtype(col: ColumnSpec) -> object:
    """Pandas dtype of a column in the frames returned by the loader.

    Args:
        col: the column spec.

    Returns:
        ``"str"`` for IDs and text, ``"int64"`` (``"Int64"`` when nullable), ``"float64"``, ``"bool"``
        (``"boolean"`` when nullable), ``"datetime64[us]"`` (naive UTC) for dates and timestamps, and
        ``pd.ArrowDtype(list<string>)`` for list columns.

    """
    if col.kind is Kind.INT:
        return "Int64" if col.nullable else "int64"
    if col.kind is Kind.BOOL:
        return "boolean" if col.nullable else "bool"
    if col.kind in (Kind.DATE, Kind.TIMESTAMP):
        return "datetime64[us]"
    if col.kind is Kind.FLOAT:
        return "float64"
    if col.kind is Kind.LIST:
        return pd.ArrowDtype(LIST_TYPE)
    return "str"


def _fk(table: str, column: str, cascade: bool = False) -> tuple[ForeignKey, ...]:
    return (ForeignKey(table, column, cascade),)


def _optional(
    name: str,
    kind: Kind,
    *,
    ge: float | None = None,
    le: float | None = None,
    references: tuple[ForeignKey, ...] = (),
    default: str | None = None,
    iana_timezone: bool = False,
    description: str = "",
) -> ColumnSpec:
    return ColumnSpec(
        name,
        kind,
        required=False,
        nullable=True,
        ge=ge,
        le=le,
        references=references,
        default=default,
        iana_timezone=iana_timezone,
        description=description,
    )


ACCOUNT = _fk("accounts", "account_id", cascade=True)
EMPLOYEE = _fk("employees", "employee_id")
CONTACT = _fk("contacts", "contact_id")

RECORDED_AT = ColumnSpec(
    "recorded_at",
    Kind.TIMESTAMP,
    required=False,
    nullable=True,
    fill_if_absent=False,
    description="When the row became known (optional on every table; kept only when the file has it).",
)

_S, _I, _F, _B, _D, _T, _L = Kind.STR, Kind.INT, Kind.FLOAT, Kind.BOOL, Kind.DATE, Kind.TIMESTAMP, Kind.LIST

ACCOUNTS = TableSpec(
    "accounts",
    "One row per customer account; extra columns are the user's custom attributes.",
    (
        ColumnSpec("account_id", _S, unique=True),
        ColumnSpec("name", _S),
        ColumnSpec("industry", _S),
        ColumnSpec("segment", _S, allowed=("enterprise", "mid-market", "smb")),
        ColumnSpec("region", _S),
        ColumnSpec("employee_count", _I, ge=0),
        ColumnSpec("customer_since", _D),
        ColumnSpec("arr_usd", _F, ge=0),
        ColumnSpec("plan", _S),
        _optional("owner_id", _S, references=EMPLOYEE, description="Seller."),
        _optional("csm_id", _S, references=EMPLOYEE, description="Customer success manager."),
        RECORDED_AT,
    ),
)

CONTACTS = TableSpec(
    "contacts",
    "People on the customer's side.",
    (
        ColumnSpec("contact_id", _S, unique=True),
        ColumnSpec("account_id", _S, references=ACCOUNT),
        ColumnSpec("title", _S),
        ColumnSpec("seniority", _S, allowed=("executive", "manager", "individual")),
        ColumnSpec("is_decision_maker", _B),
        RECORDED_AT,
    ),
)

EMPLOYEES = TableSpec(
    "employees",
    "People on our side.",
    (
        ColumnSpec("employee_id", _S, unique=True),
        ColumnSpec(
            "role", _S, allowed=("seller", "csm", "engineer", "support", "manager", "executive", "other")
        ),
        _optional("manager_id", _S, references=EMPLOYEE),
        ColumnSpec("team", _S),
        ColumnSpec("hired_at", _D),
        _optional("timezone", _S, default="UTC", iana_timezone=True),
        RECORDED_AT,
    ),
)

INTERACTIONS = TableSpec(
    "interactions",
    "One row per email, meeting, call or chat (internal-only ones included).",
    (
        ColumnSpec("interaction_id", _S, unique=True),
        ColumnSpec("kind", _S, allowed=("email", "meeting", "call", "chat")),
        ColumnSpec("started_at", _T, event_stamp=True),
        ColumnSpec("duration_minutes", _F, ge=0),
        ColumnSpec("organizer_id", _S, references=EMPLOYEE + CONTACT),
        ColumnSpec("internal_participants", _L, references=EMPLOYEE),
        ColumnSpec("external_participants", _L, references=CONTACT),
        RECORDED_AT,
    ),
)

TICKETS = TableSpec(
    "tickets",
    "Support cases.",
    (
        ColumnSpec("ticket_id", _S, unique=True),
        ColumnSpec("account_id", _S, references=ACCOUNT),
        ColumnSpec("opened_at", _T, event_stamp=True),
        _optional("closed_at", _T),
        ColumnSpec("severity", _I, ge=1, le=4),
        ColumnSpec("escalated", _B),
        ColumnSpec("reopened_count", _I, ge=0),
        RECORDED_AT,
    ),
    order_rules=(OrderRule("closed_at", "opened_at"),),
)

USAGE = TableSpec(
    "usage",
    "Product telemetry, one row per account per day or per week.",
    (
        ColumnSpec("account_id", _S, references=ACCOUNT),
        ColumnSpec("date", _D, event_stamp=True),
        ColumnSpec("active_users", _I, ge=0),
        ColumnSpec("licensed_seats", _I, ge=0),
        ColumnSpec("key_feature_events", _I, ge=0),
        RECORDED_AT,
    ),
    unique_together=("account_id", "date"),
)

INVOICES = TableSpec(
    "invoices",
    "Invoices; an invoice is due and paid on or after the day it is issued.",
    (
        ColumnSpec("invoice_id", _S, unique=True),
        ColumnSpec("account_id", _S, references=ACCOUNT),
        ColumnSpec("issued_at", _D, event_stamp=True),
        ColumnSpec("due_at", _D),
        _optional("paid_at", _D),
        ColumnSpec("amount_usd", _F),
        RECORDED_AT,
    ),
    order_rules=(OrderRule("due_at", "issued_at"), OrderRule("paid_at", "issued_at")),
)

SURVEYS = TableSpec(
    "surveys",
    "CSAT / NPS responses (the CSAT label).",
    (
        ColumnSpec("response_id", _S, unique=True),
        ColumnSpec("account_id", _S, references=ACCOUNT),
        _optional("contact_id", _S, references=CONTACT),
        ColumnSpec("responded_at", _T, event_stamp=True),
        ColumnSpec("csat", _I, ge=1, le=5),
        _optional("nps", _I, ge=0, le=10),
        RECORDED_AT,
    ),
)

RENEWALS = TableSpec(
    "renewals",
    "Contract outcomes (the churn label).",
    (
        ColumnSpec("account_id", _S, references=ACCOUNT),
        ColumnSpec("renewal_date", _D, event_stamp=True),
        ColumnSpec("outcome", _S, allowed=("renewed", "churned", "expanded", "contracted")),
        ColumnSpec("arr_change_usd", _F),
        RECORDED_AT,
    ),
)

TABLE_SPECS: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (ACCOUNTS, CONTACTS, EMPLOYEES, INTERACTIONS, TICKETS, USAGE, INVOICES, SURVEYS, RENEWALS)
}
"""Every contract table, in contract order."""

TABLES: tuple[str, ...] = tuple(TABLE_SPECS)
"""Contract table names, in contract order."""

REQUIRED_TABLES: tuple[str, ...] = ("accounts",)
"""Tables that must be present."""

LABEL_TABLES: tuple[str, ...] = ("surveys", "renewals")
"""At least one of these must be present."""

PEOPLE_TABLES: tuple[str, ...] = ("contacts", "employees")
"""Tables whose rows are people (the customer's contacts, our employees)."""

FILE_FORMATS: tuple[str, ...] = ("csv", "parquet")
"""Accepted file suffixes (``accounts.csv`` or ``accounts.parquet``)."""


def describes_people(table: str, col: ColumnSpec) -> bool:
    """Whether a column's values describe or name people, so that no message or log may echo them.

    Every column of a people table (:data:`PEOPLE_TABLES`), and every column pointing at people (a CSM, an
    organizer, participants, a survey's contact): collaboration data describes individuals, and nothing the
    service prints or logs may identify one.

    Args:
        table: the table.
        col: one of its columns.

    Returns:
        True for a column about people.

    """
    return table in PEOPLE_TABLES or any(fk.table in PEOPLE_TABLES for fk in col.references)


def validation_order() -> tuple[str, ...]:
    """Tables ordered so that every referenced table comes before the tables referring to it.

    Returns:
        Table names; self-references (``employees.manager_id``) are ignored for the ordering.

    """
    order: list[str] = []
    pending = list(TABLES)
    while pending:
        for name in pending:
            deps = {fk.table for c in TABLE_SPECS[name].columns for fk in c.references} - {name}
            if deps <= set(order):
                order.append(name)
                pending.remove(name)
                break
        else:  # pragma: no cover - the contract has no reference cycle
            raise RuntimeError(f"reference cycle among {pending}")
    return tuple(order)
