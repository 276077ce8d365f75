"""The collaboration and baseline blocks by compiled passes equal their SQL, value for value."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from rich.console import Console

from csat.settings import load_settings
from features.build import label_frames
from features.contract import load_contract
from features.engine import compute_features, kernels, passes, select_statements, statements, with_passes
from features.engine import prepare_inputs as prepare
from tests.features.fixtures import LIST, entities_for, make_world, with_new_contact
from tests.features.paths import SQL_ONLY, passes_forced
from tests.test_prototype_sweep import make_world as simulated_world


def both(
    world: dict[str, pd.DataFrame], ents: pd.DataFrame, compiled: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, set[str]]:
    """Features by the SQL alone and with the passes forced, and the statements the passes' run left out."""
    ran: dict[bool, set[str]] = {True: set(), False: set()}
    sql = compute_features(dict(world), ents, engine_options=SQL_ONLY, on_step=ran[False].add)
    with passes_forced(compiled):
        swept = compute_features(dict(world), ents, on_step=ran[True].add)
    return sql, swept, ran[False] - ran[True]


REPLACED_STATEMENTS = {
    *("acc_ct_r", "acc_ct_p", "acc_ct_w", "acc_ct_per"),
    *("acc_emp_r", "acc_emp_p", "acc_emp_w", "acc_emp_per"),
    *("acc_pair_r", "acc_pair_p", "acc_pair_w", "acc_rel", "cut_w28"),
    *("ix_account", "acc_ix_r", "acc_ix_p", "acc_ix_w"),
    *("emp_pair_r", "emp_pair_p", "team_days"),
    *("ix", "ix_contact", "ix_employee", "inbound", "outbound", "reply_cand", "reply_min", "reply_steps"),
    *("resp_r", "resp_p", "resp_w", "cut_w180"),
    *("us", "us_j", "tk", "tk_j", "sv", "sv_j", "ren", "ren_j", "inv"),
}
#: What a build with the passes does not run: the statements they replace, and the outputs they give whole
#: (taken into the features as they are, not through the engine).
LEFT_OUT = REPLACED_STATEMENTS | set(passes.WHOLE_OUTPUTS)


@pytest.mark.parametrize(
    "kw",
    [
        {"seed": 0, "interactions": 250},
        {"seed": 1, "recorded": True, "interactions": 250},
        {"seed": 2, "recorded": True, "interactions": 60},
        {"seed": 5, "accounts": 6, "interactions": 900},
    ],
)
def test_the_passes_give_every_value_of_the_sql_on_hand_made_worlds(kw: dict) -> None:
    world = make_world(**kw)
    ents = entities_for(world, n=40, seed=kw["seed"])
    sql, swept, left_out = both(world, ents)
    assert left_out == LEFT_OUT  # the passes ran, in place of these
    pd.testing.assert_frame_equal(swept, sql, check_exact=True)
    assert (sql["contacts_reached_90d"] > 0).any() and sql["top_contact_share_28d"].notna().any()
    assert sql["after_hours_share_28d"].between(0.01, 0.99).any()
    assert sql["team_network_avg_28d"].notna().any() and (sql["customer_relationships_28d"] > 0).any()


@pytest.mark.parametrize("compiled", [False, True], ids=["plain", "compiled"])
def test_the_passes_give_every_value_of_the_sql_on_a_world_with_people_entered_late(
    tmp_path: Path, compiled: bool
) -> None:
    """Contacts and employees entered late, interactions of two accounts, participants named twice.

    Also compiled, as the build runs them (numba compiles them once, then reads its cache).
    """
    root = simulated_world(tmp_path, "late-people")
    settings = load_settings(data_dir=root)
    console = Console(stderr=True)
    tables = load_contract(root, settings, console=console, rejects_dir=tmp_path / "rejects").tables
    frames = label_frames(tables, settings)
    ents = pd.concat([f[["account_id", "as_of"]] for f in frames.values()], ignore_index=True)
    sql, swept, left_out = both(dict(tables), ents, compiled)
    assert left_out == LEFT_OUT
    pd.testing.assert_frame_equal(swept, sql, check_exact=True)
    with passes_forced(compiled):
        k = passes.choose_kernels(len(tables["interactions"]))
    assert k is not None and hasattr(k["sweep_rows"], "py_func") == compiled  # numba's, when compiled


