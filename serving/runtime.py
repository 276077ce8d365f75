"""The service's state and answers, independent of BentoML: models + online store in, schema objects out."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from features.store import read_online
from serving import schemas as s
from serving.engine import ModelResult, Scorer, combined_band, risk_rank_key
from serving.live import LiveFeatures
from serving.models import ServedModel

SET_COLLAB = "collaboration"
#: How long a request at another date waits for the raw tables' first load (the route's timeout is 30 s).
LIVE_LOAD_WAIT_S = 20.0


class BadRequestError(ValueError):
    """A client error; the message names the offending field."""


class LiveUnavailableError(RuntimeError):
    """Scoring at another date cannot be done now (no raw tables, or they are still loading).

    Attributes:
        transient: whether retrying soon may help (a load under way) rather than needing the operator.

    """

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


#: Why scoring at another date is unavailable, in words for the caller (never the server's paths).
NO_DATA_DIR = (
    "scoring at another date needs the raw tables, and the service's raw data folder (CSAT_DATA_DIR) is"
    " missing: put the raw tables `csat features build` reads there, or set CSAT_DATA_DIR to their folder"
    " and restart the service"
)
RAW_TABLES_BROKEN = (
    "the raw tables for scoring at another date could not be loaded (see the server log): run"
    " `csat validate` on the service's raw data folder (CSAT_DATA_DIR) to see each problem"
)
RAW_TABLES_LOADING = "the raw tables for scoring at another date are loading; retry soon"


@dataclass
class Runtime:
    """Loaded models, the online store frame and the scorer."""

    scorer: Scorer
    store: pd.DataFrame
    manifest: dict[str, Any]
    csm: dict[str, str]
    store_dir: Path | None = None
    stored: dict[str, s.AccountScore] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    position: dict[str, int] = field(default_factory=dict)
    accounts: pd.DataFrame = field(default_factory=lambda: _account_table(None))
    week_ago: dict[str, float] = field(default_factory=dict)
    table: pd.DataFrame | None = None
    live: LiveFeatures | None = None
    stored_top_k: int = 0  # drivers per model every stored answer holds (set with ``stored``)

    @classmethod
    def load(cls, models: dict[str, ServedModel], store_dir: Path, data_dir: Path | None = None) -> Runtime:
        """Read the online store once and build the scorer."""
        frame = read_online(store_dir)
        manifest = dict(frame.attrs.get("manifest", {}))
        frame.attrs = {}  # pandas deep-copies attrs on every column access: keep the manifest apart
        frame = frame.drop_duplicates("account_id").set_index("account_id", drop=False).copy()  # consolidated
        accounts = _account_table(data_dir)
        csm = {str(a): str(c) for a, c in accounts["csm_id"].dropna().items()}
        rt = cls(Scorer(models, manifest), frame, manifest, csm, Path(store_dir), accounts=accounts)
        rt.arrays = {role: rt.scorer.array(role, frame) for role in models}
        rt.position = {str(a): i for i, a in enumerate(frame["account_id"])}
        rt.reload_stored()
        return rt

    def reload_stored(self) -> int:
        """Load the latest batch scores that still match the served models and the store's dates."""
        from serving.scoring import load_latest, week_ago

        as_of = {str(a): str(d) for a, d in zip(self.store["account_id"], self.store["as_of"], strict=True)}
        self.stored = load_latest(self.store_dir, self.versions, as_of) if self.store_dir else {}
        newest = max(as_of.values(), default=None)
        self.week_ago = week_ago(self.store_dir, not_after=newest) if self.store_dir else {}
        self.stored_top_k = min((len(x.churn.drivers) for x in self.stored.values()), default=0)
        self.table = None
        return len(self.stored)

    @property
    def versions(self) -> dict[str, str]:
        """Role -> served registry version."""
        return {role: m.version for role, m in self.scorer.models.items()}

    def _driver(self, name: str, value: Any, contrib: float, bad_is_positive: bool) -> s.Driver:
        w = self.scorer.words[name]
        return s.Driver(
            feature=name,
            description=w.description,
            group=w.group,
            feature_set=w.feature_set,
            value=_plain(value),
            contribution=float(contrib),
            direction=direction(float(contrib), bad_is_positive),
        )

    def _drivers(self, role: str, row: pd.Series, contrib: np.ndarray, k: int | None) -> list[s.Driver]:
        model = self.scorer.models[role]
        bad_pos = not str(model.spec["bands"].get("risk", "p")).startswith("1")
        order = np.argsort(-np.abs(contrib), kind="stable")
        if k is not None:
            order = order[:k]
        feats = model.spec["features"]
        return [self._driver(feats[j], row.get(feats[j]), contrib[j], bad_pos) for j in order]

    def _model_score(self, role: str, res: ModelResult, i: int, row: pd.Series, k: int) -> s.ModelScore:
        return s.ModelScore(
            probability=float(res.probability[i]),
            risk=float(res.risk[i]),
            band=_band(str(res.band[i])),
            base_value=float(res.base_value[i]),
            raw_score=float(res.raw_score[i]),
            drivers=self._drivers(role, row, res.contributions[i], k),
        )

    def answers(
        self, frame: pd.DataFrame, source: s.Source, top_k: int, flag: bool, rows: list[int] | None = None
    ) -> list[s.AccountScore]:
        """Score rows of a store-format frame into answers (``rows``: their positions in the store)."""
        if frame.empty:
            return []
        arrays = {r: a[rows] for r, a in self.arrays.items()} if rows is not None and self.arrays else None
        res = self.scorer.score(frame, arrays)
        band = combined_band(res)
        missing = self.scorer.missing(frame) if flag else [[] for _ in range(len(frame))]
        out = []
        for i, (_, row) in enumerate(frame.iterrows()):
            acc = row.get("account_id")
            out.append(
                s.AccountScore(
                    account_id=None if _isnull(acc) else str(acc),
                    source=source,
                    as_of=None if _isnull(row.get("as_of")) else str(row.get("as_of")),
                    satisfaction_probability=float(res["satisfaction"].probability[i]),
                    churn_probability=float(res["churn"].probability[i]),
                    risk_band=_band(str(band[i])),
                    satisfaction=self._model_score("satisfaction", res["satisfaction"], i, row, top_k),
                    churn=self._model_score("churn", res["churn"], i, row, top_k),
                    missing_features=missing[i],
                )
            )
        return out

    def score_ids(self, ids: list[str], top_k: int, live: bool = False) -> s.ScoreResponse:
        """Score accounts by id: stored batch answers when valid, else live from the online store.

        Unknown ids are reported per item; the rest of the batch is answered in request order.
        """
        errors = [
            s.ItemError(index=i, account_id=a, error="unknown account_id")
            for i, a in enumerate(ids)
            if a not in self.store.index
        ]
        known = [a for a in ids if a in self.store.index]
        use_stored = not live and top_k <= self.stored_top_k
        todo = [a for a in known if not (use_stored and a in self.stored)]
        live_answers: dict[str, s.AccountScore] = {}
        if todo:
            frame = self.store.loc[todo].reset_index(drop=True)
            rows = [self.position[a] for a in todo]
            live_answers = dict(zip(todo, self.answers(frame, "store", top_k, False, rows), strict=True))
        results = [live_answers[a] if a in live_answers else _cut(self.stored[a], top_k) for a in known]
        return s.ScoreResponse(results=results, errors=errors, model_versions=self.versions)

    def score_each(self, ids: list[str], top_k: int = 5) -> list[s.BatchAnswer]:
        """Live scores from the online store, one answer per id in order (unknown ids answered as such)."""
        known = [a for a in ids if a in self.store.index]
        frame = self.store.loc[known].reset_index(drop=True)
        rows = [self.position[a] for a in known]
        answers = iter(self.answers(frame, "store", top_k, False, rows))
        return [
            s.BatchAnswer(account_id=a, result=next(answers))
            if a in self.store.index
            else s.BatchAnswer(account_id=a, error="unknown account_id")
            for a in ids
        ]

    def score_at(self, ids: list[str], top_k: int, as_of: date) -> s.ScoreResponse:
        """Score accounts as of another date: their features computed now from the raw tables.

        An account that was not yet a customer on that date gets an error item, not a score.

        Raises:
            BadRequestError: the date is after the newest data the service has (the online store's as-of).
            LiveUnavailableError: no raw tables to compute from, or they are still loading.

        """
        self._check_not_after_store(as_of)
        if self.live is None or not self.live.available:
            raise LiveUnavailableError(NO_DATA_DIR)
        if not self.live.wait(LIVE_LOAD_WAIT_S):
            if self.live.last_error is not None:  # logged by the loader, with its detail
                raise LiveUnavailableError(RAW_TABLES_BROKEN)
            raise LiveUnavailableError(RAW_TABLES_LOADING, transient=True)
        self._check_not_before_data(as_of)
        known_ids = self.live.known(ids)
        known = list(dict.fromkeys(a for a in ids if a in known_ids))
        frame = self.live.frame(known, as_of) if known else pd.DataFrame(columns=["account_id"])
        if "tenure_days" in frame.columns:  # a negative tenure: the account became a customer after as_of
            frame = frame[~(pd.to_numeric(frame["tenure_days"]) < 0)].reset_index(drop=True)
        customers = [str(a) for a in frame["account_id"]]
        errors = [
            s.ItemError(index=i, account_id=a, error=_not_scored_at(a in known_ids, as_of))
            for i, a in enumerate(ids)
            if a not in customers
        ]
        by_id = dict(zip(customers, self.answers(frame, "raw_at_date", top_k, False), strict=True))
        results = [by_id[a] for a in ids if a in customers]
        return s.ScoreResponse(results=results, errors=errors, model_versions=self.versions)

    def _check_not_after_store(self, as_of: date) -> None:
        latest = pd.to_datetime(self.store["as_of"]).max() if len(self.store) else None
        if latest is not None and not _isnull(latest) and pd.Timestamp(as_of) > latest:
            raise BadRequestError(
                f"as_of: {as_of} is after the newest data the service has (the online store is as of"
                f" {latest}); the future has no data to score"
            )

    def _check_not_before_data(self, as_of: date) -> None:
        first = self.live.first_event if self.live is not None else None
        if first is not None and pd.Timestamp(as_of) <= first:
            earliest = first.normalize().date() + timedelta(days=1)  # a date is its midnight
            raise BadRequestError(
                f"as_of: {as_of} is on or before the raw data's first event ({first.date()}): no usage,"
                f" ticket, invoice, survey or interaction would be known, and the score would rest on the"
                f" account's static fields alone; give a date from {earliest}"
            )

    def history(self, account_id: str, limit: int) -> s.RiskHistory:
        """Stored scores of one account, oldest first, with the churn-risk trend."""
        from serving.scoring import history, trend

        if account_id not in self.store.index:
            raise LookupError(account_id)
        rows = history(self.store_dir, account_id, limit) if self.store_dir else []
        points = [
            s.HistoryPoint(
                scored_at=a, as_of=b, satisfaction_probability=c, churn_probability=d, risk_band=_band(e)
            )
            for a, b, c, d, e in rows
        ]
        return s.RiskHistory(account_id=account_id, points=points, churn_trend=trend([p[3] for p in rows]))

    def score_rows(self, rows: list[s.FeatureRow], top_k: int) -> s.ScoreResponse:
        """Score caller-supplied features; a feature name or category the models do not know is refused.

        Raises:
            BadRequestError: an unknown feature name, a value of the wrong kind, or a category the models
                were not trained with (the message names the row, the feature and the known categories).

        """
        allowed = set(self.scorer.features)
        for i, row in enumerate(rows):
            bad = sorted(set(row.features) - allowed)
            if bad:
                raise BadRequestError(
                    f"rows[{i}].features: unknown feature name(s) {', '.join(repr(b) for b in bad[:10])}"
                )
            for name, value in row.features.items():
                self._check_value(f"rows[{i}].features.{name}", name, value)
        records = [{"account_id": r.account_id, "as_of": None, **r.features} for r in rows]
        frame = pd.DataFrame.from_records(records).reindex(
            columns=["account_id", "as_of", *self.scorer.features]
        )
        results = self.answers(frame, "supplied", top_k, flag=True)
        return s.ScoreResponse(results=results, errors=[], model_versions=self.versions)

    def _check_value(self, where: str, name: str, value: s.FeatureValue) -> None:
        """Refuse a value the models cannot take for this feature (``None`` is always fine: missing)."""
        if name not in self.scorer.categorical:
            if isinstance(value, str):
                raise BadRequestError(f"{where}: expected a number")
            return
        if value is None:
            return
        if not isinstance(value, str):
            raise BadRequestError(f"{where}: expected category text")
        known = self.scorer.levels.get(name)
        if known is not None and value not in known:
            raise BadRequestError(f"{where}: unknown category {value!r}; {_known_list(known)}")

    def explain(self, account_id: str) -> s.Explanation:
        """Every contribution of both models for one account, summed by group and by feature set."""
        if account_id not in self.store.index:
            raise LookupError(account_id)
        frame = self.store.loc[[account_id]].reset_index(drop=True)
        res = self.scorer.score(frame)
        row = frame.iloc[0]
        parts = {role: self._model_explanation(role, r, row) for role, r in res.items()}
        return s.Explanation(
            account_id=account_id,
            as_of=str(row.get("as_of")),
            risk_band=_band(str(combined_band(res)[0])),
            satisfaction=parts["satisfaction"],
            churn=parts["churn"],
        )

    def _model_explanation(self, role: str, res: ModelResult, row: pd.Series) -> s.ModelExplanation:
        drivers = self._drivers(role, row, res.contributions[0], None)
        total = sum(abs(d.contribution) for d in drivers) or 1.0
        by_group = _sum_by(drivers, "group", total)
        by_set = _sum_by(drivers, "feature_set", total)
        collab = next((g.share for g in by_set if g.name == SET_COLLAB), 0.0)
        return s.ModelExplanation(
            probability=float(res.probability[0]),
            band=_band(str(res.band[0])),
            base_value=float(res.base_value[0]),
            raw_score=float(res.raw_score[0]),
            contributions=drivers,
            by_group=by_group,
            by_feature_set=by_set,
            collaboration_share=collab,
        )

    def at_risk(self, segment: str | None, region: str | None, csm: str | None, min_band: str | None,
                offset: int, limit: int, **page: Any) -> s.AtRiskPage:  # fmt: skip
        """Ranked at-risk accounts, filtered, sorted, one page (the CSM id is a filter only, never shown).

        Args:
            segment: only this segment.
            region: only this region.
            csm: only accounts of this CSM id.
            min_band: the lowest band listed (``None``: medium, unless ``band`` is given).
            offset: rows skipped.
            limit: rows returned.
            **page: the page's extras: ``band`` (exactly this band, whatever the default ``min_band``),
                ``csm_team``, ``search`` (name or id, any case), ``sort`` (``risk``, ``churn``,
                ``satisfaction``, ``change`` or ``name``), ``descending`` and ``with_facets``.

        Returns:
            The page; ``rank`` is the position in the filtered risk order whatever the sort.

        Raises:
            BadRequestError: ``band`` is below an explicit ``min_band`` (the two cannot both hold).

        """
        lowest = _lowest_band(min_band, page.get("band"))
        table = self.risk_table()
        former = table["former"].to_numpy(dtype=bool)
        table = table[~former]
        frame = _filter(table, segment, region, csm, lowest, page)
        frame = frame.sort_values("key", ascending=False, kind="stable")
        frame = frame.assign(rank=np.arange(1, len(frame) + 1))
        frame = _sort(frame, str(page.get("sort") or "risk"), bool(page.get("descending", True)))
        rows = frame.iloc[offset : offset + limit]
        items = [_item(r) for r in rows.itertuples(index=False)]
        page_out = s.AtRiskPage(
            total=len(frame), offset=offset, limit=limit, items=items, former_customers=int(former.sum())
        )
        if page.get("with_facets"):
            page_out.facets = _facets(table)
        return page_out

    def risk_table(self) -> pd.DataFrame:
        """Every account of the store scored once per loaded state (cached): the list filters and sorts it."""
        if self.table is None:
            self.table = self._build_table()
        return self.table

    def _build_table(self) -> pd.DataFrame:
        frame = self.store.reset_index(drop=True)
        if frame.empty:
            return pd.DataFrame(columns=TABLE_COLUMNS)
        arrays = self.arrays if len(self.arrays) == len(self.scorer.models) else None
        res = self.scorer.score(frame, arrays)
        ids = frame["account_id"].astype(str)
        churn_p = res["churn"].probability.astype(float)
        meta = self.accounts.reindex(ids)
        before = ids.map(self.week_ago).to_numpy(dtype=float, na_value=np.nan)
        band = combined_band(res)
        return pd.DataFrame(
            {
                "account_id": ids.to_numpy(),
                "segment": frame["segment"].map(_text).to_numpy() if "segment" in frame else None,
                "region": frame["region"].map(_text).to_numpy() if "region" in frame else None,
                "name": meta["name"].to_numpy(),
                "csm_id": meta["csm_id"].to_numpy(),
                "csm_team": meta["csm_team"].to_numpy(),
                "band": band,
                "band_rank": [BAND_RANK[str(b)] for b in band],
                "satisfaction_probability": res["satisfaction"].probability.astype(float),
                "churn_probability": churn_p,
                "key": risk_rank_key(res),
                "change": churn_p - before,
                "top_driver": self._top_drivers(res["churn"]),
                "reasons": self._reasons(frame, res),
                "former": _former_customers(frame),
            }
        )

    def _top_drivers(self, churn: ModelResult) -> list[str | None]:
        feats = self.scorer.models["churn"].spec["features"]
        out: list[str | None] = []
        for i, j in enumerate(np.argmax(churn.contributions, axis=1)):
            out.append(self.scorer.words[feats[j]].description if churn.contributions[i, j] > 0 else None)
        return out

    def _reasons(self, frame: pd.DataFrame, res: dict[str, ModelResult], k: int = 2) -> list[list[str]]:
        """Per row, the ``k`` largest pushes towards risk over both models (one per feature family)."""
        names: list[str] = []
        pushes = []
        for role, r in res.items():
            spec = self.scorer.models[role].spec
            sign = -1.0 if str(spec["bands"].get("risk", "p")).startswith("1") else 1.0
            names += list(spec["features"])
            pushes.append(sign * r.contributions)
        push = np.concatenate(pushes, axis=1)
        typical = self._typical()
        columns: dict[str, np.ndarray] = {}
        out = []
        for i, order in enumerate(np.argsort(-push, axis=1)[:, : 4 * k]):
            said: dict[str, str] = {}  # family -> sentence: one reason per feature family
            for j in order:
                if push[i, j] <= 0 or len(said) == k:
                    break
                family = WINDOW.sub("", names[j])
                if family not in said:
                    if names[j] not in columns:
                        columns[names[j]] = _column(frame, names[j])
                    said[family] = self._reason(names[j], columns[names[j]][i], typical.get(names[j]))
            out.append(list(said.values()))
        return out

    def _reason(self, name: str, value: Any, typical: float | None) -> str:
        words = self.scorer.words[name].description
        if isinstance(value, str):
            return f"{words}: {value}"
        shown = "none recorded" if _isnull(value) else _number(float(value))
        return f"{words}: {shown}" + ("" if typical is None else f" (typical {_number(typical)})")

    def _typical(self) -> dict[str, float]:
        """Median of every numeric model feature over the store's accounts."""
        out: dict[str, float] = {}
        for name in self.scorer.features:
            if name in self.scorer.categorical or name not in self.store.columns:
                continue
            med = pd.to_numeric(self.store[name], errors="coerce").median()
            if not _isnull(med):
                out[name] = float(med)
        return out

    def info(self) -> s.ModelInfo:
        """Versions, feature-set versions, training dates and test metrics of the served models."""
        cards = {role: _card(m) for role, m in self.scorer.models.items()}
        as_of = self.store["as_of"].max() if len(self.store) else None
        return s.ModelInfo(
            models=cards,
            store_feature_set_version=_text(self.manifest.get("feature_set_version")),
            store_as_of=None if as_of is None or _isnull(as_of) else str(as_of),
            accounts_in_store=len(self.store),
        )


