"""Request and response bodies of the service.

What a request must name (the accounts, the rows) is required: its examples are shown on the OpenAPI page,
never used in place of a missing field. Counts and flags are strict JSON types: ``top_k: true``,
``limit: "20"`` or ``live: "yes"`` is a client error naming the field, never coerced.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, StrictBool, StrictStr

MAX_ACCOUNTS = 100
MAX_TOP = 20
MAX_PAGE = 200

AccountId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
FeatureValue = StrictBool | FiniteFloat | Annotated[StrictStr, Field(max_length=200)] | None
Band = Literal["low", "medium", "high"]
Source = Literal["store", "stored_scores", "supplied", "raw_at_date"]
Trend = Literal["rising", "falling", "flat"]
SortKey = Literal["risk", "churn", "satisfaction", "change", "name"]
Direction = Literal["raises risk", "lowers risk", "no effect"]
EXAMPLE_IDS = ["A000001", "A000002"]  # the simulator's first accounts: examples on the OpenAPI page
AccountIds = Annotated[list[AccountId], Field(min_length=1, max_length=MAX_ACCOUNTS, examples=[EXAMPLE_IDS])]


def _example_features() -> dict[str, FeatureValue]:
    return {"seat_utilisation_28d": 0.42, "segment": "mid-market"}


class Strict(BaseModel):
    """Base: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class FeatureRow(Strict):
    """Features supplied by the caller for one account; absent features are treated as missing and flagged."""

    account_id: AccountId | None = Field(None, description="Optional label echoed back.")
    features: dict[Annotated[str, Field(max_length=100)], FeatureValue] = Field(
        examples=[_example_features()],
        max_length=500,
        description="Feature name -> value (numbers, flags or category text); names must be model features.",
    )


class Driver(BaseModel):
    """One feature's push on a model's answer (TreeSHAP, log-odds)."""

    feature: str
    description: str
    group: str
    feature_set: str
    value: float | str | None
    contribution: float
    direction: Direction = Field(
        description="'no effect' for a contribution of zero (the trees did not use the feature for this row)."
    )


class ModelScore(BaseModel):
    """One model's answer for one account."""

    probability: float = Field(description="Calibrated probability of the model's label.")
    risk: float = Field(description="Probability of the bad outcome (churn, or not satisfied).")
    band: Band
    base_value: float
    raw_score: float = Field(description="Log-odds: base_value + sum of contributions.")
    drivers: list[Driver]


class AccountScore(BaseModel):
    """The answer for one account."""

    account_id: str | None
    source: Source
    as_of: str | None
    satisfaction_probability: float
    churn_probability: float
    risk_band: Band
    satisfaction: ModelScore
    churn: ModelScore
    missing_features: list[str] = Field(
        description="Model features absent from the input (scored as missing)."
    )


class ItemError(BaseModel):
    """A batch item that could not be answered."""

    index: int
    account_id: str | None
    error: str


class BatchAnswer(BaseModel):
    """One account's answer from the adaptively batched route: its score, or why there is none."""

    account_id: str
    result: AccountScore | None = None
    error: str | None = None


class ScoreResponse(BaseModel):
    """Answers for a batch, plus the items that failed."""

    results: list[AccountScore]
    errors: list[ItemError]
    model_versions: dict[str, str]


class GroupShare(BaseModel):
    """Contributions summed over a group or a feature set."""

    name: str
    contribution: float
    abs_contribution: float
    share: float


class ModelExplanation(BaseModel):
    """Every contribution of one model for one account."""

    probability: float
    band: Band
    base_value: float
    raw_score: float
    contributions: list[Driver]
    by_group: list[GroupShare]
    by_feature_set: list[GroupShare]
    collaboration_share: float = Field(description="Share of |contributions| from collaboration features.")


class Explanation(BaseModel):
    """The full explanation of one account."""

    account_id: str
    as_of: str | None
    risk_band: Band
    satisfaction: ModelExplanation
    churn: ModelExplanation


class AtRiskItem(BaseModel):
    """One row of the ranked at-risk list."""

    rank: int
    account_id: str
    segment: str | None
    region: str | None
    risk_band: Band
    satisfaction_probability: float
    churn_probability: float
    top_driver: str | None
    name: str | None = Field(None, description="The account's name (the customer company).")
    csm_team: str | None = Field(
        None, description="Team of the account's CSM (teams under 5 people are shown as 'other')."
    )
    churn_change_7d: float | None = Field(
        None, description="Churn probability now minus the stored score a week or more older; empty if none."
    )
    reasons: list[str] = Field(default=[], description="The two largest pushes towards risk, in plain words.")


class Facets(BaseModel):
    """The values the list's filters offer."""

    segments: list[str]
    regions: list[str]
    csm_teams: list[str]


class AtRiskPage(BaseModel):
    """A page of the at-risk list."""

    total: int = Field(description="Current customers that match the filters.")
    offset: int
    limit: int
    items: list[AtRiskItem]
    former_customers: int = Field(
        0,
        description="Accounts not listed because they have already left (a churned renewal), whatever the"
        " filters.",
    )
    facets: Facets = Field(
        default=Facets(segments=[], regions=[], csm_teams=[]),
        description="The values the filters offer (empty lists unless asked for with with_facets).",
    )


