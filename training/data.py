"""The one place training touches the feature store: offline frames, manifests and the feature catalog.

Everything else in ``training`` works on plain frames, a manifest dict and a :class:`FeatureCatalog`, so the
tests can feed tiny synthetic frames in the store's format without the store existing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from csat.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

Target = Literal["csat", "churn"]
TARGETS: tuple[Target, ...] = ("csat", "churn")
ID_COLUMNS: tuple[str, ...] = ("example_id", "account_id", "as_of", "label")


@dataclass(frozen=True)
class FeatureInfo:
    """What training needs to know about one feature (a projection of ``features.catalog.Feature``)."""

    name: str
    description: str
    group: str
    feature_set: str
    dtype: str = "float"
    window_days: int | None = None


@dataclass(frozen=True)
class FeatureCatalog:
    """Feature descriptions plus the named model feature sets (model set -> catalog feature sets)."""

    features: dict[str, FeatureInfo]
    model_sets: dict[str, tuple[str, ...]]

    def info(self, name: str, manifest: dict[str, Any] | None = None) -> FeatureInfo:
        """Describe a feature, falling back to the manifest for features the catalog does not declare.

        Account extras (CRM custom columns) are declared at build time and described in the manifest's
        ``catalog`` entry; without one they get the group ``account attributes``.

        Args:
            name: feature name.
            manifest: the store manifest.

        Returns:
            The feature's description.

        """
        if name in self.features:
            return self.features[name]
        manifest = manifest or {}
        feature_set = "baseline"
        for set_name, names in manifest.get("features", {}).items():
            if name in names:
                feature_set = set_name
        entry = manifest.get("catalog", {}).get(name, {})
        return FeatureInfo(
            name,
            entry.get("description", f"account attribute {name}"),
            entry.get("group", "account attributes"),
            feature_set,
        )


@dataclass
class OfflineData:
    """One target's labelled frame and its manifest, as the store wrote them."""

    target: Target
    frame: pd.DataFrame
    manifest: dict[str, Any]


DataLoader = Callable[[Settings, Target], OfflineData]


def load_catalog() -> FeatureCatalog:
    """Read the feature catalog from ``features.catalog``.

    Returns:
        The catalog, with the model feature sets from ``FEATURE_SETS``.

    """
    from features import catalog as fc

    features = {
        f.name: FeatureInfo(f.name, f.description, f.group, f.feature_set, f.dtype, f.window_days)
        for f in fc.catalog()
    }
    return FeatureCatalog(features=features, model_sets={k: tuple(v) for k, v in fc.FEATURE_SETS.items()})


def load_offline(settings: Settings, target: Target) -> OfflineData:
    """Read one target's offline frame and manifest from the store in ``settings.store_dir``.

    Args:
        settings: the project settings.
        target: ``csat`` or ``churn``.

    Returns:
        The frame and its manifest.

    """
    from features.store import read_offline

    frame, manifest = read_offline(Path(settings.store_dir), target)
    return OfflineData(target=target, frame=frame, manifest=manifest)


def targets_left_out(settings: Settings, targets: list[Target]) -> dict[Target, str]:
    """The targets among ``targets`` the last build made no frame for, with the reason it recorded.

    Args:
        settings: the project settings (``store_dir``).
        targets: the targets asked for.

    Returns:
        target -> reason, for those left out.

    """
    from features.store import absent_reason

    found = {t: absent_reason(Path(settings.store_dir), t) for t in targets}
    return {t: reason for t, reason in found.items() if reason is not None}


def unknown_features(
    names: list[str], catalog: FeatureCatalog, manifests: list[dict[str, Any]] | None = None
) -> list[str]:
    """The names that are neither catalog features nor custom ``crm_`` account features.

    Args:
        names: feature names a user gave.
        catalog: the feature catalog.
        manifests: offline store manifests; when given, a ``crm_`` name must be a column of one of them
            (without them, before the store is read, any ``crm_`` name passes).

    Returns:
        The unknown ones, in the order given.

    """
    from features.catalog import EXTRA_PREFIX

    if manifests is None:
        return [n for n in names if n not in catalog.features and not n.startswith(EXTRA_PREFIX)]
    columns = set(store_columns(manifests))
    return [n for n in names if n not in catalog.features and n not in columns]


def store_columns(manifests: list[dict[str, Any]]) -> list[str]:
    """Feature columns of the given offline store manifests, sorted.

    Args:
        manifests: offline store manifests.

    Returns:
        Every feature column any of them lists.

    """
    return sorted({c for m in manifests for cols in m.get("features", {}).values() for c in cols})


def rebuild_store(settings: Settings, as_of: date | None = None, console: Any = None) -> None:
    """Rebuild the offline and online store from ``settings.data_dir`` (used by ``csat retrain``).

    Args:
        settings: the project settings.
        as_of: the online store's date (default: now).
        console: optional rich console for progress output.

    """
    from features.build import build_store

    build_store(settings, as_of=as_of, console=console)


def model_feature_sets(manifest: dict[str, Any], catalog: FeatureCatalog) -> dict[str, list[str]]:
    """Resolve each named model feature set to its feature columns, in manifest order.

    Args:
        manifest: the offline store manifest (``features`` maps catalog feature sets to column names).
        catalog: the feature catalog, whose ``model_sets`` name the catalog sets in each model set.

    Returns:
        Model set name -> feature names (only the features the store could compute).

    """
    available: dict[str, list[str]] = manifest.get("features", {})
    return {
        name: [f for part in parts for f in available.get(part, [])]
        for name, parts in catalog.model_sets.items()
    }


@dataclass
class Truth:
    """Ground truth written by the simulator (absent for real data)."""

    csat: pd.DataFrame | None = None
    renewals: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def load_truth(data_dir: Path, manifest: dict[str, Any] | None = None) -> Truth | None:
    """Read the simulator's ground truth from ``data_dir / "ground_truth"``.

    Args:
        data_dir: the raw data folder.
        manifest: the offline store's manifest: when given, the ground truth must be the one the store was
            built beside (its ``truth_fingerprint``); another world's truth would give a wrong oracle.

    Returns:
        The ground truth, or ``None`` when the folder does not exist (real data). Ground truth that does not
        belong to the store's world comes back empty, with a note saying so.

    """
    import pandas as pd

    from features.build import truth_fingerprint

    folder = Path(data_dir) / "ground_truth"
    if not folder.is_dir():
        return None
    truth = Truth()
    if manifest is not None and manifest.get("truth_fingerprint") != truth_fingerprint(data_dir):
        truth.notes.append(
            f"the ground truth in {folder} is not that of the data the store was built from"
            " (rebuild the store with `csat features build`): oracle not reported"
        )
        return truth
    csat_path, renewal_path = folder / "csat_truth.parquet", folder / "renewal_truth.parquet"
    if csat_path.is_file():
        truth.csat = pd.read_parquet(csat_path, columns=["response_id", "p_satisfied"])
    if renewal_path.is_file():
        truth.renewals = pd.read_parquet(renewal_path, columns=["account_id", "renewal_date", "p_churn"])
    return truth
