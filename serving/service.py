"""The BentoML service: ``bentoml serve serving.service:CsatService`` (or ``csat serve``).

Models come from the BentoML model store (``csat serving import`` puts the MLflow champions there); features
come from the online store named by the settings (``CSAT_STORE_DIR``). Both are loaded once per worker; a
worker that could not load them tries again when asked (:class:`serving.loading.Loader`) until it is ready.
``bentoml serve`` itself resolves the declared models before any worker starts and will not start without
them (``csat serve`` checks the model store first and says what to run); a service that finds the models
missing and picks them up later is one whose class is used directly (``CsatService.to_asgi()``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

import bentoml
from bentoml.exceptions import InvalidArgument, NotFound
from pydantic import Field

from serving import schemas as s
from serving.errors import (
    RETRY_AFTER_S,
    ErrorShapeMiddleware,
    JsonBodyMiddleware,
    quiet_client_errors,
    unavailable,
)
from serving.models import MODEL_NAMES
from serving.openapi import DocumentedService
from serving.page.app import PAGE, PREFIX, OpenShellMiddleware
from serving.security import TokenMiddleware

if TYPE_CHECKING:
    from serving.runtime import Runtime

log = logging.getLogger("csat.serving")


@bentoml.asgi_app(PAGE, path=PREFIX, name="page")  # the account-risk page: /ui/
@bentoml.service(name="csat-risk", workers=1, traffic={"timeout": 30}, service_class=DocumentedService)
class CsatService:
    """Satisfaction and churn risk per account, with drivers in business words."""

    satisfaction_model = bentoml.models.BentoModel(f"{MODEL_NAMES['satisfaction']}:latest")
    churn_model = bentoml.models.BentoModel(f"{MODEL_NAMES['churn']}:latest")

    def __init__(self) -> None:
        from serving.loading import Loader

        quiet_client_errors()  # a client error is one log line, never its input (a CSM id filter, say)
        self.loader = Loader(self._declared)
        self.loader.load()  # the page's list too: every account scored and explained once, at start-up

    def _declared(self) -> dict[str, Any]:
        """Role -> the declared BentoML model (resolved from the model store on first access)."""
        return {"satisfaction": self.satisfaction_model, "churn": self.churn_model}

    @property
    def runtime(self) -> Runtime | None:
        """The loaded models and online store, or ``None`` while the service is not ready."""
        return self.loader.runtime

    @property
    def problem(self) -> str:
        """Why the service is not ready, in words for its callers (empty once ready)."""
        return self.loader.problem

    def __is_ready__(self) -> bool:
        """Ready once both models and the online store are loaded; until then, a probe may load them."""
        return self.loader.poll() is not None

    def _rt(self, route: str) -> Runtime:
        """The runtime (loaded now if due), or a 503 on ``route`` saying what is not ready and what to run."""
        runtime = self.loader.poll()
        if runtime is None:
            raise unavailable(route, f"service not ready: {self.problem}")
        return runtime

    @bentoml.api(route="/score", input_spec=s.ScoreRequest)
    def score(
        self,
        account_ids: s.AccountIds,
        top_k: Annotated[int, Field(ge=1, le=s.MAX_TOP)] = 5,
        live: bool = False,
        as_of: s.AsOfDate | None = None,
    ) -> s.ScoreResponse:
        """Score accounts by id (at most 100): stored batch scores, else live; unknown ids in ``errors``.

        With ``as_of``, the features are computed from the raw tables as of that date (slower: seconds); the
        date may not be after the online store's, and an account not yet a customer then gets an error item.
        """
        from serving.runtime import BadRequestError, LiveUnavailableError

        if as_of is None:
            return self._rt("/score").score_ids(list(account_ids), top_k, live)
        try:
            return self._rt("/score").score_at(list(account_ids), top_k, as_of)
        except BadRequestError as err:
            raise InvalidArgument(str(err)) from err
        except LiveUnavailableError as err:  # BentoML drops a 503's message: the middleware puts it back
            raise unavailable("/score", str(err), RETRY_AFTER_S if err.transient else None) from err

    @bentoml.api(
        route="/score_batch",
        input_spec=s.ScoreBatchRequest,
        batchable=True,
        max_batch_size=s.MAX_ACCOUNTS,
        max_latency_ms=10_000,
    )
    def score_batch(
        self,
        account_ids: s.AccountIds,
    ) -> list[s.BatchAnswer]:
        """Live scores (5 drivers per model) for many small concurrent callers, batched by the server.

        Requests arriving together are scored as one batch (BentoML's adaptive batching); each caller gets its
        own items back, in order. Unknown ids are answered with an error item.
        """
        return self._rt("/score_batch").score_each(list(account_ids))

    @bentoml.api(route="/score_features", input_spec=s.FeaturesRequest)
    def score_features(
        self,
        rows: Annotated[list[s.FeatureRow], Field(min_length=1, max_length=s.MAX_ACCOUNTS)],
        top_k: Annotated[int, Field(ge=1, le=s.MAX_TOP)] = 5,
    ) -> s.ScoreResponse:
        """Score features supplied by the caller (at most 100 rows); absent features are flagged."""
        from serving.runtime import BadRequestError

        try:
            return self._rt("/score_features").score_rows(list(rows), top_k)
        except BadRequestError as err:
            raise InvalidArgument(str(err)) from err

    @bentoml.api(route="/explain", input_spec=s.ExplainRequest)
    def explain(self, account_id: s.AccountId) -> s.Explanation:
        """Every contribution for one account, summed by group and by feature set."""
        try:
            return self._rt("/explain").explain(account_id)
        except LookupError as err:
            raise NotFound("account_id: unknown account") from err

    @bentoml.api(route="/history", input_spec=s.HistoryRequest)
    def history(self, account_id: s.AccountId, limit: int = 50) -> s.RiskHistory:
        """Stored batch scores of one account, oldest first, with its churn-risk trend."""
        try:
            return self._rt("/history").history(account_id, limit)
        except LookupError as err:
            raise NotFound("account_id: unknown account") from err

    @bentoml.api(route="/at_risk", input_spec=s.AtRiskRequest)
    def at_risk(
        self,
        segment: Annotated[str, Field(max_length=64)] | None = None,
        region: Annotated[str, Field(max_length=64)] | None = None,
        csm_id: Annotated[str, Field(max_length=64)] | None = None,
        min_band: s.Band | None = None,
        offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0,
        limit: Annotated[int, Field(ge=1, le=s.MAX_PAGE)] = 20,
        band: s.Band | None = None,
        csm_team: Annotated[str, Field(max_length=64)] | None = None,
        search: Annotated[str, Field(max_length=64)] | None = None,
        sort: s.SortKey = "risk",
        descending: bool = True,
        with_facets: bool = False,
    ) -> s.AtRiskPage:
        """Accounts at risk, worst first (or sorted), filtered by segment, region, CSM, team, band or name.

        ``band`` lists exactly that band; without it, ``min_band`` (default medium) is the lowest band listed.
        """
        from serving.runtime import BadRequestError

        try:
            return self._rt("/at_risk").at_risk(
                segment, region, csm_id, min_band, offset, limit, band=band, csm_team=csm_team, search=search,
                sort=sort, descending=descending, with_facets=with_facets,
            )  # fmt: skip
        except BadRequestError as err:
            raise InvalidArgument(str(err)) from err

    @bentoml.api(route="/account_view", input_spec=s.AccountViewRequest)
    def account_view(self, account_id: s.AccountId) -> s.AccountView:
        """The page's account view: scores and trend, every driver, collaboration picture, action lines."""
        from serving.page.view import build_view

        try:
            return build_view(self._rt("/account_view"), account_id)
        except LookupError as err:
            raise NotFound("account_id: unknown account") from err

    @bentoml.api(route="/model_info", input_spec=s.EmptyRequest)
    def model_info(self) -> s.ModelInfo:
        """Served model versions, feature-set version, training dates and test metrics."""
        return self._rt("/model_info").info()


# The first added is the outermost: a request meets them in this order.
CsatService.add_asgi_middleware(ErrorShapeMiddleware)  # type: ignore[attr-defined]
# outside the token check: the page's static shell (no data) opens without a token; its data calls need one
CsatService.add_asgi_middleware(OpenShellMiddleware)  # type: ignore[attr-defined]
CsatService.add_asgi_middleware(TokenMiddleware)  # type: ignore[attr-defined]
# inside the token check: a caller without the token learns 401, not what the route would accept
API_ROUTES = [api.route for api in CsatService.apis.values()]  # type: ignore[attr-defined]
CsatService.add_asgi_middleware(JsonBodyMiddleware, routes=API_ROUTES)  # type: ignore[attr-defined]
