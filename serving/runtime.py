"""The service's state and answers, independent of BentoML: models + online store in, schema objects out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from features.store import read_online
from serving import schemas as s
from serving.engine import ModelResult, Scorer, combined_band, risk_rank_key
from serving.models import ServedModel

SET_COLLAB = "collaboration"


class BadRequestError(ValueError):
    """A client error; the message names the offending field."""


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

    @classmethod
    def load(cls, models: dict[str, ServedModel], store_dir: Path, data_dir: Path | None = None) -> Runtime:
        """Read the online store once and build the scorer."""
        frame = read_online(store_dir)
        manifest = dict(frame.attrs.get("manifest", {}))
        frame.attrs = {}  # pandas deep-copies attrs on every column access: keep the manifest apart
        frame = frame.drop_duplicates("account_id").set_index("account_id", drop=False)
        rt = cls(Scorer(models, manifest), frame, manifest, _csm_map(data_dir), Path(store_dir))
        rt.arrays = {role: rt.scorer.array(role, frame) for role in models}
        rt.position = {str(a): i for i, a in enumerate(frame["account_id"])}
        rt.reload_stored()
        return rt

    def reload_stored(self) -> int:
        """Load the latest batch scores that still match the served models and the store's dates."""
        from serving.scoring import load_latest

        as_of = {str(a): str(d) for a, d in zip(self.store["account_id"], self.store["as_of"], strict=True)}
        self.stored = load_latest(self.store_dir, self.versions, as_of) if self.store_dir else {}
        return len(self.stored)

    @property
    def versions(self) -> dict[str, str]:
        """Role -> served registry version."""
        return {role: m.version for role, m in self.scorer.models.items()}

    def _driver(self, name: str, value: Any, contrib: float, bad_is_positive: bool) -> s.Driver:
        w = self.scorer.words[name]
        raises = (contrib > 0) == bad_is_positive
        return s.Driver(
            feature=name,
            description=w.description,
            group=w.group,
            feature_set=w.feature_set,
            value=_plain(value),
            contribution=float(contrib),
            direction="raises risk" if raises else "lowers risk",
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
        use_stored = not live and top_k <= min(
            (len(x.churn.drivers) for x in self.stored.values()), default=0
        )
        todo = [a for a in known if not (use_stored and a in self.stored)]
        frame = self.store.loc[todo].reset_index(drop=True)
        rows = [self.position[a] for a in todo]
        live_answers = dict(zip(todo, self.answers(frame, "store", top_k, False, rows), strict=True))
        results = [live_answers[a] if a in live_answers else _cut(self.stored[a], top_k) for a in known]
        return s.ScoreResponse(results=results, errors=errors, model_versions=self.versions)

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
        """Score caller-supplied features; unknown feature names are a client error naming them."""
        allowed = set(self.scorer.features)
        for i, row in enumerate(rows):
            bad = sorted(set(row.features) - allowed)
            if bad:
                raise BadRequestError(
                    f"rows[{i}].features: unknown feature name(s) {', '.join(repr(b) for b in bad[:10])}"
                )
            for name, value in row.features.items():
                if name in self.scorer.categorical and not isinstance(value, str | type(None)):
                    raise BadRequestError(f"rows[{i}].features.{name}: expected category text")
                if name not in self.scorer.categorical and isinstance(value, str):
                    raise BadRequestError(f"rows[{i}].features.{name}: expected a number")
        records = [{"account_id": r.account_id, "as_of": None, **r.features} for r in rows]
        frame = pd.DataFrame.from_records(records).reindex(
            columns=["account_id", "as_of", *self.scorer.features]
        )
        results = self.answers(frame, "supplied", top_k, flag=True)
        return s.ScoreResponse(results=results, errors=[], model_versions=self.versions)

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

    def at_risk(self, segment: str | None, region: str | None, csm: str | None, min_band: str, offset: int,
                limit: int) -> s.AtRiskPage:  # fmt: skip
        """Ranked at-risk accounts, filtered, one page (the CSM filter is input only, never shown)."""
        frame = self.store
        if segment:
            frame = frame[frame["segment"] == segment]
        if region:
            frame = frame[frame["region"] == region]
        if csm:
            frame = frame[frame["account_id"].map(self.csm).eq(csm)]
        frame = frame.reset_index(drop=True)
        if frame.empty:
            return s.AtRiskPage(total=0, offset=offset, limit=limit, items=[])
        res = self.scorer.score(frame)
        band = combined_band(res)
        rank_order = {"low": 0, "medium": 1, "high": 2}
        keep = np.array([rank_order[b] >= rank_order[min_band] for b in band])
        key = risk_rank_key(res)
        idx = [i for i in np.argsort(-key, kind="stable") if keep[i]]
        page = idx[offset : offset + limit]
        items = [self._at_risk_item(offset + n + 1, frame.iloc[i], res, band, i) for n, i in enumerate(page)]
        return s.AtRiskPage(total=len(idx), offset=offset, limit=limit, items=items)

    def _at_risk_item(self, rank: int, row: pd.Series, res: dict[str, ModelResult], band: np.ndarray,
                      i: int) -> s.AtRiskItem:  # fmt: skip
        churn = res["churn"]
        j = int(np.argmax(churn.contributions[i]))
        feat = self.scorer.models["churn"].spec["features"][j]
        return s.AtRiskItem(
            rank=rank,
            account_id=str(row["account_id"]),
            segment=_text(row.get("segment")),
            region=_text(row.get("region")),
            risk_band=_band(str(band[i])),
            satisfaction_probability=float(res["satisfaction"].probability[i]),
            churn_probability=float(churn.probability[i]),
            top_driver=self.scorer.words[feat].description if churn.contributions[i, j] > 0 else None,
        )

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


def _cut(answer: s.AccountScore, k: int) -> s.AccountScore:
    sat = answer.satisfaction.model_copy(update={"drivers": answer.satisfaction.drivers[:k]})
    churn = answer.churn.model_copy(update={"drivers": answer.churn.drivers[:k]})
    return answer.model_copy(update={"satisfaction": sat, "churn": churn})


def _card(m: ServedModel) -> s.ModelCard:
    ms = m.info.get("trained_at_ms")
    trained = datetime.fromtimestamp(int(ms) / 1000, UTC).isoformat() if ms else None
    metrics = {
        k: {kk: float(vv) for kk, vv in v.items() if isinstance(vv, int | float) and math.isfinite(vv)}
        for k, v in m.spec.get("metrics", {}).items()
    }
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
    )


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


def _csm_map(data_dir: Path | None) -> dict[str, str]:
    """Account -> CSM id from the raw accounts table, used only to filter (never returned or logged)."""
    if data_dir is None:
        return {}
    for path in (Path(data_dir) / "accounts.parquet", Path(data_dir) / "accounts.csv"):
        if path.is_file():
            frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
            if "csm_id" in frame.columns:
                frame = frame.dropna(subset=["csm_id"])
                return dict(zip(frame["account_id"].astype(str), frame["csm_id"].astype(str), strict=True))
    return {}


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
