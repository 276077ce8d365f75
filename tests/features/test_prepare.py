"""The engine's preparation: identifiers become integer codes, and range joins go through day buckets."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from features.engine import passes, prepare
from features.engine.prepare import LIST_TYPE, _items, count_people, encode_ids
from features.engine.sql import bucket_size, spread


def _tables() -> dict[str, pd.DataFrame]:
    return {
        "accounts": pd.DataFrame({"account_id": ["A2", "A1", "A3"]}),
        "contacts": pd.DataFrame({"contact_id": ["C1", "C2", "C3"], "account_id": ["A1", "A1", None]}),
        "employees": pd.DataFrame({"employee_id": ["E1", "E2"]}),
        "entities": pd.DataFrame({"account_id": ["A3", "A9"]}),
        "interactions": pd.DataFrame(
            {
                "interaction_id": ["I7", "I3", "I5"],
                "organizer_id": ["E1", "C2", "X1"],
                "internal_participants": pd.Series([["E2"], [], ["E1", "E2"]], dtype=LIST_TYPE),
                "external_participants": pd.Series([["C1", "C2"], ["C3"], ["X1"]], dtype=LIST_TYPE),
            }
        ),
    }


def test_encode_ids_keeps_equality_within_each_key_space() -> None:
    raw = _tables()
    enc = {name: df.copy() for name, df in raw.items()}
    encode_ids(enc)

    def codes(items: list[tuple[str, str]]) -> dict[str, int]:
        seen: dict[str, int] = {}
        for table, col in items:
            for r, e in zip(raw[table][col], enc[table][col], strict=True):
                pairs = zip(r, e, strict=True) if isinstance(r, list) else [(r, e)]
                for rv, ev in pairs:
                    if not isinstance(rv, str) and pd.isna(rv):
                        assert pd.isna(ev), f"{table}.{col}: a null identifier must stay null"
                        continue
                    assert seen.setdefault(rv, int(ev)) == int(ev), f"{rv} got two codes"
        assert len(set(seen.values())) == len(seen), "two identifiers share a code"
        return seen

    accounts = codes([(t, "account_id") for t in ("accounts", "contacts", "entities")])
    assert set(accounts) == {"A1", "A2", "A3", "A9"}
    persons = codes(
        [
            ("contacts", "contact_id"),
            ("employees", "employee_id"),
            ("interactions", "organizer_id"),
            ("interactions", "internal_participants"),
            ("interactions", "external_participants"),
        ]
    )
    assert set(persons) == {"C1", "C2", "C3", "E1", "E2", "X1"}  # an unknown person keeps a code of its own
    assert enc["interactions"]["interaction_id"].tolist() == [0, 1, 2]  # unique by contract: its position
    lengths = enc["interactions"]["external_participants"].map(len).tolist()
    assert lengths == [2, 1, 1]


@pytest.mark.parametrize("slots", [1, 3])  # 1: lists of 2+ items are counted by sorting; 3: all by position
@pytest.mark.parametrize("slice_rows", [1, 2, 1 << 22])
def test_count_people_counts_distinct_people_per_interaction(
    monkeypatch: pytest.MonkeyPatch, slice_rows: int, slots: int
) -> None:
    monkeypatch.setattr(prepare, "PEOPLE_SLICE_ROWS", slice_rows)
    monkeypatch.setattr(prepare, "PEOPLE_SLOTS", slots)
    internal = pa.array([["E1"], ["E1", "E2", "E1"], None, [], ["E2", None], ["E1"]], pa.list_(pa.string()))
    external = pa.array([["C1"], ["C1", "C1"], ["C2"], [], [], ["E1", "C1"]], pa.list_(pa.string()))
    ix = pd.DataFrame(
        {
            "organizer_id": ["E1", "C1", "C2", "E2", None, "C3"],
            "internal_participants": pd.Series(  # sliced chunks: offsets do not start at 0
                pd.arrays.ArrowExtensionArray(pa.chunked_array([internal.slice(0, 4), internal.slice(4)]))
            ),
            "external_participants": pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([external]))),
        }
    )
    expected = []
    for org, a, b in zip(ix["organizer_id"], internal.to_pylist(), external.to_pylist(), strict=True):
        expected.append(len({p for p in [org, *(a or []), *(b or [])] if isinstance(p, str)}))
    tables = {"interactions": ix}
    encode_ids(tables)
    count_people(tables)
    assert tables["interactions"]["n_people"].tolist() == expected == [2, 3, 1, 1, 1, 3]


@pytest.mark.parametrize(
    ("slots", "kernel"),
    [(0, "none"), (1, "none"), (2, "none"), (3, "none"), (8, "none"), (3, "plain"), (3, "compiled")],
)
def test_count_people_equals_a_set_count_on_random_rows(
    monkeypatch: pytest.MonkeyPatch, slots: int, kernel: str
) -> None:
    """By numpy (any number of slots), and by the passes' kernel, uncompiled and compiled (big data)."""
    if kernel == "compiled":
        pytest.importorskip("numba")
    monkeypatch.setattr(prepare, "PEOPLE_SLICE_ROWS", 37)
    monkeypatch.setattr(prepare, "PEOPLE_SLOTS", slots)
    if kernel != "none":
        monkeypatch.setattr(passes, "PASSES_FROM_ROWS", 0)
        monkeypatch.setattr(passes, "COMPILE_FROM_ROWS", 0 if kernel == "compiled" else 10**9)
    rng = np.random.default_rng(7)
    people = [*(f"E{i}" for i in range(6)), *(f"C{i}" for i in range(6)), None]

    def some() -> list[str | None] | None:
        return None if rng.random() < 0.05 else list(rng.choice(people, size=int(rng.integers(0, 11))))

    rows = [(rng.choice(people), some(), some()) for _ in range(300)]
    ix = pd.DataFrame(
        {
            "organizer_id": [r[0] for r in rows],
            "internal_participants": pd.Series(
                pd.arrays.ArrowExtensionArray(pa.array([r[1] for r in rows], pa.list_(pa.string())))
            ),
            "external_participants": pd.Series(
                pd.arrays.ArrowExtensionArray(pa.array([r[2] for r in rows], pa.list_(pa.string())))
            ),
        }
    )
    expected = [len({p for p in [o, *(a or []), *(b or [])] if p is not None}) for o, a, b in rows]
    tables = {"interactions": ix}
    encode_ids(tables)
    count_people(tables)
    assert tables["interactions"]["n_people"].tolist() == expected
    assert max(len(r[1] or []) for r in rows) > 8  # some lists are longer than any slot count tried


