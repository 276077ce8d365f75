"""Privacy: no feature or output identifies an individual employee or contact; team figures need 5+ people."""

from __future__ import annotations

import pandas as pd
import pytest

from features.catalog import catalog
from features.engine import compute_features
from tests.features.fixtures import LIST, make_world


@pytest.fixture(scope="module")
def world():
    return make_world(4, interactions=200)


def test_outputs_hold_no_person_ids(world):
    ents = pd.DataFrame({"account_id": ["A0", "A1", "A2"], "as_of": pd.to_datetime(["2024-06-01"] * 3)})
    out = compute_features(world, ents)
    ids = set(world["employees"]["employee_id"]) | set(world["contacts"]["contact_id"])
    for col in out.columns:
        assert not any(i.lower() in col.lower() for i in ids if len(i) > 2), col
        if out[col].dtype == object:
            assert not set(out[col].dropna().astype(str)) & ids, col
    for f in catalog():
        assert not any(w in f.name for w in ("employee_id", "contact_id", "owner_id", "csm_id"))


def _small_team_world(n_employees: int) -> dict[str, pd.DataFrame]:
    world = make_world(4, interactions=10)
    ix = world["interactions"].iloc[:0]
    emps = list(world["employees"]["employee_id"][:n_employees])
    rows = []
    for day in range(20):
        for k, e in enumerate(emps):
            rows.append(
                {
                    "interaction_id": f"X{day}-{k}",
                    "kind": "meeting",
                    "started_at": pd.Timestamp("2024-05-01 22:00") + pd.Timedelta(days=day),
                    "duration_minutes": 30.0,
                    "organizer_id": e,
                    "internal_participants": [x for x in emps if x != e][:3],
                    "external_participants": ["C0"],
                }
            )
    new = pd.DataFrame(rows)
    new["internal_participants"] = new["internal_participants"].astype(LIST)
    new["external_participants"] = new["external_participants"].astype(LIST)
    world["interactions"] = pd.concat([ix, new], ignore_index=True).astype(ix.dtypes.to_dict())
    return world


@pytest.mark.parametrize("n, shown", [(4, False), (5, True)])
def test_team_figures_need_five_people(n, shown):
    world = _small_team_world(n)
    ents = pd.DataFrame({"account_id": ["A0"], "as_of": [pd.Timestamp("2024-05-25")]})
    row = compute_features(world, ents).iloc[0]
    assert row["employees_engaged_28d"] == n
    for col in ("after_hours_share_28d", "team_network_avg_28d", "team_network_total_28d"):
        assert pd.notna(row[col]) == shown, col
