"""Local Spark's own settings (runtime/spark.py): what they change on disk and in the JVM."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from {{ cookiecutter.package_name }}.runtime.class_archive import default_folder
from {{ cookiecutter.package_name }}.runtime.delta_jars import recorded_jars
from {{ cookiecutter.package_name }}.runtime.spark import local_conf

from .conftest import local_settings, table_name

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


def test_the_local_jvm_was_given_the_class_data_archive_options_its_start_chose(spark):
    """The driver JVM of the tests' session runs with every Java option its start put in
    ``spark.driver.defaultJavaOptions``; those that name a class-data archive
    (runtime/class_archive.py: mapped when an earlier start wrote it, else written at this
    JVM's exit) name the archives' folder. Which of the two, or none (another start's
    dump still in progress, or MLOPS_SPARK_CLASS_ARCHIVE=off), depends on the machine's
    earlier runs; tests/runtime/test_class_archive.py and test_spark_remote.py check each."""
    runtime = spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    arguments = list(runtime.getInputArguments())
    given = spark.sparkContext.getConf().get("spark.driver.defaultJavaOptions").split()
    assert given[0] == "-XX:+UseParallelGC" and set(given) <= set(arguments), arguments
    archives = [a for a in given if a.startswith(("-XX:SharedArchiveFile=", "-XX:ArchiveClass"))]
    folder = str(default_folder())
    assert all(a.split("=", 1)[1].startswith(folder) for a in archives), archives
