"""Per-environment settings of the tabular project, read from ``conf/config.yml``.

The file is read and merged by :mod:`.settings_file` (shared with the rag use case,
which has its own settings and not this module); ``ConfigError`` and ``load_raw``
are importable from here too.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .parts import concatenated, merged
from .settings_file import (
    DEFAULT_ALIASES,
    LOCAL_ROOT_VAR,
    ConfigError,
    load_raw,
    naming_environment,
    registry_aliases,
    require,
)
from .settings_types import check_parts, distinct_names, unknown_key

if TYPE_CHECKING:
    from .contract import Contract
    from .settings_schema import SourceSpec

RUNTIMES = ("local", "databricks")
VALIDATION_MODES = ("enabled", "dry_run", "disabled")
# Tables every tabular project has, beside the contract's bronze and feature tables and
# the tables model inputs are read from (features/model_inputs.py). These are required
# under `tables`; the optional parts' keys (part_table_keys) are allowed; any other key
# is refused at load.
TABLE_KEYS = (
    "training_set",
    "predictions",
)
WINDOW_KEYS = ("train", "validation", "scoring")
LENGTH_KEYS = ("train_days", "validation_days", "scoring_days")


def part_table_keys() -> tuple[str, ...]:
    """The keys of ``tables`` that the project's optional parts add (see :mod:`.parts`).

    The parts' ``TABLE_KEYS``, then the tables of their ``PREDICTION_SOURCES``, each key
    once, parts in :func:`.parts.declared` order. Raises ValueError when two parts
    declare the same prediction source (:func:`.parts.merge`).
    """
    sources = [table for table, _ in merged("PREDICTION_SOURCES").values()]
    return tuple(dict.fromkeys((*concatenated("TABLE_KEYS"), *sources)))


def as_utc(stamp: datetime) -> datetime:
    """``stamp`` converted to UTC; a naive ``stamp`` is taken as UTC already."""
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def instant_sql(stamp: datetime) -> str:
    """``stamp`` as a Spark SQL timestamp literal with its UTC offset, e.g.
    ``TIMESTAMP '2013-11-01 00:00:00+00:00'``.

    The offset makes the literal an instant: Spark reads it the same whatever the
    session or JVM time zone. A naive ``stamp`` is taken as UTC.
    """
    stamp = as_utc(stamp)
    fraction = f".{stamp.microsecond:06d}" if stamp.microsecond else ""
    return f"TIMESTAMP '{stamp:%Y-%m-%d %H:%M:%S}{fraction}+00:00'"


@dataclass(frozen=True)
class Window:
    """A half-open interval ``[start, end)`` of UTC timestamps."""

    start: datetime
    end: datetime

    def predicate(self, column: str) -> str:
        """SQL predicate: ``column`` (a timestamp) lies in ``[start, end)``.

        The bounds are instants (:func:`instant_sql`), so a filter built from this
        string and a Delta ``replaceWhere`` with it select the same rows in any
        session time zone.
        """
        return f"`{column}` >= {instant_sql(self.start)} AND `{column}` < {instant_sql(self.end)}"

    def label(self) -> str:
        """``YYYY-MM-DD..YYYY-MM-DD`` (UTC dates of start and exclusive end), for tags."""
        return f"{as_utc(self.start):%Y-%m-%d}..{as_utc(self.end):%Y-%m-%d}"

    @classmethod
    def from_label(cls, text: str) -> Window:
        """The window :meth:`label` wrote as ``text``: start and end at midnight UTC of
        its two dates. Raises ValueError when ``text`` is not ``YYYY-MM-DD..YYYY-MM-DD``."""
        try:
            start, end = (date.fromisoformat(part) for part in text.split(".."))
        except ValueError:
            raise ValueError(f"{text!r} is not a window YYYY-MM-DD..YYYY-MM-DD") from None
        return cls(*(datetime(d.year, d.month, d.day, tzinfo=UTC) for d in (start, end)))


def parse_as_of(value: Any, key: str = "--as-of") -> datetime:
    """The as-of instant of a date ``YYYY-MM-DD``: that day's midnight, UTC.

    Accepts a ``datetime.date`` too (YAML reads an unquoted date as one). Raises
    ConfigError naming ``key`` for anything else (a time of day included).
    """
    if isinstance(value, datetime):
        raise ConfigError(f"{key}: {value!r} has a time of day; give a date YYYY-MM-DD")
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value))
        except ValueError as err:
            raise ConfigError(f"{key}: {value!r} is not a date YYYY-MM-DD") from err
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def compute_windows(spec: dict[str, int], as_of: datetime, training_as_of: datetime) -> dict:
    """The train, validation and scoring windows (:class:`Window`) for the given as-of instants.

    ``spec`` holds the lengths in days (``train_days``, ``validation_days``,
    ``scoring_days``) and ``label_maturity_days``. Training and validation end
    ``label_maturity_days`` before ``training_as_of`` (validation last, train right
    before it); scoring covers the ``scoring_days`` before ``as_of``.
    """
    try:
        valid_end = training_as_of - timedelta(days=spec["label_maturity_days"])
        valid_start = valid_end - timedelta(days=spec["validation_days"])
        return {
            "train": Window(valid_start - timedelta(days=spec["train_days"]), valid_start),
            "validation": Window(valid_start, valid_end),
            "scoring": Window(as_of - timedelta(days=spec["scoring_days"]), as_of),
        }
    except OverflowError:
        raise ConfigError(
            "windows: the windows start before the year 1: train_days, validation_days, "
            "scoring_days and label_maturity_days count back from the as-of dates"
        ) from None


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one environment.

    ``tables`` maps table keys (see ``TABLE_KEYS``; each one a step reads or writes) to
    short names; use :meth:`table` for the full ``<catalog>.<schema>.<table>`` name.
    ``champion_alias`` and ``challenger_alias`` are the registry aliases (``registry``
    in the config); they differ and are never ``latest`` or ``v<digits>``.

    ``as_of`` is the instant (UTC midnight) before which ingest, features, batch
    inference and the steps after it read data; ``training_as_of`` the one of train and
    validate. ``windows`` (train, validation, scoring) follow from them and the
    lengths in ``window_spec`` (see :func:`compute_windows` and :meth:`at`).

    ``contract`` is the data contract (:class:`.contract.Contract`): entity keys, event
    timestamp, label, features, bronze and feature tables, problem type. ``sources``
    maps each bronze table key to where its rows come from
    (:class:`.settings_schema.SourceSpec`). ``source`` holds the slice ``start``/``end``.

    ``raw`` is the whole merged mapping as read, for an optional part of the
    project that checks its own section of the config.
    """

    gate_step: ClassVar[str] = "validate"  # the step that sets the challenger (messages)
    env: str
    runtime: str
    catalog: str
    schema: str
    tables: dict[str, str]
    model_short_name: str
    experiment: str
    source: dict[str, Any]
    windows: dict[str, Window]
    features: dict[str, Any]
    training: dict[str, Any]
    validation: dict[str, Any]
    spark_conf: dict[str, str]
    local_root: Path | None
    as_of: datetime | None = None
    training_as_of: datetime | None = None
    window_spec: dict[str, int] | None = None
    champion_alias: str = DEFAULT_ALIASES["champion_alias"]
    challenger_alias: str = DEFAULT_ALIASES["challenger_alias"]
    raw: dict[str, Any] = field(default_factory=dict)
    contract: Contract | None = None
    sources: dict[str, SourceSpec] = field(default_factory=dict)

    def table(self, key: str) -> str:
        """Full name ``<catalog>.<schema>.<table>`` of the table configured under ``key``.

        Raises ConfigError for a key that is not under ``tables``.
        """
        if key not in self.tables:
            raise ConfigError(f"tables.{key}: no such table key (known: {', '.join(self.tables)})")
        return f"{self.catalog}.{self.schema}.{self.tables[key]}"

    def at(self, as_of: datetime) -> Settings:
        """These settings with every step as of ``as_of``, training included; windows recomputed."""
        return replace(
            self,
            as_of=as_of,
            training_as_of=as_of,
            windows=compute_windows(self.window_spec, as_of, as_of),
        )

    def window_tags(self) -> dict[str, str]:
        """Tags that record the as-of dates and windows, e.g. ``window_train``:
        ``2013-01-01..2013-10-01``, ``training_as_of``: ``2013-11-01``."""
        tags = {f"window_{key}": window.label() for key, window in self.windows.items()}
        for key in ("as_of", "training_as_of"):
            stamp = getattr(self, key)
            if stamp is not None:
                tags[key] = f"{stamp:%Y-%m-%d}"
        return tags

    @property
    def model_name(self) -> str:
        """Registered model name, ``<catalog>.<schema>.<model>`` (Unity Catalog style)."""
        return f"{self.catalog}.{self.schema}.{self.model_short_name}"


