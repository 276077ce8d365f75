"""The one typed settings object, read from an optional ``csat.toml`` and ``CSAT_*`` environment variables.

Precedence, highest first: explicit overrides passed to :func:`load_settings`, ``CSAT_*`` environment
variables, the TOML file, then the defaults below. Unknown keys in the TOML file are an error.
Secrets (such as the serving API token) are read from the environment only.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = Path("csat.toml")
#: Master URLs Spark's SparkSubmit and SparkContext accept (``local-cluster`` is Spark's own test mode).
_SPARK_MASTER = re.compile(
    r"local|local\[(\*|[1-9]\d*)\]|local\[(\*|[1-9]\d*)\s*,\s*\d+\]"
    r"|local-cluster\[\s*[1-9]\d*\s*,\s*[1-9]\d*\s*,\s*[1-9]\d*\s*\]"
    r"|yarn|k8s://\S+|mesos://\S+"
)
_SPARK_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")
SPARK_MASTER_FORMS = "local, local[N], local[*], local[N,F], spark://host:port, yarn or k8s://host:port"


def spark_master_error(master: str) -> str | None:
    """Say what is wrong with a Spark master URL's form, or return None when Spark would accept it.

    Spark takes ``local``, ``local[N]``, ``local[*]``, ``local[N,F]`` (F failures allowed),
    ``local-cluster[..]``, ``spark://host:port`` (several ``host:port`` separated by commas for standby
    masters), ``yarn`` and ``k8s://...``; ``mesos://...`` only before Spark 4. No host is contacted here.

    Args:
        master: the URL as given (option ``--spark-master`` or setting ``spark_master``).

    Returns:
        A one-line reason, or None.

    """
    if master.startswith("spark://"):
        masters = master.removeprefix("spark://").split(",")
        bad = [m for m in masters if not (hit := _SPARK_HOST_PORT.fullmatch(m)) or int(hit[2]) > 65535]
        if not bad:
            return None
        return f"{master!r} is not a Spark master URL: spark:// takes host:port (e.g. spark://head:7077)"
    if _SPARK_MASTER.fullmatch(master):
        return None
    return f"{master!r} is not a Spark master URL; Spark accepts {SPARK_MASTER_FORMS}"


def spark_conf_value(key: str, value: object) -> str:
    """Spark's string form of one ``spark_conf`` entry: numbers and booleans as Spark writes them.

    Args:
        key: the setting's name; it must start with ``spark.``.
        value: a string, a whole or decimal number, or a boolean (``true`` / ``false``).

    Returns:
        The value as a string (``4`` -> ``"4"``, ``true`` -> ``"true"``, ``0.6`` -> ``"0.6"``).

    Raises:
        ValueError: the key does not start with ``spark.``, or the value is not a string, number or boolean.

    """
    if not key.startswith("spark."):
        raise ValueError(f"key {key!r} must start with 'spark.' (e.g. spark.executor.memory)")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str) or (isinstance(value, float) and math.isfinite(value)):
        return str(value)
    raise ValueError(f"{key}: {value!r} is not a string, a number or a boolean")


class Settings(BaseSettings):
    """Every setting the project reads, in one place; passed down explicitly, never global."""

    model_config = SettingsConfigDict(
        env_prefix="CSAT_",
        extra="forbid",
        validate_default=True,
        toml_file=None,
    )

    data_dir: Path = Field(Path("data/raw"), description="Folder holding the raw contract tables.")
    store_dir: Path = Field(Path("store"), description="Folder of the offline and online feature stores.")
    mlflow_tracking_uri: str = Field(
        "sqlite:///mlruns/mlflow.db",
        description="MLflow tracking URI; the default is a SQLite database inside mlruns/.",
    )
    mlflow_artifact_root: Path = Field(
        Path("mlruns/artifacts"), description="Where MLflow stores run artifacts (beside the database)."
    )
    seed: int = Field(42, ge=0, description="Random seed used by the simulator and by training (0 or more).")
    rejects_threshold: float = Field(
        0.01, ge=0.0, le=1.0, description="Largest share of rejected rows per table before a load stops."
    )
    exclude_account_columns: list[str] = Field(
        default_factory=list,
        description="Extra (custom) accounts columns that must not become baseline features.",
    )
    churn_horizon_days: int = Field(180, gt=0, description="Churn label horizon after each snapshot.")
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb", description="Feature engine: embedded DuckDB, or Apache Spark (the spark extra)."
    )
    duckdb_memory_limit: str | None = Field(
        None,
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory DuckDB may use for the feature build before it spills to disk, e.g. 4GB"
        " (default: a third of the machine's memory, at most 4GB).",
    )
    duckdb_compiled_passes: bool = Field(
        True,
        description="DuckDB engine: compute the collaboration windows by compiled passes (numba) instead of"
        " their SQL, with the same values; false runs the SQL.",
    )
    spark_master: str | None = Field(
        None, description="Spark master URL for the spark engine (default local[2]: two local cores)."
    )
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description="Extra Spark settings for the spark engine (spark.* keys; numbers and booleans allowed).",
    )
    spark_staging_dir: str | None = Field(
        None,
        description="Folder or URI (hdfs://, s3://) every Spark executor reads the staged input tables from.",
    )
    api_token: SecretStr | None = Field(
        None, description="Bearer token for the service; only from the CSAT_API_TOKEN environment variable."
    )

    @field_validator("spark_master", mode="before")
    @classmethod
    def _spark_master_blank(cls, value: Any) -> Any:
        """An empty value (``CSAT_SPARK_MASTER=`` passed through a template) means the default."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("spark_master")
    @classmethod
    def _spark_master_form(cls, value: str | None) -> str | None:
        problem = None if value is None else spark_master_error(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("spark_conf", mode="before")
    @classmethod
    def _spark_conf_strings(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value  # not a table: pydantic says so
        return {str(key): spark_conf_value(str(key), item) for key, item in value.items()}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order the sources: overrides, environment, then the TOML file chosen at load time."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


#: ``CSAT_*`` variables read by the project's own tooling (benchmarks, screenshots), not settings.
TOOLING_VARIABLES = frozenset(
    {
        "CSAT_BENCH_RESULTS",
        "CSAT_BENCH_DATA",
        "CSAT_BENCH_SPARK_ACCOUNTS",
        "CSAT_BENCH_SPARK_MONTHS",
        "CSAT_SCREENSHOTS",
        "CSAT_CHROMIUM",
    }
)


#: What Kubernetes sets in every pod for a Service named ``csat`` (``CSAT_SERVICE_HOST``, ``CSAT_PORT``...).
_KUBERNETES_SERVICE = re.compile(r"CSAT_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)(_\w+)?)?)")


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """Say which ``CSAT_*`` environment variables are no setting (a misspelt one is otherwise ignored).

    Args:
        environ: the environment (``os.environ``).

    Returns:
        One line per unknown variable, with the closest setting's variable when one is near.

    """
    known = {f"CSAT_{name.upper()}" for name in Settings.model_fields} | TOOLING_VARIABLES
    lines = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("CSAT_") or upper in known or _KUBERNETES_SERVICE.fullmatch(upper):
            continue
        near = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.8)
        hint = f" (did you mean {near[0]}?)" if near else ""
        lines.append(f"{name} is not a setting and is ignored{hint}")
    return lines


class SettingsError(ValueError):
    """Raised when the configuration file cannot be read or holds a secret it must not hold."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings object.

    Args:
        config_file: TOML file to read; ``None`` reads ``csat.toml`` in the working folder when it exists.
        **overrides: values that win over every other source (used by the CLI options and tests).

    Returns:
        The validated settings.

    Raises:
        SettingsError: the named file does not exist or is not TOML, it sets ``api_token`` (a secret:
            environment only), or a setting is unknown or invalid (each named, with where it came from).

    """
    path = config_file if config_file is not None else DEFAULT_CONFIG_FILE
    if config_file is not None and not path.is_file():
        raise SettingsError(f"configuration file not found: {path}")
    if path.is_file():
        _check_file(path)

    class _FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path if path.is_file() else None)

    try:
        return _FileSettings(**overrides)
    except ValidationError as err:
        raise SettingsError(_settings_problems(err, path if path.is_file() else None)) from err


