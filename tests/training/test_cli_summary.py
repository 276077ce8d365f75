"""The summary table `csat train` prints: AUCs as they are, only the paired lift with a sign."""

from __future__ import annotations

from types import SimpleNamespace

from typer.testing import CliRunner

import training.cli as cli
from tests.training.synthetic import catalog, make_data
from training.cli import _summary_table
from training.evaluate import Interval


def _row(lift: Interval | None, oracle: Interval | None) -> list[str]:
    auc = {"roc_auc": Interval(0.8471, 0.836, 0.858)}
    comp = SimpleNamespace(
        target="csat",
        results={"baseline": SimpleNamespace(metrics=auc), "enriched": SimpleNamespace(metrics=auc)},
        lift={"roc_auc": lift} if lift else None,
        oracle={"roc_auc": oracle} if oracle else None,
    )
    rec = SimpleNamespace(registered_name="csat-satisfaction", version="1", aliases=("challenger",))
    table = _summary_table([(comp, rec)])  # type: ignore[list-item]
    return [str(next(iter(col.cells))) for col in table.columns]


def test_the_oracle_is_an_auc_and_only_the_lift_has_a_sign() -> None:
    cells = _row(Interval(0.135, 0.125, 0.145), Interval(0.986, 0.984, 0.988))
    assert cells[1] == "0.847 [0.836, 0.858]"
    assert cells[3] == "+0.135 [+0.125, +0.145]"
    assert cells[4] == "0.986 [0.984, 0.988]"


def test_a_missing_lift_or_oracle_shows_a_dash() -> None:
    cells = _row(None, None)
    assert cells[3] == cells[4] == "-"


def _trained(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
    """What ``train_target`` returns, without training: a long registered name and two aliases."""
    auc = {"roc_auc": Interval(0.8471, 0.836, 0.858)}
    comp = SimpleNamespace(
        target="csat",
        results={"baseline": SimpleNamespace(metrics=auc), "enriched": SimpleNamespace(metrics=auc)},
        lift={"roc_auc": Interval(0.135, 0.125, 0.145)},
        oracle={"roc_auc": Interval(0.986, 0.984, 0.988)},
        notes=[],
    )
    aliases = ("challenger", "champion")
    return comp, SimpleNamespace(registered_name="csat-satisfaction", version="12", aliases=aliases)


def test_the_table_in_a_log_file_is_not_cut_at_80_columns(settings, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # a cron job: output to a file, no terminal, no COLUMNS
    data = make_data("csat", n_accounts=60)
    monkeypatch.setattr(cli, "load_offline", lambda s, t: data)
    monkeypatch.setattr(cli, "load_catalog", catalog)
    monkeypatch.setattr(cli, "train_target", _trained)
    result = CliRunner().invoke(cli.app, ["train", "--target", "csat", "--n-boot", "10"], obj=settings)
    assert result.exit_code == 0, result.output
    assert "csat-satisfaction v12 (challenger, champion)" in result.output
    assert "+0.135 [+0.125, +0.145]" in result.output


def test_the_console_width_is_columns_when_set(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert cli._console().width == 100
