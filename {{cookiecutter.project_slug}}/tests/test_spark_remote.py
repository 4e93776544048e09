"""Which session a local run gets: classic Spark, or Spark Connect at an address."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.errors import PySparkRuntimeError

from {{ cookiecutter.package_name }}.config import load_settings
from {{ cookiecutter.package_name }}.runtime import class_archive, delta_jars
from {{ cookiecutter.package_name }}.runtime import spark as runtime_spark
from {{ cookiecutter.package_name }}.runtime.spark import (
    REMOTE_VAR,
    SparkStartError,
    local_conf,
    spark_remote,
)

from .conftest import session_settings


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
        self.calls = []  # "hold port" (the local Connect port's lock), "getOrCreate"

    def appName(self, name):  # noqa: N802 (PySpark's name)
        return self

    def remote(self, address):
        self.remote_address = address
        return self

    def config(self, key, value):
        self.conf[key] = value
        return self

    def getOrCreate(self):  # noqa: N802 (PySpark's name)
        self.calls.append("getOrCreate")
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


def no_session():
    """PySpark's ``SparkSession.active()`` when this process has no session yet."""
    raise PySparkRuntimeError(errorClass="NO_ACTIVE_OR_DEFAULT_SESSION", messageParameters={})


def use_fake_spark(monkeypatch, ivy_home: Path, builder: FakeBuilder, active=no_session) -> None:
    """Make get_spark start sessions with ``builder`` and find the running one with
    ``active`` (by default: none), with ``ivy_home`` as Ivy's folder, where the jars' record
    goes (never the real one), and ``class-archives`` beside it as the class-data
    archives' folder. Java is taken as present; quieting the task-failure loggers
    (which reaches into the JVM) sets ``values["quiet_task_failures"]`` of the session;
    taking the local Connect port's lock (a file shared through the temporary folder) is
    recorded in ``builder.calls``."""

    class FakeSparkSession:
        pass

    FakeSparkSession.builder = builder
    FakeSparkSession.active = staticmethod(active)
    monkeypatch.setattr(runtime_spark, "SparkSession", FakeSparkSession)
    monkeypatch.setattr(runtime_spark, "require_java", lambda: 17)
    monkeypatch.setattr(delta_jars, "DEFAULT_IVY_HOME", ivy_home)
    archives = ivy_home.parent / "class-archives"  # beside Ivy's: never the real folder
    monkeypatch.setattr(class_archive, "default_folder", lambda: archives)
    hold = lambda: builder.calls.append("hold port")  # noqa: E731
    monkeypatch.setattr(runtime_spark, "hold_local_connect_port", hold)

    def quiet(session):
        session.values["quiet_task_failures"] = True

    monkeypatch.setattr(runtime_spark, "quiet_task_failures", quiet)


def builder_used_by_get_spark(
    monkeypatch, settings, ivy_home: Path, builder: FakeBuilder | None = None
) -> FakeBuilder:
    """Call get_spark(settings) with no running session, a fake builder (``builder``, or a
    new one) and ``ivy_home`` as Ivy's folder (:func:`use_fake_spark`); return the builder."""
    builder = builder or FakeBuilder()
    use_fake_spark(monkeypatch, ivy_home, builder)
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
    assert builder.calls == ["getOrCreate"]  # a running server's: no local port taken


def test_a_local_connect_server_starts_once_the_port_is_this_process_s(monkeypatch, tmp_path):
    monkeypatch.setenv(REMOTE_VAR, "local[2]")
    builder = builder_used_by_get_spark(monkeypatch, load_settings("local"), tmp_path / "ivy")
    assert builder.remote_address == "local[2]" and "spark.master" not in builder.conf
    assert builder.calls == ["hold port", "getOrCreate"]


def test_a_local_connect_port_held_by_another_server_is_named_and_the_jars_kept(
    monkeypatch, tmp_path
):
    """A process that did not wait for the port's lock holds port 15002: the one line names
    the port, not the Delta jars, whose record stays for the next start. Another service's
    port (the driver's) is not taken for it."""
    settings, ivy = load_settings("local"), tmp_path / "ivy"
    jar = tmp_path / "jars" / "io.delta_delta-spark_4.1_2.13-4.2.0.jar"
    jar.parent.mkdir()
    jar.write_bytes(b"PK")
    monkeypatch.delenv(REMOTE_VAR, raising=False)
    builder_used_by_get_spark(monkeypatch, settings, ivy, FakeBuilder(jar.as_uri()))  # records
    monkeypatch.setenv(REMOTE_VAR, "local[2]")
    bind = RuntimeError(  # how the start's Py4JJavaError reads (measured), shortened
        "An error occurred while calling None.org.apache.spark.api.java.JavaSparkContext.\n"
        ": java.net.BindException: Failed to bind to address 0.0.0.0/0.0.0.0:15002: Service "
        "'org.apache.spark.sql.connect.service.SparkConnectService' failed after 0 retries"
    )
    with pytest.raises(SparkStartError) as error:
        builder_used_by_get_spark(monkeypatch, settings, ivy, FakeBuilder(error=bind))
    assert str(error.value) == (
        "Spark did not start: the local Spark Connect server could not listen on port 15002, "
        "which another process holds; stop it, or use it: MLOPS_SPARK_REMOTE (or "
        "spark_remote) sc://localhost:15002"
    )
    after = builder_used_by_get_spark(monkeypatch, settings, ivy)
    assert after.conf["spark.jars"] == jar.as_uri()  # the record was kept
    driver = RuntimeError(
        "java.net.BindException: Cannot assign requested address: Service 'sparkDriver' "
        "failed after 16 retries (on a random free port)!"
    )
    with pytest.raises(SparkStartError) as error:
        builder_used_by_get_spark(monkeypatch, settings, ivy, FakeBuilder(error=driver))
    assert str(error.value).startswith("Spark did not start (RuntimeError) with the Delta Lake")


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


