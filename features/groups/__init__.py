"""Declared feature groups, one module per group."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from features.catalog import FeatureGroup


def all_groups() -> list[FeatureGroup]:
    """Every statically declared feature group, baseline groups first."""
    from features.groups import (
        billing,
        contact_coverage,
        contract,
        crm_contacts,
        customer_time,
        depth_concentration,
        firmographics,
        internal_network,
        recency,
        relationships,
        renewal_history,
        responsiveness,
        seniority,
        support,
        survey_history,
        team_engagement,
        trends,
        usage,
        volume,
    )

    modules = [
        firmographics,
        customer_time,
        contract,
        billing,
        renewal_history,
        usage,
        support,
        survey_history,
        crm_contacts,
        volume,
        contact_coverage,
        seniority,
        depth_concentration,
        team_engagement,
        responsiveness,
        recency,
        trends,
        relationships,
        internal_network,
    ]
    return [m.GROUP for m in modules]
