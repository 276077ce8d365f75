"""The simulator: deterministic, valid against the contract, ground truth apart, scenarios as promised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from csat.settings import Settings
from features.contract import load_contract
from features.engine import compute_features
from features.simulator import GROUND_TRUTH_DIR, TABLES, SimulationConfig, simulate
from features.simulator.attention import attention_index
from features.simulator.config import WorldParams, history_end
from features.simulator.interactions import SEGMENT_SCALE
from features.simulator.writer import OutputFolderError

SMALL = {"accounts": 60, "months": 5}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "default"
    simulate(SimulationConfig(**SMALL, seed=7), out)
    return out


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(folder / f"{table}.parquet")


def test_writes_all_nine_tables_and_ground_truth_apart(world: Path) -> None:
    assert sorted(p.stem for p in world.glob("*.parquet")) == sorted(TABLES)
    truth = world / GROUND_TRUTH_DIR
    assert {p.stem for p in truth.glob("*.parquet")} >= {"csat_truth", "renewal_truth", "latent"}
    csat_truth = pd.read_parquet(truth / "csat_truth.parquet")
    surveys = _read(world, "surveys")
    assert set(csat_truth["response_id"]) == set(surveys["response_id"])
    assert csat_truth["p_satisfied"].between(0, 1).all()
    latent = pd.read_parquet(truth / "latent.parquet")
    assert len(latent) == SMALL["accounts"] * SMALL["months"]
    assert latent["churn_hazard"].between(0, 1).all()


def test_same_seed_same_tables_and_other_seed_differs(world: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    simulate(SimulationConfig(**SMALL, seed=7), again)
    for table in TABLES:
        pd.testing.assert_frame_equal(_read(world, table), _read(again, table))
    other = tmp_path / "other"
    simulate(SimulationConfig(**SMALL, seed=8), other)
    assert not _read(world, "interactions").equals(_read(other, "interactions"))


def test_output_passes_the_contract_with_zero_rejects(world: Path, tmp_path: Path) -> None:
    result = load_contract(world, Settings(store_dir=tmp_path), rejects_dir=tmp_path)
    assert set(result.tables) == set(TABLES)
    for name, report in result.report.tables.items():
        assert report.rows_rejected == 0, name
        assert report.rows_kept == report.rows_read > 0, name


def test_a_history_must_end_by_today_and_one_ending_today_loads_without_rejects(tmp_path: Path) -> None:
    today = datetime.now(UTC).date()  # the load's clock
    with pytest.raises(ValidationError, match="after today"):
        SimulationConfig(accounts=10, months=4, start=today - timedelta(days=60))
    # the latest start whose history ends by today (month ends clip, so it may end a few days before)
    start = next(
        today - timedelta(days=k)
        for k in range(200)
        if history_end(today - timedelta(days=k), 4) <= today + timedelta(days=1)
    )
    assert history_end(start, 4) >= today - timedelta(days=3)
    with pytest.raises(ValidationError, match="after today"):
        SimulationConfig(accounts=10, months=4, start=start + timedelta(days=1))
    cfg = SimulationConfig(accounts=20, months=4, seed=3, start=start)
    simulate(cfg, tmp_path / "now")
    result = load_contract(tmp_path / "now", Settings(store_dir=tmp_path), rejects_dir=tmp_path)
    assert result.report.problems == []


def test_csv_and_parquet_load_to_the_same_frames(tmp_path: Path) -> None:
    cfg = SimulationConfig(accounts=30, months=4, seed=3)
    simulate(cfg, tmp_path / "pq")
    simulate(cfg, tmp_path / "csv", fmt="csv")
    settings = Settings(store_dir=tmp_path)
    from_pq = load_contract(tmp_path / "pq", settings, rejects_dir=tmp_path / "r1").tables
    from_csv = load_contract(tmp_path / "csv", settings, rejects_dir=tmp_path / "r2").tables
    for table in TABLES:
        left, right = from_pq[table], from_csv[table]
        assert list(left.columns) == list(right.columns), table
        assert len(left) == len(right), table
        for column in left.columns:
            if left[column].dtype.kind == "f":
                np.testing.assert_allclose(
                    left[column], right[column], rtol=1e-9, err_msg=f"{table}.{column}"
                )
            else:
                assert left[column].astype(str).tolist() == right[column].astype(str).tolist(), (
                    f"{table}.{column}"
                )


def test_late_scenario_stamps_recorded_at_after_the_event(tmp_path: Path) -> None:
    simulate(SimulationConfig(**SMALL, scenario="late", seed=7), tmp_path / "late")
    for table, stamp in (
        ("interactions", "started_at"),
        ("tickets", "opened_at"),
        ("surveys", "responded_at"),
        ("usage", "date"),
        ("invoices", "issued_at"),
        ("renewals", "renewal_date"),
    ):
        frame = _read(tmp_path / "late", table)
        lag = pd.to_datetime(frame["recorded_at"]) - pd.to_datetime(frame[stamp])
        assert (lag > pd.Timedelta(0)).all(), table
        assert lag.median() >= pd.Timedelta(days=2), table


def _slope(y: pd.Series, x: pd.Series) -> float:
    return float(np.cov(y, x)[0, 1] / np.var(x, ddof=1))


def test_null_scenario_keeps_collaboration_but_cuts_its_effect(world: Path, tmp_path: Path) -> None:
    simulate(SimulationConfig(**SMALL, scenario="null", seed=7), tmp_path / "null")
    default = pd.read_parquet(world / GROUND_TRUTH_DIR / "latent.parquet")
    null = pd.read_parquet(tmp_path / "null" / GROUND_TRUTH_DIR / "latent.parquet")
    # same collaboration drivers (same law, same draws), but health no longer contains them
    pd.testing.assert_series_equal(default["collaboration_part"], null["collaboration_part"])
    residual_null = null["health"] - null["baseline_part"]
    residual_default = default["health"] - default["baseline_part"]
    assert abs(_slope(residual_null, null["collaboration_part"])) < 0.1
    assert _slope(residual_default, default["collaboration_part"]) > 0.9
    # interaction volumes stay comparable: collaboration's marginal law is unchanged
    n_default = len(_read(world, "interactions"))
    n_null = len(_read(tmp_path / "null", "interactions"))
    assert abs(n_null - n_default) / n_default < 0.1


def test_failed_run_leaves_the_previous_world_in_place(world: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    simulate(SimulationConfig(accounts=20, months=4, seed=1), target)
    before = _read(target, "accounts")

    def explode(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate(SimulationConfig(accounts=40, months=4, seed=2), target, progress=explode)
    pd.testing.assert_frame_equal(_read(target, "accounts"), before)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_world_looks_like_a_crm(world: Path) -> None:
    interactions = _read(world, "interactions")
    emails = interactions[interactions["kind"] == "email"]["duration_minutes"]
    meetings = interactions[interactions["kind"] == "meeting"]["duration_minutes"]
    assert 2 <= emails.median() <= 8
    assert 30 <= meetings.median() <= 60
    size = interactions["internal_participants"].map(len) + interactions["external_participants"].map(len)
    assert (size <= 5).mean() > 0.8 and size.max() > 8  # mostly small, with a long tail
    internal_only = (interactions["external_participants"].map(len) == 0).mean()
    assert 0.05 < internal_only < 0.8
    accounts = _read(world, "accounts")
    arr = accounts.groupby("segment")["arr_usd"].median()
    assert arr["enterprise"] > arr["mid-market"] > arr["smb"]
    surveys = _read(world, "surveys")
    assert 0.5 < (surveys["csat"] >= 4).mean() < 0.85


def test_survey_answers_follow_the_attention_received(world: Path, tmp_path: Path) -> None:
    truth = pd.read_parquet(world / GROUND_TRUTH_DIR / "csat_truth.parquet")
    surveys = _read(world, "surveys").merge(truth, on=["response_id", "account_id"])
    assert len(surveys) == len(truth) > 0
    # the monthly survey campaign, from the second month on: answers in the month's first three local days
    month_start = pd.to_datetime(
        pd.DataFrame({"year": 2024 + surveys["month"] // 12, "month": surveys["month"] % 12 + 1, "day": 1})
    )
    since = pd.to_datetime(surveys["responded_at"]) - month_start
    assert (surveys["month"] >= 1).all()
    assert since.between(pd.Timedelta(hours=-14), pd.Timedelta(days=3, hours=14)).all()
    # the attention behind every answer is the feature store's own customer_interactions_28d
    tables = load_contract(world, Settings(store_dir=tmp_path), rejects_dir=tmp_path).tables
    store = compute_features(
        tables, surveys[["account_id", "responded_at"]].rename(columns={"responded_at": "as_of"})
    )
    np.testing.assert_array_equal(surveys["interactions_28d"], store["customer_interactions_28d"])
    # the answer's health is the month's baseline part, the team's network and the attention, nothing else
    p = WorldParams()
    latent = pd.read_parquet(world / GROUND_TRUTH_DIR / "latent.parquet")
    latent["month_index"] = latent.groupby("account_id").cumcount()
    parts = surveys.merge(latent, left_on=["account_id", "month"], right_on=["account_id", "month_index"])
    scale = _read(world, "accounts").set_index("account_id")["segment"].map(SEGMENT_SCALE)
    attention = attention_index(parts["interactions_28d"].to_numpy(), scale[parts["account_id"]].to_numpy())
    expected = parts["baseline_part"] + p.w_network * parts["team_network"] + p.w_attention * attention
    assert len(parts) == len(surveys)
    np.testing.assert_allclose(parts["health_x"], expected, rtol=1e-9, atol=1e-9)
    # in the null world an answer follows the month's baseline part alone
    simulate(SimulationConfig(**SMALL, scenario="null", seed=7), tmp_path / "null")
    null_truth = pd.read_parquet(tmp_path / "null" / GROUND_TRUTH_DIR / "csat_truth.parquet")
    null_latent = pd.read_parquet(tmp_path / "null" / GROUND_TRUTH_DIR / "latent.parquet")
    null_latent["month_index"] = null_latent.groupby("account_id").cumcount()
    joined = null_truth.merge(
        null_latent,
        left_on=["account_id", "month"],
        right_on=["account_id", "month_index"],
        suffixes=("", "_m"),
    )
    assert len(joined) == len(null_truth) > 0
    np.testing.assert_allclose(joined["health"], joined["baseline_part"])


def test_survey_days_must_be_positive() -> None:
    with pytest.raises(ValueError, match="survey_days"):
        WorldParams(survey_days=0)


@pytest.mark.parametrize("case", ["own_files", "a_file", "current_folder"])
def test_an_output_folder_that_is_not_a_world_is_refused_and_kept(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "target"
    if case == "a_file":
        target.write_text("mine", encoding="utf-8")
    else:
        (target / "sub").mkdir(parents=True)
        (target / "notes.txt").write_text("mine", encoding="utf-8")
    if case == "current_folder":
        simulate(SimulationConfig(accounts=10, months=4, seed=1), target / "world")
        monkeypatch.chdir(target / "world")
        target = Path(".")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    with pytest.raises(OutputFolderError, match="a file|not a simulated world|current folder"):
        simulate(SimulationConfig(accounts=10, months=4, seed=1), target)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_an_earlier_world_or_an_empty_folder_may_be_replaced(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    simulate(SimulationConfig(accounts=10, months=4, seed=1), tmp_path / "empty")
    simulate(SimulationConfig(accounts=12, months=4, seed=2), tmp_path / "empty")
    assert len(_read(tmp_path / "empty", "accounts")) == 12


def test_csat_simulate_stopped_by_sigterm_removes_its_staging_folder(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("CSAT_")}
    args = ["simulate", "--accounts", "2000", "--months", "24", "--out", "sim2"]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from csat.cli import main; main()", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    staging = tmp_path / f".sim2.tmp-{proc.pid}"
    deadline = time.monotonic() + 120
    while not (staging.is_dir() and any(staging.iterdir())) and proc.poll() is None:
        assert time.monotonic() < deadline, "the simulation never started writing"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no world, no staging folder left


def test_staging_folders_left_by_killed_runs_are_removed_once_stale(tmp_path: Path) -> None:
    import os
    import time

    stale = tmp_path / ".target.tmp-999999999"  # a run killed outright (SIGKILL) long ago
    fresh = tmp_path / ".target.tmp-999999998"  # changed a minute ago: maybe a run still writing
    other = tmp_path / ".other.tmp-999999997"  # another output folder's
    for folder in (stale, fresh, other):
        folder.mkdir()
        (folder / "accounts.parquet").write_bytes(b"partial")
    hours_ago = time.time() - 2 * 3600
    for path in (stale, stale / "accounts.parquet", other, other / "accounts.parquet"):
        os.utime(path, (hours_ago, hours_ago))
    os.utime(fresh / "accounts.parquet", (time.time() - 60, time.time() - 60))
    os.utime(fresh, (hours_ago, hours_ago))
    simulate(SimulationConfig(accounts=10, months=4, seed=1), tmp_path / "target")
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, fresh.name, "target"]
