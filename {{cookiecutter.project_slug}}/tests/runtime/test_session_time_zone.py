"""The Spark session time zone is UTC on every session the shared runtime gives
(runtime/spark.py ``get_spark``), whatever the zone of the machine, the Python process or
the JVM: locally (a real Spark started in New York) and on Databricks (its session set to
UTC as it is handed out)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from pyspark.errors import PySparkRuntimeError

from {{ cookiecutter.package_name }}.runtime import spark as spark_module
from {{ cookiecutter.package_name }}.runtime.spark import get_spark

TIME_ZONE = "spark.sql.session.timeZone"
NEW_YORK = "America/New_York"
MIDNIGHT_UTC = 1704067200  # 2024-01-01 00:00:00 UTC, in seconds since the epoch

# Run in a process of its own, with TZ (argv[2]) set: starts local Spark through get_spark
# on the local environment's settings (settings_file.load_raw), state under argv[1], with
# the driver JVM in the zone argv[2] too (a zone the user's Java options set is kept, so
# the JVM's default zone is not UTC either). Prints one JSON line: the Python process's
# hour at the epoch, the JVM's zone, and what the session shows (:data:`PROBE`) as
# get_spark gave it, after its zone was set to argv[2], and from get_spark again.
IN_NEW_YORK = """
import json, sys, time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from {{ cookiecutter.package_name }}.runtime.spark import get_spark
from {{ cookiecutter.package_name }}.settings_file import load_raw

root, zone = Path(sys.argv[1]), sys.argv[2]
_, raw = load_raw("local")
own = {"spark.driver.extraJavaOptions": "-Duser.timezone=" + zone}
settings = SimpleNamespace(
    runtime="local",
    local_root=root,
    raw=raw,
    model_short_name="time-zone",
    spark_conf={**{str(k): str(v) for k, v in (raw.get("spark_conf") or {}).items()}, **own},
)


def probe(spark):
    row = spark.sql(
        "SELECT current_timezone() AS zone, "
        "CAST(TIMESTAMP '2024-01-01 00:00:00+00:00' AS STRING) AS rendered, "
        "unix_timestamp(TIMESTAMP '2024-01-01 00:00:00') AS parsed"
    ).first()
    naive = pd.DataFrame({"t": [pd.Timestamp("2024-01-01 00:00:00")]})
    written = spark.createDataFrame(naive).selectExpr("unix_timestamp(t) AS s").first().s
    return {**row.asDict(), "from_pandas": written}


spark = get_spark(settings)
observed = {
    "python_hour_at_epoch": time.localtime(0).tm_hour,
    "jvm_zone": spark._jvm.java.util.TimeZone.getDefault().getID(),
    "started": probe(spark),
}
spark.conf.set("spark.sql.session.timeZone", zone)
observed["set_aside"] = probe(spark)
observed["again"] = probe(get_spark(settings))
print(json.dumps(observed), flush=True)
"""

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


@pytest.mark.spark
def test_a_local_session_started_in_new_york_shows_and_reads_times_in_utc(tmp_path):
    env = {**os.environ, "TZ": NEW_YORK, "MLOPS_SPARK_CLASS_ARCHIVE": "off"}
    env.pop("MLOPS_SPARK_REMOTE", None)  # classic Spark: the JVM's zone is read through py4j
    result = subprocess.run(
        [sys.executable, "-c", IN_NEW_YORK, str(tmp_path), NEW_YORK],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    observed = json.loads(result.stdout.strip().splitlines()[-1])
    # Neither Python nor the JVM runs in UTC there: only the session's own zone makes it.
    assert observed["python_hour_at_epoch"] == 19
    assert observed["jvm_zone"] == NEW_YORK
    assert observed["started"] == UTC_SESSION
    # The probe tells the zones apart, and get_spark sets a running session back to UTC.
    assert observed["set_aside"] == NEW_YORK_SESSION
    assert observed["again"] == UTC_SESSION


class _FakeConf:
    def __init__(self):
        self.values = {TIME_ZONE: "Europe/Amsterdam"}

    def set(self, key, value):
        self.values[key] = value


class _FakeSession:
    """Stands in for the Databricks session (no workspace is reachable from the tests)."""

    def __init__(self):
        self.conf = _FakeConf()


def test_on_databricks_the_new_session_is_set_to_utc(monkeypatch):
    session = _FakeSession()

    class FakeBuilder:
        def getOrCreate(self):
            return session

    class FakeSparkSession:
        builder = FakeBuilder()

        @staticmethod
        def active():  # no session in this process yet, as in a fresh one
            raise PySparkRuntimeError(
                errorClass="NO_ACTIVE_OR_DEFAULT_SESSION", messageParameters={}
            )

    monkeypatch.setattr(spark_module, "SparkSession", FakeSparkSession)
    assert get_spark(SimpleNamespace(runtime="databricks")) is session
    assert session.conf.values[TIME_ZONE] == "UTC"