class ModelCard(BaseModel):
    """Provenance and test metrics of one served model."""

    name: str
    version: str
    bento_tag: str
    feature_set: str
    feature_set_version: str
    trained_at: str | None
    n_features: int
    threshold: float
    bands: dict[str, float | str | list[float]]
    metrics: dict[str, dict[str, float]]
    lift: dict[str, dict[str, float]] = Field(
        default={}, description="Enriched minus baseline test metrics, when training published them."
    )


class ModelInfo(BaseModel):
    """What is being served."""

    models: dict[str, ModelCard]
    store_feature_set_version: str | None
    store_as_of: str | None
    accounts_in_store: int


#: A cutoff date for live scoring at another date (midnight UTC; data strictly before it).
AsOfDate = Annotated[date, Field(ge=date(1990, 1, 1), le=date(2200, 1, 1))]


class ScoreRequest(Strict):
    """Accounts to score from the online store."""

    account_ids: AccountIds = Field(
        description=f"Account ids (at most {MAX_ACCOUNTS}); unknown ones are reported per item."
    )
    top_k: int = Field(5, ge=1, le=MAX_TOP, strict=True, description="Drivers per model.")
    live: bool = Field(
        False, strict=True, description="Compute from the online store even when a batch score is stored."
    )
    as_of: AsOfDate | None = Field(
        None,
        description="Score as of this date instead (features from the raw tables, data strictly before it).",
    )


class ScoreBatchRequest(Strict):
    """Accounts to score live; concurrent requests are batched by the server."""

    account_ids: AccountIds = Field(
        description=f"Account ids (at most {MAX_ACCOUNTS}); an unknown one gets an error item."
    )


class FeaturesRequest(Strict):
    """Rows of caller-supplied features."""

    rows: list[FeatureRow] = Field(
        examples=[[{"account_id": None, "features": _example_features()}]],
        min_length=1,
        max_length=MAX_ACCOUNTS,
        description="At most 100.",
    )
    top_k: int = Field(5, ge=1, le=MAX_TOP, strict=True, description="Drivers per model.")


class ExplainRequest(Strict):
    """One account to explain in full."""

    account_id: AccountId = Field(examples=[EXAMPLE_IDS[0]])


class AtRiskRequest(Strict):
    """Filters and paging of the at-risk list (the CSM id is a filter only, never returned)."""

    segment: Annotated[str, Field(max_length=64)] | None = None
    region: Annotated[str, Field(max_length=64)] | None = None
    csm_id: Annotated[str, Field(max_length=64)] | None = None
    min_band: Band | None = Field(
        None, description="The lowest band listed; medium when neither min_band nor band is given."
    )
    offset: int = Field(0, ge=0, le=1_000_000, strict=True)
    limit: int = Field(20, ge=1, le=MAX_PAGE, strict=True)
    band: Band | None = Field(
        None, description="Only this band (then min_band, if given, may not be above it: a 400)."
    )
    csm_team: Annotated[str, Field(max_length=64)] | None = None
    search: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="Part of the account's name or id, any case."
    )
    sort: SortKey = Field("risk", description="risk (rank), churn, satisfaction, change or name.")
    descending: bool = Field(True, strict=True, description="Largest first (for name: Z to A).")
    with_facets: bool = Field(False, strict=True, description="Also return the values the filters offer.")


class EmptyRequest(Strict):
    """No parameters."""


class HistoryRequest(Strict):
    """One account's stored score history."""

    account_id: AccountId = Field(examples=[EXAMPLE_IDS[0]])
    limit: int = Field(50, ge=1, le=1000, strict=True)


class HistoryPoint(BaseModel):
    """One stored batch score."""

    scored_at: str
    as_of: str | None
    satisfaction_probability: float
    churn_probability: float
    risk_band: Band


class RiskHistory(BaseModel):
    """Stored scores of one account, oldest first, and the direction of its churn risk."""

    account_id: str
    points: list[HistoryPoint]
    churn_trend: Trend


class AccountViewRequest(Strict):
    """One account for the page's account view."""

    account_id: AccountId = Field(examples=[EXAMPLE_IDS[0]])


class CollabPeriod(BaseModel):
    """Customer hours in one period of the last 180 days, from the online store's windows."""

    label: str
    days_ago_from: int
    days_ago_to: int
    hours: float | None
    hours_per_30d: float | None


class Collaboration(BaseModel):
    """The account's collaboration picture (aggregates only, no person)."""

    periods: list[CollabPeriod]
    contacts_reached: dict[str, float | None]
    contact_coverage_90d: float | None
    executives_reached: dict[str, float | None]
    our_executive_engaged_90d: bool | None
    days_since_last_meeting: float | None
    reply_hours_avg_90d: float | None
    meeting_hours_change_28d: float | None


class AccountSummary(BaseModel):
    """Who the account is (no person: the CSM shows as a team) and its week-on-week change."""

    account_id: str
    name: str | None
    segment: str | None
    region: str | None
    csm_team: str | None
    churn_change_7d: float | None


class AccountView(BaseModel):
    """Everything the page's account view shows for one account."""

    account_id: str
    account: AccountSummary
    history: RiskHistory
    explanation: Explanation
    collaboration: Collaboration
    actions: list[str]