def _window_settings(section: dict, as_of: datetime | None) -> tuple[dict, datetime, datetime]:
    """(lengths, as-of instant, training as-of instant) from the ``windows`` section.

    ``as_of`` (from ``--as-of``) wins over both pins; otherwise ``windows.as_of``,
    else today (UTC); ``windows.training_as_of``, else the as-of instant.
    """
    known = (*LENGTH_KEYS, "label_maturity_days", "as_of", "training_as_of")
    for key in section:
        if key not in known:
            raise ConfigError(
                f"windows.{key}: unknown setting; windows are lengths before an as-of date "
                f"({', '.join(known)})"
            )
    spec = {}
    for key in (*LENGTH_KEYS, "label_maturity_days"):
        value = section.get(key)
        lowest = 0 if key == "label_maturity_days" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            raise ConfigError(
                f"windows.{key}: must be a whole number of days >= {lowest}, got {value!r}"
            )
        spec[key] = value
    if as_of is not None:
        return spec, as_of, as_of
    pinned = section.get("as_of")
    if pinned in (None, ""):
        today = datetime.now(UTC).date()
        as_of = parse_as_of(today)
    else:
        as_of = parse_as_of(pinned, "windows.as_of")
    pinned = section.get("training_as_of")
    training_as_of = (
        as_of if pinned in (None, "") else parse_as_of(pinned, "windows.training_as_of")
    )
    if training_as_of > as_of:
        raise ConfigError(
            f"windows.training_as_of: {training_as_of:%Y-%m-%d} is after the as-of date "
            f"{as_of:%Y-%m-%d} (training cannot read data the other steps do not have yet)"
        )
    return spec, as_of, training_as_of


