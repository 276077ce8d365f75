"""Train one or more targets end to end: load the store, compare feature sets, record in MLflow."""

from __future__ import annotations

from dataclasses import dataclass

from csat.settings import Settings
from training.data import DataLoader, FeatureCatalog, Target, load_offline, load_truth
from training.pipeline import Comparison, compare
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
