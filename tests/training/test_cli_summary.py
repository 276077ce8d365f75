"""The summary table `csat train` prints: AUCs as they are, only the paired lift with a sign."""

from __future__ import annotations

from types import SimpleNamespace

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
