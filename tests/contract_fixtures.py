"""A tiny, seeded world in the raw data contract, and writers for CSV and Parquet (tests only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.contract.schemas import TABLE_SPECS, Kind

TS = "datetime64[us]"


def _ts(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, format="ISO8601"), dtype=TS)


def make_world(seed: int = 7) -> dict[str, pd.DataFrame]:
    """Every contract table, small and consistent, with typed values (lists as Python lists)."""
    rng = np.random.default_rng(seed)
    employees = pd.DataFrame(
        {
            "employee_id": [f"e{i}" for i in range(1, 7)],
            "role": ["manager", "seller", "csm", "csm", "support", "engineer"],
            "manager_id": [None, "e1", "e1", "e1", "e1", "e1"],
            "team": ["lead", "sales", "cs", "cs", "support", "eng"],
            "hired_at": _ts(
                ["2019-01-07", "2020-02-03", "2020-03-02", "2021-04-05", "2021-05-03", "2022-06-06"]
            ),
            "timezone": ["UTC", "Europe/Paris", "America/New_York", "UTC", "Asia/Tokyo", "UTC"],
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4"],
            "name": ["Acme", "Globex", "Initech", "Umbrella"],
            "industry": ["retail", "energy", "software", "pharma"],
            "segment": ["enterprise", "mid-market", "smb", "smb"],
            "region": ["emea", "na", "na", "apac"],
            "employee_count": [5000, 800, 40, 15],
            "customer_since": _ts(["2019-05-01", "2020-01-15", "2021-07-01", "2022-03-10"]),
            "arr_usd": np.round(rng.uniform(1_000, 90_000, 4), 2),
            "plan": ["premium", "standard", "basic", "basic"],
            "owner_id": ["e2", "e2", "e2", None],
            "csm_id": ["e3", "e4", "e3", "e4"],
            "contract_type": ["annual", "monthly", "annual", "monthly"],
            "seats_bought": [120, 30, 5, 3],
            "discount": [0.1, 0.0, 0.25, 0.5],
            "zip_code": ["00123", "94105", "10001", "02139"],
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_id": [f"c{i}" for i in range(1, 7)],
            "account_id": ["a1", "a1", "a2", "a3", "a4", "a4"],
            "title": ["CTO", "IT lead", "CEO", "Ops", "CFO", "Analyst"],
            "seniority": ["executive", "manager", "executive", "individual", "executive", "individual"],
            "is_decision_maker": [True, False, True, False, True, False],
        }
    )
    interactions = pd.DataFrame(
        {
            "interaction_id": [f"i{i}" for i in range(1, 9)],
            "kind": ["email", "meeting", "call", "chat", "email", "meeting", "email", "meeting"],
            "started_at": _ts([f"2024-01-0{d} 0{d}:15:00" for d in range(1, 9)]),
            "duration_minutes": np.round(rng.uniform(1, 60, 8), 1),
            "organizer_id": ["e3", "e3", "c1", "e4", "e2", "e1", "c5", "e5"],
            "internal_participants": [
                ["e3"],
                ["e3", "e4"],
                ["e3"],
                ["e4"],
                ["e2", "e3"],
                ["e1", "e6"],
                [],
                ["e5"],
            ],
            "external_participants": [["c1"], ["c1", "c2"], ["c1"], ["c3"], [], [], ["c5", "c6"], ["c4"]],
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"t{i}" for i in range(1, 6)],
            "account_id": ["a1", "a2", "a2", "a3", "a4"],
            "opened_at": _ts(
                ["2024-02-01 09:00", "2024-02-02 10:00", "2024-02-03 11:00", "2024-02-04", "2024-02-05"]
            ),
            "closed_at": _ts(["2024-02-02 09:00", None, "2024-02-04 12:00", "2024-02-04 18:30", None]),
            "severity": [1, 2, 3, 4, 2],
            "escalated": [True, False, False, True, False],
            "reopened_count": [0, 1, 0, 2, 0],
        }
    )
    usage = pd.DataFrame(
        {
            "account_id": ["a1", "a1", "a2", "a2", "a3", "a4"],
            "date": _ts(["2024-01-01", "2024-01-08", "2024-01-01", "2024-01-08", "2024-01-01", "2024-01-01"]),
            "active_users": rng.integers(0, 100, 6),
            "licensed_seats": [120, 120, 30, 30, 5, 3],
            "key_feature_events": rng.integers(0, 1000, 6),
        }
    )
    invoices = pd.DataFrame(
        {
            "invoice_id": ["v1", "v2", "v3", "v4"],
            "account_id": ["a1", "a2", "a3", "a4"],
            "issued_at": _ts(["2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01"]),
            "due_at": _ts(["2024-01-31", "2024-01-31", "2024-01-31", "2024-01-31"]),
            "paid_at": _ts(["2024-01-20", None, "2024-02-10", "2024-01-05"]),
            "amount_usd": [1000.0, 250.5, -30.0, 99.99],
        }
    )
    surveys = pd.DataFrame(
        {
            "response_id": ["r1", "r2", "r3", "r4", "r5"],
            "account_id": ["a1", "a2", "a3", "a4", "a1"],
            "contact_id": ["c1", "c3", None, "c5", "c2"],
            "responded_at": _ts(["2024-03-01 12:00", "2024-03-02", "2024-03-03", "2024-03-04", "2024-03-05"]),
            "csat": [5, 3, 4, 1, 2],
            "nps": pd.array([9, None, 7, 0, 10], dtype="Int64"),
        }
    )
    renewals = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4"],
            "renewal_date": _ts(["2024-06-01", "2024-07-01", "2024-08-01", "2024-09-01"]),
            "outcome": ["renewed", "churned", "expanded", "contracted"],
            "arr_change_usd": [0.0, -12000.0, 5000.0, -300.0],
        }
    )
    return {
        "accounts": accounts,
        "contacts": contacts,
        "employees": employees,
        "interactions": interactions,
        "tickets": tickets,
        "usage": usage,
        "invoices": invoices,
        "surveys": surveys,
        "renewals": renewals,
    }


def _kind(table: str, column: str) -> Kind | None:
    spec = TABLE_SPECS[table]
    return spec.column(column).kind if column in spec.names else None


def _cell_text(value: object, kind: Kind | None) -> str:
    if value is None or (not isinstance(value, list) and pd.isna(value)):  # type: ignore[arg-type]
        return ""
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if kind is Kind.DATE:
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if kind is Kind.TIMESTAMP:
        return pd.Timestamp(value).isoformat()
    return str(value)


def csv_frame(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The table as CSV text cells (object dtype): lists joined by ';', bools as true/false, NA as ''."""
    text = {col: [_cell_text(v, _kind(table, col)) for v in frame[col].tolist()] for col in frame.columns}
    return pd.DataFrame(text, columns=list(frame.columns), dtype=object)


