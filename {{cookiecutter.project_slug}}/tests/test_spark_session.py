"""The tests' own Spark session: small-data SQL settings (queries without generated Java
code, one task per stage), the pipeline's settings when a test asks for them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }}.config import load_settings
from {{ cookiecutter.package_name }}.runtime.spark import get_spark, local_conf

from . import conftest
from .conftest import SMALL_DATA_SQL, local_settings, pipeline_sql, set_sql

pytestmark = pytest.mark.spark

SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
ADAPTIVE = "spark.sql.adaptive.enabled"
SCAN_PARALLELISM = "spark.sql.leafNodeDefaultParallelism"


def top_of_plan(frame) -> str:
    """Class of the top node of ``frame``'s physical plan."""
    return frame._jdf.queryExecution().executedPlan().getClass().getSimpleName()


def plan_tops(spark) -> tuple[str, str]:
    """(top of a filter's plan: ``WholeStageCodegenExec`` when Spark compiles the query into
    generated code; top of a grouped count's plan: ``AdaptiveSparkPlanExec`` when adaptive
    execution re-plans its stages)."""
    filtered = spark.range(10).selectExpr("id * 2 AS doubled").where("doubled > 4")
    counted = spark.range(10).groupBy((F.col("id") % 3).alias("k")).count()
    return top_of_plan(filtered), top_of_plan(counted)


def factory_mode(spark) -> str:
    """How the session evaluates expressions: ``FALLBACK`` (generated code first),
    ``NO_CODEGEN`` (interpreted) or ``CODEGEN_ONLY``, as Spark's own conf object reads it."""
    return spark._jsparkSession.sessionState().conf().codegenFactoryMode().toString()


def partitions(spark, folder) -> tuple[int, int]:
    """(partitions of a scan of the Parquet files in ``folder``, partitions of a grouped
    count of it), as the session plans them."""
    files = spark.read.parquet(str(folder))
    counted = files.groupBy((F.col("id") % 7).alias("k")).count()
    return files.rdd.getNumPartitions(), counted.rdd.getNumPartitions()


@pytest.fixture
def two_files(spark, tmp_path):
    """A folder of two Parquet files of 50 rows each (column ``id``)."""
    folder = tmp_path / "two-files"
    spark.range(100).repartition(2).write.parquet(str(folder))
    assert len(list(folder.glob("*.parquet"))) == 2
    return folder


def test_every_small_data_setting_is_a_spark_sql_setting_a_session_can_change(spark):
    # An unknown key would be stored and ignored; a static one could not be set to the
    # pipeline's value for the tests on real data.
    assert [key for key in SMALL_DATA_SQL if not spark.conf.isModifiable(key)] == []


def test_the_test_session_runs_small_data_queries_in_one_task_per_stage(spark, two_files):
    assert "WholeStageCodegenExec" not in plan_tops(spark)
    assert "AdaptiveSparkPlanExec" not in plan_tops(spark)
    assert factory_mode(spark) == "NO_CODEGEN"
    assert partitions(spark, two_files) == (1, 1)


def test_the_pipeline_settings_hold_inside_the_block_and_the_small_data_ones_after_it(
    spark, two_files
):
    with pytest.raises(RuntimeError, match="inside"), pipeline_sql(spark):
        # adaptive execution and code generation on, the two files scanned in two
        # partitions (Spark's default scan parallelism: the 2 cores of local[2]), and the
        # shuffle partitions a local run-all starts with (runtime/spark.py's local_conf)
        assert plan_tops(spark) == ("WholeStageCodegenExec", "AdaptiveSparkPlanExec")
        assert factory_mode(spark) == "FALLBACK"
        assert partitions(spark, two_files)[0] == 2
        configured = local_conf(load_settings("local"))[SHUFFLE_PARTITIONS]
        assert configured != SMALL_DATA_SQL[SHUFFLE_PARTITIONS]
        assert spark.conf.get(SHUFFLE_PARTITIONS) == configured
        raise RuntimeError("inside")
    assert "WholeStageCodegenExec" not in plan_tops(spark)
    assert "AdaptiveSparkPlanExec" not in plan_tops(spark)
    assert factory_mode(spark) == "NO_CODEGEN"
    assert partitions(spark, two_files) == (1, 1)


def test_after_the_block_each_setting_has_the_value_it_had_before_even_if_a_switch_fails(
    spark, monkeypatch
):
    try:
        spark.conf.set(SHUFFLE_PARTITIONS, "3")
        spark.conf.unset(SCAN_PARALLELISM)
        with pipeline_sql(spark):
            assert spark.conf.get(SHUFFLE_PARTITIONS) != "3"
        assert spark.conf.get(SHUFFLE_PARTITIONS) == "3"
        assert spark.conf.get(SCAN_PARALLELISM, None) is None  # unset again, as before
        assert spark.conf.get(ADAPTIVE) == SMALL_DATA_SQL[ADAPTIVE]
        # The shuffle partitions switch, then a value Spark refuses stops the switching.
        refused = {SHUFFLE_PARTITIONS: "5", ADAPTIVE: "not-a-boolean"}
        monkeypatch.setattr(conftest, "pipeline_sql_values", lambda: refused)
        with pytest.raises(Exception, match="not-a-boolean"), pipeline_sql(spark):
            pytest.fail("the block ran although a setting was refused")
        assert spark.conf.get(SHUFFLE_PARTITIONS) == "3"
        assert spark.conf.get(ADAPTIVE) == SMALL_DATA_SQL[ADAPTIVE]
    finally:
        set_sql(spark, SMALL_DATA_SQL)


def test_get_spark_in_another_thread_returns_the_running_session_with_its_settings(spark, tmp_path):
    # The active session is per thread: a thread of its own (a writer or handler thread)
    # has none. Building one there would apply the pipeline's settings (shuffle
    # partitions 8) to the running session, under every later test.
    before = spark.conf.get(SHUFFLE_PARTITIONS)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:  # .result() raises the thread's error
            found = pool.submit(get_spark, local_settings(tmp_path)).result()
        assert found is spark
        assert spark.conf.get(SHUFFLE_PARTITIONS) == before
    finally:
        set_sql(spark, SMALL_DATA_SQL)


def test_a_python_worker_starts_with_the_scoring_libraries_imported(spark):
    """The session's Python workers fork from tests/spark_worker_daemon.py: a task finds
    skops (which only a model's loading imports) already imported."""

    def imported(_):
        import sys

        return [name in sys.modules for name in ("skops.io", "sklearn.ensemble", "mlflow.pyfunc")]

    assert spark.sparkContext.parallelize([0], 1).map(imported).collect() == [[True] * 3]