def test_encode_ids_handles_chunked_sliced_and_null_lists() -> None:
    items = pa.array([["Z"], ["C1", "C2"], None, ["C2"], [], ["C3", "C1"]], pa.list_(pa.string()))
    col = pa.chunked_array([items.slice(1, 3), items.slice(4, 2)])  # sliced chunks: offsets do not start at 0
    # each chunk's own items only, not its parent's whole child array once per chunk (memory at scale)
    assert _items(col).to_pylist() == ["C1", "C2", "C2", "C3", "C1"]
    ix = pd.DataFrame({"external_participants": pd.Series(pd.arrays.ArrowExtensionArray(col))})
    tables = {"contacts": pd.DataFrame({"contact_id": ["C1", "C2", "C3"]}), "interactions": ix}
    encode_ids(tables)
    code = dict(zip(["C1", "C2", "C3"], tables["contacts"]["contact_id"].astype(int), strict=True))
    got = tables["interactions"]["external_participants"].tolist()
    assert list(got[0]) == [code["C1"], code["C2"]]
    assert pd.isna(got[1])  # a null list stays null
    assert [list(v) for v in got[2:]] == [[code["C2"]], [], [code["C3"], code["C1"]]]


@pytest.mark.parametrize("pieces", [1, 2, 3, 7])
def test_encode_ids_in_pieces_numbers_identifiers_by_first_appearance(
    monkeypatch: pytest.MonkeyPatch, pieces: int
) -> None:
    """Cut into pieces hashed apart, every column still gets the codes of one pass over them in order."""
    monkeypatch.setattr(prepare, "ENCODE_PIECE_MIN", 1)
    monkeypatch.setattr(prepare, "usable_cpus", lambda: pieces)
    rng = np.random.default_rng(11)
    people = [f"P{i}" for i in range(40)]

    def some(n: int) -> list[list[str | None] | None]:
        return [
            None
            if rng.random() < 0.1
            else [None if rng.random() < 0.05 else str(rng.choice(people)) for _ in range(rng.integers(0, 5))]
            for _ in range(n)
        ]

    def chunked(lists: list[list[str | None] | None]) -> pd.Series:
        whole = pa.array([None, *lists, None], pa.list_(pa.string()))
        parts = [whole.slice(1, 17), whole.slice(18, 30), whole.slice(48, len(lists) - 47)]  # sliced chunks
        return pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array(parts)))

    inner, outer = some(95), some(95)
    organisers = [None if rng.random() < 0.1 else str(rng.choice(people)) for _ in range(95)]
    tables = {
        "contacts": pd.DataFrame({"contact_id": people[30:5:-3]}),
        "employees": pd.DataFrame({"employee_id": ["P39", "Q1"]}),
        "interactions": pd.DataFrame(
            {
                "organizer_id": organisers,
                "internal_participants": chunked(inner),
                "external_participants": chunked(outer),
            }
        ),
    }
    order = [*people[30:5:-3], "P39", "Q1", *organisers]
    order += [p for lists in (inner, outer) for items in lists for p in items or []]
    code: dict[str, int] = {}
    for p in order:
        if p is not None:
            code.setdefault(p, len(code))
    encode_ids(tables)
    ix = tables["interactions"]
    assert tables["contacts"]["contact_id"].tolist() == [code[p] for p in people[30:5:-3]]
    assert tables["employees"]["employee_id"].tolist() == [code["P39"], code["Q1"]]
    assert [None if pd.isna(v) else v for v in ix["organizer_id"]] == [
        None if p is None else code[p] for p in organisers
    ]
    for name, lists in (("internal_participants", inner), ("external_participants", outer)):
        got = [None if v is pd.NA else [None if pd.isna(c) else int(c) for c in v] for v in ix[name].tolist()]
        want = [None if items is None else [None if p is None else code[p] for p in items] for items in lists]
        assert got == want, name