def test_an_organiser_of_an_interaction_without_a_participants_list_counts_in_neither() -> None:
    """A null list of participants leaves its organiser out, by either path; an empty list does not."""
    ents = pd.DataFrame({"account_id": ["A0"], "as_of": [pd.Timestamp("2024-03-02")]})
    world = make_world(seed=3, interactions=120)
    at = pd.Timestamp("2024-03-01 10:00")
    sql, swept, _ = both(with_new_contact(world, at, None, organizer="C_NEW"), ents)
    pd.testing.assert_frame_equal(swept, sql, check_exact=True)
    listed, listed_swept, _ = both(with_new_contact(world, at, [], organizer="C_NEW"), ents)
    pd.testing.assert_frame_equal(listed_swept, listed, check_exact=True)
    assert listed.at[0, "contacts_reached_28d"] == sql.at[0, "contacts_reached_28d"] + 1


def test_the_sweep_holds_as_many_contacts_as_an_account_has() -> None:
    """No fixed limit (the prototype's was 4096): an account whose 5000 contacts each met once counts 5000."""
    n = 5001
    day = kernels.US_PER_DAY
    started = np.array([10 * day + i for i in range(n)], np.int64)
    ix = (started, started, np.full(n, 1.0), np.full(n, -1), np.arange(n, dtype=np.int64), np.arange(n + 1))
    acc_of = np.array([0] + [1] * (n - 1), np.int64)
    ct = (acc_of, np.full(n, kernels.NULL_TS), np.zeros(n, np.bool_))
    k = kernels.plain()
    rows, first = k["explode_rows"](ix, ct, k["day_order"](started), 2)
    cuts = (np.array([0, 1]), np.array([0, 1]), np.array([20 * day, 20 * day]))
    (reached, *_), _, _ = k["sweep_rows"](rows, first, cuts, np.zeros(n, np.bool_), n)
    assert reached[:, 0].tolist() == [1.0, 5000.0]


def test_small_data_keeps_the_sql_and_so_does_big_data_without_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(seed=0, interactions=100)
    ents = entities_for(world, n=6, seed=0)
    prepared, p = prepare(dict(world), ents)
    chosen, outputs, _ = select_statements(p, statements(p.extras))
    assert with_passes(chosen, outputs, prepared) == chosen  # under PASSES_FROM_ROWS
    monkeypatch.setattr(passes, "PASSES_FROM_ROWS", 50)
    monkeypatch.setattr(passes, "COMPILE_FROM_ROWS", 50)
    monkeypatch.setattr(kernels, "compiled", lambda: None)  # as without numba
    assert with_passes(chosen, outputs, prepared) == chosen
    monkeypatch.setattr(passes, "COMPILE_FROM_ROWS", 10**9)  # the plain kernels
    swept = with_passes(chosen, outputs, prepared)
    assert {s.name for s in chosen} - {s.name for s in swept} == REPLACED_STATEMENTS
    assert "interactions" not in prepared  # no statement left reads them: freed as the passes start
    assert all(
        len(prepared[passes.TABLES[n]]) == len(ents) for n in ("acc_ct_agg", "acc_emp_agg", "acc_rel_agg")
    )
    assert len(prepared[passes.TABLES["team"]]) > 0


def test_the_passes_compile_uncached_where_no_cache_can_be_written(monkeypatch: pytest.MonkeyPatch) -> None:
    numba = pytest.importorskip("numba")
    real = numba.njit

    def njit(*args: object, **kw: object) -> object:
        if kw.get("cache"):
            raise RuntimeError("cannot cache function 'day_order': no locator available for file")
        return real(*args, **kw)

    monkeypatch.setattr(numba, "njit", njit)
    kernels.compiled.cache_clear()
    try:
        k = kernels.compiled()
        passes_run = set(kernels.EXPLODES) | {"reply_rows"}  # by two steps, or searched once and placed
        assert k is not None and set(k) == {f.__name__ for f in kernels.KERNELS} | passes_run
        assert k["day_order"](np.array([3 * kernels.US_PER_DAY, 0], np.int64)).tolist() == [1, 0]
    finally:
        kernels.compiled.cache_clear()


