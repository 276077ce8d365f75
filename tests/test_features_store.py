"""Stores: offline frames with manifests, the online store, atomic replacement, labels, CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from csat.settings import load_settings
from features import store
from features.build import build_frames, build_store
from features.catalog import catalog
from features.feature_cli import features_app
from features.labels import churn_frame, csat_frame, snapshot_dates
from features.store import read_offline, read_online
from tests.features.fixtures import make_world

ROOT = Path(__file__).resolve().parents[1]
MANIFEST_KEYS = {
    "target",
    "feature_set_version",
    "data_fingerprint",
    "cutoff_min",
    "cutoff_max",
    "rows",
    "positives",
    "built_at",
    "features",
    "categorical",
    "groups_missing",
    "horizon_days",
}


@pytest.fixture(scope="module")
def world():
    return make_world(3, interactions=200)


@pytest.fixture(scope="module")
def built(world, tmp_path_factory):
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("raw"), store_dir=tmp_path_factory.mktemp("store")
    )
    result = build_store(settings, as_of=pd.Timestamp("2024-07-01").date(), tables=world)
    return settings, result


def test_build_frames_can_free_the_raw_tables_it_was_handed(world):
    settings = load_settings()
    accounts = world["accounts"]["account_id"]
    ents = {"e": pd.DataFrame({"account_id": accounts, "as_of": pd.Timestamp("2024-05-01")})}
    kept = dict(world)
    expected = build_frames(kept, ents, settings)["e"]
    assert set(kept) == set(world)  # not asked to: the caller's tables stay
    handed = dict(world)
    got = build_frames(handed, ents, settings, release_tables=True)["e"]
    assert handed == {}
    pd.testing.assert_frame_equal(got, expected)


def test_frames_built_in_one_run_equal_frames_built_alone(world):
    settings = load_settings()
    accounts = world["accounts"]["account_id"]
    frames = {
        "early": pd.DataFrame({"account_id": accounts, "as_of": pd.Timestamp("2024-03-01")}),
        "empty": pd.DataFrame(
            {"account_id": pd.Series([], dtype=str), "as_of": pd.Series([], dtype="M8[us]")}
        ),
        "late": pd.DataFrame({"account_id": accounts[::-1], "as_of": pd.Timestamp("2024-06-15 10:30")}),
    }
    together = build_frames(world, frames, settings)
    assert list(together) == list(frames)
    assert together["empty"].empty
    for name in ("early", "late"):
        alone = build_frames(world, {name: frames[name]}, settings)[name]
        got = together[name]
        pd.testing.assert_frame_equal(got, alone)
        assert list(got["account_id"]) == list(frames[name]["account_id"])


def test_a_build_that_loads_the_tables_frees_them_during_the_run(world, tmp_path, monkeypatch):
    from features import build

    seen = {}

    def spy(tables, entity_frames, settings, engine=None, on_step=None, release_tables=False):
        seen["release"] = release_tables
        return build_frames(tables, entity_frames, settings, engine, on_step, release_tables)

    monkeypatch.setattr(build, "build_frames", spy)
    monkeypatch.setattr(build, "_load", lambda *a: dict(world))
    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "s1")
    build_store(settings, as_of=pd.Timestamp("2024-07-01").date())
    assert seen == {"release": True}
    build_store(load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "s2"), tables=world)
    assert seen == {"release": False}


def test_offline_frames_and_manifest(built, world):
    settings, result = built
    for target in ("csat", "churn"):
        frame, manifest = read_offline(settings.store_dir, target)
        assert set(manifest) >= MANIFEST_KEYS
        assert list(frame.columns[:4]) == ["example_id", "account_id", "as_of", "label"]
        assert manifest["rows"] == len(frame) == result.rows[target]
        assert set(frame["label"].unique()) <= {0, 1}
        feats = manifest["features"]["baseline"] + manifest["features"]["collaboration"]
        assert list(frame.columns[4:]) == feats
        for col in feats:
            want = "category" if col in manifest["categorical"] else "float64"
            assert (frame[col].dtype == "float64") == (want == "float64"), col
        assert len(manifest["features"]["collaboration"]) >= 40
        assert frame["example_id"].is_unique
    frame, manifest = read_offline(settings.store_dir, "churn")
    assert manifest["horizon_days"] == settings.churn_horizon_days
    assert frame["example_id"].str.fullmatch(r"A\d+@\d{4}-\d{2}-01").all()


def test_online_store(built, world):
    settings, result = built
    online = read_online(settings.store_dir)
    assert len(online) == len(world["accounts"]) == result.online_rows
    assert (online["as_of"] == pd.Timestamp("2024-07-01")).all()
    one = read_online(settings.store_dir, ["A1"])
    assert list(one["account_id"]) == ["A1"]
    assert one["tenure_days"].dtype == "float64"
    assert isinstance(one["segment"].iloc[0], str)


def test_interrupted_offline_write_keeps_previous_store(built, monkeypatch):
    settings, _ = built
    before, manifest = read_offline(settings.store_dir, "csat")

    def broken(frame, path):
        path.write_bytes(b"PAR1 half a file")
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_write_frame", broken)
    with pytest.raises(RuntimeError):
        store.write_offline(settings.store_dir, "csat", before.head(3), manifest)
    after, manifest_after = read_offline(settings.store_dir, "csat")
    pd.testing.assert_frame_equal(before, after)
    assert manifest_after == manifest


@pytest.mark.slow
def test_killed_build_keeps_previous_store(built):
    """SIGKILL a writer process in the middle of writing: the old frame and manifest stay readable."""
    settings, _ = built
    before, manifest = read_offline(settings.store_dir, "csat")
    marker = Path(settings.store_dir) / "writing.marker"
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from features import store
        real = store._write_frame
        def slow(frame, path):
            real(frame, path)
            Path({str(marker)!r}).write_text("mid-write")
            time.sleep(60)
        store._write_frame = slow
        frame, manifest = store.read_offline(Path({str(settings.store_dir)!r}), "csat")
        store.write_offline(Path({str(settings.store_dir)!r}), "csat", frame.head(2), manifest)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    try:
        deadline = time.time() + 60
        while not marker.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert marker.exists(), "writer never reached the middle of its write"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    after, manifest_after = read_offline(settings.store_dir, "csat")
    pd.testing.assert_frame_equal(before, after)
    assert manifest_after == manifest


def test_online_swap_while_reader_open(built, world):
    settings, _ = built
    import sqlite3

    path = store.online_path(settings.store_dir)
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    n_before = reader.execute("SELECT COUNT(*) FROM features").fetchone()[0]
    frame = read_online(settings.store_dir)
    store.write_online(settings.store_dir, frame.head(2), frame.attrs["manifest"])
    assert (
        reader.execute("SELECT COUNT(*) FROM features").fetchone()[0] == n_before
    )  # old file still readable
    reader.close()
    assert len(read_online(settings.store_dir)) == 2
    store.write_online(settings.store_dir, frame, frame.attrs["manifest"])


def test_missing_tables_leave_groups_out(world, tmp_path):
    tables = {k: v for k, v in world.items() if k not in ("usage", "interactions")}
    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    result = build_store(settings, tables=tables)
    frame, manifest = read_offline(settings.store_dir, "csat")
    assert manifest["features"]["collaboration"] == []
    assert "usage" in manifest["groups_missing"] and "volume" in manifest["groups_missing"]
    assert "active_users_avg_28d" not in frame.columns and "email_hours_28d" not in frame.columns
    assert any("usage" in n for n in result.notes)


def test_an_empty_optional_table_leaves_its_groups_out_like_a_missing_one(world, tmp_path):
    tables = {**world, "invoices": world["invoices"].iloc[0:0]}
    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    result = build_store(settings, tables=tables)
    frame, manifest = read_offline(settings.store_dir, "csat")
    assert manifest["groups_missing"] == ["billing"]
    assert "invoices_365d" not in frame.columns and "overdue_open_invoices" not in frame.columns
    assert "feature group 'billing' left out: table(s) invoices missing or empty" in result.notes


def test_an_empty_label_table_gives_no_frame_and_retires_the_older_one(world, tmp_path):
    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    build_store(settings, tables=world)
    assert len(read_offline(settings.store_dir, "churn")[0])  # an older churn frame, from other data
    result = build_store(settings, tables={**world, "renewals": world["renewals"].iloc[0:0]})
    # all snapshots would say "stayed": no churn frame, and the older one is not left for training to pair
    # with this build's online store
    assert "churn" not in result.rows and "csat" in result.rows
    assert "no churn frame: the renewals table has no rows" in result.notes
    with pytest.raises(
        FileNotFoundError, match=r"the last build made none \(the renewals table has no rows\)"
    ):
        read_offline(settings.store_dir, "churn")
    assert store.absent_reason(settings.store_dir, "csat") is None
    build_store(settings, tables=world)  # renewals back: the frame is back and the reason gone
    assert len(read_offline(settings.store_dir, "churn")[0])
    assert store.absent_reason(settings.store_dir, "churn") is None


def test_a_custom_column_of_people_ids_is_left_out_and_said(world, tmp_path):
    accounts = world["accounts"].copy()
    accounts["account_manager"] = world["employees"]["employee_id"].iloc[0]  # a person's id per account
    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    result = build_store(settings, tables={**world, "accounts": accounts})
    frame, manifest = read_offline(settings.store_dir, "csat")
    assert "crm_account_manager" not in frame.columns and "account_manager" not in manifest["extras"]
    assert "crm_contract_type" in frame.columns  # other custom columns stay
    assert (
        "custom column accounts.account_manager left out: it holds employee or contact ids"
        " (a feature never identifies a person)" in result.notes
    )


def test_a_text_custom_column_of_mostly_numbers_is_noted():
    from features.engine.prepare import screen_extras

    accounts = pd.DataFrame({"health": [str(50 + i) for i in range(19)] + ["1,047.5"], "tier": ["gold"] * 20})
    kept, notes = screen_extras(accounts, {"health": "text", "tier": "text"}, {"E1"})
    assert kept == {"health": "text", "tier": "text"}
    assert notes == [
        "custom column accounts.health offered as text (a category): 1 of 20 values are not numbers,"
        " e.g. '1,047.5'"
    ]


def test_exclude_account_columns(world, tmp_path):
    settings = load_settings(
        data_dir=tmp_path / "raw", store_dir=tmp_path / "store", exclude_account_columns=["discount_pct"]
    )
    build_store(settings, tables=world)
    frame, manifest = read_offline(settings.store_dir, "csat")
    assert "crm_discount_pct" not in frame.columns
    assert {"crm_contract_type", "crm_auto_renew"} <= set(manifest["features"]["baseline"])
    assert "crm_contract_type" in manifest["categorical"]


def test_csat_labels():
    sv = pd.DataFrame(
        {
            "response_id": ["r1", "r2"],
            "account_id": ["A", "B"],
            "responded_at": pd.to_datetime(["2024-02-01 10:00", "2024-01-01 09:00"]),
            "csat": [4, 3],
        }
    )
    out = csat_frame(sv)
    assert list(out["example_id"]) == ["r2", "r1"] and list(out["label"]) == [0, 1]
    assert list(out["as_of"]) == list(pd.to_datetime(["2024-01-01 09:00", "2024-02-01 10:00"]))


def test_churn_labels_by_hand():
    acc = pd.DataFrame(
        {
            "account_id": ["A", "B", "C"],
            "customer_since": pd.to_datetime(["2023-01-01", "2023-01-01", "2024-02-15"]),
        }
    )
    ren = pd.DataFrame(
        {
            "account_id": ["A", "B"],
            "renewal_date": pd.to_datetime(["2024-04-10", "2024-02-01"]),
            "outcome": ["churned", "churned"],
        }
    )
    span = (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-07-15"))
    out = churn_frame(acc, ren, 90, span).set_index("example_id")["label"].to_dict()
    # snapshots whose 90-day horizon ends by 2024-07-15: Jan..Apr
    assert snapshot_dates(*span, 90) == list(
        pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"])
    )
    assert out == {
        "A@2024-01-01": 0,  # churn 2024-04-10 is 100 days later: outside (as_of, as_of + 90]
        "A@2024-02-01": 1,
        "A@2024-03-01": 1,
        "A@2024-04-01": 1,
        "B@2024-01-01": 1,  # B churned 2024-02-01: gone from the 2024-02-01 snapshot on
        "C@2024-03-01": 0,  # C became a customer on 2024-02-15
        "C@2024-04-01": 0,
    }


def test_cli_list_build_show(built, tmp_path):
    settings, _ = built
    runner = CliRunner()
    md = tmp_path / "cat.md"
    res = runner.invoke(features_app, ["list", "--markdown", str(md)])
    assert res.exit_code == 0, res.output
    assert "email_hours_28d" in res.output and md.read_text().count("| `") == len(catalog())
    res = runner.invoke(features_app, ["show", "A2"], obj=settings, terminal_width=250)
    assert res.exit_code == 0, res.output
    assert "tenure_days" in res.output
    shown = {line.split("│")[1].strip() for line in res.output.splitlines() if line.count("│") == 5}
    assert "crm_contract_type" in shown and "tenure_days" in shown
    assert not shown & {"example_id", "account_id", "as_of", "label"}  # entity columns are not features
    res = runner.invoke(features_app, ["show", "NOPE"], obj=settings)
    assert res.exit_code == 2  # a user error


def test_show_lists_features_with_their_set_and_custom_columns_as_crm_fields(built):
    from features.feature_cli import account_features, feature_rows

    settings, _ = built
    row = account_features(settings, "A2").iloc[0]
    rows = {name: (fset, desc) for name, fset, _, desc in feature_rows(row)}
    by_name = {f.name: f for f in catalog()}
    assert set(by_name) <= set(rows)
    assert all(rows[n] == (f.feature_set, f.description) for n, f in by_name.items())
    assert set(rows) - set(by_name) == {"crm_contract_type", "crm_auto_renew", "crm_discount_pct"}
    assert rows["crm_contract_type"] == ("baseline", "CRM custom field (a custom accounts column)")


def test_tables_moved_into_duckdb_give_the_same_features(world, monkeypatch):
    from features.engine import compute_features, duckdb_backend

    accounts = world["accounts"]["account_id"]
    ents = pd.DataFrame({"account_id": accounts, "as_of": pd.Timestamp("2024-05-01")})
    expected = compute_features(dict(world), ents)
    moved: list[str] = []
    register = duckdb_backend._register

    def spy(con, tables):
        before = set(tables)
        names = register(con, tables)
        assert names == before - set(tables)  # the run drops these once their last reader is done
        moved.extend(sorted(names))
        return names

    monkeypatch.setattr(duckdb_backend, "OWN_COPY_ROWS", 1)  # every table moves in, compressed
    monkeypatch.setattr(duckdb_backend, "MOVE_SLICE_ROWS", 7)  # in many slices
    monkeypatch.setattr(duckdb_backend, "_register", spy)
    got = compute_features(dict(world), ents)
    assert "interactions" in moved and "accounts" in moved
    pd.testing.assert_frame_equal(got, expected)


def test_the_data_fingerprint_follows_the_bytes_not_the_file_times(tmp_path):
    import os
    import shutil

    from features.build import data_fingerprint

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "accounts.csv").write_text("account_id\nA1\n")
    tables = {"accounts": pd.DataFrame({"account_id": ["A1"]})}
    before = data_fingerprint(raw, tables)
    copy = tmp_path / "copy"
    shutil.copytree(raw, copy)
    os.utime(copy / "accounts.csv", (1, 1))  # rewritten by an export job: new time, same bytes
    assert data_fingerprint(copy, tables) == before
    (copy / "accounts.csv").write_text("account_id\nA2\n")  # same size, other bytes
    assert data_fingerprint(copy, tables) != before


def test_an_online_date_before_the_data_is_refused_before_anything_is_written(world, tmp_path):
    from features.build import AsOfError

    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    with pytest.raises(AsOfError, match=r"--as-of 2000-01-01 is on or before the data's first event \(2024-"):
        build_store(settings, as_of=pd.Timestamp("2000-01-01").date(), tables=world)
    assert not (tmp_path / "store").exists()


def test_an_online_date_long_after_the_data_is_noted(world, tmp_path):
    from features.labels import data_span

    last = data_span(world)[1]
    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    late = build_store(settings, as_of=(last + pd.Timedelta(days=60)).date(), tables=world)
    assert any("days after the data's last event" in n and "--as-of" in n for n in late.notes)
    on_time = build_store(settings, as_of=(last + pd.Timedelta(days=1)).date(), tables=world)
    assert not any("days after the data's last event" in n for n in on_time.notes)


def test_an_answer_dated_in_the_future_labels_nothing_and_stretches_no_snapshots(world, tmp_path):
    from features.labels import data_span

    surveys = world["surveys"].copy()
    surveys.loc[surveys.index[0], "responded_at"] = pd.Timestamp("2099-01-01 09:00")
    tables = {**world, "surveys": surveys}
    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    build_store(settings, tables=tables)
    csat, _ = read_offline(settings.store_dir, "csat")
    churn, _ = read_offline(settings.store_dir, "churn")
    assert len(csat) == len(surveys) - 1
    assert csat["as_of"].max() < pd.Timestamp("2099-01-01")
    assert churn["as_of"].max() <= data_span(world)[1]


def test_an_online_date_up_to_tomorrow_is_accepted_and_a_later_one_refused():
    from datetime import datetime

    from features.build import AsOfError, check_not_future

    now = datetime(2026, 12, 6, 23, 59)
    check_not_future(pd.Timestamp("2026-12-07"), now)  # tomorrow's midnight: all of today's data
    refused = r"--as-of 2026-12-08 is in the future \(today is 2026-12-06 UTC\).*up to 2026-12-07"
    with pytest.raises(AsOfError, match=refused):
        check_not_future(pd.Timestamp("2026-12-08"), now)


@pytest.mark.slow
def test_a_build_stopped_by_sigterm_removes_its_temporary_files_and_keeps_the_store(tmp_path):
    """SIGTERM while the online store is written: exit 143, no temporary file, the old store readable."""
    from tests.contract_fixtures import make_world, write_world

    write_world(tmp_path / "data" / "raw", make_world(), "parquet")
    build_store(load_settings(data_dir=tmp_path / "data" / "raw", store_dir=tmp_path / "store"), as_of=None)
    before = read_online(tmp_path / "store")
    links = {t: os.readlink(store.offline_dir(tmp_path / "store", t)) for t in ("csat", "churn")}
    script = textwrap.dedent(
        """
        import os, signal, sys, time
        import pandas as pd
        from csat.cli import main
        real = pd.DataFrame.to_sql
        def stopped(self, *args, **kwargs):
            real(self, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGTERM)  # a scheduler stopping the job mid-write
            time.sleep(30)
        pd.DataFrame.to_sql = stopped
        sys.argv = ["csat", "features", "build"]
        main()
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSAT_")}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 143, proc.stderr[-2000:]
    assert [p.name for p in (tmp_path / "store").rglob(".*tmp*")] == []
    pd.testing.assert_frame_equal(read_online(tmp_path / "store"), before)
    # the new offline frames were written before the online store, but readers never saw them
    assert {t: os.readlink(store.offline_dir(tmp_path / "store", t)) for t in links} == links
    versions = sorted(p.name for p in (tmp_path / "store" / "offline" / ".versions").iterdir())
    assert versions == sorted(Path(v).name for v in links.values())


