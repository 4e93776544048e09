"""Local Spark's own settings (runtime/spark.py): what they change on disk and in the JVM."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

from {{ cookiecutter.package_name }}.runtime.class_archive import SWITCH_VAR, default_folder
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


@pytest.mark.skipif(
    os.environ.get(SWITCH_VAR, "").lower() in {"off", "0", "false", "no"},
    reason=f"{SWITCH_VAR} turns the class-data archive off",
)
def test_the_local_jvm_was_started_with_the_class_data_archive_of_its_settings(spark):
    """The tests' driver JVM was given runtime/class_archive.py's options: the archive of
    its settings' key in the default folder, mapped when an earlier start wrote it, else
    written when this JVM exits (unless another start's dump was still in progress)."""
    runtime = spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    arguments = list(runtime.getInputArguments())
    archives = [a for a in arguments if "SharedArchiveFile=" in a or "ArchiveClassesAtExit=" in a]
    folder = str(default_folder())
    assert all(a.split("=", 1)[1].startswith(folder) for a in archives), archives
    assert len(archives) <= 1 and "-Xlog:cds*=off" in arguments, arguments