def test_the_passes_windows_are_the_definitions() -> None:
    """numba's cache sees changes to kernels.py only: its windows must be written out as sql.py's are."""
    from features.engine import sql

    got = (kernels.WINDOWS, kernels.TREND_DAYS, kernels.PREV_TREND_START, kernels.MIN_GROUP)
    assert got == (sql.WINDOWS, sql.TREND_DAYS, sql.PREV_TREND_START, sql.MIN_GROUP)
    assert (kernels.RELATION_MIN, kernels.RELATION_DAYS) == (sql.RELATION_MIN, sql.RELATION_DAYS)
    assert kernels.WORKDAY == sql.WORKDAY
    assert kernels.CLASS_EDGES == sql.CLASS_EDGES
    assert (kernels.USAGE_DAYS, kernels.SUPPORT_DAYS) == (sql.USAGE_DAYS, sql.SUPPORT_DAYS)
    assert (kernels.YEAR_DAYS, kernels.SATISFIED) == (sql.YEAR_DAYS, sql.SATISFIED)
    assert (kernels.REPLY_DAYS, kernels.FAST_REPLY_S) == (sql.REPLY_WINDOW_DAYS, sql.FAST_REPLY_S)


def test_a_contact_without_an_id_and_a_null_list_spanning_items_are_nobody() -> None:
    """Data the contract refuses, given to the engine directly: the passes still agree with the SQL."""
    world = make_world(seed=4, interactions=150)
    ct, ix = world["contacts"], world["interactions"]
    nameless = ct.iloc[[0]].copy()
    nameless["contact_id"] = None
    world["contacts"] = pd.concat([ct, nameless], ignore_index=True).astype(ct.dtypes.to_dict())
    world["interactions"] = ix.assign(organizer_id=ix["organizer_id"].where(ix.index % 3 != 0, None))
    ents = entities_for(world, n=20, seed=4)
    sql, swept, left_out = both(world, ents)
    assert left_out == LEFT_OUT
    pd.testing.assert_frame_equal(swept, sql, check_exact=True)
    spanning = pa.ListArray.from_arrays(
        pa.array([0, 2, 3], pa.int32()), pa.array([5, 6, 7], pa.int32()), mask=pa.array([True, False])
    )
    codes, offsets, is_null = passes._participants(pd.Series(pd.arrays.ArrowExtensionArray(spanning)))
    assert codes.tolist() == [-1, -1, 7] and offsets.tolist() == [0, 2, 3]
    assert is_null.tolist() == [True, False]


def year_edges(table: pd.DataFrame, stamp: str) -> list[pd.DataFrame]:
    """Cutoffs a year (365 days) and a day more after some rows' stamps: the edges of the 365-day windows."""
    rows = table.dropna(subset=[stamp]).head(5)
    return [
        pd.DataFrame({"account_id": rows["account_id"], "as_of": rows[stamp] + pd.Timedelta(days=days)})
        for days in (365, 366)
    ]


