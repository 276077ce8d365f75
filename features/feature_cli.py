"""``csat features``: list the catalog, build the stores, show one account's features."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from csat.settings import Settings, load_settings
from csat.signals import sigterm_unwinds
from features.catalog import Feature, catalog, catalog_markdown

if TYPE_CHECKING:
    import pandas as pd

features_app = typer.Typer(
    help="The feature store: catalog, build, and per-account features.", no_args_is_help=True
)
DEFAULT_DOC = Path("docs/feature-catalog.md")


class Engine(StrEnum):
    """Feature engines ``csat features build`` offers."""

    duckdb = "duckdb"
    spark = "spark"


class FeatureSet(StrEnum):
    """Feature sets ``csat features list --set`` offers."""

    baseline = "baseline"
    collaboration = "collaboration"


def _settings(ctx: typer.Context) -> Settings:
    obj = ctx.obj
    if isinstance(obj, Settings):
        return obj
    if isinstance(obj, dict) and isinstance(obj.get("settings"), Settings):
        return obj["settings"]
    return load_settings()


def _date(value: str | None) -> datetime | None:
    """The ``--as-of`` date, checked before any work (loading the raw tables takes minutes on big data).

    Raises:
        typer.BadParameter: not a date ``YYYY-MM-DD``, naming the option.

    """
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError as exc:
        msg = f"expected a date YYYY-MM-DD, got {value!r}"
        raise typer.BadParameter(msg, param_hint="'--as-of'") from exc


def catalog_table(features: list[Feature]) -> Table:
    """Render the catalog as a rich table: name, set, group, window, description."""
    table = Table(title=f"Feature catalog ({len(features)} features)")
    for col in ("name", "set", "group", "window", "description"):
        table.add_column(col, overflow="fold")
    for f in features:
        table.add_row(
            f.name, f.feature_set, f.group, f"{f.window_days} d" if f.window_days else "-", f.description
        )
    return table


def write_catalog_doc(path: Path, feature_set: str | None = None) -> Path:
    """Write the Markdown catalog (all features, or one set's) through the store's atomic writer."""
    from features.store import atomic_write_text

    atomic_write_text(path, catalog_markdown(feature_set) + "\n")
    return path


@features_app.command("list")
def list_command(
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Also write the catalog as Markdown to this file.")
    ] = None,
    feature_set: Annotated[
        FeatureSet | None, typer.Option("--set", help="Only the features of this set (default: all).")
    ] = None,
) -> None:
    """Print the feature catalog (name, set, group, window, description)."""
    feats = [f for f in catalog() if feature_set is None or f.feature_set == feature_set.value]
    Console().print(catalog_table(feats))
    if markdown is not None:
        write_catalog_doc(markdown, None if feature_set is None else feature_set.value)
        Console(stderr=True).print(f"wrote {markdown}")


def _check_spark_master_option(master: str, engine: str, console: Console) -> None:
    """Stop with exit code 2 on ``--spark-master`` without the spark engine, or on a malformed URL."""
    from csat.settings import spark_master_error

    problem = spark_master_error(master)
    if engine != "spark":
        problem = "applies only to --engine spark"
    if problem is not None:
        console.print(f"[red]--spark-master {escape(problem)}", soft_wrap=True)
        raise typer.Exit(2)


@features_app.command("build")
def build_command(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Online store date YYYY-MM-DD (default: now).")
    ] = None,
    engine: Annotated[
        Engine | None,
        typer.Option("--engine", help="Feature engine (default: the `engine` setting, duckdb)."),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master", help="Spark master URL for --engine spark (default: setting, local[2])."
        ),
    ] = None,
) -> None:
    """Build the offline frames (CSAT, churn) and the online store from the raw tables.

    A SIGTERM stops it with exit code 143, its temporary files removed and the previous store in place.
    """
    from features.build import build_store
    from features.engine.spark_backend import SparkUnavailableError

    settings = _settings(ctx)
    console = Console(stderr=True)
    if spark_master is not None:
        _check_spark_master_option(spark_master, engine.value if engine else settings.engine, console)
        settings = settings.model_copy(update={"spark_master": spark_master})
    start = time.perf_counter()
    try:
        with sigterm_unwinds():  # a stopped build removes its temporary files (exit 143); the old store stays
            result = build_store(
                settings, as_of=_date(as_of), engine=engine.value if engine else None, console=console
            )
    except SparkUnavailableError as exc:
        console.print(f"[red]{escape(str(exc))}", soft_wrap=True)  # one line, however wide
        raise typer.Exit(2) from exc
    console.print(f"engine: {engine.value if engine else settings.engine}")
    for target, rows in result.rows.items():
        console.print(f"offline {target}: {rows} examples, {result.positives[target]} positive")
    console.print(f"online: {result.online_rows} accounts as of {result.online_as_of}")
    n_b, n_c = len(result.features["baseline"]), len(result.features["collaboration"])
    console.print(f"features: {n_b} baseline, {n_c} collaboration; version {result.feature_set_version}")
    console.print(took(time.perf_counter() - start, result.timings))
    if result.groups_missing:
        console.print(f"[yellow]groups left out: {', '.join(sorted(result.groups_missing))}")
    if n_c == 0:
        console.print(
            "[yellow]no interactions: the collaboration set is empty; models use the baseline alone"
        )


def took(seconds: float, timings: Mapping[str, float]) -> str:
    """Where a build's time went, in one line: the load, the features and writing the stores.

    Args:
        seconds: the whole build's.
        timings: :attr:`features.build.BuildResult.timings` (``load``, ``features``, ``write_offline``,
            ``write_online``).

    Returns:
        For example ``took 1.6 s: load 0.2 s, features 0.5 s, writing the stores 0.1 s``.

    """
    writing = sum(v for k, v in timings.items() if k.startswith("write_"))
    parts = [f"load {timings['load']:.1f} s"] if "load" in timings else []
    parts += [f"features {timings.get('features', 0.0):.1f} s", f"writing the stores {writing:.1f} s"]
    return f"took {seconds:.1f} s: {', '.join(parts)}"


def account_features(settings: Settings, account_id: str, as_of: datetime | None = None) -> pd.DataFrame:
    """One account's features: from the online store, or computed from the raw tables as of a date.

    Args:
        settings: the settings (``store_dir``; ``data_dir`` with ``as_of``).
        account_id: the account.
        as_of: compute from the raw tables as of this date instead of reading the online store.

    Returns:
        One row, or none for an unknown account.

    Raises:
        AsOfError: ``as_of`` is after tomorrow, or on or before the data's first event (every feature
            would be empty or negative), as ``csat features build --as-of`` refuses them.

    """
    if as_of is None:
        from features.store import read_online

        return read_online(settings.store_dir, [account_id])
    import pandas as pd

    from features.build import check_not_future, check_online_cutoff, online_cutoff
    from features.contract import load_contract
    from features.engine import compute_features
    from features.labels import FRAME_COLUMNS, data_span

    check_not_future(online_cutoff(as_of))
    tables = load_contract(settings.data_dir, settings, console=Console(stderr=True)).tables
    check_online_cutoff(online_cutoff(as_of), data_span(tables))  # its note (a date long after) is a store's
    if account_id not in set(tables["accounts"]["account_id"].astype(str)):
        return pd.DataFrame(columns=[*FRAME_COLUMNS])  # the engine would give it made-up values
    ents = pd.DataFrame({"account_id": [account_id], "as_of": [pd.Timestamp(as_of)]})
    return compute_features(tables, ents, exclude_account_columns=settings.exclude_account_columns)


def _shown(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def feature_rows(row: pd.Series) -> list[tuple[str, str, str, str]]:
    """One account's feature values as (feature, set, value, description), in the row's column order.

    The entity and label columns (example_id, account_id, as_of, label) are not features and are left out;
    any other column outside the catalog is a ``crm_`` custom accounts column, a baseline feature.

    Args:
        row: one row of the online store or of a computed frame.

    Returns:
        The rows of the table ``csat features show`` prints.

    """
    from features.labels import FRAME_COLUMNS

    by_name = {f.name: f for f in catalog()}
    out: list[tuple[str, str, str, str]] = []
    for col in row.index:
        if col in FRAME_COLUMNS:
            continue
        f = by_name.get(col)
        if f is not None:
            out.append((col, f.feature_set, _shown(row[col]), f.description))
        else:
            out.append((col, "baseline", _shown(row[col]), "CRM custom field (a custom accounts column)"))
    return out


def _unknown_account(settings: Settings, account_id: str, as_of: datetime | None) -> NoReturn:
    """Stop with exit code 2: the account is not where ``show`` looked (online store, or raw accounts)."""
    from features.store import online_path

    where = (
        f"the accounts table in {settings.data_dir}"
        if as_of is not None
        else f"the online store {online_path(settings.store_dir)}"
    )
    message = f"error: unknown account {account_id!r}: not in {where}"
    Console(stderr=True).print(f"[red]{escape(message)}", soft_wrap=True)
    raise typer.Exit(2)


@features_app.command("show")
def show_command(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(help="The account to show.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Compute as of this date YYYY-MM-DD instead.")
    ] = None,
) -> None:
    """Show one account's features with their descriptions."""
    settings = _settings(ctx)
    day = _date(as_of)
    frame = account_features(settings, account_id, day)
    if frame.empty:
        _unknown_account(settings, account_id, day)
    row = frame.iloc[0]
    table = Table(title=f"{account_id} as of {row['as_of']}")
    for col in ("feature", "set", "value", "description"):
        table.add_column(col, overflow="fold")
    for cells in feature_rows(row):
        table.add_row(*cells)
    Console().print(table)
