"""The catalog: names, descriptions, sets, sizes; the engine defines every feature, in portable SQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot

from features.catalog import (
    FEATURE_SETS,
    Feature,
    account_extra_features,
    catalog,
    catalog_markdown,
    features_in,
    groups,
)
from features.engine import output_columns
from features.engine.sql import raw_tables, statements

ROOT = Path(__file__).resolve().parents[1]


def test_sizes_and_unique_names():
    feats = catalog()
    names = [f.name for f in feats]
    assert len(names) == len(set(names))
    assert len(feats) >= 100
    assert sum(f.feature_set == "collaboration" for f in feats) >= 40
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names)


def test_every_feature_is_fully_declared():
    for f in catalog():
        assert isinstance(f, Feature)
        assert f.description and "\n" not in f.description and len(f.description) < 120, f.name
        assert f.feature_set in ("baseline", "collaboration")
        assert f.dtype in ("float", "int", "bool", "category")
        assert f.sources and all(isinstance(s, str) for s in f.sources)
        assert f.window_days is None or f.window_days > 0


def test_groups_one_module_each_and_consistent():
    gs = groups()
    assert len({g.name for g in gs}) == len(gs)
    for g in gs:
        mod = ROOT / "features" / "groups" / f"{g.name}.py"
        assert mod.is_file(), mod
        assert all(f.group == g.name and f.feature_set == g.feature_set for f in g.features)
        assert all(set(f.sources) <= set(g.requires) for f in g.features)


def test_feature_sets():
    assert FEATURE_SETS == {"baseline": ("baseline",), "enriched": ("baseline", "collaboration")}
    base = features_in(["baseline"])
    enriched = features_in(["enriched"])
    assert {f.feature_set for f in base} == {"baseline"}
    assert len(enriched) == len(catalog())
    assert (
        features_in(["collaboration"], available=["email_hours_28d", "tenure_days"])[0].name
        == "email_hours_28d"
    )
    with pytest.raises(KeyError):
        features_in(["nope"])


def test_account_extras_declared_from_data():
    extras = account_extra_features(
        {"Contract Type": "text", "discount": "number", "plan": "text"}, exclude=["discount"]
    )
    assert [(f.name, f.dtype, f.feature_set) for f in extras] == [
        ("crm_contract_type", "category", "baseline")
    ]


def test_engine_defines_exactly_the_catalog():
    stmts = statements()
    cols = output_columns(stmts)
    produced = [c for names in cols.values() for c in names]
    assert len(produced) == len(set(produced))
    assert set(produced) == {f.name for f in catalog()}
    where = {c: o for o, names in cols.items() for c in names}
    for f in catalog():
        # the engine never needs more tables than the group declares
        assert raw_tables(stmts, where[f.name]) - {"entities"} <= set(
            next(g for g in groups() if g.name == f.group).requires
        )


def test_every_definition_transpiles_to_spark():
    extras = {"Contract Type": "text", "discount": "number"}
    for st in statements(extras):
        for dialect in ("spark", "duckdb"):
            out = sqlglot.transpile(
                st.sql, read="duckdb", write=dialect, unsupported_level=sqlglot.ErrorLevel.RAISE
            )
            assert len(out) == 1 and out[0].strip(), st.name
        spark = sqlglot.transpile(st.sql, read="duckdb", write="spark")[0]
        assert "LIST_" not in spark.upper() and "EPOCH(" not in spark.upper(), st.name


def test_sql_and_engine_calls_only_in_engine():
    pattern = re.compile(r"^\s*(import|from)\s+(duckdb|sqlite3|sqlglot|pyspark)\b", re.M)
    sql = re.compile(r"\b(SELECT\s+.+\s+FROM|CREATE\s+(TEMP|TABLE|VIEW))\b", re.I)
    owned = [
        ROOT / "features" / p for p in ("catalog.py", "store.py", "labels.py", "build.py", "feature_cli.py")
    ]
    owned += sorted((ROOT / "features" / "groups").glob("*.py"))
    for path in owned:
        text = path.read_text(encoding="utf-8")
        assert not pattern.search(text), path
        assert not sql.search(text), path


def test_markdown_lists_every_feature(tmp_path):
    md = catalog_markdown()
    for f in catalog():
        assert f"`{f.name}`" in md


def test_generated_doc_is_current():
    doc = ROOT / "docs" / "feature-catalog.md"
    assert doc.is_file(), "run `csat features list --markdown docs/feature-catalog.md`"
    assert doc.read_text(encoding="utf-8").strip() == catalog_markdown().strip()


def test_markdown_of_an_unknown_set_is_an_error_naming_the_sets() -> None:
    with pytest.raises(
        ValueError, match="unknown feature set 'enriched': expected baseline or collaboration"
    ):
        catalog_markdown("enriched")
