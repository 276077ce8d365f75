"""Worker start-up: settings, models from the BentoML store and the online store, loaded once.

When a step fails, :class:`NotReadyError` says which one in words for the service's callers (what is not
there and what to run, never a server path); the server log gets the underlying error once, at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from csat.settings import load_settings
from features.store import online_path
from serving.live import LiveFeatures
from serving.models import MODEL_NAMES, load_stored
from serving.runtime import Runtime

log = logging.getLogger("csat.serving")
T = TypeVar("T")

RESTART = "then restart the service"
SETTINGS_INVALID = f"the service's settings could not be read (see the server log): fix them, {RESTART}"
MODELS_MISSING = (
    "the models are not in the BentoML model store: run `csat serving import` (with the service's"
    f" BENTOML_HOME), {RESTART}"
)
MODELS_UNLOADABLE = (
    "the models in the BentoML model store could not be loaded (see the server log): import them again with"
    f" `csat serving import`, {RESTART}"
)
STORE_MISSING = (
    "the online feature store is missing: run `csat features build` (with the service's CSAT_STORE_DIR),"
    f" {RESTART}"
)
STORE_UNREADABLE = (
    "the online feature store could not be read or scored (see the server log): rebuild it with"
    f" `csat features build`, {RESTART}"
)
NO_RAW_TABLES = (
    "the raw data folder (CSAT_DATA_DIR) is missing: account names and teams are empty and scoring at"
    " another date answers 503"
)


class NotReadyError(RuntimeError):
    """Why the service cannot answer: what is not there and what to run, in words for its callers."""


def load_runtime(declared: Callable[[], dict[str, Any]]) -> Runtime:
    """Build the runtime from the service's declared models and the settings' stores.

    Args:
        declared: returns role -> BentoML stored model (resolving them looks them up in the model store).

    Returns:
        The loaded runtime, every account of the online store scored once (the page's list).

    Raises:
        NotReadyError: a step failed; its message names what to run (the cause is chained).

    """
    settings = _step(SETTINGS_INVALID, load_settings)
    models = _load_models(declared)
    if not online_path(settings.store_dir).is_file():
        raise NotReadyError(STORE_MISSING)
    runtime = _step(STORE_UNREADABLE, lambda: Runtime.load(models, settings.store_dir, settings.data_dir))
    _step(STORE_UNREADABLE, runtime.risk_table)
    if not Path(settings.data_dir).is_dir():
        log.warning("%s", NO_RAW_TABLES)
    runtime.live = LiveFeatures(settings)  # raw tables for scoring at another date: loaded on first use
    return runtime


def _load_models(declared: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The served models: a model absent from the BentoML store, and one that will not load, say so."""
    from bentoml.exceptions import NotFound

    try:
        return {role: load_stored(role, m) for role, m in declared().items()}
    except NotFound as err:
        raise NotReadyError(MODELS_MISSING) from err
    except Exception as err:  # BentoML reports an absent model in several ways: look in the store
        raise NotReadyError(MODELS_MISSING if models_absent() else MODELS_UNLOADABLE) from err


def models_absent() -> bool:
    """Whether a served model has no entry in the BentoML model store (``$BENTOML_HOME``)."""
    import bentoml
    from bentoml.exceptions import NotFound

    for name in MODEL_NAMES.values():
        try:
            bentoml.models.get(f"{name}:latest")
        except NotFound:
            return True
    return False


def _step(problem: str, run: Callable[[], T]) -> T:
    """Run one start-up step; its failure becomes :class:`NotReadyError` with ``problem`` as the message."""
    try:
        return run()
    except Exception as err:
        raise NotReadyError(problem) from err