def load_settings(
    env: str | None = None,
    override_file: str | Path | None = None,
    as_of: datetime | None = None,
) -> Settings:
    """Settings of one environment, checked. See :func:`load_raw` for the first two arguments.

    ``as_of`` (an instant from :func:`parse_as_of`, e.g. ``--as-of``) sets the as-of
    date of every step, training included; without it the pins ``windows.as_of``
    and ``windows.training_as_of`` apply, else today (UTC).
    The merged mapping is first read into the typed models of :mod:`.settings_schema`
    (a missing, mistyped or unknown key: one ConfigError naming the key path and the
    environment), then the rules between keys are checked: ``tables`` needs a key for
    every table the steps read or write (the contract's bronze and feature tables, the
    model-input tables, ``TABLE_KEYS``) and takes no other key than those and the
    keys of the project's optional parts (:func:`part_table_keys`), e.g.
    ``tables.flight_bronze: unknown key (did you mean flights_bronze?); known table keys:
    ...``. Last, the rules of the sections a later step reads (validate's thresholds, the
    optional parts' sections: :func:`_check_later_steps`), so every step refuses what
    would stop a later one.
    Raises ConfigError naming the environment and the first key that is missing or breaks
    its rule.
    """
    from .settings_schema import check_settings  # tabular projects only

    env, raw = load_raw(env, override_file)
    typed = check_settings(raw, env, ConfigError)
    with naming_environment(env):
        settings = _checked_settings(env, raw, typed, as_of)
        _check_later_steps(settings)
        return settings


