"""Issue #3's prototype (``bench/prototype_sweep.py``) agrees with the SQL it would replace.

The kernels run here as plain Python (numba compiles the same functions in ``make bench-prototype``), on
tiny worlds whose rows are known on their own day (``default``), recorded days later (``late``), or
(``late-people``) whose contacts and employees were entered in the CRM late, some of whose interactions reach
two accounts, name a participant twice or have an organiser outside the participants, and some of whose
employees work in half- and quarter-hour time zones; CSAT cutoffs are not at midnight.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import prototype_kernels, prototype_sweep
from features.engine import cutoffs
from features.simulator import SimulationConfig, simulate

ALL_COLUMNS = prototype_sweep.ALL_COLUMNS


def enter_late(path: Path, every: int, at: str) -> None:
    """Give every ``every``-th row of a people table a ``recorded_at`` of ``at`` (the others none)."""
    people = pd.read_parquet(path)
    entered = pd.Series(pd.NaT, index=people.index, dtype="datetime64[us]")
    entered.iloc[::every] = pd.Timestamp(at)
    people["recorded_at"] = entered
    people.to_parquet(path, index=False)


def share_interactions(root: Path, every: int) -> None:
    """Add a contact of another account to every ``every``-th interaction with a customer."""
    contacts = pd.read_parquet(root / "contacts.parquet")
    account_of = dict(zip(contacts["contact_id"], contacts["account_id"], strict=True))
    other = contacts.groupby("account_id")["contact_id"].first()
    ix = pd.read_parquet(root / "interactions.parquet")
    shared = ix.index[ix["external_participants"].map(len) > 0][::every]
    accounts = list(other.index)

    def with_other(people: np.ndarray) -> list[str]:
        mine = accounts.index(account_of[people[0]])
        return [*people, other.iloc[(mine + 1) % len(accounts)]]

    ix["external_participants"] = ix["external_participants"].map(list)
    ix.loc[shared, "external_participants"] = ix.loc[shared, "external_participants"].map(with_other)
    ix.to_parquet(root / "interactions.parquet", index=False)


def odd_lists(root: Path) -> None:
    """Name a participant twice in some interactions, take the organiser out of the list in others."""
    ix = pd.read_parquet(root / "interactions.parquet")
    for n, col in enumerate(("internal_participants", "external_participants")):
        lists = [list(p) for p in ix[col]]
        filled = [i for i, p in enumerate(lists) if p]
        for i in filled[n::11]:
            lists[i].append(lists[i][0])
        with_org = [i for i, (o, p) in enumerate(zip(ix["organizer_id"], lists, strict=True)) if o in p]
        for i in with_org[n::7]:
            lists[i] = [q for q in lists[i] if q != ix["organizer_id"].iat[i]]
        ix[col] = pd.Series(lists, index=ix.index, dtype=object)
    ix.to_parquet(root / "interactions.parquet", index=False)


def odd_zones(root: Path) -> None:
    """Put some employees in time zones a half and three quarters of an hour off the hour."""
    employees = pd.read_parquet(root / "employees.parquet")
    employees.loc[employees.index[::5], "timezone"] = "Asia/Kolkata"
    employees.loc[employees.index[2::7], "timezone"] = "Asia/Kathmandu"
    employees.to_parquet(root / "employees.parquet", index=False)


def reply_in_exactly_a_day(root: Path) -> None:
    """A new contact emails us on 2024-06-03 and one of our employees answers 24 hours later to the second.

    The fast-reply share counts a delay of 24 hours or less: this reply sits on that edge.
    """
    contacts = pd.read_parquet(root / "contacts.parquet")
    new = contacts.iloc[[0]].assign(contact_id="C_EDGE")
    if "recorded_at" in new.columns:
        new["recorded_at"] = pd.NaT  # known at once, so that cutoffs soon after the reply see it
    pd.concat([contacts, new], ignore_index=True).to_parquet(root / "contacts.parquet", index=False)
    ix = pd.read_parquet(root / "interactions.parquet")
    ours = ix.loc[ix["kind"] == "email", "organizer_id"].loc[lambda o: o.str.startswith("E")].iloc[0]
    sent = pd.Timestamp("2024-06-03 10:15:00")
    edge = ix.iloc[[0, 0]].copy()
    edge["interaction_id"] = ["I_EDGE_IN", "I_EDGE_OUT"]
    edge["kind"] = "email"
    edge["started_at"] = [sent, sent + pd.Timedelta(hours=24)]
    edge["organizer_id"] = ["C_EDGE", ours]
    edge["internal_participants"] = [[ours], [ours]]
    edge["external_participants"] = [["C_EDGE"], ["C_EDGE"]]
    if "recorded_at" in edge.columns:
        edge["recorded_at"] = edge["started_at"]
    pd.concat([ix, edge], ignore_index=True).to_parquet(root / "interactions.parquet", index=False)


def make_world(root: Path, name: str) -> Path:
    """Simulate the tiny world ``name`` (``default``, ``late`` or ``late-people``) in ``root``."""
    scenario = name.removesuffix("-people")
    simulate(SimulationConfig(accounts=12, months=12, scenario=scenario, seed=3), root)
    if name.endswith("-people"):  # some contacts and employees entered in the CRM late
        enter_late(root / "contacts.parquet", 3, "2024-07-01 09:30")
        enter_late(root / "employees.parquet", 4, "2024-05-14 16:45")
        share_interactions(root, 10)
        odd_lists(root)
        odd_zones(root)
        reply_in_exactly_a_day(root)
    return root


@pytest.fixture(scope="module", params=["default", "late", "late-people"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_world(tmp_path_factory.mktemp(request.param), request.param)


@pytest.fixture(scope="module")
def late_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The world that takes the most paths, for the tests of the comparison itself."""
    return make_world(tmp_path_factory.mktemp("late-people"), "late-people")


