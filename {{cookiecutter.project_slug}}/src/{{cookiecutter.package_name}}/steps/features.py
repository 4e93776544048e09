"""Step 2, features: compute the feature tables and upsert them with Delta MERGE.

Feature rows are keyed by (origin, feature_ts); a rerun updates rows in place
and adds no duplicates.
"""

from __future__ import annotations

from ..checks import check_inputs
from ..features.definitions import FEATURE_KEYS, airport_hourly_features, weather_hourly_features
from ..runtime.context import Context


def run(ctx: Context) -> dict:
    """Read the bronze tables, compute both feature tables, MERGE them. Returns row counts."""
    check_inputs(ctx, "features")
    settings, tables = ctx.settings, ctx.tables
    flights = tables.read(settings.table("flights_bronze"), "the ingest step")
    weather = tables.read(settings.table("weather_bronze"), "the ingest step")
    windows = list(settings.features["delay_windows_hours"])
    out = {}
    for key, frame in (
        ("airport_features", airport_hourly_features(flights, windows)),
        ("weather_features", weather_hourly_features(weather)),
    ):
        name = settings.table(key)
        tables.upsert(frame, name, FEATURE_KEYS)
        out[name] = tables.count(name)
    return {"rows": out}
