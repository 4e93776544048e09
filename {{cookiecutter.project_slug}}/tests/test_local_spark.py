"""Local Spark's own settings (runtime/spark.py): what they change on disk and in the JVM."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from {{ cookiecutter.package_name }}.runtime.class_archive import (
    WRITTEN,
    archive_key,
    usable_folder,
)
from {{ cookiecutter.package_name }}.runtime.delta_jars import recorded_jars
from {{ cookiecutter.package_name }}.runtime.spark import class_archive_inputs, local_conf

from .conftest import local_settings, session_settings, table_name

pytestmark = pytest.mark.spark


def test_table_files_have_no_hadoop_checksum_files_beside_them(ctx):
    """Hadoop's raw local file system writes no hidden ``.<file>.crc`` beside each Parquet
    file and Delta log file; Delta's own checksum (``_delta_log/<version>.crc``) stays."""
    name = table_name(ctx, "checksummed")
    rows = ctx.spark.createDataFrame([("EWR", 1.0), ("JFK", 2.0)], "origin string, value double")
    ctx.tables.overwrite(rows, name)
    ctx.tables.upsert(rows.limit(1), name, ["origin"])
    root = ctx.tables.path(name)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert [f for f in files if f.endswith(".parquet")], files
    assert {"_delta_log/00000000000000000001.json", "_delta_log/00000000000000000001.crc"} <= set(
        files
    )
    assert [f for f in files if f.rsplit("/", 1)[-1].startswith(".")] == []


def test_the_local_jvm_runs_the_parallel_collector_beside_java_options_of_spark_conf(spark):
    """The driver JVM's garbage collectors are the throughput collector's, not G1's, and
    the Java options the tests' spark_conf sets (``TEST_SPARK_CONF``) reached it too."""
    jvm = spark._jvm
    beans = jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()
    assert sorted(bean.getName() for bean in beans) == ["PS MarkSweep", "PS Scavenge"]
    assert jvm.java.lang.System.getProperty("mlops.tests.session") == "true"


def test_the_local_jvm_runs_in_utc_unless_the_user_sets_its_zone(spark, tmp_path, monkeypatch):
    """The tests' driver JVM was started with ``-Duser.timezone=UTC`` (its own zone, which
    decides whether Delta rebuilds a table's state at each commit to check the checksum
    file: runtime/spark.py ``with_utc_jvm``), and a zone the user sets in either Java
    options setting of spark_conf, or in the environment's Java options, is kept, not
    overridden."""
    runtime = spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert "-Duser.timezone=UTC" in list(runtime.getInputArguments())
    assert spark._jvm.java.util.TimeZone.getDefault().getID() == "UTC"
    for key in ("spark.driver.defaultJavaOptions", "spark.driver.extraJavaOptions"):
        own = {key: "-Duser.timezone=Europe/Amsterdam"}
        conf = local_conf(local_settings(tmp_path / key, spark_conf=own))
        options = [
            conf.get(k, "")
            for k in ("spark.driver.defaultJavaOptions", "spark.driver.extraJavaOptions")
        ]
        assert " ".join(options).split().count("-Duser.timezone=Europe/Amsterdam") == 1
        assert "-Duser.timezone=UTC" not in " ".join(options)
    for name in ("_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "PYSPARK_SUBMIT_ARGS"):
        with monkeypatch.context() as patch:
            patch.setenv(name, "-Duser.timezone=Europe/Paris")
            conf = local_conf(local_settings(tmp_path / name))
        assert "-Duser.timezone=UTC" not in conf["spark.driver.defaultJavaOptions"], name


def test_the_session_was_given_the_jars_recorded_for_a_local_start(spark, tmp_path):
    """The jar files the tests' session was given (``spark.jars``) are those recorded for
    a local start's settings (runtime/delta_jars.py), the Delta Lake jar among them:
    recorded by this session's own start when it resolved them, or by an earlier start
    whose record this session's start used (tests/test_spark_remote.py checks both
    starts with a fake builder)."""
    given = spark.sparkContext.getConf().get("spark.jars").split(",")
    assert recorded_jars(local_conf(local_settings(tmp_path))) == given
    names = [Path(urlparse(jar).path).name for jar in given]
    assert [n for n in names if n.startswith("io.delta_delta-spark_")], names


def test_the_local_jvm_was_given_the_class_data_archive_options_its_start_chose(spark, tmp_path):
    """The driver JVM of the tests' session runs with every Java option its start put in
    ``spark.driver.defaultJavaOptions``. When the archive is in use for the session's
    settings (``class_archive_inputs`` of runtime/spark.py, by ``class_archive.in_use``),
    those hold an archive option of the settings' key in the archives' folder (mapped
    when an earlier start wrote it, else written at this JVM's exit), unless another
    start's dump of that key was still to be written (its log, then unfinished, is in the
    folder); when it is not, or the archives' folder is not usable, the JVM has no
    archive option at all.
    tests/runtime/test_class_archive.py and test_spark_remote.py check each case."""
    runtime = spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    arguments = list(runtime.getInputArguments())
    given = spark.sparkContext.getConf().get("spark.driver.defaultJavaOptions").split()
    assert given[0] == "-XX:+UseParallelGC" and set(given) <= set(arguments), arguments
    archive_options = ("-XX:SharedArchiveFile=", "-XX:ArchiveClassesAtExit=")
    chosen = [a for a in given if a.startswith(archive_options)]
    conf = local_conf(session_settings(local_settings(tmp_path)))
    inputs = class_archive_inputs(conf)
    folder = usable_folder()
    if inputs is None or folder is None:  # not in use, or nowhere to keep archives
        assert not [a for a in arguments if a.startswith(archive_options)], arguments
        return
    key = archive_key(conf, *inputs)
    if not chosen:  # another start's dump of the key was still to be written
        started = runtime.getStartTime() / 1000  # this JVM's, in seconds
        pending = [
            log.name
            for log in folder.glob(f"{key}.*.log")
            if WRITTEN not in log.read_text(errors="replace") or log.stat().st_mtime >= started
        ]
        assert pending, sorted(p.name for p in folder.iterdir())
        return
    assert set(chosen) <= set(arguments), arguments
    files = [Path(a.split("=", 1)[1]) for a in chosen]
    assert all(f.parent == folder and f.name.startswith(f"{key}.") for f in files), chosen
