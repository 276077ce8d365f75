"""The per-contact windows by compiled passes equal their SQL, value for value, on every world here."""

from __future__ import annotations

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
from tests.features.fixtures import entities_for, make_world, with_new_contact
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


REPLACED_STATEMENTS = {"acc_ct_r", "acc_ct_p", "acc_ct_w", "acc_ct_per"}


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
    assert left_out == REPLACED_STATEMENTS  # the passes ran, in place of these
    pd.testing.assert_frame_equal(swept, sql, check_exact=True)
    assert (sql["contacts_reached_90d"] > 0).any() and sql["top_contact_share_28d"].notna().any()


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
    assert left_out == REPLACED_STATEMENTS
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
    assert passes.SWEPT in prepared and len(prepared[passes.SWEPT]) == len(ents)


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
        assert k is not None and set(k) == {"day_order", "explode_rows", "sweep_rows"}
        assert k["day_order"](np.array([3 * kernels.US_PER_DAY, 0], np.int64)).tolist() == [1, 0]
    finally:
        kernels.compiled.cache_clear()


def test_the_passes_windows_are_the_definitions() -> None:
    """numba's cache sees changes to kernels.py only: its windows must be written out as sql.py's are."""
    from features.engine import sql

    got = (kernels.WINDOWS, kernels.TREND_DAYS, kernels.PREV_TREND_START)
    assert got == (sql.WINDOWS, sql.TREND_DAYS, sql.PREV_TREND_START)


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
    assert left_out == REPLACED_STATEMENTS
    pd.testing.assert_frame_equal(swept, sql, check_exact=True)
    spanning = pa.ListArray.from_arrays(
        pa.array([0, 2, 3], pa.int32()), pa.array([5, 6, 7], pa.int32()), mask=pa.array([True, False])
    )
    codes, offsets, is_null = passes._participants(pd.Series(pd.arrays.ArrowExtensionArray(spanning)))
    assert codes.tolist() == [-1, -1, 7] and offsets.tolist() == [0, 2, 3]
    assert is_null.tolist() == [True, False]


def test_the_passes_refuse_cutoff_ids_out_of_order() -> None:
    world = make_world(seed=0, interactions=100)
    prepared, _ = prepare(dict(world), entities_for(world, n=6, seed=0))
    prepared["entities"]["cutoff_id"] = prepared["entities"]["cutoff_id"][::-1].to_numpy()
    with pytest.raises(ValueError, match="cutoff ids"):
        passes.contact_windows(prepared, kernels.plain())
