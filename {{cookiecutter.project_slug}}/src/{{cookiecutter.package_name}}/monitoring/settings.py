"""The ``monitoring`` section of the config and the metrics table name, checked."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from ..config import ConfigError, Settings


class MonitoringSection(BaseModel):
    """The types of the ``monitoring`` section, checked when the settings load
    (:func:`..settings_types.owned_sections`); the ranges are checked below."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

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


def _number(section: dict, key: str, low: float, high: float | None = None) -> float:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"monitoring.{key}: must be a number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise ConfigError(f"monitoring.{key}: must be {bound}, got {value!r}")
    return float(value)


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
        min_rows_per_day={str(source): _number(per_day, source, 0.0) for source in per_day},
        min_rows=int(_number(section, "min_rows", 1.0)),
        table=settings.table("monitoring_metrics"),
    )
