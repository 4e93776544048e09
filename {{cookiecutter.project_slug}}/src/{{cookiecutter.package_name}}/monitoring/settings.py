"""The ``monitoring`` section of the config and the metrics table name, checked.

Checked when the settings load (:func:`..settings_types.check_parts` runs :func:`check`),
so a bad threshold stops every step before it writes, not only monitor.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

from ..config import ConfigError, Settings
from ..parts import merged
from ..settings_types import SETTINGS_CONFIG, unknown_key


class MonitoringSection(BaseModel):
    """The types of the ``monitoring`` section, checked when the settings load
    (:func:`..settings_types.owned_sections`); the ranges are checked below."""

    model_config = SETTINGS_CONFIG

    psi_threshold: float
    ks_statistic_threshold: float
    max_mae_increase: float
    max_null_fraction_increase: float
    min_rows_per_day: dict[str, float] = Field(default_factory=dict)
    min_rows: int


SECTION_MODEL = MonitoringSection


@dataclass(frozen=True)
class MonitoringSettings:
    """Thresholds of the monitor step (see ``monitoring`` in conf/config.yml).

    psi_threshold, ks_statistic_threshold: a column drifts above either (PSI >= 0,
    KS statistic 0..1). max_mae_increase: fraction above the version's validation
    MAE. max_null_fraction_increase: share (0..1) above the profile's null share.
    min_rows_per_day: source -> fewest rows per day of the window. min_rows: fewest
    non-null values for drift figures. table: full name of the metrics table.
    """

    psi_threshold: float
    ks_statistic_threshold: float
    max_mae_increase: float
    max_null_fraction_increase: float
    min_rows_per_day: dict[str, float]
    min_rows: int
    table: str


# The source name of the batch predictions table (the ``source`` column of the metrics
# table); the other sources are the parts' ``PREDICTION_SOURCES`` (see :mod:`..parts`).
BATCH_SOURCE = "batch"


def _number(
    section: dict, key: str, low: float, high: float | None = None, path: str = "monitoring"
) -> float:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{path}.{key}: must be a number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise ConfigError(f"{path}.{key}: must be {bound}, got {value!r}")
    return float(value)


def _rows_per_day(per_day: dict) -> dict[str, float]:
    """``monitoring.min_rows_per_day`` checked: each key a prediction source of this project
    (a misspelled one would leave its source without the rule), each value a number >= 0."""
    known = [BATCH_SOURCE, *merged("PREDICTION_SOURCES")]
    path = "monitoring.min_rows_per_day"
    for source in per_day:
        if source not in known:
            reason = f"not a prediction source of this project: {', '.join(known)}"
            raise ConfigError(f"{path}.{source}: {unknown_key(str(source), known, reason)}")
    return {str(source): _number(per_day, source, 0.0, path=path) for source in per_day}


def monitoring_settings(settings: Settings) -> MonitoringSettings:
    """The checked ``monitoring`` section of ``settings`` (from ``settings.raw``).

    Raises ConfigError naming the first key that is missing or out of range, or
    ``tables.monitoring_metrics`` when the metrics table is not configured.
    """
    section = settings.raw.get("monitoring")
    if not isinstance(section, dict):
        raise ConfigError("monitoring: required section is missing")
    per_day = section.get("min_rows_per_day") or {}
    if not isinstance(per_day, dict):
        raise ConfigError(
            f"monitoring.min_rows_per_day: must map sources to numbers, got {per_day!r}"
        )
    return MonitoringSettings(
        psi_threshold=_number(section, "psi_threshold", 0.0),
        ks_statistic_threshold=_number(section, "ks_statistic_threshold", 0.0, 1.0),
        max_mae_increase=_number(section, "max_mae_increase", 0.0),
        max_null_fraction_increase=_number(section, "max_null_fraction_increase", 0.0, 1.0),
        min_rows_per_day=_rows_per_day(per_day),
        min_rows=int(_number(section, "min_rows", 1.0)),
        table=settings.table("monitoring_metrics"),
    )


def check(settings: Settings) -> None:
    """The rules of the ``monitoring`` section of ``settings``, which monitor needs
    (:func:`monitoring_settings`; the section missing included). Raises ConfigError
    naming the key."""
    monitoring_settings(settings)