def direction(contrib: float, bad_is_positive: bool) -> s.Direction:
    """How a contribution moves the risk: a zero one (an unused feature) is ``no effect``, neither way.

    Args:
        contrib: the feature's TreeSHAP contribution (log-odds of the model's label).
        bad_is_positive: whether the model's label is the bad outcome (churn) rather than the good one.

    Returns:
        ``raises risk``, ``lowers risk`` or ``no effect``.

    """
    if contrib == 0.0:
        return "no effect"
    return "raises risk" if (contrib > 0) == bad_is_positive else "lowers risk"


def _lowest_band(min_band: str | None, band: str | None) -> str:
    """The lowest band the list keeps: ``band`` overrides the default, and must not be below ``min_band``."""
    if band is None:
        return min_band or DEFAULT_MIN_BAND
    if min_band is not None and BAND_RANK[band] < BAND_RANK[min_band]:
        raise BadRequestError(
            f"band: {band!r} is below min_band {min_band!r}, so nothing could match; send band alone"
            " (exactly that band) or a min_band at or below it"
        )
    return band


#: A feature's known categories are listed in a client error only up to this many.
MAX_LISTED_LEVELS = 20


def _known_list(known: list[str]) -> str:
    """The known categories for an error message (all when few, else how many), and how to send missing."""
    if len(known) <= MAX_LISTED_LEVELS:
        shown = f"known: {', '.join(repr(k) for k in known)}" if known else "no category is known"
    else:
        shown = f"the models know {len(known)} categories (see the training data)"
    return f"{shown}; send null if the value is not known"


