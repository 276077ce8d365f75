"""Errors of the training stage found before anything is trained, importable without sklearn or MLflow.

``csat train`` and ``csat retrain`` end with one line and exit code 2 on them; keeping them here, apart from
the modules that raise them, lets every command start without loading the training libraries.
"""

from __future__ import annotations


class SplitError(ValueError):
    """Raised when the data cannot fill three non-empty time periods."""


class LeakageError(ValueError):
    """Raised when a feature separates the training labels (almost) perfectly on its own.

    Attributes:
        feature: the feature that leaks, when one does (``None`` for identifier columns listed as features).

    """

    def __init__(self, message: str, feature: str | None = None) -> None:
        super().__init__(message)
        self.feature = feature


class TrackingStoreError(ValueError):
    """Raised when the MLflow tracking store of the settings cannot be used."""
