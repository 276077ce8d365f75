"""Configuration of a simulated world: its size, scenario and the parameters behind its ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Scenario = Literal["default", "null", "late"]
SCENARIOS: tuple[str, ...] = ("default", "null", "late")
SEGMENTS: tuple[str, ...] = ("enterprise", "mid-market", "smb")


class SimulationConfig(BaseModel):
    """What to simulate. Deterministic for a given value of every field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accounts: int = Field(2000, ge=10, le=200_000, description="Number of customer accounts.")
    months: int = Field(24, ge=4, le=60, description="Length of the simulated history in months.")
    scenario: Scenario = Field("default", description="default, null (collaboration has no effect) or late.")
    seed: int = Field(42, ge=0, description="Random seed (0 or more).")
    start: date = Field(
        date(2024, 1, 1),
        validate_default=True,
        description="First day of the simulated history; it must end by today.",
    )

    @field_validator("start")
    @classmethod
    def _ends_by_today(cls, start: date, info: ValidationInfo) -> date:
        """Refuse a history that would run past today (UTC): the data's time span ends at the load."""
        months = info.data.get("months")
        if months is None:  # months failed its own check
            return start
        last = history_end(start, months) - timedelta(days=1)
        today = datetime.now(UTC).date()  # the load's clock is UTC too
        if last > today:
            raise ValueError(
                f"{months} months from {start} run until {last}, after today ({today}):"
                " choose an earlier start or fewer months"
            )
        return start


def history_end(start: date, months: int) -> date:
    """The day after a simulated history: ``months`` calendar months after ``start``.

    Args:
        start: the first day of the history.
        months: its length in months.

    Returns:
        The first day after it (the same day of the month, clipped to the month's end).

    """
    year, month = divmod(start.month - 1 + months, 12)
    target = date(start.year + year, month + 1, 1)
    last_day = (date(target.year + (target.month == 12), target.month % 12 + 1, 1) - target).days
    return target.replace(day=min(start.day, last_day))


@dataclass(frozen=True)
class WorldParams:
    """The generative parameters (the ground truth's shape), calibrated against the real pipeline.

    ``tests/training/test_honesty.py`` checks the calibration (baseline near 78%, enriched near 93%, the
    enriched model within 1.5 points of the oracle); ``make calibrate`` is a quicker, cruder check.

    Driver processes are AR(1) in standard units. Account health is a weighted sum of baseline drivers
    (product adoption, support pain, payment reliability and static traits) and collaboration drivers
    (time with the customer, breadth of contacts, depth, senior engagement, responsiveness and the
    account team's internal network). Churn follows the month's health. A survey answer follows the
    baseline part, the team's network and the attention the customer actually received: the customer
    interactions of the 28 days before the answer (``features.simulator.attention``).
    """

    driver_persistence: float = 0.9
    # month-to-month persistence of the collaboration drivers (teams change how they work faster)
    collab_persistence: float = 0.5
    # share of each driver's variance that comes from its kind's common factor
    baseline_common_share: float = 1.0
    collab_common_share: float = 1.0
    # health = baseline part + collaboration part (+ noise); weights in standard-deviation units
    w_adoption: float = 0.5
    w_pain: float = 0.5
    w_payment: float = 0.05
    w_static: float = 0.4
    w_time: float = 0.52
    w_breadth: float = 0.52
    w_depth: float = 0.4
    w_senior: float = 0.4
    w_responsiveness: float = 0.46
    w_network: float = 0.1
    health_noise: float = 0.0
    # how strongly health feeds back into usage, ticket volume and late payment (1 = the original strength)
    health_feedback: float = 0.0
    # how much each month of experience weighs in today's health (this month, one month ago, ...)
    experience_weights: tuple[float, ...] = (0.0, 1.0)
    # the same for the collaboration part of the monthly health behind churn: relationships build slowly,
    # so a renewal weighs the last six months of collaboration alike
    relationship_weights: tuple[float, ...] = (0.0, *(1.0 / 6,) * 6)
    # satisfaction: P(satisfied) = sigmoid(kappa * (health - threshold))
    csat_kappa: float = 2.5
    csat_threshold: float = -0.85
    # the monthly survey goes out on the 1st and answers come in within this many days (None: any day)
    survey_days: int | None = 3
    # survey answers follow the attention received (customer interactions in the 28 days before), with
    # this weight; 0: they follow the month's latent health like churn does
    w_attention: float = 4.5
    # churn at a renewal: P(churn) = sigmoid(churn_intercept + segment offset - churn_slope * health)
    churn_intercept: float = -2.6
    churn_slope: float = 1.4
    churn_segment_offset: dict[str, float] = field(
        default_factory=lambda: {"enterprise": -0.6, "mid-market": -0.1, "smb": 0.4}
    )
    # teams rush to troubled accounts: below this health, escalation meetings and after-hours work grow
    rush_threshold: float = -1.0
    rush_strength: float = 1.0

    def __post_init__(self) -> None:
        """Refuse a survey campaign of no days."""
        if self.survey_days is not None and self.survey_days < 1:
            raise ValueError(f"survey_days must be 1 or more (or None for any day), not {self.survey_days}")