@pytest.mark.parametrize("compiled", [False, True], ids=["plain", "compiled"])
def test_baseline_sweeps_with_values_the_contract_refuses_give_what_the_sql_gives(compiled: bool) -> None:
    """Nulls in every measure, rows known only by their recorded time, times before 1970: the same values.

    Also every ticket of an account resolved with its reopen count missing (a null sum), and a second split
    across 1970, where the engine's whole seconds are not those cut toward zero.
    """
    world = make_world(seed=6, interactions=150, recorded=True)
    us, tk = world["usage"], world["tickets"]
    for i, col in enumerate(("active_users", "licensed_seats", "key_feature_events")):
        us[col] = us[col].astype("Int64").mask(us.index % (3 + i) == 0)
    severity = tk["severity"].astype("float64").mask(tk.index % 5 == 0)  # as numbers: halves, a huge one
    tk["severity"] = severity.where(tk.index % 11 != 1, 2.5).where(tk.index % 13 != 2, 2.0**63)
    tk["escalated"] = tk["escalated"].astype("boolean").mask(tk.index % 4 == 0)
    a3 = tk["account_id"] == "A3"
    tk["reopened_count"] = tk["reopened_count"].astype("Int64").mask(a3 | (tk.index % 6 == 0))
    tk.loc[a3, "closed_at"] = tk.loc[a3, "opened_at"] + pd.Timedelta(hours=5)
    tk.loc[(tk.index % 7 == 0) & ~a3, "opened_at"] = pd.NaT  # known from its recorded_at alone
    early = tk.index[~a3][-2:]  # opened and closed around 1970-01-01, half a second either side of a second
    tk.loc[early, "opened_at"] = pd.Timestamp("1969-12-31 23:59:58.5")
    tk.loc[early, "closed_at"] = pd.Timestamp("1970-01-01 00:00:00.2")
    tk.loc[early, "recorded_at"] = tk.loc[early, "opened_at"]
    sv, rn = world["surveys"], world["renewals"]
    sv["csat"] = sv["csat"].astype("Int64").mask(sv.index % 4 == 0)
    sv.loc[sv.index % 9 == 0, "responded_at"] = pd.NaT
    sv.loc[sv.index[1:4], "responded_at"] = sv.loc[sv.index[1], "responded_at"]  # responses at one time
    sv.loc[sv.index[1:4], "account_id"] = sv.loc[sv.index[1], "account_id"]
    rn.loc[rn.index % 3 == 0, "arr_change_usd"] = np.nan
    rn.loc[rn.index[1], "renewal_date"] = pd.NaT
    rn.loc[rn.index[2:4], "renewal_date"] = rn.loc[rn.index[2], "renewal_date"]  # renewals on one day
    rn.loc[rn.index[2:4], "account_id"] = rn.loc[rn.index[2], "account_id"]
    rn.loc[rn.index[4:6], "arr_change_usd"] = [0.125, -0.125]  # half a cent: away from zero
    rn.loc[rn.index[6:8], "outcome"] = [None, "paused"]  # no outcome, and one the contract does not know
    inv = world["invoices"]
    inv["amount_usd"] = inv["amount_usd"].mask(inv.index % 3 == 0)
    inv.loc[inv.index[:2], "amount_usd"] = [0.125, -0.125]
    inv.loc[inv.index % 5 == 0, "due_at"] = pd.NaT
    inv.loc[inv.index % 7 == 0, "issued_at"] = pd.NaT  # known from its recorded_at alone
    ents = entities_for(world, n=40, seed=6)
    ents.loc[0] = ["A0", pd.Timestamp("1970-01-02 10:00:00.7")]
    late = inv[inv["paid_at"] > inv["due_at"]].head(6)  # cutoffs the moment a late invoice is paid
    ents = pd.concat([ents, late[["account_id", "paid_at"]].set_axis(["account_id", "as_of"], axis=1)])
    ents = pd.concat(
        [ents, *year_edges(sv, "responded_at"), *year_edges(inv, "issued_at"), *year_edges(late, "paid_at")]
    )
    with passes_forced(compiled):
        sql, swept, left_out = both(world, ents, compiled)
    assert left_out == LEFT_OUT
    pd.testing.assert_frame_equal(swept, sql, check_exact=True)
    assert sql["reopened_180d"].isna().any() and sql["key_feature_events_28d"].isna().any()  # null sums
    assert sql["active_users_avg_28d"].notna().any() and (sql["open_tickets"] > 0).any()
    assert sql["last_csat"].notna().any() and sql["last_arr_change_usd"].notna().any()
    assert sql["overdue_open_usd"].notna().any() and sql["avg_days_late_365d"].notna().any()


def test_without_contacts_the_baseline_blocks_alone_run_as_passes() -> None:
    """No contacts (an optional table): no collaboration block, and the baseline's still by the passes."""
    world = make_world(seed=7, interactions=120)
    del world["contacts"]
    ents = entities_for(world, n=20, seed=7)
    sql, swept, left_out = both(world, ents)
    baseline = {"us", "us_j", "tk", "tk_j", "sv", "sv_j", "ren", "ren_j", "inv"}
    assert left_out == baseline | set(passes.WHOLE_OUTPUTS)
    pd.testing.assert_frame_equal(swept, sql, check_exact=True)
    assert "contacts_reached_28d" not in sql and sql["tickets_90d"].gt(0).any()


