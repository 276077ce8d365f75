"""The feature catalog: every account feature declared as data, grouped, and sorted into two feature sets.

Each feature group lives in its own module under :mod:`features.groups`; this module collects them. The
catalog is the single source for training's feature lists, SHAP grouping and the words the service shows.
Features made from the accounts table's extra (CRM custom) columns are declared at build time from the data
(:func:`account_extra_features`) and recorded in the store manifest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

FeatureSetName = Literal["baseline", "collaboration"]
DType = Literal["float", "int", "bool", "category"]

#: Named model feature sets (like a Feast FeatureService): the enriched model is baseline + collaboration.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "baseline": ("baseline",),
    "enriched": ("baseline", "collaboration"),
}

#: Columns of the contract's accounts table; any other column is a user's extra (CRM custom) field.
ACCOUNT_CONTRACT_COLUMNS: frozenset[str] = frozenset(
    {
        "account_id",
        "name",
        "industry",
        "segment",
        "region",
        "employee_count",
        "customer_since",
        "arr_usd",
        "plan",
        "owner_id",
        "csm_id",
        "recorded_at",
    }
)
EXTRA_PREFIX = "crm_"


@dataclass(frozen=True)
class Feature:
    """One declared account feature."""

    name: str
    description: str
    group: str
    feature_set: FeatureSetName
    sources: tuple[str, ...]
    window_days: int | None
    dtype: DType


@dataclass(frozen=True)
class FeatureGroup:
    """A feature group: the tables it needs (all of them, or the group is left out) and its features."""

    name: str
    title: str
    feature_set: FeatureSetName
    requires: tuple[str, ...]
    features: tuple[Feature, ...]


def group_features(
    group: str,
    feature_set: FeatureSetName,
    sources: tuple[str, ...],
    specs: Sequence[tuple[str, str, int | None, DType]],
) -> tuple[Feature, ...]:
    """Build a group's features from ``(name, description, window_days, dtype)`` rows.

    Args:
        group: group name.
        feature_set: ``baseline`` or ``collaboration``.
        sources: raw tables the features read.
        specs: one row per feature.

    Returns:
        The features, in declaration order.

    """
    return tuple(Feature(n, d, group, feature_set, sources, w, t) for n, d, w, t in specs)


def groups() -> list[FeatureGroup]:
    """All statically declared feature groups, baseline first."""
    from features.groups import all_groups

    return all_groups()


def catalog() -> list[Feature]:
    """All statically declared features (account extras are added at build time and kept in the manifest)."""
    return [f for g in groups() for f in g.features]


def features_in(sets: Sequence[str], available: Collection[str] | None = None) -> list[Feature]:
    """Features belonging to the given sets, in catalog order.

    Args:
        sets: feature-set names (``baseline``/``collaboration``) or named model sets from :data:`FEATURE_SETS`
            (``enriched`` means both).
        available: when given, keep only features with these names (for example the columns a store holds).
            Account extras are not in the static catalog: read them from the store manifest.

    Returns:
        The matching features.

    Raises:
        KeyError: an unknown set name.

    """
    wanted: set[str] = set()
    for s in sets:
        if s in FEATURE_SETS:
            wanted.update(FEATURE_SETS[s])
        elif s in ("baseline", "collaboration"):
            wanted.add(s)
        else:
            raise KeyError(
                f"unknown feature set {s!r}; known: baseline, collaboration, {', '.join(FEATURE_SETS)}"
            )
    out = [f for f in catalog() if f.feature_set in wanted]
    if available is not None:
        keep = set(available)
        out = [f for f in out if f.name in keep]
    return out


def extra_feature_name(column: str) -> str:
    """Feature name for an accounts extra column: ``crm_`` + the column in snake case."""
    return EXTRA_PREFIX + re.sub(r"[^0-9a-z]+", "_", column.lower()).strip("_")


def account_extra_features(columns: dict[str, str], exclude: Collection[str] = ()) -> list[Feature]:
    """Declare the accounts table's extra columns as baseline features (dynamic, from the data).

    Args:
        columns: extra column name -> kind (``number``, ``bool`` or ``text``), in table order.
        exclude: column names the configuration excludes.

    Returns:
        One feature per kept column: numbers and flags as floats, text as categories.

    """
    static = {f.name for f in catalog()}
    out: list[Feature] = []
    for col, kind in columns.items():
        if col in ACCOUNT_CONTRACT_COLUMNS or col in exclude:
            continue
        name = extra_feature_name(col)
        if name in static or any(f.name == name for f in out) or name == EXTRA_PREFIX:
            continue
        dtype: DType = "category" if kind == "text" else ("bool" if kind == "bool" else "float")
        desc = f"The account's CRM custom field '{col}' (as recorded in the accounts table)"
        out.append(Feature(name, desc, "account_extras", "baseline", ("accounts",), None, dtype))
    return out


def definitions_hash(features: Sequence[Feature], extra_text: str = "") -> str:
    """Stable short hash of feature definitions (metadata plus the engine's SQL text)."""
    payload = json.dumps([asdict(f) for f in features], sort_keys=True) + extra_text
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def catalog_markdown(feature_set: str | None = None) -> str:
    """Render the catalog as a Markdown document (docs/feature-catalog.md).

    Args:
        feature_set: only the features of this set (``baseline`` or ``collaboration``); all when ``None``.

    Raises:
        ValueError: ``feature_set`` is not a feature set.

    """
    if feature_set not in (None, *FEATURE_SETS["enriched"]):
        raise ValueError(
            f"unknown feature set {feature_set!r}: expected {' or '.join(FEATURE_SETS['enriched'])}"
        )
    feats = [f for f in catalog() if feature_set is None or f.feature_set == feature_set]
    n_collab = sum(f.feature_set == "collaboration" for f in feats)
    made_by = (
        "--markdown docs/feature-catalog.md"
        if feature_set is None
        else f"--set {feature_set} --markdown FILE"
    )
    lines = [
        "# Feature catalog" + ("" if feature_set is None else f": the {feature_set} set"),
        "",
        f"Generated by `csat features list {made_by}`; do not edit by hand.",
        "",
        (
            f"{len(feats)} declared features: {len(feats) - n_collab} baseline, {n_collab} collaboration. "
            if feature_set is None
            else f"The {len(feats)} {feature_set} features of the catalog's {len(catalog())}. "
        )
        + "Named model feature sets: "
        + "; ".join(f"`{k}` = {' + '.join(v)}" for k, v in FEATURE_SETS.items())
        + ". Extra (custom) accounts columns become baseline features named `crm_<column>` at build time.",
        "",
        "Windows count whole UTC days before the cutoff's day plus the cutoff's day up to the cutoff; every "
        "feature reads only rows stamped (and, where `recorded_at` is given, recorded) strictly"
        " before the cutoff.",
        "",
    ]
    for g in groups():
        sub = [f for f in feats if f.group == g.name]
        if not sub:
            continue
        lines += [
            f"## {g.title} (`{g.name}`, {g.feature_set})",
            "",
            f"Needs: {', '.join(g.requires)}.",
            "",
            "| name | type | window | description |",
            "|---|---|---|---|",
        ]
        for f in sub:
            window = f"{f.window_days} d" if f.window_days else "all history"
            lines.append(f"| `{f.name}` | {f.dtype} | {window} | {f.description} |")
        lines.append("")
    return "\n".join(lines)