def test_the_kernels_give_every_value_of_the_sql_blocks(world: Path) -> None:
    figures = prototype_sweep.compare(world, prototype_kernels.plain())
    assert figures["cutoffs"] > 100
    assert figures["files_rows"] > 1000
    assert figures["files_employee_rows"] > 1000
    assert figures["files_pair_rows"] > 100
    assert figures["mismatches"] == dict.fromkeys(ALL_COLUMNS, 0)


def test_the_worlds_reach_the_figures_of_teams_of_five(world: Path) -> None:
    """The after-hours share and the team's network are NULL below five employees: the worlds reach both."""
    k = prototype_kernels.plain()
    figures: dict = {}
    _, entities = prototype_sweep.loaded_cutoffs(world, figures)
    cols = prototype_sweep.run_files(world, cutoffs(entities), k, figures)
    share = cols["after_hours_share_90d"]
    assert 0 < np.isfinite(share).sum() < len(share)
    assert 0.0 < np.nanmax(share) <= 1.0
    network = cols["team_network_avg_28d"]
    assert 0 < np.isfinite(network).sum() < len(network)
    assert np.nanmax(network) > 0.0
    assert cols["customer_relationships_28d"].max() >= 2  # the pair counts reach past 0 and 1
    assert np.nanmax(cols["replied_24h_share_90d"]) > 0.0
    assert np.isfinite(cols["reply_hours_avg_28d"]).any()


def test_the_comparison_notices_a_wrong_kernel(late_world: Path) -> None:
    def one_contact_too_many(*args: object) -> tuple:
        (reached, *rest), before, last = prototype_kernels.sweep_rows(*args)  # type: ignore[arg-type]
        reached[np.argmax(reached[:, 0]), 0] += 1
        return (reached, *rest), before, last

    wrong = prototype_sweep.compare(
        late_world, {**prototype_kernels.plain(), "sweep_rows": one_contact_too_many}
    )
    assert wrong["mismatches"] == {**dict.fromkeys(ALL_COLUMNS, 0), "contacts_reached_28d": 1}


