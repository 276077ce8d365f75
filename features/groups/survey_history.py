"""Survey history: earlier CSAT and NPS answers known at the cutoff (never the answer being predicted)."""

from features.catalog import FeatureGroup, group_features

_SRC = ("surveys",)
GROUP = FeatureGroup(
    name="survey_history",
    title="Survey history",
    feature_set="baseline",
    requires=_SRC,
    features=group_features(
        "survey_history",
        "baseline",
        _SRC,
        [
            ("prior_responses", "Earlier survey answers from the account", None, "float"),
            ("prior_responses_365d", "Survey answers from the account in the last year", 365, "float"),
            ("prior_csat_mean", "Average earlier satisfaction score (1-5)", None, "float"),
            ("prior_csat_mean_365d", "Average satisfaction score (1-5) in the last year", 365, "float"),
            ("last_csat", "Satisfaction score (1-5) of the most recent earlier answer", None, "float"),
            ("prior_nps_mean", "Average earlier recommend score (NPS, 0-10)", None, "float"),
            ("prior_unsatisfied_share", "Share of earlier answers with satisfaction below 4", None, "float"),
            ("days_since_last_survey", "Days since the most recent earlier survey answer", None, "float"),
        ],
    ),
)
