"""The data contract: what the use case is, declared once, read by every generic step.

The contract is the ``contract`` section of conf/config.yml plus one example module,
:mod:`.features.definitions`, which turns source rows into bronze rows, computes the
feature tables and builds the spine (one row per event to predict). Everything else
(tables, point-in-time lookup, training set, training, validation, batch, streaming
and online inference, what reads predictions back, data checks, the report) reads the
contract and names no example column.

The section declares (see :class:`Contract`):

- ``problem_type``: ``regression`` or ``binary_classification``;
- ``entity_keys``: the columns that identify one event to predict (unique per row of
  the entity table, the training set and the predictions);
- ``event_timestamp``: the UTC timestamp the prediction is about; windows select on it;
- ``lookup_timestamp``: the spine column at which feature tables are looked up (the
  time of prediction; no feature row stamped later is joined);
- ``label`` and ``label_meaning``; for classification ``decision_threshold`` (the
  positive-class probability at or above which the positive class is predicted);
- ``features``: model input column -> ``categorical`` (string) or ``numeric`` (double);
- ``entity_table``: the bronze table with one row per event (the spine's source);
- ``bronze_tables``: per table key, its ``keys``, ``timestamp`` (UTC, for the as-of
  cut and ``source.start``/``end``) and the source ``columns`` it needs with their
  kinds (``string``, ``numeric``, ``timestamp``), checked at ingest;
- ``feature_tables``: per table key, ``primary_keys``, ``timestamp_key`` (the time from
  which a row's values are known), ``features`` (its value columns) and a description;
- ``parameters``: settings of the example module, checked at load against its
  ``Parameters`` model (:func:`.settings_schema.check_example_parameters`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from .settings_types import SETTINGS_CONFIG

REGRESSION = "regression"
BINARY = "binary_classification"
PROBLEM_TYPES = (REGRESSION, BINARY)
COLUMN_KINDS = ("string", "numeric", "timestamp")


class _Strict(BaseModel):
    model_config = SETTINGS_CONFIG


def _distinct(columns: list[str]) -> list[str]:
    """``columns`` unchanged; ValueError naming the columns listed more than once."""
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ValueError(f"lists {', '.join(repeated)} more than once")
    return columns


# A column name of the contract: not empty. A list of them: at least one, none twice.
Column = Annotated[str, StringConstraints(min_length=1)]
Columns = Annotated[list[Column], Field(min_length=1), AfterValidator(_distinct)]


class BronzeTable(_Strict):
    """One bronze table of the contract: keys, UTC timestamp, source columns with kinds."""

    keys: Columns
    timestamp: Column
    columns: dict[Column, Literal["string", "numeric", "timestamp"]] = Field(min_length=1)


class FeatureTable(_Strict):
    """One feature table: entity keys, timestamp key and its value (feature) columns."""

    primary_keys: Columns
    timestamp_key: Column
    features: Columns
    description: str = ""

    @property
    def key_columns(self) -> list[str]:
        """The primary keys then the timestamp key: what identifies one row of the table."""
        return [*self.primary_keys, self.timestamp_key]


class Contract(_Strict):
    """The ``contract`` section, checked (see the module doc for each key)."""

    problem_type: Literal["regression", "binary_classification"]
    entity_keys: Columns
    event_timestamp: Column
    lookup_timestamp: Column
    label: Column
    label_meaning: str
    decision_threshold: float | None = None
    features: dict[Column, Literal["categorical", "numeric"]] = Field(min_length=1)
    entity_table: Column
    bronze_tables: dict[str, BronzeTable] = Field(min_length=1)
    feature_tables: dict[str, FeatureTable] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        t = self.decision_threshold
        if self.problem_type == BINARY and (t is None or not 0 < t < 1):
            raise ValueError(
                f"decision_threshold: binary_classification needs a number in (0, 1), got {t!r}"
            )
        if self.problem_type == REGRESSION and t is not None:
            raise ValueError(f"decision_threshold: regression takes none (null), got {t!r}")
        if self.label in self.features:
            raise ValueError(
                f"label: {self.label!r} is also a model input under features (the model would "
                "be given the answer)"
            )
        if self.label in (*self.entity_keys, self.event_timestamp, self.lookup_timestamp):
            raise ValueError(
                f"label: {self.label!r} is also an entity key or timestamp: the label needs a "
                "column of its own"
            )
        shared = [c for c in self.features if c in (*self.entity_keys, self.event_timestamp)]
        if shared:
            raise ValueError(
                f"features: {shared[0]!r} is also an entity key or the event timestamp, which "
                "the predictions hold once: give the model input a column of its own (a copy "
                "made in features/definitions.py's spine)"
            )
        if self.entity_table not in self.bronze_tables:
            raise ValueError(
                f"entity_table: {self.entity_table!r} is not one of bronze_tables "
                f"({', '.join(self.bronze_tables)})"
            )
        from_tables = [c for t in self.feature_tables.values() for c in t.features]
        unknown = [c for c in from_tables if c not in self.features]
        if unknown:
            raise ValueError(f"feature_tables: columns {unknown} are not listed under features")
        return self

    @property
    def is_classification(self) -> bool:
        """True for ``binary_classification``."""
        return self.problem_type == BINARY

    @property
    def categorical(self) -> list[str]:
        """Categorical model inputs (strings), in contract order."""
        return [c for c, kind in self.features.items() if kind == "categorical"]

    @property
    def numeric(self) -> list[str]:
        """Numeric model inputs (double), in contract order."""
        return [c for c, kind in self.features.items() if kind == "numeric"]

    @property
    def feature_columns(self) -> list[str]:
        """Every model input column, categorical first (the model's input order)."""
        return [*self.categorical, *self.numeric]

    @property
    def entity_keys_and_time(self) -> list[str]:
        """The entity keys then the event timestamp: how a prediction row is identified."""
        return [*self.entity_keys, self.event_timestamp]

    def bronze(self, table_key: str) -> BronzeTable:
        """The declaration of bronze table ``table_key``; KeyError naming it when unknown."""
        if table_key not in self.bronze_tables:
            raise KeyError(f"contract.bronze_tables: no table {table_key!r}")
        return self.bronze_tables[table_key]
