"""Monotone constraints, declared as data and named by feature: how a prediction may move as a feature grows.

The models predict label 1 (CSAT: satisfied; churn: churned). A constraint of ``+1`` means a larger value
never lowers that probability (LightGBM ``monotone_constraints``), ``-1`` never raises it. Only features whose
direction is a business fact a CS team would refuse to see broken are constrained; everything else is free.

- churn, open severe tickets: an account with more unresolved severity-1 (and 1-2) tickets, everything else
  equal, is never *less* likely to churn. Without the constraint a tree can learn the opposite in sparse
  corners (accounts with many open tickets are often large, well-staffed ones that renew), which would tell a
  CSM that escalating support problems lowers risk.
- csat, meeting hours with the customer: more time in meetings with the customer, everything else equal, never
  lowers predicted satisfaction. In the data the team rushes into escalation meetings when an account sours,
  so raw meeting hours also carry "this account is in trouble"; that signal belongs to the features that
  describe the rush (after-hours share, executive presence, trends), not to a model that advises "meet less".
"""

from __future__ import annotations

from training.data import Target

MONOTONE: dict[Target, dict[str, int]] = {
    "churn": {
        "open_tickets": 1,
        "open_severe_tickets": 1,
        "tickets_sev1_180d": 1,
    },
    "csat": {
        "meeting_hours_28d": 1,
        "meeting_hours_90d": 1,
        "meeting_hours_180d": 1,
    },
}


def monotone_for(target: Target | None, features: list[str]) -> dict[str, int]:
    """Constraints that apply to a model's features.

    Args:
        target: ``csat`` or ``churn`` (``None``: no constraints).
        features: the model's feature columns.

    Returns:
        Feature -> direction, for the declared features present in ``features``.

    """
    declared = MONOTONE.get(target, {}) if target else {}
    return {f: declared[f] for f in features if f in declared}


def monotone_vector(constraints: dict[str, int], features: list[str]) -> list[int]:
    """LightGBM's ``monotone_constraints`` list, aligned with the model's feature order.

    Args:
        constraints: feature -> direction.
        features: the model's feature columns, in order.

    Returns:
        One of -1, 0, +1 per feature.

    """
    return [int(constraints.get(f, 0)) for f in features]
