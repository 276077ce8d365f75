"""CRM contacts: the people on the customer's side that the CRM knows about."""

from features.catalog import FeatureGroup, group_features

_SRC = ("contacts",)
GROUP = FeatureGroup(
    name="crm_contacts",
    title="CRM contacts",
    feature_set="baseline",
    requires=_SRC,
    features=group_features(
        "crm_contacts",
        "baseline",
        _SRC,
        [
            ("known_contacts", "Customer contacts recorded in the CRM", None, "float"),
            ("known_executive_contacts", "Customer executives recorded in the CRM", None, "float"),
            ("known_decision_makers", "Customer decision makers recorded in the CRM", None, "float"),
        ],
    ),
)