def _not_scored_at(known: bool, as_of: date) -> str:
    return f"not yet a customer on {as_of}" if known else "unknown account_id"


def _cut(answer: s.AccountScore, k: int) -> s.AccountScore:
    sat = answer.satisfaction.model_copy(update={"drivers": answer.satisfaction.drivers[:k]})
    churn = answer.churn.model_copy(update={"drivers": answer.churn.drivers[:k]})
    return answer.model_copy(update={"satisfaction": sat, "churn": churn})


def _card(m: ServedModel) -> s.ModelCard:
    ms = m.info.get("trained_at_ms")
    trained = datetime.fromtimestamp(int(ms) / 1000, UTC).isoformat() if ms else None
    metrics = _metric_table(m.spec.get("metrics", {}))
    return s.ModelCard(
        name=str(m.info.get("mlflow_name", m.role)),
        version=m.version,
        bento_tag=str(m.info.get("bento_tag", "")),
        feature_set=str(m.spec.get("feature_set")),
        feature_set_version=str(m.spec.get("feature_set_version")),
        trained_at=trained,
        n_features=len(m.spec["features"]),
        threshold=float(m.spec["threshold"]),
        bands=m.spec["bands"],
        metrics=metrics,
        lift=_metric_table(m.spec.get("lift") or {}),
    )