def _check_source_slice(section: dict) -> None:
    """``source.start`` and ``source.end``, when set, are dates (:func:`parse_as_of`, as
    ingest reads them) and the slice [start, end) holds at least a day. Raises ConfigError."""
    bounds = {
        key: parse_as_of(section[key], f"source.{key}")
        for key in ("start", "end")
        if section.get(key)
    }
    if len(bounds) == 2 and bounds["end"] <= bounds["start"]:
        raise ConfigError(
            f"source.end: {bounds['end']:%Y-%m-%d} must be after source.start "
            f"{bounds['start']:%Y-%m-%d} (the slice is [start, end): it would read no row)"
        )


def _check_later_steps(settings: Settings) -> None:
    """The rules of the sections only a later step reads: validate's thresholds
    (:meth:`.gates.Thresholds.from_settings`) and the optional parts' sections
    (:func:`.settings_types.check_parts`). Run when the settings load, so that ``run-all``
    or a job refuses a bad value before its first step writes. Raises ConfigError."""
    from .gates import Thresholds

    Thresholds.from_settings(settings.validation, settings.contract.problem_type)
    check_parts(settings)


def _checked_settings(env: str, raw: dict, typed, as_of: datetime | None) -> Settings:
    """:class:`Settings` from the typed and raw mappings, after the rules between keys.

    Raises ConfigError (without the environment, which :func:`load_settings` adds).
    """
    # the project's variant of model inputs (feature store or prepared table)
    from .features.model_inputs import checked_feature_settings, model_input_tables

    runtime = require(raw, "runtime")
    if runtime not in RUNTIMES:
        raise ConfigError(f"runtime: {runtime!r} must be one of {', '.join(RUNTIMES)}")
    tables = dict(require(raw, "tables"))
    contract = typed.contract
    declared = (*contract.bronze_tables, *contract.feature_tables)
    needed = dict.fromkeys((*declared, *model_input_tables(contract), *TABLE_KEYS))
    known = [*needed, *part_table_keys()]
    for key in tables:  # before the missing keys: a misspelled key leaves its name missing
        if key not in known:
            rule = unknown_key(key, known, "no step reads or writes it")
            raise ConfigError(f"tables.{key}: {rule}; known table keys: {', '.join(known)}")
    missing = [key for key in needed if key not in tables]
    if missing:
        raise ConfigError(f"tables: missing keys {', '.join(missing)}")
    try:  # after the keys: a misspelled key may name the table of the key it misspells
        distinct_names(tables)
    except ValueError as err:
        raise ConfigError(f"tables: {err}") from None
    unsourced = [key for key in contract.bronze_tables if key not in typed.sources]
    if unsourced:
        raise ConfigError(f"sources: no source for bronze tables {', '.join(unsourced)}")
    _check_source_slice(raw.get("source") or {})
    spec, as_of, training_as_of = _window_settings(require(raw, "windows"), as_of)
    mode = raw.get("validation", {}).get("mode", "enabled")
    if mode not in VALIDATION_MODES:
        raise ConfigError(f"validation.mode: {mode!r} must be one of {', '.join(VALIDATION_MODES)}")
    features = checked_feature_settings(dict(require(raw, "features")), runtime)
    local_root = None
    if runtime == "local":
        local_root = Path(
            os.environ.get(LOCAL_ROOT_VAR) or raw.get("local_root") or "local_runtime"
        )
        local_root = local_root.resolve()
    model = require(raw, "model")
    return Settings(
        env=env,
        runtime=runtime,
        catalog=str(require(raw, "catalog")),
        schema=str(require(raw, "schema")),
        tables=tables,
        model_short_name=str(require(model, "name")),
        experiment=str(require(model, "experiment")),
        source=dict(raw.get("source") or {}),
        windows=compute_windows(spec, as_of, training_as_of),
        features=features,
        training=dict(raw.get("training") or {}),
        validation={**raw.get("validation", {}), "mode": mode},
        spark_conf={str(k): str(v) for k, v in (raw.get("spark_conf") or {}).items()},
        local_root=local_root,
        as_of=as_of,
        training_as_of=training_as_of,
        window_spec=spec,
        **registry_aliases(raw),
        raw=copy.deepcopy(raw),
        contract=contract,
        sources=dict(typed.sources),
    )