def test_the_comparison_notices_a_wrong_employee_kernel(late_world: Path) -> None:
    def one_manager_too_few(*args: object) -> tuple:
        (engaged, manager, *rest), trend = prototype_kernels.sweep_employee_rows(*args)  # type: ignore[arg-type]
        manager[np.argmax(manager[:, 2]), 2] = 0.0
        return (engaged, manager, *rest), trend

    k = {**prototype_kernels.plain(), "sweep_employee_rows": one_manager_too_few}
    wrong = prototype_sweep.compare(late_world, k)
    assert wrong["mismatches"] == {**dict.fromkeys(ALL_COLUMNS, 0), "manager_engaged_180d": 1}


def test_an_account_with_more_employees_than_the_sweep_holds_is_an_error(
    late_world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prototype_kernels, "MAX_EMPLOYEES", 1)
    with pytest.raises(ValueError, match="MAX_EMPLOYEES"):
        prototype_sweep.compare(late_world, prototype_kernels.plain())


def test_the_kernels_do_not_need_the_file_in_time_order(tmp_path: Path) -> None:
    """The sweeps read each account's rows by day: a file whose rows are shuffled gives the same values."""
    simulate(SimulationConfig(accounts=12, months=12, scenario="late", seed=3), tmp_path)
    ix = pd.read_parquet(tmp_path / "interactions.parquet")
    ix.sample(frac=1.0, random_state=7).to_parquet(tmp_path / "interactions.parquet", index=False)
    figures = prototype_sweep.compare(tmp_path, prototype_kernels.plain())
    assert figures["mismatches"] == dict.fromkeys(ALL_COLUMNS, 0)


def test_the_comparison_notices_a_wrong_account_kernel(late_world: Path) -> None:
    def one_interaction_later(*args: object) -> tuple:
        sums, last_meeting, last = prototype_kernels.sweep_account_rows(*args)  # type: ignore[arg-type]
        last[np.argmax(last)] += 10_000_000  # ten seconds
        return sums, last_meeting, last

    k = {**prototype_kernels.plain(), "sweep_account_rows": one_interaction_later}
    wrong = prototype_sweep.compare(late_world, k)
    assert wrong["mismatches"] == {**dict.fromkeys(ALL_COLUMNS, 0), "days_since_last_interaction": 1}


def test_an_account_with_more_relationship_people_than_the_sweep_holds_is_an_error(
    late_world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prototype_kernels, "MAX_PAIR_SIDE", 1)
    with pytest.raises(ValueError, match="MAX_PAIR_SIDE"):
        prototype_sweep.compare(late_world, prototype_kernels.plain())


def test_the_files_path_alone_is_timed_and_writes_no_store(
    late_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--files-only`` loads with the product's loader, whose rejects must not land in ./store."""
    world = shutil.copytree(late_world, tmp_path / "world")
    tickets = pd.read_parquet(world / "tickets.parquet")
    tickets.loc[tickets.index[0], "severity"] = 9  # a row the loader rejects
    tickets.to_parquet(world / "tickets.parquet", index=False)
    monkeypatch.chdir(tmp_path)  # the settings' default store is ./store
    figures = prototype_sweep.files_only(world, prototype_kernels.plain())
    assert figures["files_s"] == pytest.approx(sum(figures["files_steps_s"].values()), abs=0.01)
    assert figures["files_over_floor"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world"]


def test_the_matrix_explode_of_the_layout_bench_writes_the_rows_of_explode_rows(late_world: Path) -> None:
    from bench.explode_layout import contact_inputs, explode_rows_matrix, same_rows

    args = contact_inputs(late_world, prototype_kernels.plain())
    (columns, first), (matrix, first_m) = prototype_kernels.explode_rows(*args), explode_rows_matrix(*args)
    assert len(matrix) > 1000
    assert np.array_equal(first, first_m)
    assert same_rows(columns, matrix)
    assert not same_rows(columns, matrix + np.array([0, 0, 1, 0, 0]))  # a known time off by 1 us is seen