def test_the_passes_refuse_cutoff_ids_out_of_order() -> None:
    world = make_world(seed=0, interactions=100)
    prepared, _ = prepare(dict(world), entities_for(world, n=6, seed=0))
    prepared["entities"]["cutoff_id"] = prepared["entities"]["cutoff_id"][::-1].to_numpy()
    with pytest.raises(ValueError, match="cutoff ids"):
        passes.contact_windows(prepared, kernels.plain())


@pytest.mark.parametrize(
    ("zone", "change_utc", "before_h", "after_h"),
    [
        ("Europe/Berlin", "2024-03-31 01:00:00", 1.0, 2.0),
        ("Australia/Sydney", "2024-04-06 16:00:00", 11.0, 10.0),
        ("America/New_York", "2024-11-03 06:00:00", -4.0, -5.0),
    ],
)
def test_the_time_zones_change_their_offset_at_the_second_the_database_says(
    zone: str, change_utc: str, before_h: float, after_h: float
) -> None:
    us = pd.Timestamp(change_utc).value // 1000
    first, at, offset = passes.zone_shifts(["UTC", zone, "Asia/Kathmandu"], us - 40 * kernels.US_PER_DAY, us)
    assert first.tolist() == [0, 1, 3, 4]  # UTC and Kathmandu never change; the zone once in these 40 days
    assert at[2] == us and at[[0, 1, 3]].tolist() == [kernels.NULL_TS] * 3
    hour = 3_600_000_000
    assert offset.tolist() == [0, before_h * hour, after_h * hour, 5.75 * hour]


