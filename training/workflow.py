"""Train one or more targets end to end: load the store, compare feature sets, record in MLflow."""

from __future__ import annotations

from dataclasses import dataclass

from csat.settings import Settings
from training.data import DataLoader, FeatureCatalog, OfflineData, Target, load_offline, load_truth
from training.pipeline import Comparison, LeakageError, check_target_leakage, compare, split_for
from training.split import SplitError, TimeSplit
from training.tracking import TrainingRecord, record_training
from training.train import TrainConfig


@dataclass(frozen=True)
class TrainOptions:
    """Knobs of a training command beyond the settings."""

    config: TrainConfig
    n_boot: int = 1000
    sample_rows: int = 500


def config_from_settings(settings: Settings, **overrides: object) -> TrainConfig:
    """Training configuration seeded from the settings.

    Args:
        settings: the project settings.
        **overrides: any :class:`TrainConfig` field.

    Returns:
        The configuration.

    """
    return TrainConfig(**{"seed": settings.seed, **overrides})  # type: ignore[arg-type]


def train_target(
    settings: Settings,
    target: Target,
    catalog: FeatureCatalog,
    options: TrainOptions,
    *,
    loader: DataLoader = load_offline,
    first_becomes_champion: bool = True,
    run_tags: dict[str, str] | None = None,
) -> tuple[Comparison, TrainingRecord]:
    """Compare baseline and enriched models for one target and record everything.

    Args:
        settings: the project settings.
        target: ``csat`` or ``churn``.
        catalog: the feature catalog.
        options: training options.
        loader: reads the target's offline frame (the store by default; tests pass synthetic frames).
        first_becomes_champion: make the new version champion when there is none.
        run_tags: extra parent-run tags.

    Returns:
        The comparison and what was recorded.

    """
    data = loader(settings, target)
    truth = load_truth(settings.data_dir, data.manifest)
    comparison = compare(data, catalog, options.config, truth=truth, n_boot=options.n_boot)
    sample = data.frame.iloc[comparison.split.train].head(options.sample_rows)
    record = record_training(
        settings, comparison, sample, first_becomes_champion=first_becomes_champion, run_tags=run_tags
    )
    return comparison, record


def load_checked(
    settings: Settings,
    targets: list[Target],
    config: TrainConfig,
    catalog: FeatureCatalog,
    *,
    loader: DataLoader = load_offline,
) -> dict[Target, OfflineData]:
    """Load every target's frame and check that each can be split and leaks no label, before any training.

    Args:
        settings: the project settings.
        targets: the targets a command works on.
        config: training configuration (period shares).
        catalog: the feature catalog (the model feature sets checked for a leak).
        loader: reads a target's offline frame.

    Returns:
        Target -> its frame and manifest, for ``train_target(..., loader=...)``.

    Raises:
        SplitError: one or more targets cannot be split; the message names each and why, and which targets
            could be trained alone.
        LeakageError: a feature of one or more targets alone separates the labels; the message names each
            target and feature, how to leave it out, and which targets could be trained alone.

    """
    data = {t: loader(settings, t) for t in targets}
    splits: dict[Target, TimeSplit] = {}
    problems: list[str] = []
    for t, d in data.items():
        try:
            splits[t] = split_for(d, config)
        except SplitError as err:
            problems.append(str(err))
    if problems:
        raise SplitError(_nothing_trained(targets, problems))
    for t, d in data.items():
        try:
            check_target_leakage(d, catalog, splits[t])
        except LeakageError as err:
            problems.append(str(err))
    if problems:
        raise LeakageError(_nothing_trained(targets, problems))
    return data


def _nothing_trained(targets: list[Target], problems: list[str]) -> str:
    """The targets' problems in one line, with which target (if any) could be trained alone."""
    ok = [t for t in targets if not any(p.startswith(f"{t}:") for p in problems)]
    hint = f"; nothing was trained (train the others alone with --target {ok[0]})" if ok else ""
    return "; ".join(problems) + hint


def loader_of(data: dict[Target, OfflineData]) -> DataLoader:
    """A loader that hands out frames already read by :func:`load_checked`.

    Args:
        data: target -> frame.

    Returns:
        The loader.

    """
    return lambda settings, target: data[target]