def write_csv(folder: Path, table: str, text: pd.DataFrame) -> Path:
    """Write text cells as ``<table>.csv`` (no index)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{table}.csv"
    text.to_csv(path, index=False)
    return path


def write_parquet(folder: Path, table: str, frame: pd.DataFrame) -> Path:
    """Write typed values as ``<table>.parquet``: dates as date32, lists as list<string>."""
    folder.mkdir(parents=True, exist_ok=True)
    columns = {}
    for col in frame.columns:
        kind = _kind(table, col)
        if kind is Kind.LIST:
            columns[col] = pa.array(frame[col].tolist(), pa.list_(pa.string()))
        elif kind is Kind.DATE:
            columns[col] = pa.array(frame[col]).cast(pa.date32())
        elif kind is Kind.STR or frame[col].dtype == object:
            columns[col] = pa.array(frame[col], from_pandas=True).cast(pa.string())
        else:
            columns[col] = pa.array(frame[col])
    path = folder / f"{table}.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def write_world(folder: Path, world: dict[str, pd.DataFrame], fmt: str | dict[str, str] = "csv") -> Path:
    """Write every table of ``world`` as CSV or Parquet (``fmt`` may give one format per table)."""
    for table, frame in world.items():
        table_fmt = fmt if isinstance(fmt, str) else fmt.get(table, "csv")
        if table_fmt == "csv":
            write_csv(folder, table, csv_frame(table, frame))
        else:
            write_parquet(folder, table, frame)
    return folder