def test_encode_ids_accepts_integer_and_all_null_identifiers() -> None:
    tables = {
        "accounts": pd.DataFrame({"account_id": [101, 102]}),
        "contacts": pd.DataFrame({"contact_id": [7, 8], "account_id": [None, None]}),
        "entities": pd.DataFrame({"account_id": ["102", "101"]}),
    }
    encode_ids(tables)
    acc, ent = tables["accounts"]["account_id"].tolist(), tables["entities"]["account_id"].tolist()
    assert ent == acc[::-1]  # 101 and "101" are the same account (identifiers are compared as text)
    assert tables["contacts"]["account_id"].isna().all()


@pytest.mark.parametrize("span", [8, 28, 90, 180])
@pytest.mark.parametrize("first_day", [-200, 19_000])  # days before 1970 too: floor, not truncation
def test_spread_touches_exactly_the_buckets_of_the_range(span: int, first_day: int) -> None:
    size = bucket_size(span)
    days = pd.DataFrame({"id": range(400), "d": range(first_day, first_day + 400)})
    con = duckdb.connect()
    con.register("days", pa.Table.from_pandas(days))
    got = con.sql(spread("days", "id, d", "d - 3", span, size)).df()
    con.close()
    for row in days.itertuples():
        want = sorted({(day // size) for day in range(row.d - 3, row.d - 3 + span)})
        assert sorted(got.loc[got["id"] == row.id, "bkt"]) == want, f"day {row.d}"


def test_interaction_kinds_reach_the_engine_as_dictionary_codes_with_the_same_text() -> None:
    from features.engine.prepare import prepare_tables

    kinds = pd.Series(["email", "call", None, "meeting", "email"], dtype="str")
    lists = pd.Series([["X"]] * 5, dtype=LIST_TYPE)
    frame = pd.DataFrame({"kind": kinds, "started_at": pd.Timestamp("2024-01-01")})
    raw = {"interactions": frame.assign(internal_participants=lists, external_participants=lists)}
    col = pa.Table.from_pandas(prepare_tables(raw, {"interactions"}, ())["interactions"][["kind"]]).column(0)
    assert pa.types.is_dictionary(col.type)
    assert col.to_pylist() == ["email", "call", None, "meeting", "email"]
    assert len(col.chunk(0).dictionary) == 3


def _screen(columns: dict[str, list]) -> tuple[dict[str, str], list[str]]:
    from features.engine.prepare import extra_kinds, screen_extras

    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(60)], **columns})
    return screen_extras(accounts, extra_kinds(accounts), {"E1", "C1"})


