"""Which session a local run gets: classic Spark, or Spark Connect at an address."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.errors import PySparkRuntimeError

from {{ cookiecutter.package_name }}.config import load_settings
from {{ cookiecutter.package_name }}.runtime import delta_jars
from {{ cookiecutter.package_name }}.runtime import spark as runtime_spark
from {{ cookiecutter.package_name }}.runtime.spark import REMOTE_VAR, SparkStartError, spark_remote


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
    """Stands in for ``SparkSession.builder``: records the calls, returns a fake session.

    ``resolved``: the ``spark.jars`` the session reports after a start that resolved
    ``spark.jars.packages`` (Spark adds the files it resolved there); ``error``: raised by
    ``getOrCreate`` instead, as a start that fails."""

    def __init__(self, resolved: str = "", error: Exception | None = None):
        self.remote_address = None
        self.conf = {}
        self.resolved = resolved
        self.error = error

    def appName(self, name):  # noqa: N802 (PySpark's name)
        return self

    def remote(self, address):
        self.remote_address = address
        return self

    def config(self, key, value):
        self.conf[key] = value
        return self

    def getOrCreate(self):  # noqa: N802 (PySpark's name)
        if self.error is not None:
            raise self.error
        return FakeSession(self.conf.get("spark.jars", self.resolved))


class FakeSession:
    """What get_spark does with the session it built: sets the time zone, quiets the log,
    reads the jars it was given (``spark.jars``)."""

    def __init__(self, jars: str = ""):
        self.conf = self
        self.sparkContext = self
        self.values = {}
        self.jars = jars

    def set(self, key, value):
        self.values[key] = value

    def setLogLevel(self, level):  # noqa: N802 (PySpark's name)
        self.values["log_level"] = level

    def getConf(self):  # noqa: N802 (PySpark's name)
        return self

    def get(self, key, default=None):
        return self.jars if key == "spark.jars" else default


def builder_used_by_get_spark(
    monkeypatch, settings, ivy_home: Path, builder: FakeBuilder | None = None
) -> FakeBuilder:
    """Call get_spark(settings) with no running session, a fake builder (``builder``, or a
    new one) and ``ivy_home`` as Ivy's folder, where the jars' record goes (never the
    real one); return the builder."""
    builder = builder or FakeBuilder()

    class FakeSparkSession:
        @staticmethod
        def active():  # no session in this process yet, as in a fresh one
            raise PySparkRuntimeError(
                errorClass="NO_ACTIVE_OR_DEFAULT_SESSION", messageParameters={}
            )

    FakeSparkSession.builder = builder
    monkeypatch.setattr(runtime_spark, "SparkSession", FakeSparkSession)
    monkeypatch.setattr(runtime_spark, "require_java", lambda: 17)
    monkeypatch.setattr(delta_jars, "DEFAULT_IVY_HOME", ivy_home)

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
    settings = load_settings("local", override)
    builder = builder_used_by_get_spark(monkeypatch, settings, tmp_path / "ivy")
    assert builder.remote_address == "sc://localhost:15002"
    assert "spark.master" not in builder.conf  # the address names the server, not a master
    assert builder.conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"


def test_without_an_address_the_builder_gets_the_local_master(monkeypatch, tmp_path):
    monkeypatch.delenv(REMOTE_VAR, raising=False)
    builder = builder_used_by_get_spark(monkeypatch, load_settings("local"), tmp_path / "ivy")
    assert builder.remote_address is None
    assert builder.conf["spark.master"] == "local[2]"


def test_a_resolving_start_records_its_jars_and_the_next_start_names_them(monkeypatch, tmp_path):
    """runtime/delta_jars.py through get_spark: the first start resolves the Delta package
    and records the files the session reports; the next one gets them as ``spark.jars``
    and no package to resolve; a start that fails with them removes the record, with a
    one-line error, and the start after it resolves again."""
    monkeypatch.delenv(REMOTE_VAR, raising=False)
    settings, ivy = load_settings("local"), tmp_path / "ivy"
    jar = tmp_path / "jars" / "io.delta_delta-spark_4.1_2.13-4.2.0.jar"
    jar.parent.mkdir()
    jar.write_bytes(b"PK")
    first = builder_used_by_get_spark(monkeypatch, settings, ivy, FakeBuilder(jar.as_uri()))
    assert "spark.jars" not in first.conf
    assert first.conf["spark.jars.packages"] == runtime_spark.delta_maven_coordinate()
    second = builder_used_by_get_spark(monkeypatch, settings, ivy)
    assert second.conf["spark.jars"] == jar.as_uri() and "spark.jars.packages" not in second.conf
    failing = FakeBuilder(error=RuntimeError("JVM exited"))
    with pytest.raises(SparkStartError) as error:
        builder_used_by_get_spark(monkeypatch, settings, ivy, failing)
    assert str(error.value) == (
        "Spark did not start (RuntimeError) with the Delta Lake jar files an earlier start "
        "resolved; their record is removed, so the next start resolves "
        f"{runtime_spark.delta_maven_coordinate()} again"
    )
    third = builder_used_by_get_spark(monkeypatch, settings, ivy)
    assert "spark.jars" not in third.conf and "spark.jars.packages" in third.conf