def test_an_employee_works_office_hours_in_their_own_zone() -> None:
    """One hour with A0 at 12:30 UTC on Monday 2024-10-28, the day after Europe left summer time.

    Office hours (08:00-17:00) in London (12:30), Berlin (13:30) and New York (08:30: still summer time
    there), after hours in Tokyo (21:30) and Sydney (23:30): 2 of the 5 employees' hours, by either path.
    """
    world = make_world(seed=0, interactions=40)
    zones = ["Europe/London", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
    em = world["employees"].copy()
    em["timezone"] = pd.Series(zones + ["UTC"] * (len(em) - len(zones)), dtype="str")
    ix = world["interactions"]
    one = ix.iloc[[0]].copy()
    one["started_at"] = pd.Timestamp("2024-10-28 12:30").as_unit("us")
    one["kind"], one["duration_minutes"], one["organizer_id"] = "meeting", 60.0, "E0"
    one["internal_participants"] = pd.Series([["E1", "E2", "E3", "E4"]], dtype=LIST, index=one.index)
    one["external_participants"] = pd.Series([["C0"]], dtype=LIST, index=one.index)
    world = {**world, "employees": em, "interactions": one.astype(ix.dtypes.to_dict())}
    ents = pd.DataFrame({"account_id": ["A0"], "as_of": [pd.Timestamp("2024-10-29")]})
    sql, swept, left_out = both(world, ents)
    assert left_out == LEFT_OUT
    pd.testing.assert_frame_equal(swept, sql, check_exact=True)
    assert sql.at[0, "employees_engaged_28d"] == 5 and sql.at[0, "after_hours_share_28d"] == 0.4


def test_with_every_block_by_passes_neither_its_tables_nor_the_whole_outputs_are_copied_into_duckdb(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No statement is left that reads them: their memory is not held twice (pandas and DuckDB).

    Nor do the outputs the passes give whole go through DuckDB.
    """
    from features.engine import duckdb_backend

    offered: list[set[str]] = []
    real_run = duckdb_backend.run

    def spy(tables: dict[str, pd.DataFrame], *args: object, **kwargs: object) -> pd.DataFrame:
        offered.append(set(tables))
        return real_run(tables, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(duckdb_backend, "run", spy)
    world = make_world(seed=0, interactions=120)
    ents = entities_for(world, n=8, seed=0)
    compute_features(dict(world), ents, engine_options=SQL_ONLY)
    with passes_forced():
        compute_features(dict(world), ents)
    assert "interactions" in offered[0] and "interactions" not in offered[1]
    assert {"contacts", "accounts"} <= offered[1]  # the baseline and the features' own tables still are
    whole = {passes.TABLES[o] for o in passes.WHOLE_OUTPUTS}  # taken into the features as they are
    baseline = {"usage", "tickets", "surveys", "renewals", "invoices"}
    assert baseline <= offered[0] and not (baseline | whole) & offered[1]


def test_the_teams_distinct_days_are_those_of_sorting_the_pairs() -> None:
    """Each team member's days, as the network's pass asks for them: the same as numpy's unique pairs."""
    rng = np.random.default_rng(3)
    for n in (0, 1, 7, 300):
        who = rng.integers(0, 6, n)
        day = rng.integers(-40_000, 40_000, n) if n % 2 else rng.integers(-2, 3, n)
        expected = np.unique(np.stack([who, day]), axis=1) if n else np.zeros((2, 0), np.int64)
        got_who, got_day = passes._distinct_pairs(who, day)
        assert got_who.tolist() == expected[0].tolist() and got_day.tolist() == expected[1].tolist()


def test_the_passes_refuse_more_interactions_than_they_can_index(monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(seed=0, interactions=100)
    prepared, _ = prepare(dict(world), entities_for(world, n=4, seed=0))
    monkeypatch.setattr(passes, "MAX_INTERACTIONS", 99)
    with pytest.raises(ValueError, match=r"int32: [\d,]+ interactions is more than 99; set duckdb_compiled"):
        passes.run_passes(prepared, kernels.plain(), {"acc_ct_agg"})


@pytest.mark.parametrize("compiled", [False, True])
def test_the_passes_on_one_core_give_what_they_give_on_two(
    monkeypatch: pytest.MonkeyPatch, compiled: bool
) -> None:
    """Our people's blocks run in a thread beside the others on 2+ cores, in turn on one: the same results.

    Compiled, the kernels release Python's lock and the two threads do run at once.
    """
    k = kernels.compiled() if compiled else kernels.plain()
    if k is None:
        pytest.skip("numba is not installed")
    world = make_world(seed=5, interactions=300)
    ents = entities_for(world, n=30, seed=5)
    results = []
    for cores in (2, 1):
        monkeypatch.setattr(passes, "usable_cpus", lambda cores=cores: cores)
        prepared, _ = prepare(dict(world), ents)
        results.append(passes.run_passes(prepared, k, set(passes.TABLES), release=cores == 2))
        assert ("interactions" in prepared) == (cores == 1)  # freed only when asked to
    assert results[0].keys() == results[1].keys() == set(passes.TABLES)
    for name, frame in results[0].items():
        pd.testing.assert_frame_equal(frame, results[1][name], check_exact=True)


def test_a_failure_beside_is_not_lost_behind_one_of_the_main_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both blocks fail: the error raised is the main thread's, and it notes the one of the blocks beside."""
    world = make_world(seed=5, interactions=300)
    prepared, _ = prepare(dict(world), entities_for(world, n=30, seed=5))

    def broken(name: str, after_s: float = 0.0) -> Callable[..., dict]:
        def block(*args: object) -> dict:
            time.sleep(after_s)  # the main thread's error comes first: it must wait for this one
            raise RuntimeError(f"the {name} block broke")

        return block

    monkeypatch.setattr(passes, "usable_cpus", lambda: 2)
    monkeypatch.setattr(passes, "_contacts_block", broken("contacts"))
    monkeypatch.setattr(passes, "_staff_blocks", broken("staff", after_s=0.3))
    with pytest.raises(RuntimeError, match="the contacts block broke") as raised:
        passes.run_passes(prepared, kernels.plain(), set(passes.TABLES))
    (note,) = raised.value.__notes__
    assert note.startswith("our people's blocks, run beside, failed too:\nTraceback (most recent call last):")
    assert "in block" in note and note.endswith("RuntimeError: the staff block broke")  # where, and what


def naive_reply_rows(
    ix: tuple, kind: np.ndarray, ct: tuple, outbound: tuple, n_accounts: int
) -> tuple[list[tuple], np.ndarray]:
    """:func:`kernels.reply_rows`' rows by looking at every outbound row of the contact, no cursor."""
    started, known, _, org, ext, offsets = ix
    (o_stamp, o_known), o_first = outbound
    rows: list[list[tuple]] = [[] for _ in range(n_accounts)]
    week, fast_s = kernels.REPLY_DAYS * kernels.US_PER_DAY, kernels.FAST_REPLY_S
    for i in kernels.day_order(started):
        c = org[i]
        if kind[i] != 0 or c < 0:
            continue
        a, k_in, day = ct[0][c], max(known[i], ct[1][c]), started[i] // kernels.US_PER_DAY
        replies = sorted(
            (max(k_in, o_known[q]), float(o_stamp[q] // 1_000_000 - started[i] // 1_000_000))
            for q in range(o_first[c], o_first[c + 1])
            if started[i] < o_stamp[q] <= started[i] + week
        )
        best = None
        for when, delay in replies:
            if best is None or delay < best:
                fast = delay <= fast_s and (best is None or best > fast_s)
                flags = (kernels.REPLIED if best is None else 0) + (kernels.FAST if fast else 0)
                rows[a].append((day, when, delay - (best or 0.0), flags))
                best = delay
        named = sum(1 for j in range(offsets[i], offsets[i + 1]) if ext[j] == c)
        rows[a] += [(day, k_in, 0.0, kernels.INBOUND)] * max(named, 1)
    return [r for acc in rows for r in acc], np.cumsum([0] + [len(acc) for acc in rows])


@pytest.mark.parametrize("seed", range(4))
def test_the_reply_search_resuming_where_it_ended_finds_what_a_full_search_finds(seed: int) -> None:
    """Inbound emails of a few contacts over 60 days, our emails to them: every step of every reply delay.

    The kernel resumes each contact's search where its previous one ended; the reference reads all of the
    contact's outbound rows each time. The interactions are in no order (the day order visits a day's in
    their positions' order, not by time), as prepared tables may be.
    """
    rng = np.random.default_rng(seed)
    n, n_contacts, n_accounts, n_staff = 400, 6, 3, 4
    started = rng.integers(0, 60 * kernels.US_PER_DAY, n)
    late = rng.random(n) < 0.2
    known = np.where(late, started + rng.integers(0, 3 * kernels.US_PER_DAY, n), started)
    by_contact = rng.random(n) < 0.5  # else one of our employees organised it
    org = np.where(by_contact, rng.integers(0, n_contacts, n), -1)
    org_e = np.where(by_contact, -1, rng.integers(0, n_staff, n))
    sizes = rng.integers(0, 4, n)
    ext = rng.integers(-1, n_contacts, sizes.sum())  # -1: someone who is not a contact
    named = np.flatnonzero(by_contact & (sizes > 0))[::2]  # some inbound emails name their sender too
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    ext[offsets[named]] = org[named]
    kind = np.where(rng.random(n) < 0.8, 0, rng.integers(1, 3, n))
    ct_recorded = np.where(rng.random(n_contacts) < 0.3, 10 * kernels.US_PER_DAY, kernels.NULL_TS)
    ct = (rng.integers(0, n_accounts, n_contacts), ct_recorded, np.zeros(n_contacts, bool))
    ix = (started, known, np.full(n, 30.0), org, ext, offsets)
    k, visit = kernels.plain(), kernels.day_order(started)
    em_recorded = np.full(n_staff, kernels.NULL_TS)
    outbound = k["outbound_emails"](ix, org_e, kind, visit, (ct_recorded, em_recorded), n_contacts)
    rows, first = k["reply_rows"](ix, kind, ct, outbound, visit, n_accounts)
    expected, expected_first = naive_reply_rows(ix, kind, ct, outbound, n_accounts)
    assert first.tolist() == expected_first.tolist()
    assert list(zip(*(r.tolist() for r in rows), strict=True)) == expected
    assert sum(flags & kernels.REPLIED > 0 for *_, flags in expected) > 20  # replies were there to find