def _check_file(path: Path) -> None:
    """Refuse a settings file that is not TOML or that sets the secret (its keys are read in any case)."""
    try:
        keys = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SettingsError(f"{path}: not a valid TOML file: {err}") from err
    if any(key.lower() == "api_token" for key in keys):
        raise SettingsError(f"{path}: api_token is a secret; set CSAT_API_TOKEN in the environment instead")


def _near_setting(key: str) -> str:
    """`` (did you mean data_dir?)`` for a misspelt key of the settings file, or nothing when none is near.

    ``api_token`` is never suggested: the file may not hold it (it comes from ``CSAT_API_TOKEN`` alone).
    """
    names = sorted(name for name in Settings.model_fields if name != "api_token")
    near = difflib.get_close_matches(key.lower(), names, n=1, cutoff=0.75)
    return f" (did you mean {near[0]}?)" if near else ""


def _settings_problems(err: ValidationError, path: Path | None) -> str:
    """One line per problem, naming the setting and where it may come from (file or environment)."""
    lines = []
    for e in err.errors():
        key = ".".join(str(part) for part in e["loc"])
        if e["type"] == "extra_forbidden":
            lines.append(f"{path or 'settings'}: unknown setting {key!r}{_near_setting(key)}")
        else:
            top = str(e["loc"][0]).upper() if e["loc"] else ""
            where = f"{path} or CSAT_{top}" if path else f"CSAT_{top}"
            lines.append(f"{key} ({where}): {e['msg']}")
    return "; ".join(lines)