def test_a_sigterm_during_the_switch_takes_effect_once_every_part_is_switched(world, tmp_path, monkeypatch):
    """The switch to a new store is not cut half-way: offline frames and online store all move, then exit."""
    from csat.signals import Terminated, sigterm_unwinds
    from features import build

    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    build_store(settings, as_of=pd.Timestamp("2024-07-01").date(), tables=world)
    links = {t: os.readlink(store.offline_dir(settings.store_dir, t)) for t in ("csat", "churn")}
    online_before = store.read_online_manifest(settings.store_dir)
    real = build.publish_offline

    def stopped(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # a scheduler stopping the job as the switch begins
        real(*args, **kwargs)

    monkeypatch.setattr(build, "publish_offline", stopped)
    with pytest.raises(Terminated), sigterm_unwinds():
        build_store(settings, as_of=pd.Timestamp("2024-08-01").date(), tables=world)
    for target, old in links.items():
        assert os.readlink(store.offline_dir(settings.store_dir, target)) != old
    online_after = store.read_online_manifest(settings.store_dir)
    assert online_after["cutoff_max"] != online_before["cutoff_max"]
    assert (
        read_offline(settings.store_dir, "csat")[1]["feature_set_version"]
        == online_after["feature_set_version"]
    )
    assert [p.name for p in Path(settings.store_dir).rglob(".*tmp*")] == []


def test_a_churn_frame_without_examples_says_the_data_is_shorter_than_the_horizon(tmp_path):
    from tests.contract_fixtures import make_world as contract_world

    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store", churn_horizon_days=365)
    result = build_store(settings, as_of=pd.Timestamp("2024-09-02").date(), tables=contract_world())
    assert result.rows["churn"] == 0
    (note,) = [n for n in result.notes if n.startswith("the churn frame has no examples")]
    assert "the data runs from 2024-01-01 to 2024-09-01 (244 days)" in note and "365-day horizon" in note


@pytest.mark.parametrize("failing", [("csat",), ("churn",), ("csat", "churn")])
def test_a_failed_offline_write_leaves_no_new_version_of_either_frame(world, tmp_path, monkeypatch, failing):
    """The two frames are written at once: one fails, the other's finished version is removed too."""
    from features import build

    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    build_store(settings, as_of=pd.Timestamp("2024-07-01").date(), tables=world)
    versions = tmp_path / "store" / "offline" / ".versions"
    before = sorted(p.name for p in versions.iterdir())
    links = {t: os.readlink(store.offline_dir(settings.store_dir, t)) for t in ("csat", "churn")}
    real = build.stage_offline

    def stage(store_dir, target, frame, manifest):
        if target in failing:
            time.sleep(0.2)  # the other frame is written meanwhile
            raise OSError(28, f"No space left on device for {target}")
        return real(store_dir, target, frame, manifest)

    monkeypatch.setattr(build, "usable_cpus", lambda: 2)  # the two at once, on any machine
    monkeypatch.setattr(build, "stage_offline", stage)
    with pytest.raises(OSError, match=f"No space left on device for {failing[0]}") as raised:
        build_store(settings, as_of=pd.Timestamp("2024-08-01").date(), tables=world)
    assert getattr(raised.value, "__notes__", []) == [
        f"writing the {t} frame failed too: OSError: [Errno 28] No space left on device for {t}"
        for t in failing[1:]
    ]
    assert sorted(p.name for p in versions.iterdir()) == before
    assert [p.name for p in (tmp_path / "store").rglob(".*tmp*")] == []
    assert {t: os.readlink(store.offline_dir(settings.store_dir, t)) for t in links} == links
    assert len(read_offline(settings.store_dir, "csat")[0]) > 0  # the previous frames, readable
