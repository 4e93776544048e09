"""Which session a local run gets: classic Spark, or Spark Connect at an address."""

from __future__ import annotations

from dataclasses import replace

from {{ cookiecutter.package_name }}.config import load_settings
from {{ cookiecutter.package_name }}.runtime import spark as runtime_spark
from {{ cookiecutter.package_name }}.runtime.spark import REMOTE_VAR, spark_remote


def test_classic_spark_unless_an_address_is_set(monkeypatch):
    monkeypatch.delenv(REMOTE_VAR, raising=False)
    assert spark_remote(load_settings("local")) is None


def test_the_environment_variable_beats_the_setting(monkeypatch):
    settings = load_settings("local")
    configured = replace(settings, raw={**settings.raw, "spark_remote": "sc://localhost:15002"})
    monkeypatch.delenv(REMOTE_VAR, raising=False)
    assert spark_remote(configured) == "sc://localhost:15002"
    monkeypatch.setenv(REMOTE_VAR, "local[2]")
    assert spark_remote(configured) == "local[2]"
    monkeypatch.setenv(REMOTE_VAR, "")  # empty counts as unset
    assert spark_remote(configured) == "sc://localhost:15002"


class FakeBuilder:
    """Stands in for ``SparkSession.builder``: records the calls, returns a fake session."""

    def __init__(self):
        self.remote_address = None
        self.conf = {}

    def appName(self, name):  # noqa: N802 (PySpark's name)
        return self

    def remote(self, address):
        self.remote_address = address
        return self

    def config(self, key, value):
        self.conf[key] = value
        return self

    def getOrCreate(self):  # noqa: N802 (PySpark's name)
        return FakeSession()


class FakeSession:
    """What get_spark does with the session it built: sets the time zone, quiets the log."""

    def __init__(self):
        self.conf = self
        self.sparkContext = self
        self.values = {}

    def set(self, key, value):
        self.values[key] = value

    def setLogLevel(self, level):  # noqa: N802 (PySpark's name)
        self.values["log_level"] = level


def builder_used_by_get_spark(monkeypatch, settings) -> FakeBuilder:
    """Call get_spark(settings) with no active session and a fake builder; return the builder."""
    builder = FakeBuilder()

    class FakeSparkSession:
        @staticmethod
        def getActiveSession():  # noqa: N802 (PySpark's name)
            return None  # as in a fresh process

    FakeSparkSession.builder = builder
    monkeypatch.setattr(runtime_spark, "SparkSession", FakeSparkSession)
    monkeypatch.setattr(runtime_spark, "require_java", lambda: 17)

    def quiet(session):  # the real one reaches into the session's JVM
        session.values["quiet_task_failures"] = True

    monkeypatch.setattr(runtime_spark, "quiet_task_failures", quiet)
    session = runtime_spark.get_spark(settings)
    assert session.values["spark.sql.session.timeZone"] == "UTC"
    return builder


def test_a_spark_remote_set_in_the_yaml_settings_reaches_the_session_builder(monkeypatch, tmp_path):
    monkeypatch.delenv(REMOTE_VAR, raising=False)
    override = tmp_path / "remote.yml"
    override.write_text("spark_remote: sc://localhost:15002\n")
    builder = builder_used_by_get_spark(monkeypatch, load_settings("local", override))
    assert builder.remote_address == "sc://localhost:15002"
    assert "spark.master" not in builder.conf  # the address names the server, not a master
    assert builder.conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"


def test_without_an_address_the_builder_gets_the_local_master(monkeypatch):
    monkeypatch.delenv(REMOTE_VAR, raising=False)
    builder = builder_used_by_get_spark(monkeypatch, load_settings("local"))
    assert builder.remote_address is None
    assert builder.conf["spark.master"] == "local[2]"
