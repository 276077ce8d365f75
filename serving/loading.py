"""Worker start-up: settings, models from the BentoML store and the online store, loaded once.

When a step fails, :class:`NotReadyError` says which one in words for the service's callers (what is not
there and what to run, never a server path); the server log gets the underlying error once per change of
reason. A service that is not ready tries again (:class:`Loader`), at most once every
:data:`RETRY_INTERVAL_S` and one attempt at a time, when a probe or a request asks and what a load reads has
changed (:func:`inputs_signature`): a missing model or online store that appears later, or a rebuilt store,
makes it ready without a restart. A ready service never reloads.

Models that are in the BentoML store but will not load need a restart: BentoML resolves a declared
``BentoModel("name:latest")`` once, pins it to the version found and keeps it, so a running service never
sees a new import of them. A model absent from the store is not resolved at all (BentoML would try to pull it
from BentoCloud), so it is picked up once ``csat serving import`` has put it there.

That last case needs the class used directly (``CsatService()``, or ``CsatService.to_asgi()`` in an ASGI
server or a test client). ``bentoml serve`` (and so ``csat serve``) resolves every declared model before it
starts a worker and stops when one is missing; ``csat serve`` checks the store first and says what to run
(:func:`serving.models.check_stored`). Under ``bentoml serve``, :data:`MODELS_MISSING` can only be met when a
model is deleted from the store after the server started.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from csat.settings import SettingsError, load_settings
from features.store import online_path
from serving.live import LiveFeatures
from serving.models import MODEL_NAMES, absent_models, load_stored
from serving.runtime import Runtime

log = logging.getLogger("csat.serving")
T = TypeVar("T")

#: Seconds between two load attempts of a service that is not ready (a storm of probes loads at most once).
RETRY_INTERVAL_S = 15.0
RESTART = "then restart the service"
AUTOMATIC = f"the service looks again every {RETRY_INTERVAL_S:g} s and gets ready without a restart"
SETTINGS_INVALID = f"the service's settings could not be read (see the server log): fix them, {RESTART}"
#: Met when the class is used directly: ``bentoml serve`` does not start without the models (see above).
MODELS_MISSING = (
    "the models are not in the BentoML model store: run `csat serving import` (with the service's"
    f" BENTOML_HOME); {AUTOMATIC}"
)
MODELS_UNLOADABLE = (
    "the models in the BentoML model store could not be loaded (see the server log): import them again with"
    f" `csat serving import`, {RESTART} (a running service keeps the model versions it found)"
)
STORE_MISSING = (
    "the online feature store is missing: run `csat features build` (with the service's CSAT_STORE_DIR);"
    f" {AUTOMATIC}"
)
STORE_UNREADABLE = (
    "the online feature store could not be read or scored (see the server log): rebuild it with"
    f" `csat features build`; {AUTOMATIC}"
)
START_FAILED = "the service failed to start: see the server log, fix the cause and restart"
NO_RAW_TABLES = (
    "the raw data folder (CSAT_DATA_DIR) is missing: account names and teams are empty and scoring at"
    " another date answers 503"
)


class NotReadyError(RuntimeError):
    """Why the service cannot answer: what is not there and what to run, in words for its callers.

    Args:
        problem: the message, in words for the service's callers.
        retry: whether a later attempt may succeed without a restart (what was missing may appear).

    """

    def __init__(self, problem: str, *, retry: bool = False) -> None:
        super().__init__(problem)
        self.retry = retry


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
        raise NotReadyError(STORE_MISSING, retry=True)
    runtime = _step(
        STORE_UNREADABLE, lambda: Runtime.load(models, settings.store_dir, settings.data_dir), retry=True
    )
    _step(STORE_UNREADABLE, runtime.risk_table, retry=True)
    if not Path(settings.data_dir).is_dir():
        log.warning("%s", NO_RAW_TABLES)
    runtime.live = LiveFeatures(settings)  # raw tables for scoring at another date: loaded on first use
    return runtime


class Loader:
    """The service's runtime: loaded at start-up and, while not ready, again when asked and due.

    Args:
        declared: returns role -> BentoML stored model (see :func:`load_runtime`).

    """

    def __init__(self, declared: Callable[[], dict[str, Any]]) -> None:
        self.declared = declared
        self.runtime: Runtime | None = None
        self.problem = ""  # why not ready, in words for callers: every route's 503 says it
        self.retry = False  # whether another attempt may succeed without a restart
        self.tried_at = 0.0  # time.monotonic() of the latest attempt, or of the latest look at the inputs
        self.seen: Hashable = None  # inputs_signature() at the latest attempt
        self._lock = threading.Lock()

    def load(self) -> None:
        """One attempt: the runtime, or why not (logged with the underlying error when the reason changes)."""
        self.tried_at = time.monotonic()
        self.seen = inputs_signature()  # before loading: a change made during the load is seen next time
        before = self.problem
        try:
            self.runtime = load_runtime(self.declared)
        except NotReadyError as err:  # stays alive and not ready; /readyz says 503
            self.problem, self.retry = str(err), err.retry
            if self.problem != before:
                cause = f" ({type(err.__cause__).__name__}: {err.__cause__})" if err.__cause__ else ""
                log.error("service not ready: %s%s", err, cause)
        except Exception:  # a step load_runtime does not name: the detail goes to the log only
            self.problem, self.retry = START_FAILED, False
            log.exception("service not ready")
        else:
            self.problem = ""
            if before:
                log.info("service ready (it was not: %s)", before)

    def poll(self) -> Runtime | None:
        """The runtime; while not ready, first one more attempt if due and none is under way.

        An attempt is due when the last failure may go away without a restart, :data:`RETRY_INTERVAL_S`
        have passed since the last look, and what a load reads has changed since the last attempt
        (:func:`inputs_signature`): a broken store is not reloaded, and every account scored, again and again.
        A caller that finds another attempt under way does not wait.
        """
        if self.runtime is not None or not self._due():
            return self.runtime
        if self._lock.acquire(blocking=False):
            try:
                if self.runtime is None and self._due():  # not just done by the caller holding the lock
                    if inputs_signature() != self.seen:
                        self.load()
                    else:
                        self.tried_at = time.monotonic()  # looked: the next look is an interval away
            finally:
                self._lock.release()
        return self.runtime

    def _due(self) -> bool:
        return self.retry and time.monotonic() - self.tried_at >= RETRY_INTERVAL_S


def inputs_signature() -> Hashable:
    """What a load reads, cheap to compare: the online store file's identity and the served models' tags.

    A rebuild swaps in a new store file and an import adds a model version, and either changes it.
    """
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        info = online_path(load_settings().store_dir).stat()
        store: Hashable = (info.st_ino, info.st_mtime_ns, info.st_size)
    except (OSError, SettingsError):
        store = None
    tags: list[str | None] = []
    for name in MODEL_NAMES.values():
        try:
            tags.append(str(bentoml.models.get(f"{name}:latest").tag))
        except NotFound:
            tags.append(None)
    return store, tuple(tags)


def _load_models(declared: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The served models: a model absent from the BentoML store, and one that will not load, say so.

    An absent model is not resolved: BentoML would try to download it from BentoCloud. (Under ``bentoml
    serve`` the models were resolved before the worker started: see the module's docstring.)
    """
    from bentoml.exceptions import NotFound

    try:
        if models_absent():
            raise NotFound("a served model is not in the BentoML model store ($BENTOML_HOME)")  # the log's
        return {role: load_stored(role, m) for role, m in declared().items()}
    except NotFound as err:
        raise NotReadyError(MODELS_MISSING, retry=True) from err
    except Exception as err:  # BentoML reports an absent model in several ways: look in the store
        absent = models_absent()
        raise NotReadyError(MODELS_MISSING if absent else MODELS_UNLOADABLE, retry=absent) from err


def models_absent() -> bool:
    """Whether a served model has no entry in the BentoML model store (``$BENTOML_HOME``)."""
    return bool(absent_models())


def _step(problem: str, run: Callable[[], T], retry: bool = False) -> T:
    """Run one start-up step; its failure becomes :class:`NotReadyError` with ``problem`` as the message."""
    try:
        return run()
    except Exception as err:
        raise NotReadyError(problem, retry=retry) from err
