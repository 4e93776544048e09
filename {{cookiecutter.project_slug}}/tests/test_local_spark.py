"""Local Spark's own settings (runtime/spark.py): what they change on disk and in the JVM."""

from __future__ import annotations

import pytest

from .conftest import table_name

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