def test_custom_columns_that_would_identify_a_person_are_left_out_with_the_reason() -> None:
    n = 60
    kept, notes = _screen(
        {
            "csm_name": [f"Person{i % 6} Lastname{i % 6}" for i in range(n)],  # 6 CSMs: few values, a person
            "Primary Contact E-mail": ["sales@example.com"] * n,  # the name says how to reach a person
            "notes_text": [f"called {i}" for i in range(n)],  # free text, one per account
            "billing": [f"owner{i % 3}@customer.example" for i in range(n)],  # emails under an innocent name
            "tier": ["gold", "silver", "bronze"] * (n // 3),
            "plan_name": ["pro", "team"] * (n // 2),  # "name", but not a person's
            "discount_pct": [float(i) for i in range(n)],  # a number: distinct values are fine
        }
    )
    assert kept == {"tier": "text", "plan_name": "text", "discount_pct": "number"}
    said = {note.split(" left out: ")[0].removeprefix("custom column accounts."): note for note in notes}
    assert set(said) == {"csm_name", "Primary Contact E-mail", "notes_text", "billing"}
    assert "a person's name, email or phone" in said["csm_name"]
    assert "a person's name, email or phone" in said["Primary Contact E-mail"]
    assert "60 distinct values in 60 rows" in said["notes_text"]
    assert "holds email addresses" in said["billing"]
    assert not any("Person" in note or "@" in note for note in notes)  # the notes never quote a value


def test_a_text_column_named_by_a_persons_role_is_left_out() -> None:
    n = 60
    names = [f"Person{i % 15} Lastname{i % 15}" for i in range(n)]  # 15 people: few values, still people
    kept, notes = _screen(
        {
            "sponsor": names,
            "exec_sponsor": names,
            "Account Owner": names,
            "customer_success": ["good", "poor"] * (n // 2),  # no role word: a category
            "csm_segment": ["smb", "ent"] * (n // 2),  # a role word with another word: a category
            "champion": [float(i % 2) for i in range(n)],  # a number is never a person
        }
    )
    assert kept == {"customer_success": "text", "csm_segment": "text", "champion": "number"}
    assert len(notes) == 3 and all("its name is a person's role" in note for note in notes)
    assert not any("Person" in note for note in notes)


def test_a_role_column_is_found_in_camel_case_salesforce_and_team_spellings() -> None:
    n = 60
    names = [f"Person{i % 15} Lastname{i % 15}" for i in range(n)]
    spellings = ["ExecSponsor", "Renewal_Owner__c", "success_manager", "sales_rep", "CSMName"]
    kept, notes = _screen({col: names for col in spellings} | {"ChurnReason__c": ["price", "fit"] * (n // 2)})
    assert kept == {"ChurnReason__c": "text"}
    said = {note.split(" left out: ")[0].removeprefix("custom column accounts."): note for note in notes}
    assert set(said) == set(spellings)
    assert "a person's name, email or phone" in said["CSMName"]
    assert not any("Person" in note for note in notes)


def test_a_yes_no_column_named_by_a_role_says_whether_there_is_one_and_is_kept() -> None:
    n = 60
    kept, notes = _screen(
        {
            "champion": ["Yes", "No", "no "] * (n // 3),  # is there a champion: a flag, not a person
            "exec_sponsor": ["true", "false"] * (n // 2),
            "sponsor": ["Yes", "Person1 Lastname1"] * (n // 2),  # one name among the flags: people
        }
    )
    assert kept == {"champion": "text", "exec_sponsor": "text"}
    assert len(notes) == 1 and notes[0].startswith("custom column accounts.sponsor left out")


def test_a_custom_column_with_few_accounts_per_value_is_kept_below_the_minimum() -> None:
    kept, notes = _screen({"region_code": [f"R{i % 20}" for i in range(60)]})  # 20 values: a real category
    assert kept == {"region_code": "text"} and notes == []