def _metric_table(raw: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Metric -> {point, low, high} with only finite numbers kept."""
    return {
        str(k): {kk: float(vv) for kk, vv in v.items() if isinstance(vv, int | float) and math.isfinite(vv)}
        for k, v in raw.items()
        if isinstance(v, dict)
    }


def _sum_by(drivers: list[s.Driver], attr: str, total: float) -> list[s.GroupShare]:
    sums: dict[str, list[float]] = {}
    for d in drivers:
        acc = sums.setdefault(getattr(d, attr), [0.0, 0.0])
        acc[0] += d.contribution
        acc[1] += abs(d.contribution)
    rows = [
        s.GroupShare(name=k, contribution=v[0], abs_contribution=v[1], share=v[1] / total)
        for k, v in sums.items()
    ]
    return sorted(rows, key=lambda g: -g.abs_contribution)


BAND_RANK = {"low": 0, "medium": 1, "high": 2}
#: The lowest band the at-risk list shows when the caller names neither ``min_band`` nor ``band``.
DEFAULT_MIN_BAND = "medium"
TABLE_COLUMNS = [
    "account_id",
    "segment",
    "region",
    "name",
    "csm_id",
    "csm_team",
    "band",
    "band_rank",
    "satisfaction_probability",
    "churn_probability",
    "key",
    "change",
    "top_driver",
    "reasons",
    "former",
]
#: A feature's window suffix: ``seat_utilisation_28d`` and ``_90d`` are one reason, not two.
WINDOW = re.compile(r"_\d+d$")
SORT_COLUMNS = {
    "churn": "churn_probability",
    "satisfaction": "satisfaction_probability",
    "change": "change",
    "name": "name",
}
#: A team is named on the page only when it has at least this many people; smaller ones are "other".
MIN_TEAM = 5
OTHER_TEAM = "other"


def _filter(table: pd.DataFrame, segment: str | None, region: str | None, csm: str | None, min_band: str,
            page: dict[str, Any]) -> pd.DataFrame:  # fmt: skip
    keep = table["band_rank"] >= BAND_RANK[min_band]
    for column, value in (("segment", segment), ("region", region), ("csm_id", csm),
                          ("csm_team", page.get("csm_team")), ("band", page.get("band"))):  # fmt: skip
        if value:
            keep &= table[column] == value
    search = str(page.get("search") or "").strip().lower()
    if search:
        text = table["name"].fillna("").str.lower() + " " + table["account_id"].str.lower()
        keep &= text.str.contains(search, regex=False)
    return table[keep]


def _sort(frame: pd.DataFrame, key: str, descending: bool) -> pd.DataFrame:
    if key == "risk" or key not in SORT_COLUMNS:
        return frame if descending else frame.iloc[::-1]
    col = SORT_COLUMNS[key]
    by = frame[col].str.lower() if key == "name" else frame[col]
    order = by.sort_values(ascending=not descending, kind="stable", na_position="last").index
    return frame.loc[order]


def _item(r: Any) -> s.AtRiskItem:
    return s.AtRiskItem(
        rank=int(r.rank),
        account_id=str(r.account_id),
        segment=_text(r.segment),
        region=_text(r.region),
        risk_band=_band(r.band),
        satisfaction_probability=float(r.satisfaction_probability),
        churn_probability=float(r.churn_probability),
        top_driver=r.top_driver,
        name=_text(r.name),
        csm_team=_text(r.csm_team),
        churn_change_7d=None if _isnull(r.change) else float(r.change),
        reasons=list(r.reasons),
    )


def _former_customers(frame: pd.DataFrame) -> np.ndarray:
    """Accounts that have already left: a renewal with outcome ``churned`` known before the store's date.

    The churn frames count an account as active at a snapshot only without such a renewal; the at-risk list
    follows them. Without a renewals table no account is known to have left.
    """
    if "renewals_churned_prior" not in frame:
        return np.zeros(len(frame), dtype=bool)
    return frame["renewals_churned_prior"].fillna(0).to_numpy(dtype=float) > 0


def _facets(table: pd.DataFrame) -> s.Facets:
    def values(col: str) -> list[str]:
        return sorted({str(v) for v in table[col] if not _isnull(v)})

    return s.Facets(segments=values("segment"), regions=values("region"), csm_teams=values("csm_team"))


def _read_raw(data_dir: Path | None, table: str) -> pd.DataFrame | None:
    if data_dir is None:
        return None
    for path in (Path(data_dir) / f"{table}.parquet", Path(data_dir) / f"{table}.csv"):
        if path.is_file():
            return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
    return None


def _account_table(data_dir: Path | None) -> pd.DataFrame:
    """Account -> name, CSM id (a filter only, never returned or logged) and the CSM's team.

    The team is named only when it has at least ``MIN_TEAM`` people, otherwise it shows as ``other``:
    a team label must not single a person out.
    """
    empty = pd.DataFrame(columns=["name", "csm_id", "csm_team"], index=pd.Index([], name="account_id"))
    accounts = _read_raw(data_dir, "accounts")
    if accounts is None or "account_id" not in accounts.columns:
        return empty
    out = pd.DataFrame(index=pd.Index(accounts["account_id"].astype(str), name="account_id"))
    for col in ("name", "csm_id"):
        vals = accounts[col] if col in accounts.columns else pd.Series(None, index=accounts.index)
        out[col] = [None if _isnull(v) else str(v) for v in vals]
    out["csm_team"] = out["csm_id"].map(_team_names(_read_raw(data_dir, "employees")))
    return out[~out.index.duplicated()]


def _team_names(employees: pd.DataFrame | None) -> dict[str, str]:
    """Employee id -> team name as the page may show it."""
    if employees is None or not {"employee_id", "team"} <= set(employees.columns):
        return {}
    team = employees["team"].astype("string")
    size = team.map(team.value_counts())
    shown = team.where(size >= MIN_TEAM, OTHER_TEAM).fillna(OTHER_TEAM)
    return dict(zip(employees["employee_id"].astype(str), shown.astype(str), strict=True))


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as Python objects; all missing when the store lacks it."""
    if name in frame.columns:
        return frame[name].to_numpy(dtype=object)
    return np.full(len(frame), None, dtype=object)


def _number(v: float) -> str:
    """A feature value as people read it: whole numbers plain, small ones with two decimals."""
    if not math.isfinite(v):
        return "none recorded"
    if float(v).is_integer() or abs(v) >= 10:
        return f"{v:,.0f}"
    return f"{v:.2f}" if abs(v) < 1 else f"{v:.1f}"


def _band(v: Any) -> s.Band:
    return cast(s.Band, str(v))


def _isnull(v: Any) -> bool:
    return v is None or (not isinstance(v, str) and bool(pd.isna(v)))


def _text(v: Any) -> str | None:
    return None if _isnull(v) else str(v)


def _plain(v: Any) -> float | str | None:
    if _isnull(v):
        return None
    if isinstance(v, str):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f if math.isfinite(f) else None
