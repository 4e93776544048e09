"""On Databricks, the session the shared runtime hands out (runtime/spark.py ``get_spark``)
is set to UTC. (Locally: tests/time_zone_checks.py, which each use case's tests call on their
own session.)"""

from __future__ import annotations

from types import SimpleNamespace

from pyspark.errors import PySparkRuntimeError

from {{ cookiecutter.package_name }}.runtime import spark as spark_module
from {{ cookiecutter.package_name }}.runtime.spark import get_spark

from ..time_zone_checks import TIME_ZONE


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
