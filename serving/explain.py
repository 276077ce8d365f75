"""Drivers in business words: the feature catalog's descriptions, groups and sets for every model feature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from features.catalog import catalog


@dataclass(frozen=True)
class Words:
    """What the service shows for one feature."""

    description: str
    group: str
    feature_set: str


def feature_words(features: list[str], manifest: dict[str, Any] | None = None) -> dict[str, Words]:
    """Business words for each model feature, from the catalog (account extras from the store manifest).

    Args:
        features: the model's feature names.
        manifest: the online store manifest (its ``features`` lists name the sets of dynamic extras).

    Returns:
        Feature name -> words; a feature unknown to the catalog keeps its name as description.

    """
    known = {f.name: Words(f.description, f.group, f.feature_set) for f in catalog()}
    sets: dict[str, str] = {}
    for set_name, names in ((manifest or {}).get("features") or {}).items():
        for name in names if isinstance(names, list) else []:
            sets[str(name)] = str(set_name)
    out: dict[str, Words] = {}
    for name in features:
        if name in known:
            out[name] = known[name]
        elif name.startswith("crm_"):
            out[name] = Words(f"The account's CRM custom field '{name[4:]}'", "account_extras", "baseline")
        else:
            out[name] = Words(name.replace("_", " "), "other", sets.get(name, "baseline"))
    return out
