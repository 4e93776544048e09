"""Spark jobs a step starts in threads of its own carry its caller's job group (Spark local
properties) and job tags, as jobs of the caller's own thread do: cancelling the caller's
group stops them, and Spark counts them in it.
"""

from __future__ import annotations

import threading
import time
import uuid

import py4j.clientserver
import pytest
from pyspark.sql import functions as F
from pyspark.sql.connect.session import SparkSession as ConnectSession

from {{ cookiecutter.package_name }}.runtime.errors import error_line
from {{ cookiecutter.package_name }}.runtime.side_by_side import (
    each_at_once,
    inheriting_local_properties,
)
from {{ cookiecutter.package_name }}.steps import ingest, train

from .conftest import private_copy, spark_jobs

pytestmark = pytest.mark.spark

ITEM = "tests.side_by_side.item"  # a local property of the tests' own


def marker_jobs(spark) -> list[int]:
    """Ids of the jobs of one count on a job group of its own, started now."""
    with spark_jobs(spark) as jobs:
        assert spark.range(1).count() == 1
    return jobs


def test_side_by_side_calls_carry_the_callers_job_group_and_tags_each_with_properties_of_its_own(
    spark,
):
    context, tag = spark.sparkContext, f"caller_{uuid.uuid4().hex}"
    both_set = threading.Barrier(2, timeout=30)

    def call(key: str, rows: int) -> tuple[str | None, bool, str | None]:
        group, tagged = context.getLocalProperty("spark.jobGroup.id"), tag in spark.getTags()
        context.setLocalProperty(ITEM, key)
        both_set.wait()  # each call reads its property once the other has set its own
        assert spark.range(rows).count() == rows
        return group, tagged, context.getLocalProperty(ITEM)

    first = max(marker_jobs(spark))
    with spark_jobs(spark) as alone:
        assert spark.range(3).count() == 3
    spark.addTag(tag)
    try:
        with spark_jobs(spark) as jobs:
            caller = context.getLocalProperty("spark.jobGroup.id")
            results = each_at_once({"a": 3, "b": 4}, call, spark)
    finally:
        spark.removeTag(tag)
    assert results == {"a": (caller, True, "a"), "b": (caller, True, "b")}
    last = min(marker_jobs(spark))
    assert len(jobs) == 2 * len(alone) > 0
    # Spark numbers jobs in the order they start: every job between the two markers.
    assert set(alone) | set(jobs) == set(range(first + 1, last))
    assert context.getLocalProperty(ITEM) is None  # the caller's own properties untouched


def test_over_spark_connect_each_side_by_side_call_carries_the_callers_tags(monkeypatch):
    """A Connect session's tags are its client's, per thread: no server is needed."""
    monkeypatch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")  # PySpark's own switch to Connect
    # The wrapper makes the session the process's default Connect session when none is.
    monkeypatch.setattr(ConnectSession, "_default_session", ConnectSession._default_session)
    session = ConnectSession(connection="sc://127.0.0.1:1")  # no server there
    session.client.set_retry_policies([])  # a call to the server fails at once, not retried
    session.addTag("caller")

    def call(key: str, _) -> tuple[list[str], list[str]]:
        seen = sorted(session.getTags())
        session.addTag(key)
        return seen, sorted(session.getTags())

    results = each_at_once({"a": 1, "b": 2}, call, session)
    assert results == {"a": (["caller"], ["a", "caller"]), "b": (["caller"], ["b", "caller"])}
    assert session.getTags() == {"caller"}


def test_with_pinned_thread_mode_off_calls_run_unwrapped(spark, monkeypatch):
    """PySpark then hands back the session rather than a decorator (SPARK-56247)."""

    class NotTheGateway:  # the Py4J gateway is then not a ClientServer
        pass

    monkeypatch.setattr(py4j.clientserver, "ClientServer", NotTheGateway)

    def call(key: str, value: int) -> int:
        return value * 2

    assert inheriting_local_properties(spark, call) is call
    assert each_at_once({"a": 1, "b": 2}, call, spark) == {"a": 2, "b": 4}


def test_cancelling_the_callers_job_group_stops_every_side_by_side_call(spark):
    """``SparkContext.cancelJobGroup`` of the group the caller is in ends both calls' jobs,
    each of which would run for about 100 s (2,000 rows through a Python function that
    sleeps 50 ms a row): the first item's error is raised, noting the other's."""
    context, group = spark.sparkContext, f"cancelled_{uuid.uuid4().hex}"
    slow = F.udf(lambda value: time.sleep(0.05) or value, "long")

    def call(key: str, rows: int):
        return spark.range(rows).select(F.sum(slow("id"))).collect()

    outcome = {}

    def caller() -> None:
        context.setJobGroup(group, group)
        try:
            outcome["results"] = each_at_once({"a": 2000, "b": 2000}, call, spark)
        except Exception as err:
            outcome["error"] = err

    thread = threading.Thread(target=caller, daemon=True)
    thread.start()
    try:
        tracker, deadline = context.statusTracker(), time.monotonic() + 60
        while len(tracker.getJobIdsForGroup(group)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        context.cancelJobGroup(group)
        thread.join(timeout=300)
    assert not thread.is_alive()
    assert "results" not in outcome
    cancelled = f"cancelled part of cancelled job group {group}"
    assert cancelled in error_line(outcome["error"])
    [note] = outcome["error"].__notes__
    assert note.startswith("b raised too: ") and cancelled in note


def test_ingest_and_train_start_no_spark_job_outside_the_callers_job_group(
    trained, tmp_path, use_synthetic_source, monkeypatch
):
    """ingest checks and appends its tables in threads of their own; train checks its input
    tables in threads of their own and writes the training set in one while it fits. The
    fit fails here (the shortest train run): the write still commits, in its thread."""

    class FailingFit:
        def fit(self, *args):
            raise ValueError("simulated fit failure")

    ctx = private_copy(trained[0], tmp_path / "state")
    spark, training_set = ctx.spark, ctx.settings.table("training_set")
    written_before = ctx.tables.commit_stamp(training_set)
    monkeypatch.setattr(train, "build_pipeline", lambda *args: FailingFit())
    first = max(marker_jobs(spark))
    with spark_jobs(spark) as ingest_jobs:
        ingest.run(ctx)
    with spark_jobs(spark) as train_jobs, pytest.raises(ValueError, match="simulated fit"):
        train.run(ctx)
    last = min(marker_jobs(spark))
    assert ctx.tables.commit_stamp(training_set) != written_before
    # Spark numbers jobs in the order they start: every job between the two markers.
    started = set(range(first + 1, last))
    assert ingest_jobs and train_jobs
    assert set(ingest_jobs) | set(train_jobs) == started
