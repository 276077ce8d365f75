"""The raw data contract: table specs, loading from CSV/Parquet, validation, rejects.

Public entry point: :func:`load_contract`. The CLI command behind ``csat validate`` is
:func:`features.contract.cli.validate_command`.

The loader and the table specs (pandas, pandera, pyarrow) are imported on first use of one of their names,
so that ``csat`` and its help start without them; the report and its :class:`ContractError` are light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from features.contract.report import ContractError, Problem, TableReport, ValidationReport
from features.lazy import lazy_exports

if TYPE_CHECKING:
    from features.contract.loader import LoadResult, load_contract
    from features.contract.schemas import (
        LABEL_TABLES,
        REQUIRED_TABLES,
        TABLE_SPECS,
        TABLES,
        ColumnSpec,
        Kind,
        TableSpec,
        output_dtype,
    )

#: The names imported on first use, by the submodule that defines them.
_LAZY = {
    **dict.fromkeys(("LoadResult", "load_contract"), "loader"),
    **dict.fromkeys(
        ("LABEL_TABLES", "REQUIRED_TABLES", "TABLE_SPECS", "TABLES", "ColumnSpec", "Kind", "TableSpec"),
        "schemas",
    ),
    "output_dtype": "schemas",
}

__all__ = [
    "LABEL_TABLES",
    "REQUIRED_TABLES",
    "TABLES",
    "TABLE_SPECS",
    "ColumnSpec",
    "ContractError",
    "Kind",
    "LoadResult",
    "Problem",
    "TableReport",
    "TableSpec",
    "ValidationReport",
    "load_contract",
    "output_dtype",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY, __all__)
