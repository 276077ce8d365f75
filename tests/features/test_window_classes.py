"""Window classes stand for the window conditions: summing by class must select the same rows."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from features.engine.sql import WINDOWS, class_prev28, class_win, prev28, win, window_class


@pytest.fixture()
def classed() -> Iterator[duckdb.DuckDBPyConnection]:
    """One cutoff day and a row on each of the 200 days before it (today included), with its class."""
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE t AS SELECT 20000 AS cdn, 20000 - back AS sdn FROM range(0, 201) AS r(back)")
    con.execute(f"CREATE TABLE c AS SELECT *, {window_class()} AS cls FROM t")
    yield con
    con.close()


def _days(con: duckdb.DuckDBPyConnection, cond: str) -> list[int]:
    return [row[0] for row in con.execute(f"SELECT cdn - sdn FROM c WHERE {cond} ORDER BY 1").fetchall()]


@pytest.mark.parametrize("w", WINDOWS)
def test_a_window_of_classes_holds_exactly_the_days_of_the_window(
    classed: duckdb.DuckDBPyConnection, w: int
) -> None:
    assert _days(classed, class_win(w)) == _days(classed, win(w)) == list(range(w + 1))


def test_the_previous_28_days_are_one_class(classed: duckdb.DuckDBPyConnection) -> None:
    assert _days(classed, class_prev28()) == _days(classed, prev28()) == list(range(29, 57))


def test_a_window_that_no_class_ends_is_refused() -> None:
    with pytest.raises(ValueError, match="no window class ends 45 days"):
        class_win(45)
