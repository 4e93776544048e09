"""The check of the Spark session time zone that both use cases' tests call: every session
the shared runtime hands out (runtime/spark.py ``get_spark``) shows and reads times in UTC,
whatever the zone of the Python process and of the session before (docs/deployment.md).

It runs on the tests' own session, in this process (a second Spark started in a zone of
its own would cost a JVM start): Python's local zone and the session's are changed, the
JVM's default zone is not."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from {{ cookiecutter.package_name }}.runtime.spark import get_spark

TIME_ZONE = "spark.sql.session.timeZone"
NEW_YORK = "America/New_York"
MIDNIGHT_UTC = 1704067200  # 2024-01-01 00:00:00 UTC, in seconds since the epoch

# What a UTC session shows: current_timezone(); a UTC instant cast to text; the epoch
# seconds of a timestamp literal without an offset; those of a naive pandas timestamp
# written into a frame (a time taken in UTC and stripped of its zone, as pandas hands it).
UTC_SESSION = {
    "zone": "UTC",
    "rendered": "2024-01-01 00:00:00",
    "parsed": MIDNIGHT_UTC,
    "from_pandas": MIDNIGHT_UTC,
}
NEW_YORK_SESSION = {  # the same in a session set to New York (five hours behind in winter)
    "zone": NEW_YORK,
    "rendered": "2023-12-31 19:00:00",
    "parsed": MIDNIGHT_UTC + 5 * 3600,
    "from_pandas": MIDNIGHT_UTC + 5 * 3600,
}


def shown(spark) -> dict:
    """What ``spark`` shows of its zone: the keys of :data:`UTC_SESSION`, read from a query
    and from a pandas frame written into the session."""
    row = spark.sql(
        "SELECT current_timezone() AS zone, "
        "CAST(TIMESTAMP '2024-01-01 00:00:00+00:00' AS STRING) AS rendered, "
        "unix_timestamp(TIMESTAMP '2024-01-01 00:00:00') AS parsed"
    ).first()
    naive = pd.DataFrame({"t": [pd.Timestamp("2024-01-01 00:00:00")]})
    written = spark.createDataFrame(naive).selectExpr("unix_timestamp(t) AS s").first().s
    return {**row.asDict(), "from_pandas": written}


@contextmanager
def in_new_york(spark) -> Iterator[None]:
    """Python's local time (``TZ``) and ``spark``'s session zone both New York while the block
    runs; then ``TZ`` as it was and the session in UTC again."""
    before = os.environ.get("TZ")
    try:
        os.environ["TZ"] = NEW_YORK
        time.tzset()
        spark.conf.set(TIME_ZONE, NEW_YORK)
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()
        spark.conf.set(TIME_ZONE, "UTC")


def check_sessions_get_utc(spark, settings) -> None:
    """Assert that ``get_spark(settings)`` hands out ``spark`` (the running local session)
    set to UTC although Python and the session were in New York: the probe shows New York
    first (so it tells the zones apart), then :data:`UTC_SESSION`."""
    with in_new_york(spark):
        assert time.localtime(0).tm_hour == 19  # Python's local time is not UTC here
        assert shown(spark) == NEW_YORK_SESSION
        assert get_spark(settings) is spark
        assert shown(spark) == UTC_SESSION