def test_the_tests_session_and_the_pipeline_share_one_class_archive(tmp_path):
    """The tests' session (conftest.py: a system property of its own in the driver's Java
    options) maps the class-data archive a pipeline start writes, not a second one: the
    archive's key (runtime/class_archive.py) is the same for both starts' settings."""
    java, jars = tmp_path / "java", tmp_path / "jars"
    java.write_text("java")
    jars.mkdir()
    (jars / "spark-core.jar").write_bytes(b"core")
    settings = load_settings("local")
    pipeline, tests = local_conf(settings), local_conf(session_settings(settings))
    option = "spark.driver.extraJavaOptions"
    assert tests[option] != pipeline.get(option)
    key = class_archive.archive_key
    assert key(tests, str(java), jars) == key(pipeline, str(java), jars)


@pytest.mark.skipif(not runtime_spark.java_executable(), reason="needs java")
def test_a_local_start_asks_for_the_class_archive_and_a_failed_one_forgets_it(
    monkeypatch, tmp_path
):
    """runtime/class_archive.py through get_spark: a local start's driver Java options end
    with the dump of the archive (the given options first); a start that fails removes the
    dump and its log; once a dump is written, the next start maps the archive, and a start
    that fails with it mapped removes it. A Connect server elsewhere (sc://) gets none."""
    monkeypatch.delenv(REMOTE_VAR, raising=False)
    monkeypatch.delenv(class_archive.SWITCH_VAR, raising=False)
    for name in class_archive.CLASS_PATH_FOLDERS:
        monkeypatch.delenv(name, raising=False)
    settings, ivy = load_settings("local"), tmp_path / "ivy"
    archives = tmp_path / "class-archives"
    given = runtime_spark.local_conf(settings)["spark.driver.defaultJavaOptions"]

    failing = FakeBuilder(error=RuntimeError("JVM exited"))
    with pytest.raises(SparkStartError):
        builder_used_by_get_spark(monkeypatch, settings, ivy, failing)
    assert "-XX:ArchiveClassesAtExit=" in failing.conf["spark.driver.defaultJavaOptions"]
    assert list(archives.iterdir()) == []  # forgotten: the next start asks again

    first = builder_used_by_get_spark(monkeypatch, settings, ivy)
    options = first.conf["spark.driver.defaultJavaOptions"]
    assert options.startswith(f"{given} ")
    dump = Path(re.search(r"-XX:ArchiveClassesAtExit=(\S+)", options).group(1))
    dump.write_bytes(b"an archive")  # what the JVM writes at its exit, then its log line
    dump.with_suffix(".log").write_text(f"{class_archive.WRITTEN} 0x8 - 0x9\n")
    second = builder_used_by_get_spark(monkeypatch, settings, ivy)
    (archive,) = archives.iterdir()
    assert second.conf["spark.driver.defaultJavaOptions"] == (
        f"{given} -Xlog:cds*=off -XX:SharedArchiveFile={archive}"
    )
    with pytest.raises(SparkStartError):
        builder_used_by_get_spark(monkeypatch, settings, ivy, FakeBuilder(error=OSError("SIGBUS")))
    assert list(archives.iterdir()) == []

    monkeypatch.setenv(REMOTE_VAR, "sc://localhost:15002")
    remote = builder_used_by_get_spark(monkeypatch, settings, ivy)
    assert remote.conf["spark.driver.defaultJavaOptions"] == given
    assert list(archives.iterdir()) == []


def test_a_thread_asking_while_another_starts_spark_gets_the_session_once_it_is_set_up(
    monkeypatch, tmp_path
):
    """PySpark makes a new session the active one inside ``getOrCreate``, before get_spark
    has set it up. A second thread that asks meanwhile waits, and gets the same session
    after its log level and task-failure loggers are set."""
    started, events = [], []
    inside, release = threading.Event(), threading.Event()

    class StartingBuilder(FakeBuilder):
        def getOrCreate(self):  # noqa: N802 (PySpark's name)
            session = super().getOrCreate()
            started.append(session)  # active from here on, as in PySpark
            inside.set()
            release.wait(timeout=30)
            return session

    def active():
        return started[0] if started else no_session()

    use_fake_spark(monkeypatch, tmp_path / "ivy", StartingBuilder(), active)
    # The last of the set-up: PySpark's loggers of this process quieted.
    quiet_python_logs = runtime_spark.quiet_query_context_logs

    def last_of_the_set_up():
        quiet_python_logs()
        events.append("set up")

    monkeypatch.setattr(runtime_spark, "quiet_query_context_logs", last_of_the_set_up)

    def second_thread():
        session = runtime_spark.get_spark(load_settings("local"))
        events.append("second thread has it")
        return session

    with ThreadPoolExecutor(max_workers=2) as pool:
        try:
            first = pool.submit(runtime_spark.get_spark, load_settings("local"))
            if not inside.wait(timeout=30):
                first.result(timeout=0)  # the first thread's own error, if it raised one
            second = pool.submit(second_thread)
            wait([second], timeout=3)  # time enough to return, were it not waiting
        finally:
            release.set()
        assert first.result(timeout=30) is second.result(timeout=30) is started[0]
    assert events == ["set up", "second thread has it"]
    assert started[0].values["log_level"] == "ERROR"
