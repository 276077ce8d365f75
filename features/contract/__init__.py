"""The raw data contract: table specs, loading from CSV/Parquet, validation, rejects.

Public entry point: :func:`load_contract`. The CLI command behind ``csat validate`` is
:func:`features.contract.cli.validate_command`.
"""

from features.contract.loader import LoadResult, load_contract
from features.contract.report import ContractError, Problem, TableReport, ValidationReport
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
