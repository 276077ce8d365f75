"""Worker start-up: settings, models from the BentoML store and the online store, loaded once."""

from __future__ import annotations

from typing import Any

from csat.settings import load_settings
from serving.live import LiveFeatures
from serving.models import load_stored
from serving.runtime import Runtime


def load_runtime(stored: dict[str, Any]) -> Runtime:
    """Build the runtime from the service's declared models and the settings' stores.

    Args:
        stored: role -> BentoML stored model.

    Returns:
        The loaded runtime.

    """
    settings = load_settings()
    models = {role: load_stored(role, m) for role, m in stored.items()}
    runtime = Runtime.load(models, settings.store_dir, settings.data_dir)
    runtime.live = LiveFeatures(settings)  # raw tables for scoring at another date: loaded on first use
    return runtime
