"""Loader and validator of the raw data contract: every class of bad input, formats, dtypes, rejects."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from csat.settings import Settings
from features.contract import (
    TABLE_SPECS,
    TABLES,
    ContractError,
    LoadResult,
    Problem,
    load_contract,
    loader,
    output_dtype,
)
from features.contract.parsing import LIST_ITEM_RE, bad_list_rows
from features.contract.rules import Failure, Keys
from features.contract.schemas import ColumnSpec, validation_order
from features.labels import EVENT_STAMPS, data_span
from tests.contract_fixtures import csv_frame, make_world, write_csv, write_parquet, write_world

LENIENT = 0.5  # tiny tables: one bad row is 10-25 % of a table


@pytest.fixture()
def world() -> dict[str, pd.DataFrame]:
    return make_world()


@pytest.fixture()
def data_dir(tmp_path: Path, world: dict[str, pd.DataFrame]) -> Path:
    return write_world(tmp_path / "raw", world, "csv")


def settings_for(tmp_path: Path, threshold: float = LENIENT) -> Settings:
    return Settings(store_dir=tmp_path / "store", rejects_threshold=threshold)


def load(folder: Path, tmp_path: Path, threshold: float = LENIENT) -> tuple[LoadResult, str]:
    out = io.StringIO()
    console = Console(file=out, width=200)
    result = load_contract(folder, settings_for(tmp_path, threshold), console=console)
    return result, out.getvalue()


def load_error(folder: Path, tmp_path: Path, threshold: float = LENIENT) -> ContractError:
    with pytest.raises(ContractError) as caught:
        load(folder, tmp_path, threshold)
    return caught.value


def edit_csv(folder: Path, world: dict[str, pd.DataFrame], table: str, *edits: tuple[int, str, str]) -> None:
    """Write ``table`` as CSV with cells replaced: each edit is (0-based row, column, text)."""
    cells = csv_frame(table, world[table])
    for row, column, text in edits:
        cells.loc[row, column] = text
    write_csv(folder, table, cells)


def problem(result: LoadResult, table: str, column: str, rule: str) -> Problem:
    found = [p for p in result.report.problems if (p.table, p.column, p.rule) == (table, column, rule)]
    assert found, f"no {table}.{column} [{rule}] in {[p.describe() for p in result.report.problems]}"
    return found[0]


# ------------------------------------------------------------------------------------------- clean data


def test_clean_world_loads_with_contract_dtypes(data_dir: Path, tmp_path: Path) -> None:
    result, printed = load(data_dir, tmp_path)
    assert list(result.tables) == list(TABLES)
    assert result.report.problems == [] and result.missing_tables == [] and result.warnings == []
    for name, frame in result.tables.items():
        for col in TABLE_SPECS[name].columns:
            if col.name in frame.columns:
                assert frame[col.name].dtype == output_dtype(col), (name, col.name)
        assert isinstance(frame.index, pd.RangeIndex)
    assert "rows per table" in printed and "interactions" in printed
    assert not (tmp_path / "store" / "rejects").exists()


def test_csv_and_parquet_load_identical_frames(tmp_path: Path, world: dict[str, pd.DataFrame]) -> None:
    from_csv, _ = load(write_world(tmp_path / "csv", world, "csv"), tmp_path)
    from_parquet, _ = load(write_world(tmp_path / "pq", world, "parquet"), tmp_path)
    mixed_formats = {name: ("parquet" if i % 2 else "csv") for i, name in enumerate(TABLES)}
    mixed, _ = load(write_world(tmp_path / "mixed", world, mixed_formats), tmp_path)
    for name in TABLES:
        pd.testing.assert_frame_equal(from_csv.tables[name], from_parquet.tables[name])
        pd.testing.assert_frame_equal(from_csv.tables[name], mixed.tables[name])


def test_accounts_extra_columns_are_kept_typed(data_dir: Path, tmp_path: Path) -> None:
    accounts = load(data_dir, tmp_path)[0].tables["accounts"]
    assert accounts["seats_bought"].dtype == "int64"
    assert accounts["discount"].dtype == "float64"
    assert accounts["contract_type"].dtype == "str"
    assert accounts["zip_code"].tolist() == ["00123", "94105", "10001", "02139"]  # leading zeros: text


def test_list_fields_in_csv_are_parsed(data_dir: Path, tmp_path: Path) -> None:
    interactions = load(data_dir, tmp_path)[0].tables["interactions"]
    assert interactions["internal_participants"].dtype == pd.ArrowDtype(pa.list_(pa.string()))
    assert interactions["internal_participants"].tolist()[1] == ["e3", "e4"]
    assert interactions["internal_participants"].tolist()[6] == []  # empty field = empty list
    assert interactions["external_participants"].tolist()[6] == ["c5", "c6"]


def test_timezone_aware_timestamps_become_naive_utc(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    cells = csv_frame("surveys", world["surveys"])
    cells["responded_at"] = [
        "2024-03-01T10:00:00+02:00",
        "2024-03-01T10:00:00Z",
        "2024-03-01 10:00",
        "2024-03-01",
        "2024-03-01T00:30:00.250-05:00",
    ]
    write_csv(data_dir, "surveys", cells)
    responded = load(data_dir, tmp_path)[0].tables["surveys"]["responded_at"]
    expected = [
        "2024-03-01 08:00",
        "2024-03-01 10:00",
        "2024-03-01 10:00",
        "2024-03-01",
        "2024-03-01 05:30:00.25",
    ]
    assert responded.dtype == "datetime64[us]"
    assert responded.tolist() == [pd.Timestamp(v) for v in expected]


def test_parquet_zoned_timestamps_become_naive_utc(tmp_path: Path, world: dict[str, pd.DataFrame]) -> None:
    folder = write_world(tmp_path / "pq", world, "parquet")
    table = pq.read_table(folder / "surveys.parquet")
    zoned = table.column("responded_at").cast(pa.timestamp("ns", tz="UTC"))
    pq.write_table(table.set_column(3, "responded_at", zoned), folder / "surveys.parquet")
    responded = load(folder, tmp_path)[0].tables["surveys"]["responded_at"]
    assert responded.dtype == "datetime64[us]"
    assert responded.tolist() == world["surveys"]["responded_at"].tolist()


def test_parquet_is_read_in_batches_with_text_as_large_string(
    tmp_path: Path, world: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    from features.contract import readers

    folder = write_world(tmp_path / "pq", world, "parquet")
    whole = load(folder, tmp_path)[0].tables
    monkeypatch.setattr(readers, "PARQUET_BATCH_ROWS", 3)  # many batches per file
    raw = readers.read_raw(readers.TableFile("tickets", folder / "tickets.parquet", "parquet"))
    assert raw.num_rows == len(world["tickets"]) > 3
    assert raw.schema.field("ticket_id").type == pa.large_string()
    batched = load(folder, tmp_path)[0].tables
    for name in TABLES:
        pd.testing.assert_frame_equal(batched[name], whole[name])


def test_parsed_text_shares_the_files_buffers(tmp_path: Path, world: dict[str, pd.DataFrame]) -> None:
    from features.contract import readers
    from features.contract.parsing import parse_column

    folder = write_world(tmp_path / "pq", world, "parquet")
    raw = readers.read_raw(readers.TableFile("tickets", folder / "tickets.parquet", "parquet"))
    spec = next(c for c in TABLE_SPECS["tickets"].columns if c.name == "ticket_id")
    parsed = parse_column(raw.column("ticket_id"), spec).values
    stored = pa.chunked_array(parsed.array._pa_array).chunk(0)  # type: ignore[attr-defined]
    assert stored.buffers()[2].address == raw.column("ticket_id").chunk(0).buffers()[2].address


def test_float_columns_keep_their_values_and_reject_infinities_in_writable_arrays() -> None:
    import numpy as np

    from features.contract.parsing import parse_column

    spec = next(c for c in TABLE_SPECS["interactions"].columns if c.name == "duration_minutes")
    clean = pa.chunked_array([[1.5, None], [30.0]], pa.float64())
    parsed = parse_column(clean, spec)
    assert not parsed.bad.any()
    np.testing.assert_array_equal(parsed.values.to_numpy(), [1.5, np.nan, 30.0])
    parsed.values.iloc[0] = 9.0  # writable
    assert clean.chunk(0)[0].as_py() == 1.5
    single = pa.chunked_array([[2.0, 3.0]], pa.float64())  # one chunk without nulls: numpy may share it
    values = parse_column(single, spec).values
    values.iloc[0] = 9.0  # the frame owns a writable copy
    assert single.chunk(0)[0].as_py() == 2.0 and values.iloc[0] == 9.0
    parsed = parse_column(pa.chunked_array([[1.0, float("inf")], [-float("inf")]]), spec)
    assert parsed.bad.tolist() == [False, True, True]
    np.testing.assert_array_equal(parsed.values.to_numpy(), [1.0, np.nan, np.nan])


def test_optional_columns_absent_are_filled(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    write_csv(data_dir, "employees", csv_frame("employees", world["employees"].drop(columns=["timezone"])))
    write_csv(data_dir, "surveys", csv_frame("surveys", world["surveys"].drop(columns=["nps", "contact_id"])))
    write_csv(data_dir, "accounts", csv_frame("accounts", world["accounts"].drop(columns=["owner_id"])))
    write_parquet(data_dir, "tickets", world["tickets"].drop(columns=["closed_at"]))
    write_parquet(data_dir, "invoices", world["invoices"].drop(columns=["paid_at"]))
    (data_dir / "tickets.csv").unlink()
    (data_dir / "invoices.csv").unlink()
    tables = load(data_dir, tmp_path)[0].tables
    assert (tables["employees"]["timezone"] == "UTC").all()
    assert tables["surveys"]["nps"].dtype == "Int64" and tables["surveys"]["nps"].isna().all()
    assert tables["surveys"]["contact_id"].isna().all()
    assert tables["accounts"]["owner_id"].isna().all()
    for table, column in (("tickets", "closed_at"), ("invoices", "paid_at")):
        assert tables[table][column].dtype == "datetime64[us]" and tables[table][column].isna().all()
    assert "recorded_at" not in tables["accounts"].columns


def test_recorded_at_is_parsed_and_kept(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    cells = csv_frame("renewals", world["renewals"])
    cells["recorded_at"] = ["2024-06-02T00:00:00+01:00", "2024-07-02", "", "2024-09-02 08:00"]
    write_csv(data_dir, "renewals", cells)
    recorded = load(data_dir, tmp_path)[0].tables["renewals"]["recorded_at"]
    assert recorded.dtype == "datetime64[us]"
    assert recorded[0] == pd.Timestamp("2024-06-01 23:00") and pd.isna(recorded[2])


def test_empty_table_is_valid(tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]) -> None:
    write_csv(data_dir, "tickets", csv_frame("tickets", world["tickets"].iloc[:0]))
    write_parquet(data_dir, "usage", world["usage"].iloc[:0])
    (data_dir / "usage.csv").unlink()
    result, _ = load(data_dir, tmp_path)
    assert result.report.problems == []
    assert len(result.tables["tickets"]) == 0 and len(result.tables["usage"]) == 0
    assert result.report.tables["tickets"].rows_read == 0
    assert result.tables["tickets"]["severity"].dtype == "int64"


def test_missing_or_empty_interactions_is_a_printed_warning(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    write_csv(data_dir, "interactions", csv_frame("interactions", world["interactions"].iloc[:0]))
    result, printed = load(data_dir, tmp_path)
    assert result.warnings and "empty" in result.warnings[0]
    assert "WARNING" in printed
    (data_dir / "interactions.csv").unlink()
    result, printed = load(data_dir, tmp_path)
    assert "interactions" in result.missing_tables and "no interactions table" in printed


def test_missing_optional_tables_are_listed_and_fk_checks_noted(tmp_path: Path, data_dir: Path) -> None:
    (data_dir / "employees.csv").unlink()
    (data_dir / "tickets.csv").unlink()
    result, printed = load(data_dir, tmp_path)
    assert result.missing_tables == ["employees", "tickets"]
    assert any("accounts.owner_id -> employees.employee_id not checked" in n for n in result.report.notes)
    assert "Tables absent" in printed and "not checked" in printed


# ------------------------------------------------------------------------------------------- bad rows


def test_wrong_type_is_rejected(tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]) -> None:
    edit_csv(data_dir, world, "accounts", (1, "employee_count", "twelve"))
    result, _ = load(data_dir, tmp_path)
    found = problem(result, "accounts", "employee_count", "type: int")
    assert (found.count, found.rows) == (1, [2])
    assert not any(p.rule == "not_null" for p in result.report.problems)  # reported once
    assert "a2" not in result.tables["accounts"]["account_id"].tolist()


@pytest.mark.parametrize(
    ("table", "column", "text", "rule"),
    [
        ("contacts", "is_decision_maker", "maybe", "type: bool"),
        ("accounts", "customer_since", "2021-02-30", "type: date"),
        ("tickets", "opened_at", "yesterday", "type: timestamp"),
        ("accounts", "arr_usd", "inf", "type: float"),
        ("accounts", "segment", "giant", "allowed: enterprise|mid-market|smb"),
        ("tickets", "severity", "5", "1..4"),
        ("accounts", "employee_count", "-1", ">= 0"),
        ("employees", "timezone", "Mars/Olympus", "iana_timezone"),
        ("surveys", "responded_at", "", "not_null"),
    ],
)
def test_each_value_rule(
    tmp_path: Path,
    data_dir: Path,
    world: dict[str, pd.DataFrame],
    table: str,
    column: str,
    text: str,
    rule: str,
) -> None:
    edit_csv(data_dir, world, table, (1, column, text))
    result, _ = load(data_dir, tmp_path)
    assert problem(result, table, column, rule).rows == [2]
    assert result.report.tables[table].rows_rejected == 1


def test_integral_numbers_are_accepted_as_ints(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    cells = csv_frame("tickets", world["tickets"])
    cells["reopened_count"] = ["+2", " 3 ", "4.0", "0", "1.5"]
    write_csv(data_dir, "tickets", cells)
    result, _ = load(data_dir, tmp_path)
    assert result.tables["tickets"]["reopened_count"].tolist() == [2, 3, 4, 0]
    assert problem(result, "tickets", "reopened_count", "type: int").rows == [5]


def test_bool_words_are_accepted(tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]) -> None:
    cells = csv_frame("contacts", world["contacts"])
    cells["is_decision_maker"] = ["Yes", "NO", "1", "0", "TRUE", "false"]
    write_csv(data_dir, "contacts", cells)
    flags = load(data_dir, tmp_path)[0].tables["contacts"]["is_decision_maker"]
    assert flags.tolist() == [True, False, True, False, True, False]


def test_unknown_enum_value_message(tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]) -> None:
    edit_csv(data_dir, world, "renewals", (2, "outcome", "lost"))
    result, printed = load(data_dir, tmp_path)
    assert "allowed: renewed|churned|expanded|contracted" in printed
    assert len(result.tables["renewals"]) == 3


def test_duplicate_id_rejects_every_copy(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    edit_csv(data_dir, world, "tickets", (3, "ticket_id", "t1"))
    result, _ = load(data_dir, tmp_path)
    found = problem(result, "tickets", "ticket_id", "unique")
    assert (found.count, found.rows) == (2, [1, 4])


def test_duplicate_usage_day_is_rejected(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    edit_csv(data_dir, world, "usage", (1, "date", "2024-01-01"))
    result, _ = load(data_dir, tmp_path)
    assert problem(result, "usage", "account_id+date", "unique (account_id, date)").rows == [1, 2]


def test_dangling_foreign_key(tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]) -> None:
    edit_csv(data_dir, world, "tickets", (0, "account_id", "a99"))
    edit_csv(data_dir, world, "interactions", (2, "organizer_id", "nobody"))
    result, _ = load(data_dir, tmp_path)
    assert problem(result, "tickets", "account_id", "fk -> accounts.account_id").rows == [1]
    rule = "fk -> employees.employee_id|contacts.contact_id"
    assert problem(result, "interactions", "organizer_id", rule).rows == [3]


def test_list_elements_must_reference_keys(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    edits = [(1, "internal_participants", "e3;e404"), (5, "external_participants", "c1;e1")]
    edit_csv(data_dir, world, "interactions", *edits)
    result, _ = load(data_dir, tmp_path)
    assert problem(result, "interactions", "internal_participants", "fk -> employees.employee_id").rows == [2]
    assert problem(result, "interactions", "external_participants", "fk -> contacts.contact_id").rows == [6]


def test_rows_of_a_rejected_account_are_rejected_too(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    edit_csv(data_dir, world, "accounts", (3, "arr_usd", "-5"))  # a4
    result, _ = load(data_dir, tmp_path)
    cascade = "fk -> accounts.account_id (referenced row rejected)"
    assert problem(result, "contacts", "account_id", cascade).rows == [5, 6]
    assert problem(result, "renewals", "account_id", cascade).rows == [4]
    for frame in result.tables.values():
        if "account_id" in frame.columns:
            assert "a4" not in frame["account_id"].tolist()
    # references to people (here contacts c5, c6 of a4) are kept, and counted in a note
    assert "i7" in result.tables["interactions"]["interaction_id"].tolist()
    assert any(n.startswith("interactions.external_participants: 1 row(s) kept") for n in result.report.notes)


def test_a_rejected_person_does_not_cascade(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    edit_csv(data_dir, world, "employees", (1, "timezone", "Mars/Olympus"))  # e2, owner of a1..a3
    result, _ = load(data_dir, tmp_path)
    assert result.report.tables["employees"].rows_rejected == 1
    assert result.report.tables["accounts"].rows_rejected == 0
    assert "accounts.owner_id: 3 row(s) kept that refer to a rejected row of employees.employee_id" in (
        result.report.notes
    )


def test_an_optional_reference_to_nobody_keeps_its_row_and_is_named(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    # a CSM who left the company is no reason to lose the account, and with it all its rows
    edit_csv(data_dir, world, "accounts", (0, "csm_id", "e404"), (2, "owner_id", "e405"))
    edit_csv(data_dir, world, "employees", (3, "manager_id", "e406"))
    edit_csv(data_dir, world, "surveys", (1, "contact_id", "c404"))
    result, _ = load(data_dir, tmp_path)
    assert result.report.problems == []
    assert all(t.rows_rejected == 0 for t in result.report.tables.values())
    # the account is kept without a CSM (has_csm says so), not with one nobody can be
    assert pd.isna(result.tables["accounts"]["csm_id"].iloc[0])
    assert pd.isna(result.tables["accounts"]["owner_id"].iloc[2])
    assert pd.isna(result.tables["employees"]["manager_id"].iloc[3])
    assert pd.isna(result.tables["surveys"]["contact_id"].iloc[1])
    assert result.tables["accounts"]["csm_id"].notna().sum() == world["accounts"]["csm_id"].notna().sum() - 1
    notes = result.report.notes
    assert (
        "accounts.csm_id: 1 row(s) kept that name no employees.employee_id (data rows 1); the column is"
        " optional: those rows are kept without it" in notes
    )
    assert any(n.startswith("accounts.owner_id: 1 row(s) kept that name no employees") for n in notes)
    assert any(n.startswith("employees.manager_id: 1 row(s) kept that name no employees") for n in notes)
    assert any(n.startswith("surveys.contact_id: 1 row(s) kept that name no contacts") for n in notes)


def test_the_notes_on_references_to_rejected_people_come_in_column_order(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the list columns are looked up in threads: here the later column finishes first, and the notes still
    # keep the table's order
    edit_csv(data_dir, world, "employees", (2, "timezone", "Mars/Olympus"))  # e3
    edit_csv(data_dir, world, "contacts", (0, "seniority", "emperor"))  # c1
    external_done = threading.Event()
    find = loader._find_references

    def later_first(frame: pd.DataFrame, col: ColumnSpec, keys: Keys) -> tuple[list[Failure], int]:
        if col.name == "internal_participants":
            assert external_done.wait(timeout=30)
        found = find(frame, col, keys)
        if col.name == "external_participants":
            external_done.set()
        return found

    monkeypatch.setattr(loader, "usable_cpus", lambda: 2)
    monkeypatch.setattr(loader, "_find_references", later_first)
    result, _ = load(data_dir, tmp_path)
    assert [n for n in result.report.notes if n.startswith("interactions.")] == [
        "interactions.organizer_id: 3 row(s) kept that refer to a rejected row of employees.employee_id or"
        " contacts.contact_id",
        "interactions.internal_participants: 4 row(s) kept that refer to a rejected row of"
        " employees.employee_id",
        "interactions.external_participants: 3 row(s) kept that refer to a rejected row of"
        " contacts.contact_id",
    ]


def test_negative_duration(tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]) -> None:
    edit_csv(data_dir, world, "interactions", (4, "duration_minutes", "-3.5"))
    result, _ = load(data_dir, tmp_path)
    assert problem(result, "interactions", "duration_minutes", ">= 0").rows == [5]
    assert "i5" not in result.tables["interactions"]["interaction_id"].tolist()


def test_closed_before_opened(tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]) -> None:
    edit_csv(data_dir, world, "tickets", (2, "closed_at", "2024-02-03T10:59:00"))
    result, _ = load(data_dir, tmp_path)
    assert problem(result, "tickets", "closed_at", "closed_at >= opened_at").rows == [3]


def test_invoice_due_or_paid_before_issue(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    edit_csv(data_dir, world, "invoices", (0, "due_at", "2023-12-31"), (2, "paid_at", "2023-12-01"))
    result, _ = load(data_dir, tmp_path)
    assert problem(result, "invoices", "due_at", "due_at >= issued_at").rows == [1]
    assert problem(result, "invoices", "paid_at", "paid_at >= issued_at").rows == [3]


def test_the_data_span_reads_the_stamps_the_contract_marks() -> None:
    marked = {spec.name: c.name for spec in TABLE_SPECS.values() for c in spec.columns if c.event_stamp}
    assert marked == EVENT_STAMPS


@pytest.mark.parametrize(
    ("table", "column", "text"),
    [
        ("surveys", "responded_at", "2099-01-01T09:00:00"),
        ("interactions", "started_at", "2099-01-01T09:00:00"),
        ("tickets", "opened_at", "2099-01-01T09:00:00"),
        ("usage", "date", "2099-01-01"),
        ("invoices", "issued_at", "2099-01-01"),  # with due_at and paid_at after it (below)
        ("renewals", "renewal_date", "2099-01-01"),
    ],
)
def test_an_event_stamped_in_the_future_is_kept_named_and_left_out_of_the_span(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame], table: str, column: str, text: str
) -> None:
    # the contract allows it (a meeting scheduled, a renewal signed ahead), but a mistyped 2099 must not
    # stretch the data's time span, and with it the churn snapshots, to 2099
    later = [(1, "due_at", "2099-01-31"), (1, "paid_at", "2099-01-15")] if table == "invoices" else []
    edit_csv(data_dir, world, table, (1, column, text), *later)
    loaded_at = datetime(2026, 12, 5, 21, 51, 29)
    result = load_contract(
        data_dir, settings_for(tmp_path), console=Console(file=io.StringIO()), loaded_at=loaded_at
    )
    assert result.report.problems == []
    assert result.report.tables[table].rows_rejected == 0
    assert f"{table}.{column}: 1 row(s) stamped more than a day after the load (data rows 2; the latest" in (
        " ".join(result.report.notes)
    )
    assert (result.tables[table][column] > pd.Timestamp("2098-12-31")).sum() == 1
    assert data_span(result.tables, now=loaded_at)[1] < pd.Timestamp(loaded_at)


def test_a_stamp_within_a_day_of_the_load_counts_without_a_note(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    # naive local times exported as UTC run up to 14 hours ahead
    edit_csv(data_dir, world, "interactions", (1, "started_at", "2026-12-06T09:00:00"))
    loaded_at = datetime(2026, 12, 5, 21, 51, 29)
    result = load_contract(
        data_dir, settings_for(tmp_path), console=Console(file=io.StringIO()), loaded_at=loaded_at
    )
    assert not any("after the load" in n for n in result.report.notes)
    assert data_span(result.tables, now=loaded_at)[1] == pd.Timestamp("2026-12-06T09:00:00")


def test_a_stamp_hours_after_the_load_is_kept(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    # naive local times of a zone ahead of UTC, exported as they happened, may lie hours after the load
    edit_csv(data_dir, world, "surveys", (1, "responded_at", "2026-12-06T09:00:00"))
    result = load_contract(
        data_dir,
        settings_for(tmp_path),
        console=Console(file=io.StringIO()),
        loaded_at=datetime(2026, 12, 5, 21, 51, tzinfo=UTC),
    )
    assert result.report.problems == []
    assert result.report.tables["surveys"].rows_rejected == 0


MALFORMED_LISTS = ["e3;;e4", "[e3]", "'e3'", '"e3";e4', "e3; ", " ", "e3 ;e4"]


def test_malformed_list_fields_in_csv(tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]) -> None:
    edits = [(row, "internal_participants", field) for row, field in enumerate(MALFORMED_LISTS)]
    edit_csv(data_dir, world, "interactions", *edits)
    result, _ = load(data_dir, tmp_path, threshold=1.0)
    found = [p for p in result.report.problems if p.column == "internal_participants"]
    assert [(p.rule, p.rows) for p in found] == [("list_format", [1, 2, 3, 4, 5, 6, 7])]
    assert result.tables["interactions"]["interaction_id"].tolist() == ["i8"]


@pytest.mark.parametrize("item_type", [pa.string(), pa.large_string()])
def test_list_item_check_agrees_with_the_item_pattern(item_type: pa.DataType) -> None:
    rng = np.random.default_rng(11)
    plain = ["a", "Z", "7", "-", "é", "€"]
    special = [" ", "\t", "\n", "\r", "\f", "\v", '"', "'", "[", "]", "\u00a0"]
    weights = [0.12] * len(plain) + [0.28 / len(special)] * len(special)
    items = [
        None
        if rng.random() < 0.01
        else "".join(rng.choice(plain + special, int(rng.integers(0, 5)), p=weights))
        for _ in range(6000)
    ]
    lists = pa.array([items[i : i + 2] for i in range(0, len(items), 2)], pa.list_(item_type))
    chunked = pa.chunked_array([lists.slice(0, 333), lists.slice(333, 0), lists.slice(333)])
    ok = pc.match_substring_regex(pa.array(items, pa.string()), LIST_ITEM_RE).fill_null(False).to_pylist()
    expected = [not (ok[i] and ok[i + 1]) for i in range(0, len(items), 2)]
    assert bad_list_rows(chunked).tolist() == expected
    assert 0.1 < sum(expected) / len(expected) < 0.9  # both kinds of rows, in numbers


def test_malformed_list_elements_in_parquet(tmp_path: Path, world: dict[str, pd.DataFrame]) -> None:
    world["interactions"].at[1, "internal_participants"] = ["e3", ""]
    world["interactions"].at[3, "external_participants"] = ["c3", None]
    world["interactions"].at[4, "external_participants"] = None  # a missing list is an empty list
    folder = write_world(tmp_path / "pq", world, "parquet")
    result, _ = load(folder, tmp_path)
    assert problem(result, "interactions", "internal_participants", "list_format").rows == [2]
    assert problem(result, "interactions", "external_participants", "list_format").rows == [4]
    assert result.tables["interactions"]["external_participants"].tolist()[2] == []


def test_csv_with_bom_crlf_and_quoted_newline(tmp_path: Path, data_dir: Path) -> None:
    text = (
        "account_id,renewal_date,outcome,arr_change_usd,comment\r\n"
        'a1,2024-06-01,renewed,0,"two\nlines"\r\n'
        "a2,2024-07-01,lost,-1.5,\r\n"
    )
    (data_dir / "renewals.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    result, _ = load(data_dir, tmp_path)
    renewals = result.tables["renewals"]
    assert renewals["account_id"].tolist() == ["a1"] and renewals["comment"].tolist() == ["two\nlines"]
    assert problem(result, "renewals", "outcome", "allowed: renewed|churned|expanded|contracted").rows == [2]


def test_under_threshold_keeps_good_rows_and_writes_rejects(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    edit_csv(data_dir, world, "contacts", (2, "seniority", "intern"), (2, "title", ""))
    result, printed = load(data_dir, tmp_path)
    assert result.rejects_path == tmp_path / "store" / "rejects"
    counts = result.report.tables["contacts"]
    assert (counts.rows_read, counts.rows_kept, counts.rows_rejected) == (6, 5, 1)
    rejects = pd.read_csv(counts.rejects_file, dtype=str, keep_default_na=False)
    assert rejects.loc[0, "table"] == "contacts" and rejects.loc[0, "row"] == "3"
    assert (
        "title: not_null" in rejects.loc[0, "reasons"] and "seniority: allowed" in rejects.loc[0, "reasons"]
    )
    assert rejects.loc[0, "contact_id"] == "c3" and rejects.loc[0, "seniority"] == "intern"
    assert "rejects" in printed
    assert not list(result.rejects_path.glob(".*tmp"))  # atomic write left no temporary file


def test_a_file_that_changes_during_the_load_stops_it_with_its_name(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    from features.contract import loader

    edit_csv(data_dir, world, "contacts", (2, "seniority", "intern"))
    first = loader.read_raw
    reads: list[str] = []

    def read_then_grow(file):  # noqa: ANN001, ANN202 - the second read (for the rejects) sees one more row
        reads.append(file.table)
        table = first(file)
        return table if reads.count(file.table) == 1 else pa.concat_tables([table, table.slice(0, 1)])

    monkeypatch.setattr(loader, "read_raw", read_then_grow)
    error = load_error(data_dir, tmp_path)
    assert reads.count("contacts") == 2  # read, then read again for its rejects
    assert reads.count("accounts") == 1  # a table without rejects is read once
    changed = "contacts.csv: the file changed while it was loaded (6 rows, then 7)"
    assert f"contacts [unreadable_file]: {changed}" in str(error)


def test_stale_rejects_file_is_removed(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    edit_csv(data_dir, world, "renewals", (0, "outcome", "lost"))
    stale = load(data_dir, tmp_path)[0].report.tables["renewals"].rejects_file
    assert stale is not None and stale.exists()
    write_csv(data_dir, "renewals", csv_frame("renewals", world["renewals"]))
    load(data_dir, tmp_path)
    assert not stale.exists()


# ------------------------------------------------------------------------------------------- stops


def test_rejects_over_threshold_stop_the_load(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    edit_csv(data_dir, world, "renewals", (0, "outcome", "lost"))
    error = load_error(data_dir, tmp_path, threshold=0.01)
    assert "renewals [rejects_threshold]: 1 of 4 rows rejected (25.00%), above the threshold of 1.00%" in str(
        error
    )
    assert (tmp_path / "store" / "rejects" / "renewals.csv").exists()


def test_missing_required_column(tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]) -> None:
    write_csv(data_dir, "accounts", csv_frame("accounts", world["accounts"].drop(columns=["segment"])))
    error = load_error(data_dir, tmp_path)
    assert "accounts.segment [missing_column]: required column 'segment' not found in accounts" in str(error)


def test_missing_column_hints_at_case(tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]) -> None:
    write_csv(
        data_dir, "renewals", csv_frame("renewals", world["renewals"]).rename(columns={"outcome": "Outcome"})
    )
    assert "found 'Outcome': column names are lower case" in str(load_error(data_dir, tmp_path))


def test_an_optional_column_in_other_case_stops_the_load(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    frame = csv_frame("accounts", world["accounts"]).rename(columns={"csm_id": "CSM_ID"})
    write_csv(data_dir, "accounts", frame)
    message = str(load_error(data_dir, tmp_path))
    assert (
        "accounts.csm_id [missing_column]: optional column 'csm_id' found as 'CSM_ID' in accounts:"
        " column names are lower case" in message
    )


def test_missing_required_tables(tmp_path: Path, data_dir: Path) -> None:
    for name in ("accounts", "surveys", "renewals"):
        (data_dir / f"{name}.csv").unlink()
    message = str(load_error(data_dir, tmp_path))
    assert "accounts [missing_table]: required table not found" in message
    assert "surveys/renewals [missing_table]: at least one label table is required" in message


def test_label_tables_without_rows_warn_and_the_load_goes_on(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    # the contract lets a table be present and empty: an online-store refresh needs no labels
    write_csv(data_dir, "surveys", csv_frame("surveys", world["surveys"].iloc[0:0]))
    result, _ = load(data_dir, tmp_path)  # renewals still has rows: CSAT is left out, churn goes on
    assert not any("no label rows" in w for w in result.warnings)
    (data_dir / "renewals.csv").unlink()
    result, _ = load(data_dir, tmp_path)
    assert result.report.problems == []
    assert any(
        w.startswith("no label rows (surveys: 0 read, none kept): no example can be labelled")
        for w in (result.warnings)
    )


def test_an_empty_accounts_table_stops_the_load_first(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    write_csv(data_dir, "accounts", csv_frame("accounts", world["accounts"].iloc[0:0]))
    err = load_error(data_dir, tmp_path)
    assert str(err).splitlines()[1] == (
        "  - accounts [no_rows]: the accounts table holds no rows (0 read): every other row needs its account"
    )


def test_one_label_table_is_enough(tmp_path: Path, data_dir: Path) -> None:
    (data_dir / "renewals.csv").unlink()
    assert load(data_dir, tmp_path)[0].missing_tables == ["renewals"]


def test_truncated_parquet_is_unreadable(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    path = write_parquet(data_dir, "tickets", world["tickets"])
    (data_dir / "tickets.csv").unlink()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    error = load_error(data_dir, tmp_path)
    assert "tickets [unreadable_file]: tickets.parquet:" in str(error)


def test_undecodable_csv_is_unreadable(tmp_path: Path, data_dir: Path) -> None:
    (data_dir / "renewals.csv").write_bytes(
        b"account_id,renewal_date,outcome,arr_change_usd\n" + b"a1,\xff\xfe,x,1\n"
    )
    assert "renewals [unreadable_file]" in str(load_error(data_dir, tmp_path))


def test_ragged_csv_is_unreadable(tmp_path: Path, data_dir: Path) -> None:
    (data_dir / "renewals.csv").write_text(
        "account_id,renewal_date,outcome,arr_change_usd\na1,2024-01-01,renewed\n"
    )
    assert "renewals [unreadable_file]: renewals.csv: CSV parse error" in str(load_error(data_dir, tmp_path))


def test_two_files_for_one_table_stop(tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]) -> None:
    write_parquet(data_dir, "usage", world["usage"])
    assert "usage [duplicate_table]: one table, several files" in str(load_error(data_dir, tmp_path))


def test_missing_folder(tmp_path: Path) -> None:
    assert "data folder not found" in str(load_error(tmp_path / "nowhere", tmp_path))


def test_every_problem_is_reported_at_once(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    write_csv(data_dir, "employees", csv_frame("employees", world["employees"].drop(columns=["team"])))
    edit_csv(data_dir, world, "contacts", (0, "seniority", "boss"))
    edit_csv(data_dir, world, "tickets", (1, "severity", "9"))
    (data_dir / "usage.csv").write_bytes(b"\xff\xfe\x00")
    error = load_error(data_dir, tmp_path)
    message = str(error)
    for expected in (
        "employees.team [missing_column]",
        "usage [unreadable_file]",
        "contacts.seniority [allowed: executive|manager|individual]: 1 row (data rows 1)",
        "tickets.severity [1..4]: 1 row (data rows 2)",
    ):
        assert expected in message
    assert error.report is not None and len(error.report.fatal) == 2


def test_ignored_files_and_subfolders(tmp_path: Path, data_dir: Path) -> None:
    (data_dir / "ground_truth").mkdir()
    (data_dir / "ground_truth" / "accounts.csv").write_text("garbage\n")
    (data_dir / "notes.txt").write_text("hello")
    result, _ = load(data_dir, tmp_path)
    assert result.report.notes == ["ignored file: notes.txt"]


def test_validation_order_puts_referenced_tables_first() -> None:
    order = validation_order()
    assert (
        order.index("employees") < order.index("accounts") < order.index("contacts") < order.index("surveys")
    )
    assert set(order) == set(TABLES)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_duplicated_marks_every_copy_and_never_a_missing_value(seed: int) -> None:
    import numpy as np

    from features.contract.rules import duplicated

    rng = np.random.default_rng(seed)
    values = [None if v == 0 else f"k{v}" for v in rng.integers(0, 12, 40)]
    chunked = pa.chunked_array([pa.array(values[:15]), pa.array(values[15:])])
    expected = pd.Series(values).duplicated(keep=False).to_numpy() & pd.Series(values).notna().to_numpy()
    assert expected.any() and not expected.all()
    assert duplicated(chunked).tolist() == expected.tolist()
    assert duplicated(pa.array([3, 1, 3, None, None])).tolist() == [True, False, True, False, False]
    assert duplicated(pa.array(["a"])).tolist() == [False]


def test_duplicated_on_sorted_keys_takes_the_shortcut_only_when_strictly_increasing() -> None:
    from features.contract.rules import _strictly_increasing, duplicated

    ids = pa.chunked_array([pa.array(["I01", "I02"]), pa.array(["I03", "I04"])])
    assert _strictly_increasing(ids) and not duplicated(ids).any()
    # a repeat across a chunk boundary, a repeat inside a sorted run, a null: the general path decides
    across = pa.chunked_array([pa.array(["I01", "I02"]), pa.array(["I02", "I04"])])
    assert not _strictly_increasing(across)
    assert duplicated(across).tolist() == [False, True, True, False]
    assert duplicated(pa.array([1, 2, 2, 3])).tolist() == [False, True, True, False]
    assert duplicated(pa.array(["a", None, "b", "b"])).tolist() == [False, False, True, True]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_empty_file_of_an_optional_table_reads_as_an_empty_table(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame], fmt: str
) -> None:
    header_only = data_dir.parent / "header_only"
    write_world(header_only, world, "csv")
    write_csv(header_only, "tickets", csv_frame("tickets", world["tickets"].iloc[:0]))
    write_csv(header_only, "interactions", csv_frame("interactions", world["interactions"].iloc[:0]))
    expected, _ = load(header_only, tmp_path)
    for table in ("tickets", "interactions"):
        (data_dir / f"{table}.csv").unlink()
        (data_dir / f"{table}.{fmt}").write_bytes(b"")  # `: > tickets.csv`: an export that found no rows
    result, printed = load(data_dir, tmp_path)
    assert result.report.problems == []
    for table in ("tickets", "interactions"):
        pd.testing.assert_frame_equal(result.tables[table], expected.tables[table])
        assert f"{table}.{fmt} is an empty file: read as an empty {table} table" in printed
    empty = "the interactions table is empty: the collaboration feature set is empty; the run trains and"
    assert result.warnings == expected.warnings == [f"{empty} serves the baseline alone"]


def test_an_empty_file_of_the_accounts_table_stops_the_load(tmp_path: Path, data_dir: Path) -> None:
    (data_dir / "accounts.csv").write_bytes(b"")
    assert (
        "accounts [unreadable_file]: accounts.csv: empty file (0 bytes; a CSV needs at least its header"
        in str(load_error(data_dir, tmp_path))
    )


def test_a_type_problem_shows_one_offending_value_with_its_row(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    edit_csv(data_dir, world, "accounts", (0, "customer_since", "26/04/2017"), (1, "arr_usd", "$12,000"))
    result, _ = load(data_dir, tmp_path, threshold=1.0)
    assert problem(result, "accounts", "customer_since", "type: date").describe() == (
        "accounts.customer_since [type: date]: 1 row (data rows 1); expected YYYY-MM-DD;"
        " data row 1 holds '26/04/2017'"
    )
    assert problem(result, "accounts", "arr_usd", "type: float").describe() == (
        "accounts.arr_usd [type: float]: 1 row (data rows 2); expected a finite number;"
        " data row 2 holds '$12,000'"
    )


def test_a_type_problem_in_a_column_about_people_does_not_echo_its_values(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    edit_csv(data_dir, world, "employees", (2, "hired_at", "02/03/2020"))
    edit_csv(data_dir, world, "interactions", (0, "internal_participants", '"e3"'))
    result, _ = load(data_dir, tmp_path, threshold=1.0)
    hired = problem(result, "employees", "hired_at", "type: date").describe()
    listed = problem(result, "interactions", "internal_participants", "list_format").describe()
    for line in (hired, listed):
        assert line.endswith("; its values are not shown (a column about people): see the rejects file")
    assert "02/03/2020" not in hired and "e3" not in listed


def test_a_semicolon_separated_csv_is_named_as_such(
    tmp_path: Path, data_dir: Path, world: dict[str, pd.DataFrame]
) -> None:
    csv_frame("accounts", world["accounts"]).to_csv(data_dir / "accounts.csv", sep=";", index=False)
    error = load_error(data_dir, tmp_path)
    assert [p.describe() for p in error.problems] == [
        "accounts [unreadable_file]: accounts.csv: the header reads as one column"
        " 'account_id;name;industry;segment;region;employee_count;custo...': its fields seem separated by"
        " semicolons (';'), but a contract CSV separates them with commas (in Excel: save as"
        " 'CSV UTF-8 (Comma delimited)')"
    ]


def test_a_ragged_row_is_named_by_its_data_row_without_its_text(tmp_path: Path, data_dir: Path) -> None:
    (data_dir / "renewals.csv").write_text(
        "account_id,renewal_date,outcome,arr_change_usd\n"
        'a1,2024-01-01,renewed,1\na2,"2024-01-01",renewed,"1\n0"\n\na3,2024-02-01,renewed,12,000,50\n'
    )
    message = str(load_error(data_dir, tmp_path))
    assert (
        "renewals [unreadable_file]: renewals.csv: CSV parse error at data row 3: expected 4 fields, found 6"
        " (a field holding a comma, a quote or a line break must be in double quotes)"
    ) in message
    assert "a3" not in message


def test_text_that_is_not_utf8_is_named_by_its_line_or_row(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from features.contract import readers

    (data_dir / "renewals.csv").write_bytes(
        b"account_id,renewal_date,outcome,arr_change_usd\na1,2024-01-01,renewed,1\na2,2024-01-01,r\xe9new,1\n"
    )
    assert (
        "renewals [unreadable_file]: renewals.csv: not UTF-8 text at line 3 (byte 86 of the file, 0xe9:"
        " invalid continuation byte); save the file as UTF-8"
    ) in str(load_error(data_dir, tmp_path))
    monkeypatch.setattr(readers, "HEADER_PEEK_BYTES", 60)  # beyond the header's peek: the reader's own check
    assert (
        "renewals [unreadable_file]: renewals.csv: not UTF-8 text in column 'outcome' at data row 2;"
        " save the file as UTF-8"
    ) in str(load_error(data_dir, tmp_path))


def test_a_terminal_sees_which_table_is_being_read_and_a_log_gets_the_summary_only(data_dir, tmp_path):
    term = io.StringIO()
    load_contract(
        data_dir, settings_for(tmp_path), console=Console(file=term, width=200, force_terminal=True)
    )
    shown = term.getvalue()
    for table in ("accounts", "contacts", "interactions", "surveys"):
        assert f"reading and checking {table}" in shown  # the bar names the table as it starts
    assert "rejected %" in shown  # the summary follows the bar
    _, logged = load(data_dir, tmp_path)  # not a terminal: no bar, no control codes
    assert "reading" not in logged and "\x1b" not in logged
    assert "rejected %" in logged
